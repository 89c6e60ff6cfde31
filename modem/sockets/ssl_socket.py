"""``SslSocket``: one module TLS socket as a ``trio.abc.Stream``.

Buffer access mode (manual 1.3, 2.1.3, 2.1.4):

* ``send_all``: ``AT+QSSLSEND`` in chunks, ``SEND FAIL`` retried until
  ``send_stall_timeout`` (``modem.sockets.chunk_sender``).
* ``receive_some`` issues ``AT+QSSLRECV`` only when the caller asks, so a caller that stops
  reading stops the reads, the module buffer fills and the server's TCP window closes:
  backpressure end to end. It reads until the module's buffer is empty (``+QSSLRECV: 0``, or
  fewer bytes than asked) before it waits for the next ``+QSSLURC: "recv"`` (a notification,
  not a byte count), and returns ``b""`` once the peer closed and everything buffered was
  delivered. No URC is load-bearing: a quiet reader polls, with backoff
  (``modem.core.urc_watch``).
* ``aclose`` sends ``AT+QSSLCLOSE`` and returns the client ID to the pool.

Push mode (manual 1.3): the module writes data unasked; the ``PushReceiver`` keeps it in a
bounded ``PushInbox`` and switches the socket to buffer mode while its reader lags
(``modem.core.push_flow``).  Whatever mode it was opened in, it is read the way the module
says (``follow_mode``).  Its life is a ``SocketPhase``, its reads follow a ``ReadSchedule``.
Channels (``modem.channels``): sends go on ``channel``; the receive side on
``push_channel()`` when given (where the socket URCs come: a push-mode socket's answers
keep their order with its pushes, a buffer-mode one's reads wait behind no other
socket's sends); its close on ``control_channel``.  All are ``channel`` unless given.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from modem.core import commands
from modem.core.at_command import Command
from modem.core.errors import ModemError
from modem.core.limits import MAX_RECV
from modem.core.log_fields import kv
from modem.core.push_flow import DEFAULT_PUSH_LIMIT, AccessMode, PushInbox, PushState
from modem.core.stream_errors import EndUnconfirmed
from modem.core.urc_watch import UrcHealth, UrcPolling
from modem.link.answers import Ahead, Response
from modem.link.channel import AtChannel
from modem.link.conflict import OneTaskAtATime
from modem.sockets.chunk_sender import ChunkSender
from modem.sockets.push_receiver import PushReceiver, StartTask
from modem.sockets.read_schedule import PushEnd, ReadSchedule
from modem.sockets.socket_commands import (
    NoSocketState,
    Report,
    StateAnswer,
    close_and_catch_up,
    socket_report,
    state_of,
)
from modem.sockets.socket_life import SocketLife, SocketPhase

log = logging.getLogger("modem.socket")

SEND_STALL_TIMEOUT = 120.0  # seconds a chunk may wait for room in the module's send buffer
CLOSE_TIMEOUT = 1  # seconds the module may spend flushing on AT+QSSLCLOSE
RECHECK_AFTER_SHORT_READ = UrcPolling().read_poll_first
"""Seconds of quiet before a waiting reader first reads anyway (``modem.core.urc_watch``)."""
PUSH_READ_MAX = 65536  # bytes one receive_some may return from the push inbox


class SslSocket(trio.abc.Stream):
    """A connected module socket; made by ``Modem.open_ssl_socket``."""

    def __init__(self, channel: AtChannel, client_id: int, host: str, port: int, *,
                 error_of: Callable[[AtChannel, Response, str], Awaitable[ModemError]],
                 on_close: Callable[[SslSocket, bool], None],
                 send_stall_timeout: float = SEND_STALL_TIMEOUT,
                 health: UrcHealth | None = None,
                 access_mode: AccessMode = AccessMode.BUFFER,
                 push_limit: int = DEFAULT_PUSH_LIMIT,
                 start_task: StartTask | None = None,
                 push_channel: Callable[[], AtChannel] | None = None,
                 control_channel: AtChannel | None = None) -> None:
        """``access_mode``: the mode it is opened in; ``start_task`` starts mode switches in
        a nursery the caller owns (the reader's own task may be stuck writing elsewhere);
        ``push_limit``: the backlog that asks for buffer mode; channels: see above."""
        self.client_id = client_id
        self.access_mode = access_mode
        self.host = host
        self.port = port
        self.bytes_received = 0
        self._channel = channel
        self._control = control_channel or channel
        self._pushes = push_channel or (lambda: channel)
        self._error_of = error_of
        self._on_close = on_close
        self._life = SocketLife()
        self._schedule = ReadSchedule(health or UrcHealth())
        self._push_limit = push_limit
        self._start_task = start_task
        self._push_receiver: PushReceiver | None = None
        if access_mode is AccessMode.PUSH:
            if start_task is None:
                raise ValueError("a push-mode socket needs start_task for its mode switches")
            self._push_receiver = self._new_receiver(start_task)
        self._sender = ChunkSender(channel, client_id, self._life, self._run, error_of,
                                   send_stall_timeout)
        self._receiving = OneTaskAtATime("another task is receiving on this socket")
        self._ahead: Ahead | None = None  # a full read's successor, sent ahead
        self._spill = b""  # what a read ahead got beyond a smaller max_bytes

    def __repr__(self) -> str:
        return f"<SslSocket id={self.client_id} {self.host}:{self.port}>"

    def _new_receiver(self, start_task: StartTask) -> PushReceiver:
        return PushReceiver(self.client_id, self._push_limit, self._life, self._schedule,
                            self._run_receive, start_task, self._report_or_fail)

    # -- what it is ----------------------------------------------------------

    @property
    def channel(self) -> AtChannel:
        """The channel its commands run on."""
        return self._channel

    @property
    def phase(self) -> SocketPhase:
        """Where the socket is in its life."""
        return self._life.phase

    @property
    def peer_closed(self) -> bool:
        """The peer closed: reads drain what the module holds, then end of stream."""
        return self._life.peer_closed

    @property
    def failure(self) -> ModemError | None:
        return self._life.failure

    @property
    def id_lost(self) -> bool:
        """``AT+QSSLSTATE`` listed no such socket although no "closed" URC came: the stream
        ended, complete or not (a guess: the emulator lists a peer-closed socket, state 4)."""
        return self._life.phase is SocketPhase.ID_LOST

    @property
    def push(self) -> PushInbox | None:
        """Push mode: the pushed bytes not yet read, and the module's mode; None in buffer mode."""
        return None if self._push_receiver is None else self._push_receiver.inbox

    @property
    def pushed_any(self) -> bool:
        """A push frame for this socket arrived: the module pushes its data."""
        return self._push_receiver is not None and self._push_receiver.frames > 0

    # -- notifications from the modem's URC router ---------------------------

    def notify_recv(self) -> None:
        """``+QSSLURC: "recv",<id>``: data waits in the module's buffer, whatever
        mode the socket was asked for (``PushReceiver.buffered_data_announced``)."""
        self._schedule.note_urc()
        if self._push_receiver is not None:
            self._push_receiver.buffered_data_announced()
        self._life.wake()

    def notify_closed(self) -> None:
        """``+QSSLURC: "closed",<id>``: drain what is buffered, then end of stream."""
        self._schedule.note_urc()
        self._life.end_by_peer()

    def deliver_push(self, data: bytes) -> bool:
        """``+QSSLURC: "recv",<id>,<len>`` and its data; False when the socket is closed.  A
        buffer-mode socket that gets one was switched to push mode (the AT console's
        ``AT+QISWTMD=<id>,1``): the frame is the module's word."""
        receiver = self._push_receiver or self._pushed_receiver("a push frame came")
        return receiver is not None and receiver.deliver(data)

    def _pushed_receiver(self, why: str) -> PushReceiver | None:
        """The push half of a socket the module pushes for (made now for one opened in
        buffer mode); None when closed."""
        if self._push_receiver is None:
            if self._start_task is None or self._life.phase is SocketPhase.CLOSED:
                return None
            self._push_receiver = self._new_receiver(self._start_task)
            self._push_receiver.inbox.state = PushState.BUFFER  # how it read until now
        self._push_receiver.module_pushes(why)
        return self._push_receiver

    def fail(self, failure: ModemError) -> None:
        """The socket is gone (module lost, PDP context dropped...)."""
        self._life.fail(failure)

    # -- trio.abc.Stream: sending --------------------------------------------

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._sender.send_all(data)

    @property
    def bytes_sent(self) -> int:
        return self._sender.bytes_sent

    @property
    def send_fails(self) -> int:
        """Chunks sent again after ``SEND FAIL`` (module send buffer full)."""
        return self._sender.send_fails

    async def _run(self, command: Command, payload: bytes | None = None,
                   channel: AtChannel | None = None) -> Response:
        """Run a data command (on ``channel``, else the send channel); any failure
        fails the socket for good.

        After a timeout or a framing error nobody knows whether the module
        took the chunk or consumed the data it answered with, so the stream
        cannot continue without risking loss or duplication.
        """
        try:
            return await (channel or self._channel).run(command, payload)
        except ModemError as exc:
            self.fail(exc)
            raise

    async def _run_receive(self, command: Command) -> Response:
        """A command of the receive side: on the channel its pushes come on."""
        return await self._run(command, channel=self._pushes())

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    # -- trio.abc.Stream: receiving ------------------------------------------

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        with self._receiving:
            want = MAX_RECV if max_bytes is None else min(max_bytes, MAX_RECV)
            while True:
                self._life.check_usable()
                receiver = self._push_receiver  # made on the way for a switch to push
                if self._spill:  # a read ahead for more than this caller asks
                    return await self._take_spill(want)
                if receiver is not None and receiver.has_turn and self._ahead is None:
                    # (A read sent ahead before pushes began holds older bytes.)
                    data = await self._push_turn(receiver, max_bytes, want)
                    if data is not None:
                        return data
                    continue
                # A read sent ahead holds bytes older than any push: take it first.
                if receiver is not None and not self._life.peer_closed \
                        and self._ahead is None \
                        and receiver.inbox.may_switch_to_push(self._schedule.found_empty):
                    await receiver.switch_to_push()
                    continue
                if self._schedule.due or self._ahead is not None:
                    by_urc = self._schedule.take_urc()
                    data = await self._read(want)
                    self._after_read(len(data), want, by_urc)
                    if data:
                        if receiver is not None:
                            receiver.inbox.read_in_buffer_mode += len(data)
                        return self._received(data)
                    continue
                if self._life.peer_closed:
                    await trio.lowlevel.checkpoint()
                    return b""
                await self._wait_for_data()

    async def _push_turn(self, receiver: PushReceiver, max_bytes: int | None, want: int
                         ) -> bytes | None:
        """What a push-mode socket's reader gets now: bytes, or None to look again
        (``PushReceiver.take``: data the module kept goes before the inbox)."""
        data = receiver.take(want, PUSH_READ_MAX if max_bytes is None
                             else min(max_bytes, PUSH_READ_MAX))
        if data is not None:
            return self._received(data)
        if receiver.draining:
            await self._life.woken()
        elif self._life.peer_closed and receiver.inbox.state is PushState.PUSH:
            await trio.lowlevel.checkpoint()
            return b""
        else:
            await self._wait_for_push(receiver)
        return None

    async def drain_for_close(self, max_bytes: int | None = None) -> bytes | None:
        """Whether the module still holds anything for this socket, for a caller
        that must know before it closes cleanly (the proxy's idle close): the
        bytes it held, ``b""`` once it showed it holds nothing, or None when it
        cannot show that (firmware that refuses ``AT+QISWTMD``).

        Buffer mode: one ``AT+QSSLRECV`` (manual 2.1.4: "If the buffer is empty,
        response: +QSSLRECV: 0"; a public EG800K log, firmware
        EG800KCNGCR07A06M04, shows a second read after the data answer 0 at once).
        Push mode: pushes may be queued in the module, so the socket first goes
        to buffer mode (``AT+QISWTMD=<id>,0``), and then one read: a push the
        module queued before it answered the switch is on the line before the
        answer to the next command (a guess, docs/reliability.md).
        """
        with self._receiving:
            self._life.check_usable()
            want = MAX_RECV if max_bytes is None else max(1, min(max_bytes, MAX_RECV))
            if self._spill:  # what a read ahead brought beyond an earlier caller's ask
                return await self._take_spill(want)
            receiver = self._push_receiver
            if receiver is not None:
                if receiver.kept or receiver.inbox:
                    await trio.lowlevel.checkpoint()
                    kept = bytes(receiver.kept[:want])
                    del receiver.kept[:want]
                    return self._received(kept or receiver.inbox.take(want))
                if not await receiver.switch_to_buffer_now():
                    return None
            data = await self._read(want)
            self._after_read(len(data), want, False)
            if not data and self._reads_pushes:
                return None  # someone switched it to push: nothing shown empty
            receiver = self._push_receiver
            if not data and receiver is not None and receiver.inbox:
                data = receiver.inbox.take(want)  # arrived behind the switch's answer
            return self._received(data)

    def _after_read(self, got: int, want: int, by_urc: bool) -> None:
        """Book a read: after the peer closed, and before a push socket goes back
        to push, reads go on until the module shows its buffer empty."""
        receiver = self._push_receiver
        until_empty = self._life.peer_closed or (
            receiver is not None and receiver.inbox.state is PushState.BUFFER)
        self._schedule.after_read(got, want, by_urc, until_empty=until_empty)

    def _received(self, data: bytes) -> bytes:
        self.bytes_received += len(data)
        return data

    async def _take_spill(self, want: int) -> bytes:
        await trio.lowlevel.checkpoint()  # before the bytes are taken: a cancel loses none
        data, self._spill = self._spill[:want], self._spill[want:]
        return self._received(data)

    # -- waiting, and the polls that stand in for lost URCs ------------------

    async def _wait_for_data(self) -> None:
        """Until a URC or a failure wakes us, or the quiet ends in a poll.

        No URC is load-bearing (``modem.core.urc_watch``): after the poll gap the
        reader reads anyway, and every ``state_check_every``-th poll that
        found nothing asks ``AT+QSSLSTATE``, which finds a lost "closed".
        """
        if await self._woken_within_gap():
            return
        if self._schedule.state_check_due and await self._peer_gone():
            return
        self._schedule.poll()

    async def _woken_within_gap(self) -> bool:
        """Wait for a wake-up up to the current poll gap (``ReadSchedule.gap``);
        False, and one more quiet gap, if none came."""
        with trio.move_on_after(self._schedule.gap()):
            await self._life.woken()
            return True
        self._schedule.note_quiet()
        return False

    async def _wait_for_push(self, receiver: PushReceiver) -> None:
        """Push mode: until a push, a state change or a failure wakes us.

        The data itself is the notification; a quiet socket asks ``AT+QSSLSTATE`` every
        ``state_check_every``-th gap: a lost "closed", or the module in buffer mode
        (``follow_mode``).  The answer overtakes pushes queued behind other sockets', so
        the stream ends only when checks in a row show it closed (``push_not_connected``;
        ``PushReceiver.confirm_gone`` on a line never quiet), or on the "closed" URC."""
        if await self._woken_within_gap() or not self._schedule.state_check_due:
            return
        pushes, own = self._schedule.health.pushes, receiver.frames
        report = await self._report_or_fail()
        state = state_of(report)
        if self.follow_mode(report):
            return
        if state in (commands.SocketState.CONNECTED, NoSocketState.UNREADABLE):
            self._schedule.push_alive()
        elif (end := self._schedule.push_not_connected(pushes, own)) is PushEnd.SHOWN or (
                end is PushEnd.UNSHOWN and await receiver.confirm_gone()):
            self._mark_gone(state)

    async def _report_or_fail(self) -> Report:
        try:
            return await socket_report(self._pushes(), self.client_id)
        except ModemError as exc:
            self.fail(exc)
            raise

    async def _peer_gone(self) -> bool:
        """``AT+QSSLSTATE=<id>``: True (and the socket ends after its data) when the module
        no longer holds it connected; a failed check says nothing.  The access mode it
        reports is adopted (``follow_mode``)."""
        report = await self._report_or_fail()
        state = state_of(report)
        if self.follow_mode(report) or state in (commands.SocketState.CONNECTED,
                                                  NoSocketState.UNREADABLE):
            return False
        self._mark_gone(state)
        return True

    @property
    def _reads_pushes(self) -> bool:
        receiver = self._push_receiver
        return receiver is not None and receiver.inbox.state.module_pushes

    def follow_mode(self, report: Report) -> bool:
        """The module's word wins: a connected socket is read the way ``AT+QSSLSTATE``'s
        ``<access_mode>`` says (someone on the AT console may have switched it, or firmware
        kept it in buffer mode).  True when the reader changed how it reads."""
        if isinstance(report, NoSocketState) or report.state is not commands.SocketState.CONNECTED:
            return False
        receiver = self._push_receiver
        state = None if receiver is None else receiver.inbox.state
        if report.access_mode == AccessMode.BUFFER.code and state is PushState.PUSH:
            assert receiver is not None
            receiver.module_buffers("AT+QSSLSTATE shows buffer mode")
            return True
        return (report.access_mode == AccessMode.PUSH.code and state in (None, PushState.BUFFER)
                and self._pushed_receiver("AT+QSSLSTATE shows push mode") is not None)

    def _mark_gone(self, state: StateAnswer) -> None:
        log.info("peer closed (found by polling, the URC never came)", extra=kv(
            id=self.client_id, state="gone" if state is NoSocketState.NOT_LISTED else state))
        self._schedule.health.note_close_by_poll()
        if state is NoSocketState.NOT_LISTED:
            self._life.lose_id()
        else:
            self._life.end_by_peer()
        self._schedule.read_again = True  # read what is still buffered, then end of stream

    # -- AT+QSSLRECV ---------------------------------------------------------

    async def _read(self, want: int) -> bytes:
        ahead, self._ahead = self._ahead, None
        then = self._read_ahead if want == MAX_RECV else None
        channel = self._pushes()
        try:
            if ahead is None:
                resp = await channel.run(commands.qsslrecv(self.client_id, want), then=then)
            else:
                resp = await channel.collect(ahead, then=then)
        except ModemError as exc:
            self.fail(exc)
            raise
        self._ahead = resp.ahead
        if resp.ok:
            data = resp.payload or b""
            data, self._spill = data[:want], data[want:]
            return data
        if self._life.failure is not None:
            raise self._life.failure
        # The error first: the state query may reset what AT+QIGETERROR reports.
        error = await self._error_of(channel, resp, "AT+QSSLRECV")
        if self._life.failure is not None:
            raise self._life.failure
        gone = self._life.peer_closed
        if channel.failure is None and not gone:
            gone = await self._peer_gone()
            if not gone and self._reads_pushes:
                return b""  # the module pushes now: its data comes unasked
        if gone and channel.failure is None:
            # The peer closed and the module refused the read that would have
            # shown its buffer empty: whether everything was read is unknown.
            failure = EndUnconfirmed(self.client_id, str(error))
            self.fail(failure)
            raise failure
        raise error

    def _read_ahead(self, resp: Response) -> Command | None:
        """After a full read the module likely holds more: read again at once,
        while our caller hands this data on (one read, 1500 bytes, ahead);
        buffer-mode sockets only."""
        # A push socket is in buffer mode only while its reader lags: no gain
        # in reading ahead, and nothing may be in flight when it goes back to push.
        if resp.ok and resp.payload is not None and len(resp.payload) == MAX_RECV \
                and self._life.usable and self._push_receiver is None:
            return commands.qsslrecv(self.client_id, MAX_RECV)
        return None

    # -- closing -------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the module socket (``AT+QSSLCLOSE``) and give the client ID back
        once every channel it used caught up (``close_and_catch_up``); when the
        module did not confirm that, the driver keeps the ID out and closes it later.

        Safe to call more than once and from a cancelled scope: the close
        itself is shielded and bounded.
        """
        if self._life.phase is SocketPhase.CLOSED:
            await trio.lowlevel.checkpoint()
            return
        close_timeout = 0 if self._life.failure else CLOSE_TIMEOUT
        self._life.close()
        if self._push_receiver is not None:
            self._push_receiver.inbox.clear()
        closed = False
        try:
            with trio.CancelScope(shield=True):
                closed = await close_and_catch_up(self._control, self.client_id, close_timeout,
                                                  (self._channel, self._pushes()))
        finally:
            self._on_close(self, closed)
