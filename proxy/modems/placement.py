"""Which modem a new connection goes to, and whose fault a failed open is (sans-I/O).

Placement (``choose``), over the modems a map may use:

1. a modem *takes new connections* when it is ``ready``, not known to be
   unregistered, and has a free client ID;
2. among those, modems failing their opens with network errors
   (``OpenHealth.failing``) come last: they are used only when no other
   modem can take the connection;
3. then the least busy (fewest IDs in use), ties broken by the serial
   line's load (``line_busy``, the busier direction's share of the line),
   then by the configured order;
4. when no eligible modem is ready at all (every one lost or recovering)
   a free ID of any of them is taken, so the open fails at once with
   ``ModuleNotReady`` as with one modem; when some are ready but full the
   connection waits (the caller queues on them).

Fault (``is_modem_fault``): the remote's failures (``RemoteRefused``: DNS
565, refused or a TLS/certificate failure 566, closed during the open 567)
would fail on every modem, so they are not retried; anything else the
module raises (lost, timeout, ``NetworkDown``, busy, out of memory,
protocol) is the modem's or its carrier's, and the open is retried once on
another modem.  ``is_network_failure`` (``NetworkDown``, or a command that
got no answer in time) counts towards ``OpenHealth.failing``.  Which code
is which is ``modem.core.errors``'s to say.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from modem.core.errors import ModemError, ModuleTimeout, NetworkDown, RemoteRefused

__all__ = ["FAILING_COOLDOWN", "FAILING_STREAK", "Candidate", "OpenHealth", "Verdict", "choose",
           "is_modem_fault", "is_network_failure"]

FAILING_STREAK = 3      # network failures in a row that make a modem "failing"
FAILING_COOLDOWN = 30.0  # seconds it is passed over; then it is tried again


@dataclass(frozen=True)
class Candidate:
    """One modem as placement sees it at one moment."""

    name: str
    order: int           # position in the configuration
    ready: bool          # ModuleState.READY
    registered: bool | None  # None: not known yet
    failing: bool        # OpenHealth.failing
    free_ids: int
    in_use: int
    line_busy: float     # 0..1

    @property
    def takes_new(self) -> bool:
        return self.ready and self.registered is not False


class Verdict(enum.Enum):
    """What ``choose`` decided when it returned no modem."""

    WAIT = "wait"          # some eligible modem takes new connections but all are full
    NONE = "none"          # no eligible modem at all (or all full while none is ready)


def choose(candidates: Iterable[Candidate], eligible: Collection[str] = (),
           exclude: Collection[str] = ()) -> Candidate | Verdict:
    """The modem for a new connection, or why there is none (see the module doc).

    ``eligible`` empty means every modem; ``exclude`` names modems not to use
    (the one whose open just failed).
    """
    pool = [c for c in candidates
            if (not eligible or c.name in eligible) and c.name not in exclude]
    taking = [c for c in pool if c.takes_new]
    if taking:
        free = [c for c in taking if c.free_ids > 0]
        if not free:
            return Verdict.WAIT
        return min(free, key=lambda c: (c.failing, c.in_use, c.line_busy, c.order))
    free = [c for c in pool if c.free_ids > 0]
    if not free:
        return Verdict.NONE
    return min(free, key=lambda c: c.order)


def is_modem_fault(exc: ModemError) -> bool:
    """True when a failed open is the modem's (retry elsewhere), False for the remote's."""
    return not isinstance(exc, RemoteRefused)


def is_network_failure(exc: ModemError) -> bool:
    """A failure that counts towards ``OpenHealth.failing``: the modem's carrier
    did not carry the open (``NetworkDown``), or a command of it got no answer
    in time.  A lost module is not counted: its state already passes it over."""
    return isinstance(exc, NetworkDown | ModuleTimeout)


class OpenHealth:
    """A run of network failures (``FAILING_STREAK``) makes a modem *failing* for
    ``FAILING_COOLDOWN`` seconds; then it is tried again, and one success clears it.

    Sans-I/O: the caller passes the clock.
    """

    def __init__(self, streak: int = FAILING_STREAK, cooldown: float = FAILING_COOLDOWN) -> None:
        self._streak_needed = streak
        self._cooldown = cooldown
        self.streak = 0
        self._failing_until = -1.0

    def failing(self, now: float) -> bool:
        return now < self._failing_until

    def record(self, exc: ModemError | None, now: float) -> bool:
        """Note an open's outcome (None: success); True when the modem just turned failing."""
        if exc is None:
            self.streak = 0
            self._failing_until = -1.0
            return False
        if not is_network_failure(exc):
            return False
        self.streak += 1
        if self.streak >= self._streak_needed and not self.failing(now):
            self._failing_until = now + self._cooldown
            return True
        return False
