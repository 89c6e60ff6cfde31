"""``SocketLife``: where an ``SslSocket`` is in its life, and the wake-ups of its reader.

The life is one ``SocketPhase``; every change of phase goes through
``SocketLife`` (the allowed ones are ``_NEXT``'s), and the socket's
``peer_closed``, ``id_lost`` and ``failure`` are read from it.  A change of
phase wakes the reader, and so does anything else the reader may wait for
(a "recv" URC, pushed data): ``wake`` and ``woken``.
"""

from __future__ import annotations

import enum

import trio

from modem.core.errors import ModemError

__all__ = ["SocketLife", "SocketPhase"]


class SocketPhase(enum.Enum):
    """Where a module socket is in its life."""

    OPEN = "open"
    """Data flows both ways."""
    PEER_CLOSED = "peer closed"
    """The peer closed (``+QSSLURC: "closed"``, or ``AT+QSSLSTATE`` found the
    socket no longer connected): reads return what the module still holds,
    then end of stream; a send the module refuses raises ``SocketClosed``."""
    ID_LOST = "id lost"
    """``AT+QSSLSTATE`` listed no such socket, and no "closed" URC had come:
    as ``PEER_CLOSED``, but nobody knows whether the stream was complete."""
    FAILED = "failed"
    """The socket is gone (module lost, PDP context dropped, a stalled send,
    a command that broke): every call raises the failure."""
    CLOSED = "closed"
    """``aclose`` ran: every call raises ``trio.ClosedResourceError``."""


_NEXT: dict[SocketPhase, frozenset[SocketPhase]] = {
    SocketPhase.OPEN: frozenset({SocketPhase.PEER_CLOSED, SocketPhase.ID_LOST,
                                 SocketPhase.FAILED, SocketPhase.CLOSED}),
    SocketPhase.PEER_CLOSED: frozenset({SocketPhase.FAILED, SocketPhase.CLOSED}),
    SocketPhase.ID_LOST: frozenset({SocketPhase.FAILED, SocketPhase.CLOSED}),
    SocketPhase.FAILED: frozenset({SocketPhase.CLOSED}),
    SocketPhase.CLOSED: frozenset(),
}
"""The phases each phase may move on to; any other change asked for is ignored
(a "closed" URC for a failed socket, a failure after the close...)."""


class SocketLife:
    """One socket's ``SocketPhase``, its failure, and its reader's wake-ups."""

    __slots__ = ("_failure", "_phase", "_wakeup")

    def __init__(self) -> None:
        self._phase = SocketPhase.OPEN
        self._failure: ModemError | None = None
        self._wakeup = trio.Event()

    @property
    def phase(self) -> SocketPhase:
        return self._phase

    @property
    def failure(self) -> ModemError | None:
        """The first failure, also when it came after the close (None without one)."""
        return self._failure

    @property
    def peer_closed(self) -> bool:
        """The stream ends once the module's buffer is drained (``PEER_CLOSED``, ``ID_LOST``)."""
        return self._phase in (SocketPhase.PEER_CLOSED, SocketPhase.ID_LOST)

    @property
    def usable(self) -> bool:
        """Neither failed nor closed."""
        return self._phase not in (SocketPhase.FAILED, SocketPhase.CLOSED)

    def check_usable(self) -> None:
        """Raise ``trio.ClosedResourceError`` once closed, the failure once failed."""
        if self._phase is SocketPhase.CLOSED:
            raise trio.ClosedResourceError("socket was closed")
        if self._failure is not None:
            raise self._failure

    # -- the changes -------------------------------------------------------------

    def end_by_peer(self) -> None:
        """The peer closed: drain, then end of stream."""
        self._move(SocketPhase.PEER_CLOSED)

    def lose_id(self) -> None:
        """The module lists the socket no more, though it never said "closed"."""
        self._move(SocketPhase.ID_LOST)

    def fail(self, failure: ModemError) -> None:
        """The socket is gone; the first failure is the one kept."""
        if self._failure is None:
            self._failure = failure
        self._move(SocketPhase.FAILED)

    def close(self) -> None:
        self._move(SocketPhase.CLOSED)

    def _move(self, to: SocketPhase) -> None:
        if to in _NEXT[self._phase]:
            self._phase = to
        self.wake()

    # -- the reader's wake-ups ---------------------------------------------------

    def wake(self) -> None:
        """Wake the reader if it waits (``woken``)."""
        self._wakeup.set()
        self._wakeup = trio.Event()

    async def woken(self) -> None:
        """Until the next ``wake``."""
        await self._wakeup.wait()
