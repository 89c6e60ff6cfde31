"""The module's socket IDs (``<clientID>`` 0-11, manual 2.1.2) as a pool.

An ID comes back into use as late as possible: the one freed longest ago is
handed out first.  A closed socket's late pushes are dropped at the barrier
of the next ``+QSSLOPEN`` for its ID (``modem.sockets.socket_table``); rotating
the IDs keeps that barrier far from the close whenever there is room.  IDs
given as ``last`` (``push_headers.BUFFER_ONLY_IDS``, which cannot use push
mode) are handed out only when no other is free.
"""

from __future__ import annotations

from collections import deque

import trio

from modem.core.limits import CLIENT_IDS

__all__ = ["CLIENT_IDS", "ClientIdPool"]


class ClientIdPool:
    """Hands out client IDs, the longest free first; ``acquire`` waits while all
    are taken.  Waiters are served first come, first served.
    """

    def __init__(self, capacity: int = CLIENT_IDS, *, last: frozenset[int] = frozenset()
                 ) -> None:
        if not 1 <= capacity <= CLIENT_IDS:
            raise ValueError(f"capacity must be 1-{CLIENT_IDS}, not {capacity}")
        self.capacity = capacity
        self._last = last
        self._free: deque[int] = deque(i for i in range(capacity) if i not in last)
        self._free_last: deque[int] = deque(i for i in range(capacity) if i in last)
        self._limiter = trio.Semaphore(capacity)

    @property
    def free(self) -> int:
        return len(self._free) + len(self._free_last)

    @property
    def in_use(self) -> frozenset[int]:
        return frozenset(range(self.capacity)) - frozenset(self._free) - frozenset(
            self._free_last)

    async def acquire(self) -> int:
        await self._limiter.acquire()
        return self._take()

    def acquire_nowait(self) -> int:
        """An ID now, or ``trio.WouldBlock``."""
        self._limiter.acquire_nowait()
        return self._take()

    def _take(self) -> int:
        return (self._free or self._free_last).popleft()

    def release(self, client_id: int) -> None:
        if client_id not in self.in_use:
            raise ValueError(f"client id {client_id} is not in use")
        (self._free_last if client_id in self._last else self._free).append(client_id)
        self._limiter.release()
