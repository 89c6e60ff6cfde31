"""``TransparentSocket``: a module socket that may move to a channel of its own.

It wraps the ``SslSocket`` the open made (its *home*: buffer or push mode on
its command channel) and satisfies the proxy's ``ModuleSocket`` protocol.
``enter`` borrows a channel (``DedicatedChannels``) and switches the socket
to transparent mode there (``AT+QISWTMD=<id>,2``, manual 1.3): from then
its bytes go raw both ways with no per-chunk command.  ``leave`` escapes
(``+++``), checks the end and gives the channel back; the home socket goes
on in buffer mode.  When the module ends the session (``NO CARRIER``), the
end is checked the same way and the home socket, told the peer closed,
reads what the module still holds (``AT+QSSLRECV`` until ``+QSSLRECV: 0``)
before the end of stream: the client gets FIN only for a complete stream.

Order across the switch (docs/reliability.md, "Transparent mode"):

* in: the reader is parked where it holds no byte, and the home socket
  hands over what it holds (``drain_for_close``: a push socket goes to
  buffer mode first, and one read follows) until the module shows its
  buffer empty; those bytes go out first.  Bytes the module receives after
  that wait in its buffer and come first on the lent channel (a guess the
  emulator plays: the manual does not say).  A switch that cannot get there
  (refused, or a download keeps the buffer from ever showing empty) is
  given up: the socket stays where it was;
* out: what the lent channel delivered before the marker goes first, then
  the home socket's reads.

One sender at a time (the pump's): ``send_all``, ``enter``, ``leave``,
``drain_for_close`` and ``aclose`` take turns on one lock; the reader never
holds it.
"""

from __future__ import annotations

import enum
import logging

import trio

from modem.core import commands
from modem.core.errors import ModemError
from modem.core.limits import MAX_RECV
from modem.core.log_fields import kv
from modem.link.channel import AtChannel
from modem.sockets.socket_life import SocketPhase
from modem.sockets.ssl_socket import SslSocket
from modem.sockets.transparent_channels import DedicatedChannels, TransparentOptions
from modem.sockets.transparent_end import EndMarker
from modem.sockets.transparent_session import TransparentSession, take_some

__all__ = ["SocketMode", "TransparentSocket"]

log = logging.getLogger("modem.socket")

CLOSE_END_WAIT = 3.0
"""Seconds ``aclose`` waits for the ``NO CARRIER`` its ``AT+QSSLCLOSE`` causes
on the lent channel before it fails that channel."""


class SocketMode(enum.Enum):
    """Where a ``TransparentSocket``'s bytes go."""

    COMMANDS = "commands"
    """Through the home socket's commands on its own channel."""
    SWITCHING = "switching"
    """Into transparent mode: the reader waits."""
    TRANSPARENT = "transparent"
    """Raw on a lent channel."""


