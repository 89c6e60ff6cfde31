"""``MuxSession``: the 07.10 multiplexer on a line, one ``DlcStream`` per DLC (Trio).

    # the line answered OK to AT+CMUX=0,0,5,127 ...
    async with MuxSession.open(line, MuxOptions()) as mux:
        at = await mux.open_dlc(1)
        await at.send_all(b"AT\\r")
        ...

The session owns the line while it runs, in a nursery of its own:

* **one reader task** feeds the line's bytes to ``MuxConnection`` and
  dispatches its events: data to the DLC's stream, opens and closes to
  whoever waits for them, the module's MSC to the stream's ``peer_signals``
  and its flow control to the writer.  A half frame left when the line has
  been quiet for ``quiet_resync`` is given up (``MuxConnection.resync``).
* **one writer task** sends every frame.  The answers the protocol owes
  the module and our own control frames go first; then the DLCs that have
  data take turns of one frame each (at most N1 bytes), round robin, so a
  bulk transfer on one DLC delays a command on another by one frame at
  most.  A DLC the module stopped (MSC FC, or FCoff for all) is skipped
  until it clears.

SABM and DISC are sent again after ``response_timeout`` up to ``retries``
times (27.010 T1 and N2); a DLC 0 that never answers raises
``MuxStartFailed``, one that answers DM ``MuxStartRefused``.  Some firmware
hangs when the first frame follows the OK of ``AT+CMUX`` too soon (100 ms
on a BG95, 400 ms on a Telit ME910G1: zephyr#63410), so the first frame
waits ``start_delay``.  On a normal exit
the session closes down the multiplexer (CLD) and the line carries AT
commands again; the line itself stays the caller's.  When the line ends,
every stream's calls raise ``MuxLost``; the block is not interrupted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from modem.core.mux import (
    DEFAULT_N1,
    V24,
    DlcState,
    MuxConnection,
    MuxCounters,
    MuxState,
    Parameters,
)
from modem.core.mux import events as ev
from modem.core.mux.errors import (
    DlcClosedError,
    DlcRefused,
    DlcUnanswered,
    MuxLost,
    MuxStartFailed,
    MuxStartRefused,
    MuxUsageError,
    RawFramesLost,
)
from modem.link.dlc_stream import DlcStream
from modem.nurseries import single_exception

__all__ = ["MuxOptions", "MuxSession"]

_LINE_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


@dataclass(frozen=True)
class MuxOptions:
    """How the session runs the multiplexer.

    ``n1``: the N1 given to ``AT+CMUX`` (frames carry at most this many
    bytes, and longer received frames are skipped).  ``start_delay``: quiet
    time before the first frame.  ``response_timeout`` and ``retries``:
    T1 and N2 for SABM, DISC, CLD, PN and Test (the manual values are 100 ms
    and 3; modules answer slower under load, so the default T1 is longer: a
    guess).  ``quiet_resync``: a half frame older than this is given up.
    ``high_water`` / ``receive_limit``: per DLC, unread bytes at which the
    module is asked to stop, and past which the stream fails.
    ``line_rate``: the line's bytes per second (baud / 10), when known; the
    writer then keeps at most ``lead`` seconds of frames ahead of the line,
    so the kernel's buffer below it (several KiB on a tty) does not queue a
    bulk DLC's frames in front of another DLC's command.  0: unknown, the
    writer hands frames on as fast as the line takes them.
    """

    n1: int = DEFAULT_N1
    start_delay: float = 0.5
    response_timeout: float = 1.0
    retries: int = 3
    quiet_resync: float = 0.5
    high_water: int = 16 * 1024
    receive_limit: int = 256 * 1024
    line_rate: float = 0.0
    lead: float = 0.02


class _Waiter:
    """One task waiting for the event that ``match`` accepts."""

    def __init__(self, match: Callable[[ev.MuxEvent], bool]) -> None:
        self.match = match
        self.done = trio.Event()
        self.event: ev.MuxEvent | None = None


class MuxSession:
    """A running multiplexer; build it with ``MuxSession.open``."""

    def __init__(self, line: trio.abc.Stream, options: MuxOptions) -> None:
        self._line = line
        self.options = options
        self._conn = MuxConnection(n1=options.n1)
        self._streams: dict[int, DlcStream] = {}
        self._control = bytearray()
        self._turns: deque[DlcStream] = deque()
        self._writer_lot = trio.lowlevel.ParkingLot()
        self._waiters: list[_Waiter] = []
        self._lost: MuxLost | None = None
        self._nursery: trio.Nursery | None = None
        self._status_scopes: dict[int, trio.CancelScope] = {}  # DLC -> its MSC's retries
        self._line_free_at = 0.0  # when the line will have sent what we wrote (line_rate)
        self.on_frames_lost: Callable[[], None] | None = None
        """Called, before anything else reads what came after, when a frame from the
        module was dropped: a DLC's bytes have a hole, and which DLC is not known."""

    @classmethod
    @asynccontextmanager
    async def open(cls, line: trio.abc.Stream,
                   options: MuxOptions | None = None) -> AsyncIterator[MuxSession]:
        """Start the multiplexer on ``line`` (already past ``AT+CMUX``'s OK) and run
        it until the block exits; ``MuxStartFailed`` if DLC 0 never answers,
        ``MuxStartRefused`` if it answers DM."""
        session = cls(line, options or MuxOptions())
        with single_exception():
            async with trio.open_nursery() as nursery:
                session._nursery = nursery
                nursery.start_soon(session._read_loop)
                nursery.start_soon(session._write_loop)
                try:
                    await session._start()
                    yield session
                    await session.close_down()
                finally:
                    nursery.cancel_scope.cancel()

    @property
    def counters(self) -> MuxCounters:
        """What the multiplexer skipped or refused (``MuxCounters``)."""
        return self._conn.counters

    @property
    def state(self) -> MuxState:
        return self._conn.state

    @property
    def lost(self) -> MuxLost | None:
        """Why the line under the multiplexer was lost; None while it carries it."""
        return self._lost

    def n1(self, dlci: int) -> int:
        return self._conn.n1(dlci)

    # -- what callers do ---------------------------------------------------------

    async def open_dlc(self, dlci: int, *, n1: int | None = None) -> DlcStream:
        """Open ``dlci`` and return its stream, with our DTR and RTS on.

        ``n1``: propose it with PN first; the module's answer is the N1 in
        force (no answer, or NSC: the session's N1).  ``DlcRefused`` on DM,
        ``DlcUnanswered`` when the module never answers.
        """
        self._check_alive()
        if n1 is not None:
            await self._negotiate(Parameters(dlci, n1=n1))
        answer = await self._ask(lambda: self._conn.open(dlci), _about(dlci))
        if answer is None:
            self._conn.give_up(dlci)
            raise DlcUnanswered(f"the module did not answer the opening of DLC {dlci}")
        if not isinstance(answer, ev.DlcOpened):
            raise DlcRefused(f"the module refused DLC {dlci}")
        stream = self._streams[dlci]
        self.send_signals(stream)
        return stream

    async def test(self, pattern: bytes = b"ssl-proxy") -> None:
        """The control channel's Test: ``MuxLost`` unless the module echoes ``pattern``."""
        self._check_alive()
        answer = await self._ask(lambda: self._conn.send_test(pattern),
                                 lambda e: isinstance(e, ev.TestReply) and e.pattern == pattern)
        if answer is None:
            raise MuxLost("the module did not answer the multiplexer's Test command")

    async def close_down(self) -> None:
        """CLD: close every DLC and the multiplexer; the line carries AT commands after."""
        if self._lost is not None or self._conn.state is not MuxState.OPEN:
            return
        answer = await self._ask(self._conn.close_down, lambda e: isinstance(e, ev.MuxClosed))
        if answer is None:
            self._conn.give_up(0)
            self._end_all(DlcClosedError("the multiplexer was closed down"))

    # -- DlcHost -----------------------------------------------------------------

    def want_write(self, stream: DlcStream) -> None:
        if stream not in self._turns:
            self._turns.append(stream)
        self._writer_lot.unpark_all()

    def withdraw(self, stream: DlcStream) -> None:
        if stream in self._turns:
            self._turns.remove(stream)

    def send_signals(self, stream: DlcStream) -> None:
        """Our MSC for the stream's DLC, now, then again every ``response_timeout``
        up to ``retries`` times until the module answers it (27.010 5.7: T2 and
        N2; a lost FC-clear would stop the DLC for good).  A newer status for
        the DLC ends the older one's retries, so an older one never follows it."""
        signals = stream.signals | (V24.FC if stream.stopping_peer else V24.NONE)
        dlci = stream.dlci
        old = self._status_scopes.pop(dlci, None)
        if old is not None:
            old.cancel()
        try:
            frame = self._conn.send_status(dlci, signals)
        except MuxUsageError:
            return  # the DLC or the multiplexer closed meanwhile: nothing to say
        self._control += frame
        self._writer_lot.unpark_all()
        if self._nursery is not None:
            waiter = _Waiter(lambda e: isinstance(e, ev.StatusAnswered) and e.dlci == dlci
                             and e.signals == signals)
            self._waiters.append(waiter)
            scope = self._status_scopes[dlci] = trio.CancelScope()
            self._nursery.start_soon(self._confirm_status, dlci, frame, waiter, scope)

    async def close_dlc(self, stream: DlcStream) -> None:
        if self._lost is not None or stream.dlci not in self._conn.open_dlcs():
            return
        answer = await self._ask(lambda: self._conn.close(stream.dlci), _about(stream.dlci))
        if answer is None:
            self._conn.give_up(stream.dlci)
            self._streams.pop(stream.dlci, None)

    # -- internals ---------------------------------------------------------------

    def _check_alive(self) -> None:
        if self._lost is not None:
            raise self._lost
        if self._conn.state is not MuxState.OPEN:
            raise MuxUsageError(f"the multiplexer is {self._conn.state.value}")

    async def _start(self) -> None:
        await trio.sleep(self.options.start_delay)
        answer = await self._ask(self._conn.start, _about(0))
        if answer is None:
            self._conn.give_up(0)
            raise MuxStartFailed("the module never answered the multiplexer's start "
                                 "(SABM on DLC 0)")
        if not isinstance(answer, ev.DlcOpened):
            raise MuxStartRefused("the module refused (DM) the multiplexer's start "
                                  "(SABM on DLC 0)")

    async def _negotiate(self, parameters: Parameters) -> None:
        def answered(e: ev.MuxEvent) -> bool:
            return (isinstance(e, ev.ParametersAgreed) and e.parameters.dlci == parameters.dlci
                    or isinstance(e, ev.NotSupported))

        await self._ask(lambda: self._conn.negotiate(parameters), answered)

    async def _ask(self, build: Callable[[], bytes],
                   match: Callable[[ev.MuxEvent], bool]) -> ev.MuxEvent | None:
        """Send ``build()``'s frame, again every ``response_timeout`` up to
        ``retries`` times, until an event ``match`` accepts; None if none came."""
        waiter = _Waiter(match)
        self._waiters.append(waiter)
        try:
            frame = build()
            for _ in range(self.options.retries + 1):
                self._control += frame
                self._writer_lot.unpark_all()
                with trio.move_on_after(self.options.response_timeout):
                    await waiter.done.wait()
                if waiter.done.is_set() or self._lost is not None:
                    break
            if self._lost is not None and not waiter.done.is_set():
                raise self._lost
            return waiter.event
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def _confirm_status(self, dlci: int, frame: bytes, waiter: _Waiter,
                              scope: trio.CancelScope) -> None:
        """Send ``frame`` (an MSC already sent once) again until ``waiter`` hears
        the module's answer; unanswered after every retry, it is counted."""
        try:
            with scope:
                for attempt in range(self.options.retries + 1):
                    if attempt:
                        if self._lost is not None or dlci not in self._streams:
                            return
                        self._conn.counters.status_resent += 1
                        self._control += frame
                        self._writer_lot.unpark_all()
                    with trio.move_on_after(self.options.response_timeout):
                        await waiter.done.wait()
                    if waiter.done.is_set():
                        return
                self._conn.counters.status_unanswered += 1
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if self._status_scopes.get(dlci) is scope:
                del self._status_scopes[dlci]

    async def _read_loop(self) -> None:
        try:
            while True:
                data = None
                with trio.move_on_after(self.options.quiet_resync if self._conn.holding
                                        else float("inf")):
                    data = await self._line.receive_some()
                dropped = self.counters.dropped
                if data is None:
                    self._dispatch(self._conn.resync())
                elif not data:
                    break
                else:
                    self._dispatch(self._conn.receive_data(data))
                if self.counters.dropped != dropped:
                    self._frames_lost()
        except _LINE_ERRORS:
            pass
        self._fail(MuxLost("the line under the multiplexer ended"))

    def _frames_lost(self) -> None:
        """Something from the module was dropped: every DLC carrying raw bytes fails
        (which DLC the lost frame was for is not known), and ``on_frames_lost`` hears."""
        if self.on_frames_lost is not None:
            self.on_frames_lost()
        for stream in self._streams.values():
            if stream.raw:
                stream.end(RawFramesLost(f"DLC {stream.dlci}: a frame from the module was "
                                         "lost while it carried raw bytes"), failed=True)

    def _dispatch(self, events: list[ev.MuxEvent]) -> None:
        for event in events:
            self._route(event)
            for waiter in list(self._waiters):
                if waiter.match(event):
                    waiter.event = event
                    waiter.done.set()
                    self._waiters.remove(waiter)
        answers = self._conn.data_to_send()
        if answers:
            self._control += answers
            self._writer_lot.unpark_all()

    def _route(self, event: ev.MuxEvent) -> None:
        if isinstance(event, ev.DataReceived) and event.dlci in self._streams:
            self._streams[event.dlci].deliver(event.data)
        elif isinstance(event, ev.DlcOpened) and event.dlci:
            self._streams[event.dlci] = DlcStream(
                self, event.dlci, high_water=self.options.high_water,
                limit=self.options.receive_limit)
        elif isinstance(event, ev.DlcClosed) and event.dlci in self._streams:
            stream = self._streams.pop(event.dlci)
            self.withdraw(stream)
            stream.end(DlcClosedError(f"DLC {event.dlci}: {event.reason.value}"))
        elif isinstance(event, ev.PeerStatus) and event.dlci in self._streams:
            self._streams[event.dlci].peer_status(event.signals)
        elif isinstance(event, ev.FlowControl):
            self._writer_lot.unpark_all()

    def _next_chunk(self) -> bytes | None:
        """What the writer sends next: owed answers and control, else one DLC's turn."""
        if self._control:
            out = bytes(self._control)
            self._control.clear()
            return out
        for _ in range(len(self._turns)):
            stream = self._turns.popleft()
            if not stream.pending or stream.dlci not in self._streams:
                continue
            if self._conn.dlc_state(stream.dlci) is not DlcState.OPEN:
                stream.end(DlcClosedError(f"DLC {stream.dlci} is closing"))
                continue
            if self._conn.stopped(stream.dlci):
                self._turns.append(stream)
                continue
            frame = self._conn.send(stream.dlci, stream.take(self._conn.n1(stream.dlci)))
            if stream.pending:
                self._turns.append(stream)
            return frame
        return None

    async def _write_loop(self) -> None:
        try:
            while True:
                chunk = self._next_chunk()
                if chunk is None:
                    await self._writer_lot.park()
                    continue
                await self._line.send_all(chunk)
                await self._keep_pace(len(chunk))
        except _LINE_ERRORS:
            self._fail(MuxLost("the line under the multiplexer broke"))

    async def _keep_pace(self, sent: int) -> None:
        """With a known line rate, wait while more than ``lead`` seconds are queued below."""
        rate = self.options.line_rate
        if not rate:
            return
        now = trio.current_time()
        self._line_free_at = max(self._line_free_at, now) + sent / rate
        if self._line_free_at - now > self.options.lead:
            await trio.sleep_until(self._line_free_at - self.options.lead)

    def _fail(self, error: MuxLost) -> None:
        if self._lost is None:
            self._lost = error
        self._end_all(error, failed=True)
        for waiter in self._waiters:
            waiter.done.set()

    def _end_all(self, error: MuxLost | DlcClosedError, *, failed: bool = False) -> None:
        for stream in self._streams.values():
            stream.end(error, failed=failed)
        self._streams.clear()
        self._turns.clear()


def _about(dlci: int) -> Callable[[ev.MuxEvent], bool]:
    """Matches the answer to a SABM or DISC on ``dlci``."""
    def match(event: ev.MuxEvent) -> bool:
        return isinstance(event, ev.DlcOpened | ev.DlcClosed) and event.dlci == dlci
    return match
