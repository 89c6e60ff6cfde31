"""Idle connections give their module socket back: ``idle-reclaim``, ``idle-timeout``.

The module has 12 sockets (manual 2.1.2).  A keep-alive client that holds
one while idle between requests starves the connections queued behind it.
So while connections wait (``Admission``), a connection idle for longer
than its map's ``idle-reclaim`` is closed between exchanges and its ID goes
to the longest waiter (the ID pool is first come, first served).  A map's
``idle-timeout`` closes idle connections whether or not anyone waits, like
stunnel's ``TIMEOUTidle``.

``ReclaimBoard`` pairs waiters with idle candidates: each waiter asks for at
most one candidate, the one idle longest among those that can help it (a
waiter held back by its own map's ``max-connections`` only by a connection
of that map).  It decides nothing about the bytes: the candidate's pump
closes only when nothing is in flight either way (``connection.Pump``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from proxy.config.model import IDLE_RECLAIM, IDLE_TIMEOUT, Mapping

__all__ = ["IDLE_RECLAIM", "IDLE_TIMEOUT", "Candidate", "IdlePolicy", "ReclaimBoard", "Waiter"]


@dataclass(frozen=True)
class IdlePolicy:
    """A map's idle limits in seconds; 0 turns one off."""

    reclaim_after: float = IDLE_RECLAIM
    timeout: float = IDLE_TIMEOUT
    release: bool = False  # a reclaim keeps the client connected (``idle-release``)


class Waiter:
    """A connection waiting for a module socket.  ``scope`` None: any map's idle
    connection helps it; a ``Mapping``: only that map's (its ``max-connections``)."""

    def __init__(self, scope: Mapping | None) -> None:
        self.scope = scope
        self.candidate: Candidate | None = None


class Candidate:
    """An idle connection offered for reclaim; ``notify`` wakes its pump when it
    is asked (``asked_by`` set) or released again (``asked_by`` None)."""

    def __init__(self, mapping: Mapping, idle_since: float, notify: Callable[[], None]) -> None:
        self.mapping = mapping
        self.idle_since = idle_since
        self.notify = notify
        self.asked_by: Waiter | None = None


class ReclaimBoard:
    """Matches waiters (in arrival order) with the longest-idle candidates."""

    def __init__(self) -> None:
        self._waiters: list[Waiter] = []
        self._candidates: list[Candidate] = []

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @contextmanager
    def waiter(self, scope: Mapping | None = None) -> Iterator[Waiter]:
        """Register a waiter for the body (the blocking wait of one admission stage)."""
        waiter = Waiter(scope)
        self._waiters.append(waiter)
        self._match()
        try:
            yield waiter
        finally:
            self._waiters.remove(waiter)
            candidate = waiter.candidate
            if candidate is not None and candidate.asked_by is waiter:
                candidate.asked_by = None  # free it for another waiter
                candidate.notify()
            self._match()

    def offer(self, candidate: Candidate) -> None:
        if candidate not in self._candidates:
            self._candidates.append(candidate)
            self._match()

    def withdraw(self, candidate: Candidate) -> None:
        """The candidate is busy again (or its close fell through): its waiter, if
        still waiting, is matched anew."""
        if candidate in self._candidates:
            self._candidates.remove(candidate)
        waiter, candidate.asked_by = candidate.asked_by, None
        if waiter is not None and waiter.candidate is candidate:
            waiter.candidate = None
        self._match()

    def commit(self, candidate: Candidate) -> None:
        """The candidate tries to close now; its waiter stays served (the ID is on
        its way) unless the close falls through (``withdraw``)."""
        if candidate in self._candidates:
            self._candidates.remove(candidate)

    def _match(self) -> None:
        for waiter in self._waiters:
            if waiter.candidate is not None:
                continue
            free = [c for c in self._candidates if c.asked_by is None
                    and (waiter.scope is None or c.mapping == waiter.scope)]
            if not free:
                continue
            best = min(free, key=lambda c: c.idle_since)
            best.asked_by = waiter
            waiter.candidate = best
            best.notify()