class TransparentSocket(trio.abc.Stream):
    """See the module docstring; ``home`` is the opened socket, ``channels`` lend
    channels for transparent mode."""

    def __init__(self, home: SslSocket, channels: DedicatedChannels,
                 options: TransparentOptions | None = None) -> None:
        self.home = home
        self.client_id = home.client_id
        self.options = options or TransparentOptions()
        self.mode = SocketMode.COMMANDS
        self.refused = False
        """The module refused transparent mode for this socket: no more tries."""
        self.sessions = 0
        self._channels = channels
        self._session: TransparentSession | None = None
        self._carry = bytearray()  # bytes handed over at a switch: they go first
        self._lock = trio.Lock()
        self._changed = trio.Event()
        self._home_read: trio.CancelScope | None = None
        self._home_read_over = trio.Event()
        self._home_read_over.set()

    def __repr__(self) -> str:
        return f"<TransparentSocket id={self.client_id} {self.mode.value}>"

    @property
    def own(self) -> AtChannel:
        """The home socket's command channel (its reads and state queries)."""
        return self.home.channel

    @property
    def peer_closed(self) -> bool:
        return self.home.peer_closed

    @property
    def id_lost(self) -> bool:
        return self.home.id_lost

    @property
    def bytes_sent(self) -> int:
        session = self._session
        return self.home.bytes_sent + (0 if session is None else session.bytes_sent)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- into transparent mode -------------------------------------------------

    async def enter(self) -> bool:
        """Move to a lent channel; True when in transparent mode (now or already)."""
        async with self._lock:
            if self._session is not None:
                return True
            if self.refused or self.home.phase is not SocketPhase.OPEN:
                return False
            channel = self._channels.borrow()
            if channel is None:
                return False
            entered = False
            try:
                entered = await self._switch(channel)
            finally:
                if not entered:
                    self._channels.give_back(channel)
            return entered

    async def _switch(self, channel: AtChannel) -> bool:
        self.mode = SocketMode.SWITCHING
        self._wake()
        try:
            if self._home_read is not None:
                self._home_read.cancel()
            await self._home_read_over.wait()
            if not await self._hand_over():
                return False
            session = TransparentSession(channel, self.own, self.client_id, self.options)
            try:
                entered = await session.start(commands.qiswtmd(self.client_id, 2))
            except ModemError as exc:
                self.home.fail(exc)
                raise
            if not entered:
                self.refused = True
                log.info("transparent mode refused", extra=kv(id=self.client_id))
                return False
            self._session = session
            self.sessions += 1
            return True
        finally:
            self.mode = SocketMode.TRANSPARENT if self._session else SocketMode.COMMANDS
            self._wake()

    async def _hand_over(self) -> bool:
        """What the home socket holds goes to the carry until the module shows its
        buffer empty (True); False when it cannot show that within the carry's
        bound, or the socket is in no state to switch."""
        while len(self._carry) <= self.options.carry_limit:
            data = await self.home.drain_for_close(MAX_RECV - 1)  # no read ahead
            if data is None:
                self.refused = True  # the module refuses the switch to buffer mode
                return False
            if self.home.peer_closed:
                return False
            if not data:
                return True
            self._carry += data
        return False

    # -- out of it ------------------------------------------------------------

    async def leave(self) -> None:
        """Escape to buffer mode, check the end, give the channel back."""
        async with self._lock:
            await self._leave_locked()

    async def _leave_locked(self) -> None:
        session = self._session
        if session is None:
            return
        await session.escape()
        await self._finish(session)

    async def _finish_as_reader(self, session: TransparentSession) -> None:
        """The reader saw ``session`` end: settle it once the sender is out of it (a
        chunk on its way finishes, the next sees the end), since the checks run
        commands on the channel the sender writes raw bytes to."""
        async with self._lock:
            await self._finish(session)

    async def _finish(self, session: TransparentSession, *, closed: bool = False) -> None:
        """The session is over: settle it, give its channel back, and let the home
        socket go on (after ``NO CARRIER``: as closed by the peer)."""
        failure = await session.settle(closed=closed)
        if self._session is not session:
            return
        self._session = None
        self._carry += session.inbox  # delivered before the marker: goes first
        session.inbox.clear()
        self.mode = SocketMode.COMMANDS
        self._channels.give_back(session.channel)
        self._wake()
        if failure is not None:
            self.home.fail(failure)
        elif session.marker is EndMarker.NO_CARRIER:
            self.home.notify_closed()
        else:
            self.home.notify_recv()  # the module may hold what came after it left
        log.info("transparent mode over", extra=kv(
            id=self.client_id, end=session.marker.value if session.marker else None,
            sent=session.bytes_sent, failure=str(failure) if failure else None))

    # -- trio.abc.Stream -------------------------------------------------------

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        async with self._lock:
            session = self._session
            if session is None:
                await self.home.send_all(data)
                return
            if self.home.failure is not None:
                raise self.home.failure
            await session.send(data)

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        while True:
            if self._carry:
                return await take_some(self._carry, max_bytes)
            session = self._session
            if session is not None:
                if self.home.failure is not None:
                    raise self.home.failure
                data = await session.receive_some(max_bytes)
                if data:
                    return data
                await self._finish_as_reader(session)
                continue
            if self.mode is SocketMode.SWITCHING:
                await self._changed.wait()
                continue
            read = await self._read_home(max_bytes)
            if read is not None:
                return read

    async def _read_home(self, max_bytes: int | None) -> bytes | None:
        """A read of the home socket that a switch may cancel (None then): the
        home socket holds no byte where it can be cancelled."""
        with trio.CancelScope() as scope:
            self._home_read = scope
            self._home_read_over = trio.Event()
            try:
                return await self.home.receive_some(max_bytes)
            finally:
                self._home_read = None
                self._home_read_over.set()
        return None if scope.cancelled_caught else b""

    async def drain_for_close(self, max_bytes: int | None = None) -> bytes | None:
        """As ``SslSocket.drain_for_close``, after leaving transparent mode."""
        async with self._lock:
            await self._leave_locked()
        if self._carry:
            return await take_some(self._carry, MAX_RECV if max_bytes is None else max_bytes)
        return await self.home.drain_for_close(max_bytes)

    async def aclose(self) -> None:
        """Close the module socket; a session still running ends with the
        ``NO CARRIER`` the close causes, and its channel goes back."""
        with trio.CancelScope(shield=True):
            session = self._session
            await self.home.aclose()
            if session is not None:
                with trio.move_on_after(CLOSE_END_WAIT):
                    while session.marker is None and session.channel.failure is None:
                        await session.wait_changed()
                await self._finish(session, closed=True)
