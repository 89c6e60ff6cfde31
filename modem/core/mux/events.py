"""Events that ``MuxConnection`` produces from the module's frames.

Small frozen classes, like ``modem.core.events`` for the AT protocol.
What is not an event (frames skipped or refused) is counted in
``MuxConnection.counters``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from modem.core.mux.messages import V24, Parameters

__all__ = [
    "CloseReason", "DataReceived", "DlcClosed", "DlcOpened", "FlowControl", "MuxClosed",
    "MuxEvent", "NotSupported", "ParametersAgreed", "PeerStatus", "StatusAnswered", "TestReply",
]


class MuxEvent:
    """Base of every multiplexer event."""

    __slots__ = ()


class CloseReason(enum.Enum):
    """Why a DLC is closed."""

    BY_HOST = "closed by the host"  # the module's UA to our DISC
    BY_MODULE = "closed by the module"  # its DISC, or a DM on an open DLC
    REFUSED = "refused"  # its DM to our SABM
    MUX_CLOSED = "the multiplexer closed"  # CLD, or DISC on DLC 0


@dataclass(frozen=True, slots=True)
class DlcOpened(MuxEvent):
    """The module accepted our SABM (DLC 0: the multiplexer is up)."""

    dlci: int


@dataclass(frozen=True, slots=True)
class DlcClosed(MuxEvent):
    """A DLC is closed (or was never opened: ``CloseReason.REFUSED``)."""

    dlci: int
    reason: CloseReason


@dataclass(frozen=True, slots=True)
class DataReceived(MuxEvent):
    """The information of a UIH (or UI) frame on an open DLC."""

    dlci: int
    data: bytes = field(repr=False)  # user data: never in a log line


@dataclass(frozen=True, slots=True)
class PeerStatus(MuxEvent):
    """The module's MSC for a DLC: its virtual V.24 signals (DV is DCD, IC is RI)."""

    dlci: int
    signals: V24
    brk: int | None = None


@dataclass(frozen=True, slots=True)
class StatusAnswered(MuxEvent):
    """The module's response to our MSC for ``dlci``: a copy of the signals we sent."""

    dlci: int
    signals: V24


@dataclass(frozen=True, slots=True)
class FlowControl(MuxEvent):
    """The module asks us to stop (``stopped``) or go on sending data frames.

    ``dlci`` is the DLC its MSC's FC bit names, or None for FCoff / FCon
    (every DLC).
    """

    dlci: int | None
    stopped: bool


@dataclass(frozen=True, slots=True)
class TestReply(MuxEvent):
    """The module's answer to our Test command: the pattern it sent back."""

    __test__ = False  # not a pytest test class

    pattern: bytes


@dataclass(frozen=True, slots=True)
class ParametersAgreed(MuxEvent):
    """The module's PN answer: what the DLC runs with (its N1 is the one in force)."""

    parameters: Parameters


@dataclass(frozen=True, slots=True)
class NotSupported(MuxEvent):
    """The module answered NSC: it does not know the command of this type octet."""

    kind: int


@dataclass(frozen=True, slots=True)
class MuxClosed(MuxEvent):
    """The multiplexer is down (CLD answered or sent by the module, or DISC on
    DLC 0): the line carries AT commands again."""
