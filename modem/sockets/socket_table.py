"""The driver's socket table: which client ID is opening, open, or stuck closing.

The module holds up to 12 sockets, ``<clientID>`` 0-11 (manual 2.1.2).  The
table holds the pool of free IDs, the open sockets (the URC router finds
them here), the opens waiting for their ``+QSSLOPEN: <id>,<err>`` URC, and
the IDs whose ``AT+QSSLCLOSE`` (manual 2.1.5) went unanswered: those stay
out of the pool until a later close is answered, so an ID the module may
still hold is never handed out again.

A socket's URCs reach it only from the ``+QSSLOPEN: <id>,0`` that opened it
(or the poll that found it connected) until its close: that URC is the
barrier between an ID's old socket and its new one.  Pushed data and
notices for an ID with no open socket (a closed socket's late pushes, queued
in the module behind other output when its ``AT+QSSLCLOSE`` was answered) are
dropped and counted (``LineIntegrity``).  This rests on a guess, written down
in docs/reliability.md: the module writes its URCs in the order it queued
them, so a late push of an ID's old socket comes before the next
``+QSSLOPEN`` of that ID.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from modem.core import commands
from modem.core import events as ev
from modem.core.errors import ModemError, OpenOutcomeLost, OperationTimeout
from modem.core.limits import CLIENT_IDS
from modem.core.line_integrity import LineIntegrity
from modem.core.log_fields import kv
from modem.core.module_word import ModuleWord
from modem.core.push_headers import BUFFER_ONLY_IDS
from modem.core.stream_errors import LineSyncLost, PushDataLost
from modem.core.urc_watch import UrcHealth
from modem.link.channel import AtChannel
from modem.sockets.client_ids import ClientIdPool
from modem.sockets.socket_commands import NoSocketState, close_client_id, socket_report, state_of
from modem.sockets.ssl_socket import SslSocket

__all__ = ["OpenWaiter", "SocketTable"]

log = logging.getLogger("modem.driver")

UNCONFIRMED_RETRY_INTERVAL = 1.0
"""Seconds between two rounds of closing the IDs the module did not confirm closed."""


class OpenWaiter:
    """One ``AT+QSSLOPEN`` of ``sock`` waiting for its ``+QSSLOPEN: <id>,<err>`` URC.

    ``err`` is the outcome once ``done`` is set: 0 for connected, else the
    manual's error code; ``None`` while nothing came (or when the open was
    ended without an outcome: the module was lost).  ``by_poll``: the outcome
    came from ``AT+QSSLSTATE``, not the URC.  ``unverified``: something may
    have been lost for this ID while it opened (its own early pushes went
    elsewhere, or the line lost its place): its first bytes cannot be vouched for.
    ``report``: the ``AT+QSSLSTATE`` line that resolved it by polling (its
    ``<AT_port>`` names the port the module opened it from).
    """

    __slots__ = ("by_poll", "done", "err", "report", "sock", "unverified")

    def __init__(self, sock: SslSocket) -> None:
        self.sock = sock
        self.done = trio.Event()
        self.err: int | None = None
        self.by_poll = False
        self.unverified = False
        self.report: commands.SslSocketState | None = None


class SocketTable:
    """The client IDs and what each one is doing; see the module docstring."""

    def __init__(self, capacity: int = CLIENT_IDS, health: UrcHealth | None = None,
                 word: ModuleWord | None = None) -> None:
        self.client_ids = ClientIdPool(capacity, last=BUFFER_ONLY_IDS)
        self.health = health or UrcHealth()
        self.word = word or ModuleWord()
        """What the module reported of its push support and AT port."""
        self.integrity = LineIntegrity()
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
        """Wait for ``sock``'s ``+QSSLOPEN`` URC; its URCs reach it from then on."""
        waiter = OpenWaiter(sock)
        self._opening[sock.client_id] = waiter
        return waiter

    def end_open(self, waiter: OpenWaiter, connected: bool) -> None:
        """The open is over: keep routing to the socket when it connected, else
        forget it (and anything routed to it)."""
        sock = waiter.sock
        if self._opening.get(sock.client_id) is waiter:
            del self._opening[sock.client_id]
        if not connected and self._sockets.get(sock.client_id) is sock:
            del self._sockets[sock.client_id]

    def _opened(self, waiter: OpenWaiter, err: int, by_poll: bool) -> None:
        """The open's outcome: a connected socket gets its URCs from this moment."""
        waiter.err = err
        waiter.by_poll = by_poll
        if err == 0:
            self._sockets[waiter.sock.client_id] = waiter.sock
        waiter.done.set()

    # -- URCs ------------------------------------------------------------------

    def route(self, urc: ev.Urc) -> bool:
        """Hand a socket URC to its socket or open; False when it is not one."""
        if isinstance(urc, ev.SslRecv | ev.SslClosed | ev.SslOpened):
            self.health.note_urc()
        match urc:
            case ev.SslRecv(client_id=cid) | ev.SslClosed(client_id=cid):
                sock = self._sockets.get(cid)
                if sock is None:
                    self._stale(cid, urc)
                elif isinstance(urc, ev.SslRecv):
                    sock.notify_recv()
                else:
                    sock.notify_closed()
            case ev.SslPushData(client_id=cid, data=data):
                self.health.pushes += 1
                sock = self._sockets.get(cid)
                if sock is None or not sock.deliver_push(data):
                    self._stale(cid, urc)
            case ev.SslOpened(client_id=cid, err=err):
                waiter = self._opening.get(cid)
                if waiter is not None and not waiter.done.is_set():
                    self._opened(waiter, err, by_poll=False)
            case ev.PushFrameBroken(client_id=cid, reason=reason):
                self.integrity.broken_frames += 1
                sock = self._sockets.get(cid)
                if sock is not None:
                    sock.fail(PushDataLost(cid, reason))
                else:
                    self._stale(cid, urc)
            case ev.LineLost(reason=reason):
                self._line_lost(reason)
            case _:
                return False
        return True

    def _stale(self, cid: int, urc: ev.Urc) -> None:
        """A URC for an ID with no open socket: dropped and counted.  Early pushes
        of an open still waiting for its URC make that open unverified."""
        waiter = self._opening.get(cid)
        if isinstance(urc, ev.SslPushData | ev.PushFrameBroken):
            self.integrity.stale_pushes += 1
            if isinstance(urc, ev.SslPushData):
                self.integrity.stale_push_bytes += len(urc.data)
            if waiter is not None:
                waiter.unverified = True
            log.debug("pushed data for no open socket dropped", extra=kv(
                id=cid, why="its open is not confirmed yet" if waiter else "closed"))
        else:
            self.integrity.stale_notices += 1

    def _line_lost(self, reason: str) -> None:
        """The reader dropped a run of bytes: every push-mode socket's data may be
        in it, and so may the ``+QSSLOPEN`` or first pushes of a pending open."""
        self.integrity.line_losses += 1
        for cid, sock in list(self._sockets.items()):
            if sock.push is not None:  # opened in push mode, or switched to it since
                sock.fail(LineSyncLost(cid, reason))
        for waiter in self._opening.values():
            waiter.unverified = True

    async def wait_open(self, channel: AtChannel, waiter: OpenWaiter, client_id: int,
                        limit: float, what: str) -> int:
        """The outcome of an open that answered ``OK``: 0 (connected) or an error code.

        Waits for the ``+QSSLOPEN`` URC; while it is late, asks
        ``AT+QSSLSTATE=<id>`` (manual 2.1.6; see ``modem.core.urc_watch``):
        connected is success, opening waits on, closing waits one more gap
        (a socket that connected and whose peer already closed, its URC
        still queued behind push data on a busy line) and is then success
        unless ``AT+QIGETERROR``, asked just before, names an error; anything
        else (initial, no line) failed: the code is ``AT+QIGETERROR``'s, when
        it gives one, else ``OpenOutcomeLost``.  ``OperationTimeout`` after
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
                report = await socket_report(channel, client_id)
                state = state_of(report)
                if waiter.done.is_set():
                    break
                if state in (commands.SocketState.OPENING, NoSocketState.UNREADABLE):
                    continue
                if state is commands.SocketState.CLOSING and not closing_seen:
                    closing_seen = True
                    continue
                self.health.note_open_by_state()
                # Closing, with no error to show for it: it connected, and its peer
                # already closed (its "closed", like its +QSSLOPEN, went elsewhere).
                if state is commands.SocketState.CONNECTED or (
                        state is commands.SocketState.CLOSING and not last_error):
                    log.info("open resolved by AT+QSSLSTATE (its URC never came)",
                             extra=kv(id=client_id))
                    if isinstance(report, commands.SslSocketState):
                        waiter.report = report
                    self._opened(waiter, 0, by_poll=True)
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
            waiter.sock.fail(failure)
            if open_err is not None:
                waiter.err = open_err
            waiter.done.set()

    def free_after_close(self, client_id: int, confirmed: bool,
                         channel: AtChannel | None) -> None:
        """An ID whose socket never opened was closed: free it only when the
        module confirmed the close (or its life is over); else close it again later."""
        if confirmed or channel is None or channel.failure is not None:
            self.release(client_id)
            return
        log.info("socket not confirmed closed; retrying the close later",
                 extra=kv(id=client_id))
        self._unconfirmed.add(client_id)
        self._unconfirmed_wakeup.set()

    # -- closing ---------------------------------------------------------------

    def socket_closed(self, sock: SslSocket, confirmed: bool, channel: AtChannel | None) -> None:
        """``sock`` was closed; ``confirmed`` when the module answered the close.

        ``channel`` is the module life's live channel (None between lives).
        """
        cid = sock.client_id
        if self._sockets.get(cid) is sock:
            del self._sockets[cid]
        # Closed, or the module life it belonged to is over (the next bring-up
        # closes whatever the module still holds): the ID is free.
        self.free_after_close(cid, confirmed, channel)

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
