"""When to restart the module after failing opens (sans-I/O: no trio, no I/O).

Real modules can get stuck failing every ``AT+QSSLOPEN`` the same way (the
same ``+QSSLOPEN: <id>,<err>`` code, manual 2.1.2 and chapter 5) whatever the
destination; only a restart (``AT+CFUN=1,1``) cures it.  One destination
failing again and again is that destination's problem, not the module's, so
the streak must span at least two destinations.
"""

from __future__ import annotations

from dataclasses import dataclass

from modem.core.errors import PdpContextBrokeDown

__all__ = ["RESTART_MIN_INTERVAL", "RESTART_STREAK", "Restart", "RestartPolicy"]

RESTART_STREAK = 8
"""Identical open failures in a row that call for a restart."""

RESTART_MIN_INTERVAL = 600.0
"""Seconds between two restarts the policy asks for, at least."""

PDP_BROKE_DOWN = PdpContextBrokeDown.code
"""570: the PDP context dropped; every open fails, and the PDP keeper handles it."""


@dataclass(frozen=True)
class Restart:
    """The policy's verdict: restart now, after ``count`` opens failed with ``code``."""

    code: int
    count: int


@dataclass(frozen=True)
class _Streak:
    code: int
    count: int
    destinations: frozenset[str]


class RestartPolicy:
    """Decides from each open's outcome whether to restart the module now.

    ``record`` takes the outcome (``None`` for success, else the manual's
    error code), the destination (``host:port``) and the current time in
    seconds on any monotonic clock.  It answers ``Restart`` after
    ``streak`` failures in a row with the same code across at least two
    destinations, at most once per ``min_interval`` seconds; else ``None``.
    A success, a code-570 failure (PDP context broke down) and a restart
    start the streak over; a different code starts a new streak.
    """

    def __init__(self, streak: int = RESTART_STREAK,
                 min_interval: float = RESTART_MIN_INTERVAL) -> None:
        if streak < 1:
            raise ValueError(f"streak must be at least 1, not {streak}")
        self.streak = streak
        self.min_interval = min_interval
        self._current: _Streak | None = None
        self._last_restart: float | None = None

    def record(self, code: int | None, destination: str, now: float) -> Restart | None:
        if code is None or code == PDP_BROKE_DOWN:
            self._current = None
            return None
        current = self._current
        if current is not None and current.code == code:
            current = _Streak(code, current.count + 1, current.destinations | {destination})
        else:
            current = _Streak(code, 1, frozenset({destination}))
        self._current = current
        if current.count < self.streak or len(current.destinations) < 2:
            return None
        if self._last_restart is not None and now - self._last_restart < self.min_interval:
            return None
        self._last_restart = now
        self._current = None
        return Restart(code, current.count)
