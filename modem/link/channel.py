"""The AT command channel: one serial stream, one command at a time.

``AtChannel`` owns the stream's read side (one reader task, ``read_loop``)
and serialises commands with a FIFO-fair lock, so sockets that queue for the
line take turns and the next command goes out the moment the previous one
ends.  URCs are handed to ``on_urc`` as they arrive, whether or not a
command is in flight.

A caller may have one command sent *ahead* (``run(..., then=...)``) the moment
a response is in, when no other task waits for the line; it collects the
answer later, and anyone else first waits for it.  ``SslSocket`` reads so.

A command that gets no final result within ``Command.timeout`` raises ``ModuleTimeout``;
the next command first resynchronises the line (``AT`` until ``OK``).  When the module is
lost (end of file, ``RDY`` restart, or no answer to resynchronisation) the channel is
*broken*: every waiter gets the failure and ``broken`` is set; the owner builds a new one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import trio

from modem.core import events as ev
from modem.core.errors import (
    AtProtocolError,
    ModemError,
    ModuleLost,
    ModuleTimeout,
)
from modem.core.frames import FrameStyle
from modem.core.line_counts import LineCounts
from modem.core.log_fields import kv
from modem.core.protocol import AtConnection, Command, Framing
from modem.core.redaction import redact
from modem.core.stream_errors import LineFramingLost
from modem.link.answers import (
    Ahead,
    DataSink,
    LineState,
    ModuleRestarted,
    NoAnswer,
    Pending,
    RdyMeans,
    Response,
    ThenFn,
    describe,
    shorten,
)
from modem.link.owed_payload import OwedPayload

log = logging.getLogger("modem.channel")
trace_log = logging.getLogger("modem.at")

RESYNC_ATTEMPTS = 5
RESYNC_TIMEOUT = 1.0
RESYNC_QUIET = 0.3  # seconds after a resync's OK in which a late answer shows it was not ours
SYNC_TIMEOUT = 0.3  # per AT while a module may still be booting


class AtChannel:
    """Runs commands over ``stream``; call ``read_loop`` in a task first."""

    def __init__(self, stream: trio.abc.Stream, on_urc: Callable[[ev.Urc], None], *,
                 trace: bool = False, command_timeout_cap: float = math.inf,
                 trace_payload: bool = False, line_counts: LineCounts | None = None,
                 push_style: FrameStyle | None = None, distrustful: bool = False,
                 name: str | None = None) -> None:
        """``command_timeout_cap`` bounds every command's own ``timeout`` (the manual's
        maximum response time); tests pass a few seconds so as not to wait out 10-150 s
        limits against a module they made silent.  ``trace_payload`` lets the trace show a
        payload's first bytes (else its length only).  ``line_counts`` counts the bytes
        each way (the owner's, across lives).  ``name``: the channel's name among several
        (``DLC 2``), a field of its trace lines.  Its ``owed`` is a payload the module may
        still wait for (``modem.link.owed_payload``), written before the next ``AT``."""
        if not command_timeout_cap > 0:
            raise ValueError(f"command_timeout_cap must be positive, not {command_timeout_cap}")
        self._stream = stream
        self._on_urc = on_urc
        self.name = name
        self._trace_log: logging.Logger | logging.LoggerAdapter[logging.Logger] = (
            trace_log if name is None else logging.LoggerAdapter(trace_log, kv(channel=name)))
        self._trace = trace
        self._show_head = trace_payload
        self._timeout_cap = command_timeout_cap
        self._conn = AtConnection(push_style=push_style, distrustful=distrustful)
        self._lock = trio.Lock()  # FIFO-fair: waiters take turns
        self._pending: Pending | None = None
        self._in_flight: trio.CancelScope | None = None  # the command's time on the line
        self._waiting: tuple[Command, float] | None = None  # on the line since (trio time)
        self._cut_short: str | None = None  # why the wait of the command on the line ended
        self._ahead: Ahead | None = None
        self._line = LineState.IN_STEP
        self.failure: ModemError | None = None
        self.broken = trio.Event()
        self.commands_run = 0
        self.late_answers = 0  # final results that came with no command in flight
        # The owner switches to SOCKETS_LOST once the bring-up is done.
        self.rdy_means = RdyMeans.BOOTING
        self.restarts_seen = 0
        self.line_counts = line_counts if line_counts is not None else LineCounts()
        self._frame_waits = trio.Event()  # set when a push frame waits for its end
        self.owed = OwedPayload()
        self.data_sink: DataSink | None = None
        """While set, every event outside the command in flight goes to it."""

    # -- failure ------------------------------------------------------------

    def fail(self, failure: ModemError) -> None:
        """Break the channel: the pending command and every later one get ``failure``."""
        if self.failure is not None:
            return
        self.failure = failure
        pending = self._pending
        if pending is not None:
            pending.prompted.set()
            pending.done.set()
        if self._in_flight is not None:
            self._in_flight.cancel()  # also a send stuck on a line nobody reads
        self.broken.set()

    def _check(self) -> None:
        if self.failure is not None:
            raise self.failure

    # -- health (modem.link.health) --------------------------------------------

    @property
    def waiting(self) -> tuple[Command, float] | None:
        """The command on the line waiting for its answer, and since when (trio
        time); a command sent ahead counts from when it went out."""
        if self._waiting is not None:
            return self._waiting
        ahead = self._ahead
        if ahead is not None and not ahead._pending.done.is_set():
            return ahead.command, ahead.deadline - min(ahead.command.timeout, self._timeout_cap)
        return None

    def cut_short(self, reason: str) -> bool:
        """End the wait of the command on the line now, as its timeout would
        (it raises ``ModuleTimeout`` with ``reason``; the next command
        resynchronises the line).  False when none waits."""
        if self._in_flight is None or self._waiting is None:
            return False
        self._cut_short = reason
        self._in_flight.cancel()
        return True

    # -- reader -------------------------------------------------------------

    async def read_loop(self) -> None:
        """Read the module's output until the channel breaks (``fail``); raises only Cancelled."""
        try:
            while self.failure is None:
                try:
                    data = bytes(await self._stream.receive_some(65536))
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                    self.fail(ModuleLost(f"serial device failed: {exc}"))
                    return
                if not data:
                    self.fail(ModuleLost("serial device closed (module unplugged or reset?)"))
                    return
                self.line_counts.from_module += len(data)
                for event in self._conn.receive_data(data):
                    self._dispatch(event)
                if self.data_sink is not None:
                    await self.data_sink.room(self._conn.transparent_tail_held)
                if self._conn.awaiting_frame_end:
                    self._frame_waits.set()
        except ModemError as exc:  # a bug of ours surfacing as a protocol error
            log.exception("reader stopped")
            self.fail(exc)

    # -- push frames that wait for their end (modem.core.frames) -----------------

    async def frame_waits(self) -> None:
        """Until a push frame is in whose end the module has not confirmed yet."""
        await self._frame_waits.wait()
        self._frame_waits = trio.Event()

    @property
    def push_style(self) -> FrameStyle | None:
        """How the module ends push frames, as learned on this channel."""
        return self._conn.push_style

    @property
    def frame_unconfirmed(self) -> bool:
        """A push frame still waits for the unit that confirms its end."""
        return self._conn.awaiting_frame_end

    @property
    def idle(self) -> bool:
        """No command is on the line or waiting for it."""
        return not self._lock.locked() and self._pending is None and self._ahead is None

    def _dispatch(self, event: ev.Event) -> None:
        sink = self.data_sink
        if sink is not None and (isinstance(event, ev.Urc | ev.TransparentData)
                                 or self._pending is None):
            sink.take(event)
            return
        trace = self._trace
        if isinstance(event, ev.LineLost):
            # Data and answers can no longer be told apart: the sockets that may
            # have lost data fail (the router), then the line starts over.  Before
            # bring-up ends no socket is ours: only the command in flight is in doubt.
            self._on_urc(event)
            if self.rdy_means is RdyMeans.SOCKETS_LOST:
                self.fail(LineFramingLost(event.reason))
            elif self._pending is not None:
                self._pending.violation = event.reason
            return
        if isinstance(event, ev.Urc):
            if trace:
                self._trace_log.debug("< %s", describe(event, self._show_head))
            if isinstance(event, ev.ModuleReady):
                self.restarts_seen += 1
                if self.rdy_means is RdyMeans.SOCKETS_LOST:
                    self.fail(ModuleRestarted("module restarted (RDY): all sockets were lost"))
                return
            self._on_urc(event)
            return
        pending = self._pending
        if trace:
            self._trace_log.debug("< %s", describe(event, self._show_head))
        if isinstance(event, ev.ProtocolViolation):
            log.warning("module broke the AT framing", extra=kv(
                reason=event.reason, hint=event.hint))
            if pending is not None:
                # The response cannot be trusted (a payload may have been
                # parsed as lines): fail the command rather than lose data.
                pending.violation = event.reason
            return
        if pending is None:
            self.late_answers += isinstance(event, ev.FinalResult)
            log.debug("stray answer with no command in flight",
                      extra=kv(answer=describe(event, self._show_head)))
            return
        resp = pending.response
        if isinstance(event, ev.InfoLine):
            resp.lines.append(event.text)
        elif isinstance(event, ev.RecvPayload):
            resp.payload = event.data
        elif isinstance(event, ev.Prompt) or (
            isinstance(event, ev.Connect) and resp.command.framing is Framing.CONNECT_PAYLOAD
        ):
            pending.prompt_seen = True
            pending.prompted.set()
        elif isinstance(event, ev.FinalResult):
            resp.final = event
            pending.prompted.set()
            pending.done.set()
        # Echo: nothing to do.

    # -- transparent mode (data_sink's owner only) --------------------------

    async def send_data(self, data: bytes) -> None:
        """Write raw bytes to the line in transparent mode."""
        self._check()
        await self._send(data)

    async def send_escape(self) -> None:
        """``+++`` (manual 1.3); the module's ``OK`` (or ``NO CARRIER``) reaches
        ``data_sink``.  The caller keeps the guard times."""
        await self._send(self._conn.leave_transparent())

    def release_held_data(self) -> None:
        """The tail held back as a possible end marker is data (the caller proved
        it): it reaches ``data_sink`` now."""
        for event in self._conn.release_transparent_tail():
            self._dispatch(event)

    def route_urc(self, urc: ev.Urc) -> None:
        """Hand ``urc`` to the owner's router (a ``data_sink`` held it back)."""
        self._on_urc(urc)

    # -- commands -----------------------------------------------------------

    async def run(self, command: Command, payload: bytes | None = None, *,
                  then: ThenFn | None = None) -> Response:
        """Send ``command`` (and ``payload`` at its prompt); return its response.

        Raises ``ModuleTimeout`` when no final result arrives in time and the
        channel's failure when it breaks.  The caller interprets the final
        result (``OK``, ``ERROR``, ``SEND FAIL``...).  ``then(response)`` may
        name a command to send ahead (see the module docstring); it is in
        ``response.ahead`` and its owner must ``collect`` it.
        """
        await self._acquire()
        try:
            self._check()
            # Once on the wire a command runs to its end (bounded by its own
            # timeout) even if the caller is cancelled: abandoning it half
            # way would leave the module waiting for a payload or sending an
            # answer nobody reads.  The caller's cancellation lands at its
            # next checkpoint, after the result was handed back.
            with trio.CancelScope(shield=True):
                await self._settle_ahead()
                self._check()
                if self._line is LineState.NEEDS_RESYNC:
                    await self._resync()
                response = await self._run_locked(command, payload)
                if then is not None:
                    await self._send_ahead(response, then)
            return response
        finally:
            self._lock.release()

    async def collect(self, ahead: Ahead, *, then: ThenFn | None = None) -> Response:
        """The response of a command sent ahead; raises as ``run`` would have.

        ``then`` may send the next one ahead, as in ``run``.
        """
        await self._acquire()
        try:
            with trio.CancelScope(shield=True):
                if ahead is self._ahead:
                    await self._settle_ahead()
                else:  # settled already by a task that wanted the line first
                    await trio.lowlevel.cancel_shielded_checkpoint()
                response = self._outcome(ahead)
                if then is not None and self.failure is None:
                    await self._send_ahead(response, then)
            return response
        finally:
            self._lock.release()

    def _outcome(self, ahead: Ahead) -> Response:
        outcome = ahead.outcome
        if outcome is None:  # only a broken channel leaves it unsettled
            self._check()
            raise AssertionError("a command sent ahead was never settled")
        if isinstance(outcome, ModemError):
            raise outcome
        return outcome

    async def _acquire(self) -> None:
        """The line, FIFO-fair; a free line is taken without a trip through
        the scheduler (a checkpoint follows in every command)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            self._lock.acquire_nowait()
        except trio.WouldBlock:
            await self._lock.acquire()

    async def _send_ahead(self, response: Response, then: ThenFn) -> None:
        """Send ``then(response)`` now, unless another task waits for the line."""
        if self._lock.statistics().tasks_waiting or self._line is not LineState.IN_STEP:
            return
        command = then(response)
        if command is None:
            return
        pending = Pending(command)
        self._pending = pending
        if self._trace:
            self._trace_log.debug("> %s (ahead)", redact(command.loggable))
        ahead = Ahead(pending, trio.current_time() + min(command.timeout, self._timeout_cap))
        self._ahead = ahead
        response.ahead = ahead
        try:
            await self._send(self._conn.send_command(command))
        except ModemError as exc:
            self._ahead = None
            self._pending = None
            ahead.outcome = exc

    async def _settle_ahead(self) -> None:
        """Wait until the command sent ahead has its answer; keep it for its owner."""
        ahead = self._ahead
        if ahead is None:
            return
        pending = ahead._pending
        try:
            with trio.move_on_at(ahead.deadline):
                await pending.done.wait()
            if self.failure is not None:
                ahead.outcome = self.failure
            elif not pending.done.is_set():
                self._conn.abort_command()
                self._line = LineState.NEEDS_RESYNC
                ahead.outcome = ModuleTimeout(f"{ahead.command.loggable}: no answer in time")
            elif pending.violation is not None:
                self._conn.abort_command()
                self._line = LineState.NEEDS_RESYNC
                ahead.outcome = AtProtocolError(
                    f"{ahead.command.loggable}: module broke the framing "
                    f"({pending.violation})", side="module")
            else:
                self.commands_run += 1
                ahead.outcome = pending.response
        finally:
            self._ahead = None
            self._pending = None

    async def _run_locked(self, command: Command, payload: bytes | None) -> Response:
        pending = Pending(command)
        self._pending = pending
        try:
            data = self._conn.send_command(command)
            if self._trace:
                self._trace_log.debug("> %s", redact(command.loggable))
            timeout = min(command.timeout, self._timeout_cap)
            timed_out = True
            self._waiting = (command, trio.current_time())
            with trio.move_on_after(timeout) as self._in_flight:
                await self._send(data)
                if payload is not None:
                    self.owed.command_written(payload)
                    await pending.prompted.wait()
                    if pending.prompt_seen:
                        self.owed.prompted(payload)
                    self._check()
                    if pending.response.final is not None or pending.violation is not None:
                        timed_out = False
                        return self._answered(command, pending)  # refused before the prompt
                    if self._trace:
                        secret = command.text.startswith("AT+QFUPL")
                        self._trace_log.debug("> %s", f"[{len(payload)} bytes]" if secret
                                        else shorten(payload, show_head=self._show_head))
                    self.owed.payload_starting(len(payload))
                    await self._send(self._conn.send_payload(payload))
                await pending.done.wait()
                timed_out = False
            self._check()
            if timed_out:
                self._conn.abort_command()
                self._line = LineState.NEEDS_RESYNC
                why = self._cut_short or f"no answer within {timeout:g} s"
                raise ModuleTimeout(f"{command.loggable}: {why}")
            return self._answered(command, pending)
        finally:
            self._pending = None
            self._in_flight = None
            self._waiting = None
            self._cut_short = None

    def _answered(self, command: Command, pending: Pending) -> Response:
        """The response of a command that ended; ``AtProtocolError`` when its framing
        was broken (the line resynchronises before the next command)."""
        self.commands_run += 1
        if pending.violation is not None:
            self._conn.abort_command()  # a lost line may have dropped its final result
            self._line = LineState.NEEDS_RESYNC
            raise AtProtocolError(
                f"{command.loggable}: module broke the framing ({pending.violation})",
                side="module")
        self.owed.clear()  # an answer in step: the module waits for no payload
        return pending.response

    async def _send(self, data: bytes) -> None:
        try:
            await self._stream.send_all(data)
            self.line_counts.to_module += len(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self.fail(ModuleLost(f"serial device failed: {exc}"))
            raise self.failure from exc  # type: ignore[misc]

    async def _resync(self) -> None:
        """``AT`` until an ``OK`` no late answer follows; breaks the channel when the module
        stays silent."""
        await self.owed.settle(self._send)
        for _ in range(RESYNC_ATTEMPTS):
            try:
                resp = await self._run_locked(Command("AT", timeout=RESYNC_TIMEOUT), None)
            except ModuleTimeout:
                continue
            except AtProtocolError:
                self._conn.abort_command()
                continue
            if resp.ok:  # a result after it: this OK was an earlier command's (answer_shape)
                late = self.late_answers
                await trio.sleep(RESYNC_QUIET)
                if self.late_answers == late:
                    self._line = LineState.IN_STEP
                    return
        self.fail(ModuleLost(
            f"module stopped answering (no OK to {RESYNC_ATTEMPTS} AT commands)"))
        self._check()

    async def sync(self, attempts: int = 30) -> None:
        """Bring-up: ``AT`` until ``OK`` (also lets the module autobaud)."""
        async with self._lock:
            await self._settle_ahead()
            await self.owed.settle(self._send)
            for _ in range(attempts):
                self._check()
                try:
                    resp = await self._run_locked(Command("AT", timeout=SYNC_TIMEOUT), None)
                except (ModuleTimeout, AtProtocolError):  # no answer, or one lost in noise
                    continue
                if resp.ok:
                    self._line = LineState.IN_STEP
                    return
            raise NoAnswer(
                f"module does not answer AT ({attempts} tries): check the device path, "
                "the baud rate, and that the module is powered")
