"""Which time, if any, to set the module clock to (sans-I/O; manual 1.4).

The module checks certificate dates against its own clock (``AT+CCLK``), so
a wrong module clock fails every verified open with 566.  Three sources
may be seen at bring-up:

* the host clock (``time.time``): wrong on a gateway without a real-time
  clock or NTP (it starts at its image's build date or 1970);
* the module clock (``AT+CCLK?``): 1980-01-06 after power-up
  (``80/01/06``, the GPS epoch) until something sets it;
* the network's time (``AT+QLTS=1``: the current UTC derived from the last
  NITZ; ``+QLTS: ""`` until the network has sent one, EC2x AT manual
  ``AT+QLTS``; captured on an EG25: ``+QLTS: "2026/10/02,19:22:32-16,1"``).

``decide_clock`` never sets the module from a host clock that is
implausible (before ``RELEASE_FLOOR``) or behind a plausible module clock;
it prefers the network's time whenever the host's cannot be trusted.  It is
a pure function of its arguments.

``RELEASE_FLOOR`` follows the package version: ``RELEASES`` dates every
version, and the floor is the newest date in it.  No correct clock reads
earlier than the day the running version was made, and a version bump
without its row fails ``tests/unit/test_clock_policy.py`` (which checks
that ``modem.__version__`` is the newest row), so the floor moves with each
release instead of being a date someone has to remember to edit.  (This
module may not import ``modem``: the test ties the two.)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

#: The day each version was made, oldest first; a release adds its row.
RELEASES: dict[str, date] = {
    "0.1.0": date(2026, 11, 1),
}
#: No correct clock reads earlier than the newest release was made.
RELEASE_FLOOR = datetime.combine(max(RELEASES.values()), datetime.min.time(), UTC)
#: ``AT+CCLK`` takes two-digit years 2000-2069.
PLAUSIBLE_UNTIL = datetime(2069, 12, 31, tzinfo=UTC)
#: Clocks this close agree: the module clock is left alone.
CLOCK_TOLERANCE = timedelta(seconds=60)


class ClockSource(enum.Enum):
    """Where the time set on the module came from."""

    HOST = "host"
    NETWORK = "network"
    NONE = "none"


@dataclass(frozen=True)
class ClockDecision:
    """``set_to`` None: leave the module clock as it is; ``reason`` says why.

    ``trusted`` is False when no trustworthy time was seen and the module
    clock is implausible: verified opens fail (566) until one is found.
    """

    set_to: datetime | None
    source: ClockSource
    reason: str
    trusted: bool = True


def plausible(when: datetime | None) -> bool:
    """A clock reading that can be right: from this release on, within CCLK's years."""
    return when is not None and RELEASE_FLOOR <= when <= PLAUSIBLE_UNTIL


def decide_clock(host: datetime, module: datetime | None,
                 network: datetime | None) -> ClockDecision:
    """What to set the module clock to, given the three readings (aware datetimes;
    ``module`` / ``network`` None when unreadable or not sent)."""
    module_ok = plausible(module)
    if not plausible(host):
        host_problem = "host clock implausible"
    elif module_ok and module is not None and host < module - CLOCK_TOLERANCE:
        host_problem = "host clock behind the module clock"
    else:
        host_problem = ""
    if not host_problem:
        reference, source, why = host, ClockSource.HOST, "host clock plausible"
    elif plausible(network):
        assert network is not None
        reference, source, why = network, ClockSource.NETWORK, f"{host_problem}, network time"
    elif module_ok:
        return ClockDecision(None, ClockSource.NONE,
                             f"{host_problem}, no network time: module clock kept")
    else:
        return ClockDecision(None, ClockSource.NONE,
                             f"{host_problem}, no network time, module clock implausible",
                             trusted=False)
    if module is not None and abs(module - reference) <= CLOCK_TOLERANCE:
        return ClockDecision(None, source, f"{why}: module clock agrees")
    return ClockDecision(reference, source, why)
