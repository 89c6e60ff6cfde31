"""The driver's socket table: which client ID is opening, open, or stuck closing.

The module holds up to 12 sockets, ``<clientID>`` 0-11 (manual 2.1.2).  The
table holds the pool of free IDs, the open sockets (the URC router finds
them here), the opens waiting for their ``+QSSLOPEN: <id>,<err>`` URC, and
the IDs whose ``AT+QSSLCLOSE`` (manual 2.1.5) went unanswered: those stay
out of the pool until a later close is answered, so an ID the module may
still hold is never handed out again.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

import trio

from modem.core import commands
from modem.core import events as ev
from modem.core.errors import ModemError, OpenOutcomeLost, OperationTimeout, SocketClosed
from modem.core.limits import CLIENT_IDS
from modem.core.log_fields import kv
from modem.core.urc_watch import UrcHealth
from modem.link.channel import AtChannel
from modem.sockets.client_ids import ClientIdPool
from modem.sockets.socket_commands import NoSocketState, close_client_id, socket_state
from modem.sockets.ssl_socket import SslSocket

__all__ = ["OPEN_ENDED_BY_PEER_CLOSE", "OpenEnd", "OpenWaiter", "SocketTable"]

log = logging.getLogger("modem.driver")

OPEN_ENDED_BY_PEER_CLOSE = SocketClosed.code
"""567: the outcome of an open whose ``+QSSLURC: "closed"`` came before ``+QSSLOPEN``."""

UNCONFIRMED_RETRY_INTERVAL = 1.0
"""Seconds between two rounds of closing the IDs the module did not confirm closed."""


class OpenEnd(enum.Enum):
    """How an open ended, for the table: keep the socket or forget it."""

    CONNECTED = "connected"
    FAILED = "failed"


class OpenWaiter:
    """One ``AT+QSSLOPEN`` waiting for its ``+QSSLOPEN: <id>,<err>`` URC.

    ``err`` is the outcome once ``done`` is set: 0 for connected, else the
    manual's error code; ``None`` while nothing came (or when the open was
    ended without an outcome: the module was lost).
    """

    __slots__ = ("done", "err")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.err: int | None = None


class SocketTable:
    """The client IDs and what each one is doing; see the module docstring."""

    def __init__(self, capacity: int = CLIENT_IDS, health: UrcHealth | None = None) -> None:
        self.client_ids = ClientIdPool(capacity)
        self.health = health or UrcHealth()
        self._sockets: dict[int, SslSocket] = {}
        self._opening: dict[int, OpenWaiter] = {}
        self._unconfirmed: set[int] = set()
        self._unconfirmed_wakeup = trio.Event()

    @property
    def sockets(self) -> dict[int, SslSocket]:
        """The open sockets by client ID (a copy)."""
        return dict(self._sockets)

    # -- opening ---------------------------------------------------------------

    def begin_open(self, sock: SslSocket) -> OpenWaiter:
        """Route ``sock``'s URCs to it and wait for its ``+QSSLOPEN`` URC."""
        waiter = OpenWaiter()
        self._opening[sock.client_id] = waiter
        self._sockets[sock.client_id] = sock
        return waiter

    def end_open(self, sock: SslSocket, end: OpenEnd) -> None:
        """The open is over: keep the socket when it connected, else forget it."""
        self._opening.pop(sock.client_id, None)
        if end is OpenEnd.FAILED and self._sockets.get(sock.client_id) is sock:
            del self._sockets[sock.client_id]

    # -- URCs ------------------------------------------------------------------

    def route(self, urc: ev.Urc) -> bool:
        """Hand a socket URC to its socket or open; False when it is not one."""
        if isinstance(urc, ev.SslRecv | ev.SslClosed | ev.SslOpened):
            self.health.note_urc()
        match urc:
            case ev.SslRecv(client_id=cid):
                sock = self._sockets.get(cid)
                if sock is not None:
                    sock.notify_recv()
            case ev.SslClosed(client_id=cid):
                sock = self._sockets.get(cid)
                if sock is not None:
                    sock.notify_closed()
                waiter = self._opening.get(cid)
                if waiter is not None and waiter.err is None:
                    waiter.err = OPEN_ENDED_BY_PEER_CLOSE
                    waiter.done.set()
            case ev.SslPushData(client_id=cid, data=data):
                self.health.pushes += 1
                sock = self._sockets.get(cid)
                if sock is None or not sock.deliver_push(data):
                    log.warning("pushed bytes for no push-mode socket dropped",
                                extra=kv(id=cid, bytes=len(data)))
            case ev.SslOpened(client_id=cid, err=err):
                waiter = self._opening.get(cid)
                if waiter is not None:
                    waiter.err = err
                    waiter.done.set()
            case _:
                return False
        return True

    async def wait_open(self, channel: AtChannel, waiter: OpenWaiter, client_id: int,
                        limit: float, what: str) -> int:
        """The outcome of an open that answered ``OK``: 0 (connected) or an error code.

        Waits for the ``+QSSLOPEN`` URC; while it is late, asks
        ``AT+QSSLSTATE=<id>`` (manual 2.1.6; see ``modem.core.urc_watch``):
        connected is success, opening waits on, closing waits one more gap
        (a socket that connected and whose peer already closed, its URC
        still queued behind push data on a busy line), anything else
        (closing again, initial, no line) failed: the code is that of ``AT+QIGETERROR``,
        asked just before, when it gives one, else ``OpenOutcomeLost``.  ``OperationTimeout`` after
        ``limit`` seconds (the manual's 150 s plus the negotiate time).
        """
        closing_seen = False
        with trio.move_on_after(limit):
            for gap in self.health.polling.open_checks():
                with trio.move_on_after(gap):
                    await waiter.done.wait()
                if waiter.done.is_set():
                    break
                # The last error first: a command that succeeds (the state
                # query too, on our emulator) may reset it.
                last_error = await _last_error(channel)
                state = await socket_state(channel, client_id)
                if waiter.done.is_set():
                    break
                if state in (commands.SocketState.OPENING, NoSocketState.UNREADABLE):
                    continue
                if state is commands.SocketState.CLOSING and not closing_seen:
                    closing_seen = True
                    continue
                self.health.note_open_by_state()
                if state is commands.SocketState.CONNECTED:
                    log.info("open resolved by AT+QSSLSTATE (its URC never came)",
                             extra=kv(id=client_id))
                    return 0
                if last_error:
                    return last_error
                raise OpenOutcomeLost(what, "no socket" if state is NoSocketState.NOT_LISTED
                                      else f"state {state}")
        if channel.failure is not None:
            raise channel.failure
        if waiter.err is None:
            raise OperationTimeout(command=what)
        return waiter.err

    def fail_all(self, failure: ModemError, open_err: int | None = None) -> None:
        """Fail every socket with ``failure`` and end every pending open
        (with ``open_err`` as its outcome when given)."""
        for sock in list(self._sockets.values()):
            sock.fail(failure)
        for waiter in self._opening.values():
            if open_err is not None:
                waiter.err = open_err
            waiter.done.set()

    # -- closing ---------------------------------------------------------------

    def socket_closed(self, sock: SslSocket, confirmed: bool, channel: AtChannel | None) -> None:
        """``sock`` was closed; ``confirmed`` when the module answered the close.

        ``channel`` is the module life's live channel (None between lives).
        """
        cid = sock.client_id
        if self._sockets.get(cid) is sock:
            del self._sockets[cid]
        if confirmed or channel is None or channel.failure is not None:
            # Closed, or the module life it belonged to is over: the next
            # bring-up closes whatever the module still holds.
            self.release(cid)
            return
        log.warning("socket not confirmed closed; retrying the close later", extra=kv(id=cid))
        self._unconfirmed.add(cid)
        self._unconfirmed_wakeup.set()

    async def close_unconfirmed(self, channel: AtChannel,
                                retry_interval: float = UNCONFIRMED_RETRY_INTERVAL) -> None:
        """Close IDs whose ``AT+QSSLCLOSE`` went unanswered, then free them (runs
        for the module life of ``channel``)."""
        while True:
            await self._unconfirmed_wakeup.wait()
            self._unconfirmed_wakeup = trio.Event()
            for cid in sorted(self._unconfirmed):
                if await close_client_id(channel, cid, 0):
                    self._unconfirmed.discard(cid)
                    self.release(cid)
            if self._unconfirmed:
                await trio.sleep(retry_interval)
                self._unconfirmed_wakeup.set()

    def release_unconfirmed(self) -> None:
        """After a bring-up closed every stale socket, unconfirmed IDs are free."""
        for cid in self._unconfirmed:
            self.release(cid)
        self._unconfirmed.clear()

    def release(self, client_id: int) -> None:
        """Give ``client_id`` back to the pool (no matter if it already is)."""
        try:
            self.client_ids.release(client_id)
        except ValueError:
            pass

    async def close_all(self, bound: float, on_overrun: Callable[[], None]) -> None:
        """Close every open socket; after ``bound`` seconds call ``on_overrun``
        (which breaks the channel, ending the closes at once: each command is
        shielded and would otherwise wait out its own time)."""

        async def watchdog() -> None:
            await trio.sleep(bound)
            on_overrun()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watchdog)
            for sock in list(self._sockets.values()):
                await sock.aclose()
            nursery.cancel_scope.cancel()



async def _last_error(channel: AtChannel) -> int:
    """``AT+QIGETERROR``'s code (manual chapter 5); 0 when it gives none."""
    resp = await channel.run(commands.qigeterror())
    if resp.ok and resp.lines:
        try:
            return commands.parse_qigeterror(resp.lines[0])[0]
        except ValueError:
            return 0
    return 0
