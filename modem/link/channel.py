"""The AT command channel: one serial stream, one command at a time.

``AtChannel`` owns the stream's read side (one reader task, ``read_loop``)
and serialises commands with a FIFO-fair lock, so sockets that queue for the
line take turns and the next command goes out the moment the previous one
ends.  URCs are handed to ``on_urc`` as they arrive, whether or not a
command is in flight.

A caller may have one command sent *ahead* (``run(..., then=...)``): the
moment a response is in, and only when no other task waits for the line, the
next command goes out before the caller even sees the response; the caller
collects its answer later (``collect``), and anyone else who wants the line
first waits for that answer to end.  ``SslSocket`` reads ahead this way.

A command that gets no final result within ``Command.timeout`` raises
``ModuleTimeout``; the next command first resynchronises the line (``AT``
until ``OK``).  When the module is lost (end of file, ``RDY`` restart, or no
answer to resynchronisation) the channel is *broken*: every waiter gets the
failure and ``broken`` is set; the owner builds a new channel.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

import trio

from modem.core import events as ev
from modem.core.errors import (
    AtProtocolError,
    ModemError,
    ModuleLost,
    ModuleTimeout,
)
from modem.core.line_counts import LineCounts
from modem.core.protocol import AtConnection, Command, Framing
from modem.core.redaction import redact

log = logging.getLogger("modem.channel")
trace_log = logging.getLogger("modem.at")

RESYNC_ATTEMPTS = 5
RESYNC_TIMEOUT = 1.0
SYNC_TIMEOUT = 0.3  # per AT while a module may still be booting


class NoAnswer(ModuleLost):
    """Bring-up's ``AT`` got no ``OK`` at all (``sync``): a wrong port, a module
    off, or one at another line speed (``modem.link.line_speed``)."""


class ModuleRestarted(ModuleLost):
    """The module printed ``RDY``: it restarted and lost every socket and setting."""


class RdyMeans(enum.Enum):
    """What a ``RDY`` line (the module finished booting) means to the channel's owner."""

    BOOTING = "booting"
    """Count it: a module powered up while the bring-up syncs prints one."""
    SOCKETS_LOST = "sockets lost"
    """Break the channel: the module restarted under live sockets."""


class LineState(enum.Enum):
    """Whether the module and the channel agree on which command is in flight."""

    IN_STEP = "in step"
    NEEDS_RESYNC = "needs resync"
    """A command timed out or broke the framing: its answer may still come,
    so the next command first runs ``AT`` until ``OK``."""


@dataclass
class Response:
    """What one command produced: information lines, payload, final result."""

    command: Command
    lines: list[str] = field(default_factory=list)
    payload: bytes | None = None
    final: ev.FinalResult | None = None
    ahead: Ahead | None = None
    """The command ``run``/``collect`` sent ahead after this one (``then``)."""

    @property
    def ok(self) -> bool:
        return isinstance(self.final, ev.Ok)


class _Pending:
    __slots__ = ("response", "prompted", "done", "violation")

    def __init__(self, command: Command) -> None:
        self.response = Response(command)
        self.prompted = trio.Event()
        self.done = trio.Event()
        self.violation: str | None = None


class Ahead:
    """A command sent ahead for its caller; ``AtChannel.collect`` gives its response.

    ``outcome`` is set once its answer has ended (or failed), by whichever
    task needed the line first.
    """

    __slots__ = ("command", "deadline", "outcome", "_pending")

    def __init__(self, pending: _Pending, deadline: float) -> None:
        self.command = pending.response.command
        self.deadline = deadline
        self.outcome: Response | ModemError | None = None
        self._pending = pending


#: Given a response, the command to send ahead after it (None: nothing).
ThenFn: TypeAlias = Callable[[Response], Command | None]


def shorten(data: bytes, keep: int = 24, *, show_head: bool = False) -> str:
    """A payload for the trace: its length, and only with ``show_head`` its
    first bytes (user data may hold credentials: ``--trace-payload``)."""
    if not show_head:
        return f"[{len(data)} bytes]"
    head = data[:keep]
    more = "..." if len(data) > keep else ""
    return f"[{len(data)} bytes {head!r}{more}]"


