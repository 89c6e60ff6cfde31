"""``PushReceiver``: the direct-push half of an ``SslSocket`` (manual 1.3).

A push-mode socket owns one.  It takes the module's pushed data
(``deliver``, from the reader task) into a ``PushInbox``, asks for buffer
mode (``AT+QISWTMD=<id>,0``) while the socket's reader lags and returns to
push (``AT+QISWTMD=<id>,1``) once it caught up.  The contract and the memory
bound are ``modem.core.push_flow``'s.  It reaches its socket through what
it is given: the socket's ``SocketLife`` (phase, failure, wake-ups), its
``ReadSchedule`` and its ``run`` (a data command whose failure fails the
socket).

The module's word wins over what the socket asked for (``modem.core.module_word``):
a ``"recv",<id>`` notice (data waits in the module's buffer) while pushing is
checked with ``AT+QSSLSTATE=<id>`` (``notice_checked``): ``<access_mode>`` 0
means someone switched the socket to buffer mode (the AT console) or the
firmware never left it: its buffer is newer than every push, so the socket
reads in buffer mode behind the inbox (``module_buffers``); 1 means the
firmware kept data unpushed, older than newer pushes (``drain_kept``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from modem.core import commands
from modem.core.at_command import Command
from modem.core.errors import ModemError, PushOverrun
from modem.core.limits import MAX_RECV
from modem.core.log_fields import kv
from modem.core.push_flow import AccessMode, PushInbox, PushState
from modem.core.stream_errors import BufferedDataUnreadable, EndUnconfirmed, PushOrderUnknown
from modem.link.answers import Response
from modem.sockets.read_schedule import ReadSchedule
from modem.sockets.socket_commands import NoSocketState, Report
from modem.sockets.socket_life import SocketLife, SocketPhase

__all__ = ["AskState", "PushReceiver", "StartTask"]

log = logging.getLogger("modem.socket")

StartTask = Callable[[Callable[[], Awaitable[None]]], None]
"""Starts a task in a nursery the caller owns (``Modem``'s): the switch to buffer
mode cannot wait for the reader, whose own task may be stuck writing elsewhere."""

AskState = Callable[[], Awaitable[Report]]
"""``AT+QSSLSTATE=<id>`` for the socket (a failure fails the socket)."""


class PushReceiver:
    """Pushed data and the access-mode switches of one socket; see the module docstring."""

    def __init__(self, client_id: int, limit: int, life: SocketLife, schedule: ReadSchedule,
                 run: Callable[[Command], Awaitable[Response]], start_task: StartTask,
                 ask_state: AskState) -> None:
        self.client_id = client_id
        self._ask_state = ask_state
        self.frames = 0
        """Push frames delivered (the first one proves the module pushes)."""
        self._buffer_by_word = False  # buffer mode because the module said so
        self.inbox = PushInbox(limit)
        self._life = life
        self._schedule = schedule
        self._run = run
        self._start_task = start_task
        self.kept = bytearray()
        """Data the module kept in its buffer while it pushes (older than the
        inbox: the reader takes it first); see ``drain_kept``."""
        self.draining = False
        """``drain_kept`` runs: the reader waits, and no switch to buffer starts."""
        self._announced = False  # a "recv" notice came while draining or switching to push
        self.handed_out_since_push = 0
        """Pushed bytes the reader took since push mode began (or resumed)."""

    @property
    def has_turn(self) -> bool:
        """The reader takes from this side: kept data, pushed bytes, a drain under
        way, or a module that pushes (reads wait for pushes)."""
        return bool(self.kept) or bool(self.inbox) or self.draining \
            or self.inbox.state.module_pushes

    def take(self, want_kept: int, want_pushed: int) -> bytes | None:
        """What the reader gets now: data the module kept (older than the inbox),
        else pushed bytes (none while a drain may still find kept data); None
        when there is nothing to take."""
        if self.kept:
            data = bytes(self.kept[:want_kept])
            del self.kept[:want_kept]
            return data
        if self.draining or not self.inbox:
            return None
        self._schedule.restart_gaps()
        data = self.inbox.take(want_pushed)
        self.handed_out_since_push += len(data)
        return data

    def buffered_data_announced(self) -> None:
        """``+QSSLURC: "recv",<id>``: in buffer mode the reader's hint; while
        pushing, data waits in the module's buffer: ``notice_checked`` asks why."""
        if self.draining or self.inbox.state is PushState.TO_PUSH:
            self._announced = True  # the drain after the switch reads it
        elif self.inbox.state is PushState.PUSH:
            self.draining = True  # now: no push that follows goes out before the check
            self._start_task(self.notice_checked)

    async def notice_checked(self) -> None:
        """The module's mode decides what a notice while pushing means (see the
        module docstring).  Without an answer the order is known only while no
        push was handed out or waits: else ``PushOrderUnknown``."""
        try:
            report = await self._ask_state()
        except ModemError:
            self.draining = False
            self._life.wake()
            return  # the socket failed; its reader hears it
        mode = None if isinstance(report, NoSocketState) else report.access_mode
        if mode == AccessMode.BUFFER.code:
            self.draining = False
            self.module_buffers("a recv notice, and AT+QSSLSTATE shows buffer mode")
        elif mode is None and (self.handed_out_since_push or self.inbox):
            self.draining = False
            self.inbox.clear()
            self._life.fail(PushOrderUnknown(self.client_id))
        else:
            await self.drain_kept(announced=True)

    def module_buffers(self, why: str) -> None:
        """The module holds this socket in buffer mode (it said so): the reader
        takes the inbox (older), then reads with ``AT+QSSLRECV``, and never asks
        for push mode again (the module, or someone on its console, chose)."""
        inbox = self.inbox
        if inbox.state is PushState.BUFFER and inbox.switch_refused:
            return
        inbox.state = PushState.BUFFER
        inbox.switch_refused = True
        inbox.read_in_buffer_mode = 0
        self._buffer_by_word = True
        log.info("socket reads in buffer mode: the module says so",
                 extra=kv(id=self.client_id, why=why))
        self._schedule.read_again = True
        self._life.wake()

    def module_pushes(self, why: str) -> None:
        """The module pushes this socket's data (it said so, or a push frame came
        while it read in buffer mode): the reader waits for pushes."""
        inbox = self.inbox
        if inbox.state is PushState.PUSH:
            return
        inbox.state = PushState.PUSH
        if self._buffer_by_word:
            self._buffer_by_word = inbox.switch_refused = False  # our switches work again
        self.handed_out_since_push = 0
        log.info("socket reads pushed data: the module says so",
                 extra=kv(id=self.client_id, why=why))
        self._schedule.restart_gaps()
        self._life.wake()

    async def drain_kept(self, *, announced: bool = False) -> None:
        """Read what the module kept in its buffer while it pushes (``AT+QSSLRECV``
        in push mode, until it finds nothing or refuses), into ``kept``.

        The manual does not say what the module does with its buffer on
        ``AT+QISWTMD=<id>,1`` (the emulator pushes it, first).  Firmware that
        keeps it would leave it behind newer pushes; a guess: such firmware
        answers this read with what it kept, while firmware that pushed its
        buffer refuses the read or finds nothing.  Kept data is older than any
        push since: if pushed bytes already went out, the order is lost
        (``PushOrderUnknown``).  Such firmware is learned (``UrcHealth``): no
        socket goes back to push mode afterwards.  ``announced``: a "recv" notice
        said data waits; a module that then refuses to hand it over holds bytes
        this socket can never get (``BufferedDataUnreadable``)."""
        self.draining = True
        try:
            while self._life.usable:
                resp = await self._run(commands.qsslrecv(self.client_id, MAX_RECV))
                if not resp.ok and announced:
                    self.inbox.clear()
                    self._life.fail(BufferedDataUnreadable(self.client_id))
                    return
                data = (resp.payload or b"") if resp.ok else b""
                announced, self._announced = self._announced, False
                if not data and not announced:
                    return
                self._schedule.health.keeps_buffer_on_push = True
                if self.handed_out_since_push:
                    self.inbox.clear()
                    self._life.fail(PushOrderUnknown(self.client_id))
                    return
                self.kept += data
        except ModemError:
            return  # the socket failed; its reader hears it
        finally:
            self.draining = False
            self._life.wake()

    def deliver(self, data: bytes) -> bool:
        """``+QSSLURC: "recv",<id>,<len>`` and its data (the reader task).

        False once the socket is closed.  A backlog over the limit asks for
        buffer mode; one over the hard limit fails the socket (``PushOverrun``)."""
        inbox = self.inbox
        if self._life.phase is SocketPhase.CLOSED:
            return False
        self._schedule.push_alive()
        self.frames += 1
        if self._buffer_by_word and inbox.state is PushState.BUFFER:
            # The module said buffer after the pushes before it (guess 2): a push now
            # means it was switched to push mode (the AT console).
            self.module_pushes("a push frame came")
        if self._life.failure is None and not inbox.add(data):
            inbox.clear()
            self._life.fail(PushOverrun(self.client_id, inbox.hard_limit))
        elif inbox.should_switch_to_buffer() and not self.draining:
            # (Not while kept data is read: buffer-mode reads would mix it with newer.)
            inbox.state = PushState.TO_BUFFER
            self._start_task(self._switch_to_buffer)
        self._life.wake()
        return True

    async def _switch_to_buffer(self) -> None:
        """``AT+QISWTMD=<id>,0`` for a lagging reader (a task of the ``Modem``);
        pushes on their way still come, ahead of what the module buffers."""
        inbox = self.inbox
        if self._life.phase is SocketPhase.CLOSED:  # its ID may be someone else's soon
            return
        try:
            resp = await self._run(commands.qiswtmd(self.client_id, AccessMode.BUFFER.code))
        except ModemError:
            return  # the socket failed; its reader hears it
        if resp.ok:
            inbox.state = PushState.BUFFER
            inbox.switches += 1
            inbox.read_in_buffer_mode = 0
            log.debug("buffer mode: the reader is behind",
                      extra=kv(id=self.client_id, behind=len(inbox)))
            self._schedule.read_again = True
        else:
            inbox.state = PushState.PUSH
            # Neither the peer nor we closed it: the module means the refusal.
            if self._life.phase in (SocketPhase.OPEN, SocketPhase.FAILED):
                inbox.switch_refused = True
                log.warning("AT+QISWTMD refused: push mode without backpressure", extra=kv(
                    id=self.client_id, command=f"AT+QISWTMD={self.client_id},0",
                    hint="a client that stops reading fails at the push limit; "
                         "--access-mode buffer keeps backpressure on this firmware"))
        self._life.wake()

    async def switch_to_buffer_now(self) -> bool:
        """Buffer mode before the reader goes on (the reader's task: an idle close,
        or data the module announced in its buffer); False when the module
        refuses it.  A switch already under way is waited for."""
        inbox = self.inbox
        while inbox.state is PushState.TO_BUFFER:
            await self._life.woken()
            self._life.check_usable()
        if inbox.state is PushState.PUSH:
            if inbox.switch_refused:
                return False
            inbox.state = PushState.TO_BUFFER
            await self._switch_to_buffer()
        return inbox.state is PushState.BUFFER

    async def confirm_gone(self) -> bool:
        """State checks found the socket closed with none of its pushes between them,
        but the line never went quiet: a push of it may still be queued behind other
        sockets'.  True once buffer mode is on: reads then show what the module still
        holds (a push it queued before the switch comes before the switch's answer: a
        guess, as for ``drain_for_close``).  A refused switch leaves the end unproven:
        the socket fails (``EndUnconfirmed``: its client is reset, never left waiting)."""
        if await self.switch_to_buffer_now():
            return True
        self._life.fail(EndUnconfirmed(self.client_id, "a lost \"closed\" on a line that never "
                                       "went quiet, and buffer mode refused"))
        return False

    async def switch_to_push(self) -> None:
        """``AT+QISWTMD=<id>,1`` once the reader caught up (the reader's task),
        then at once ``drain_kept``; never on firmware known to keep its buffer."""
        inbox = self.inbox
        if self._schedule.health.keeps_buffer_on_push:
            inbox.switch_refused = True
            return
        inbox.state = PushState.TO_PUSH
        resp = await self._run(commands.qiswtmd(self.client_id, AccessMode.PUSH.code))
        if resp.ok:
            inbox.state = PushState.PUSH
            inbox.returns += 1
            self.handed_out_since_push = 0
            log.debug("push mode again", extra=kv(id=self.client_id))
            self._schedule.restart_gaps()
            await self.drain_kept()
        else:
            inbox.state = PushState.BUFFER
            self._announced = False  # a buffer-mode notice: the reads find its data
            if not self._life.peer_closed:
                inbox.switch_refused = True
                log.info("AT+QISWTMD refused: staying in buffer mode", extra=kv(
                    id=self.client_id, command=f"AT+QISWTMD={self.client_id},1"))
