"""Module families: which one a module is (from ``ATI`` / ``AT+CGMR``), and what
the driver does differently for it (sans-I/O).

The SSL manual covers EC2x/EG9x/EM05 (EG25-G is one of them: Quectel's
"EC2x&EG9x&EG2x-G&EM05 Series SSL Application Note").  Users also plug in
BG96, BG95/BG77, EC200U/EG915U and EG800K modules, whose SSL commands have
the same names but differ in places; docs/modules.md is the table, with its
sources.  What the driver adapts (``FamilyTraits``):

* ``push``: whether SSL push mode (``<access_mode>`` 1, manual 1.3) is
  documented for the family.  Where it is not, sockets open in buffer mode:
  a push frame the parser misreads would corrupt a stream, a read too many
  costs a round trip.  (Guess for every family but EC2x: no public SSL log
  of the others' push frames was found.)
* ``rearm``: when the "recv" URC comes again, where a manual says it: the
  BG96 and BG95 TCP/IP notes say no new URC until the buffer is read empty
  ("drain"; for ``+QIURC``, and assumed for ``+QSSLURC``).  None: learned
  from the module (``urc_watch``).

The server host-name check (``checkhost`` on BG95) needs no family: bring-up
reads what ``AT+QSSLCFG=?`` offers.  An unknown model is treated as the
manual's firmware, as before families were known.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from modem.core.urc_watch import RearmBehaviour

__all__ = ["TRAITS", "Family", "FamilyTraits", "family_of"]


class Family(enum.StrEnum):
    EC2X = "ec2x"
    """EC20/EC21/EC25, EG21/EG25(-G), EG91/EG95, EM05: the manual's."""
    BG96 = "bg96"
    BG95 = "bg95"
    """BG95, BG77, BG600L."""
    EC200U = "ec200u"
    """EC200U, EG915U (Unisoc Cat 1)."""
    EG800K = "eg800k"
    """EG800K, EC800K (ASR Cat 1 bis)."""
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class FamilyTraits:
    push: bool
    rearm: RearmBehaviour | None = None


TRAITS: dict[Family, FamilyTraits] = {
    Family.EC2X: FamilyTraits(push=True),
    Family.BG96: FamilyTraits(push=False, rearm=RearmBehaviour.DRAIN),
    Family.BG95: FamilyTraits(push=False, rearm=RearmBehaviour.DRAIN),
    Family.EC200U: FamilyTraits(push=False),
    Family.EG800K: FamilyTraits(push=False),
    Family.UNKNOWN: FamilyTraits(push=True),
}

# Model names (ATI's second line, or the revision's start) -> family; longest first.
_PREFIXES: tuple[tuple[str, Family], ...] = (
    ("BG600L", Family.BG95), ("BG95", Family.BG95), ("BG77", Family.BG95),
    ("BG96", Family.BG96),
    ("EC200U", Family.EC200U), ("EG915U", Family.EC200U),
    ("EG800K", Family.EG800K), ("EC800K", Family.EG800K),
    ("EC20", Family.EC2X), ("EC21", Family.EC2X), ("EC25", Family.EC2X),
    ("EG21", Family.EC2X), ("EG25", Family.EC2X), ("EG91", Family.EC2X),
    ("EG95", Family.EC2X), ("EM05", Family.EC2X),
)


def family_of(model: str, revision: str | None = None) -> Family:
    """The family of a module whose ``ATI`` names ``model`` (``EC25``, ``BG95-M3``)
    and ``revision`` (``AT+CGMR``: ``EC200UCNAAR02A06M08``); UNKNOWN otherwise."""
    for text in (model, revision or ""):
        name = text.strip().upper()
        for prefix, family in _PREFIXES:
            if name.startswith(prefix):
                return family
    return Family.UNKNOWN