class AtChannel:
    """Runs commands over ``stream``; call ``read_loop`` in a task first."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        on_urc: Callable[[ev.Urc], None],
        *,
        trace: bool = False,
        command_timeout_cap: float = math.inf,
        trace_payload: bool = False,
        line_counts: LineCounts | None = None,
    ) -> None:
        """``command_timeout_cap`` bounds every command's own ``timeout`` (the
        manual's maximum response time); tests pass a few seconds so as not
        to wait out 10-150 s limits against a module they made silent.
        ``trace_payload`` lets the trace show a payload's first bytes (else
        its length only).
        ``line_counts`` counts the bytes each way (the owner's, across lives)."""
        if not command_timeout_cap > 0:
            raise ValueError(f"command_timeout_cap must be positive, not {command_timeout_cap}")
        self._stream = stream
        self._on_urc = on_urc
        self._trace = trace
        self._show_head = trace_payload
        self._timeout_cap = command_timeout_cap
        self._conn = AtConnection()
        self._lock = trio.Lock()  # FIFO-fair: waiters take turns
        self._pending: _Pending | None = None
        self._in_flight: trio.CancelScope | None = None  # the command's time on the line
        self._waiting: tuple[Command, float] | None = None  # on the line since (trio time)
        self._cut_short: str | None = None  # why the wait of the command on the line ended
        self._ahead: Ahead | None = None
        self._line = LineState.IN_STEP
        self.failure: ModemError | None = None
        self.broken = trio.Event()
        self.commands_run = 0
        # The owner switches to SOCKETS_LOST once the bring-up is done.
        self.rdy_means = RdyMeans.BOOTING
        self.restarts_seen = 0
        self.line_counts = line_counts if line_counts is not None else LineCounts()

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
        """Read the module's output until the channel breaks.  Never raises
        (except Cancelled): failures are recorded with ``fail``."""
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
        except ModemError as exc:  # a bug of ours surfacing as a protocol error
            log.exception("reader stopped")
            self.fail(exc)

    def _dispatch(self, event: ev.Event) -> None:
        trace = self._trace
        if isinstance(event, ev.Urc):
            if trace:
                trace_log.debug("< %s", _describe(event, self._show_head))
            if isinstance(event, ev.ModuleReady):
                self.restarts_seen += 1
                if self.rdy_means is RdyMeans.SOCKETS_LOST:
                    self.fail(ModuleRestarted("module restarted (RDY): all sockets were lost"))
                return
            self._on_urc(event)
            return
        pending = self._pending
        if trace:
            trace_log.debug("< %s", _describe(event, self._show_head))
        if isinstance(event, ev.ProtocolViolation):
            log.warning("module broke the AT framing: %s", event.reason)
            if pending is not None:
                # The response cannot be trusted (a payload may have been
                # parsed as lines): fail the command rather than lose data.
                pending.violation = event.reason
            return
        if pending is None:
            log.debug("stray %s with no command in flight", _describe(event, self._show_head))
            return
        resp = pending.response
        if isinstance(event, ev.InfoLine):
            resp.lines.append(event.text)
        elif isinstance(event, ev.RecvPayload):
            resp.payload = event.data
        elif isinstance(event, ev.Prompt) or (
            isinstance(event, ev.Connect) and resp.command.framing is Framing.CONNECT_PAYLOAD
        ):
            pending.prompted.set()
        elif isinstance(event, ev.FinalResult):
            resp.final = event
            pending.prompted.set()
            pending.done.set()
        # Echo: nothing to do.

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
        pending = _Pending(command)
        self._pending = pending
        if self._trace:
            trace_log.debug("> %s (ahead)", redact(command.loggable))
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
        pending = _Pending(command)
        self._pending = pending
        try:
            data = self._conn.send_command(command)
            if self._trace:
                trace_log.debug("> %s", redact(command.loggable))
            timeout = min(command.timeout, self._timeout_cap)
            timed_out = True
            self._waiting = (command, trio.current_time())
            with trio.move_on_after(timeout) as self._in_flight:
                await self._send(data)
                if payload is not None:
                    await pending.prompted.wait()
                    self._check()
                    if pending.response.final is not None:
                        timed_out = False
                        return pending.response  # refused before the prompt
                    if self._trace:
                        secret = command.text.startswith("AT+QFUPL")
                        trace_log.debug("> %s", f"[{len(payload)} bytes]" if secret
                                        else shorten(payload, show_head=self._show_head))
                    await self._send(self._conn.send_payload(payload))
                await pending.done.wait()
                timed_out = False
            self._check()
            if timed_out:
                self._conn.abort_command()
                self._line = LineState.NEEDS_RESYNC
                why = self._cut_short or f"no answer within {timeout:g} s"
                raise ModuleTimeout(f"{command.loggable}: {why}")
            self.commands_run += 1
            if pending.violation is not None:
                self._line = LineState.NEEDS_RESYNC
                raise AtProtocolError(
                    f"{command.loggable}: module broke the framing ({pending.violation})",
                    side="module")
            return pending.response
        finally:
            self._pending = None
            self._in_flight = None
            self._waiting = None
            self._cut_short = None

    async def _send(self, data: bytes) -> None:
        try:
            await self._stream.send_all(data)
            self.line_counts.to_module += len(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self.fail(ModuleLost(f"serial device failed: {exc}"))
            raise self.failure from exc  # type: ignore[misc]

    async def _resync(self) -> None:
        """``AT`` until ``OK``; breaks the channel when the module stays silent."""
        for _ in range(RESYNC_ATTEMPTS):
            try:
                resp = await self._run_locked(Command("AT", timeout=RESYNC_TIMEOUT), None)
            except ModuleTimeout:
                continue
            except AtProtocolError:
                self._conn.abort_command()
                continue
            if resp.ok:
                self._line = LineState.IN_STEP
                return
        self.fail(ModuleLost(
            f"module stopped answering (no OK to {RESYNC_ATTEMPTS} AT commands)"))
        self._check()

    async def sync(self, attempts: int = 30) -> None:
        """Bring-up: ``AT`` until ``OK`` (also lets the module autobaud)."""
        async with self._lock:
            await self._settle_ahead()
            for _ in range(attempts):
                self._check()
                try:
                    resp = await self._run_locked(Command("AT", timeout=SYNC_TIMEOUT), None)
                except ModuleTimeout:
                    continue
                if resp.ok:
                    self._line = LineState.IN_STEP
                    return
            raise NoAnswer(
                f"module does not answer AT ({attempts} tries): check the device path, "
                "the baud rate, and that the module is powered")


def _describe(event: ev.Event, show_head: bool = False) -> str:
    if isinstance(event, (ev.RecvPayload, ev.TransparentData)):
        return f"{type(event).__name__} {shorten(event.data, show_head=show_head)}"
    if isinstance(event, ev.SslPushData):
        return f"SslPushData id={event.client_id} {shorten(event.data, show_head=show_head)}"
    if isinstance(event, (ev.InfoLine, ev.UnknownUrc, ev.Echo)):
        return redact(event.text)
    return repr(event)
