"""One AT port's side of its line: paced input and output, URC delivery.

Output rules (what real firmware does):
every write is one unit under ``output_lock`` so a URC never lands inside a
response, a ``+QSSLRECV`` payload or a prompt.  Queued URCs wait for
``urc_gate``, which the command processor holds while the host owes it raw
bytes (``AT+QSSLSEND`` / ``AT+QFUPL`` data, transparent mode, CMUX).
While ``silent`` (fault injection) input is read and dropped (with
``holds_input``, RTS/CTS, not read at all) and nothing is written: answers
are dropped; a socket's data (transparent mode, ``write(hold=True)``; push
frames) and queued URCs wait for the silence to end.  Which line a URC goes
to is the module's choice (``Module.post_urc``).

The stream is a pty (paced to the baud rate) or, under ``AT+CMUX``, a DLC
of the multiplexer (unpaced: the multiplexer's own line is paced, framing
included).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import trio

from .pacing import Pacer

CR = 0x0D
LF = 0x0A


class HostLine:
    """Both directions of the serial line as the module sees them."""

    def __init__(
        self, stream: trio.abc.Stream, bytes_per_second: float,
        trace: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self._stream = stream
        self._trace = trace
        self._rx_pacer = Pacer(bytes_per_second)
        self._tx_pacer = Pacer(bytes_per_second)
        self._inbuf = bytearray()
        self.output_lock = trio.Lock()
        self.urc_gate = trio.Lock()
        self._urcs: deque[tuple[bytes, Callable[[], None]]] = deque()
        self._urc_lot = trio.lowlevel.ParkingLot()
        self._silent_until = -math.inf
        self._woken = trio.Event()  # set by wake()
        #: Called after each answer is written (``Module.release_held``).
        self.on_answer: Callable[[], None] | None = None
        self.last_input_time = -math.inf
        #: RTS/CTS: while silent the module reads nothing, so the host's bytes wait
        #: (its writes block once the buffers fill) instead of being dropped.
        self.holds_input = False
        self.bytes_in = 0
        self.bytes_out = 0

    @property
    def input_done_at(self) -> float:
        """When the host's bytes read so far finished crossing the line (trio clock).

        A command's turnaround counts from here (``at_commands``).
        """
        free_at = self._rx_pacer.free_at
        return free_at if free_at > -math.inf else self.last_input_time

    def line_time(self, to_host: bool) -> tuple[float, float]:
        """Start and end (trio clock) of the last chunk booked on the line, one way.

        For traces: called from ``trace``, it gives the chunk just traced.
        """
        return (self._tx_pacer if to_host else self._rx_pacer).last

    # -- silence ---------------------------------------------------------

    def silence(self, seconds: float) -> None:
        """Answer nothing and drop input for ``seconds`` (``math.inf``: until ``wake``)."""
        self._silent_until = max(self._silent_until, trio.current_time() + seconds)
        self._woken = trio.Event()
        if not self.holds_input:
            self._inbuf.clear()

    def wake(self) -> None:
        """End a silence now (a power cycle ends a hang)."""
        self._silent_until = -math.inf
        self._woken.set()

    @property
    def silent(self) -> bool:
        return trio.current_time() < self._silent_until

    # -- input -----------------------------------------------------------

    async def _fill(self) -> None:
        await self._while_silent()
        data = await self._stream.receive_some(self._rx_pacer.burst)
        if not data:
            # Only when the pty vanished under us: nothing more will come.
            await trio.sleep_forever()
        await self._rx_pacer.consume(len(data))
        self.last_input_time = trio.current_time()
        await self._while_silent()  # bytes that came as it fell silent wait too
        if self.silent:
            return
        self.bytes_in += len(data)
        self._inbuf += data
        if self._trace:
            self._trace("host->module", bytes(data))

    async def _while_silent(self) -> None:
        """With ``holds_input`` (CTS low), until the silence ends."""
        if self.holds_input:
            await self.until_heard()

    async def until_heard(self) -> None:
        """Until the silence (if any) ends."""
        while self.silent:
            with trio.move_on_at(self._silent_until):
                await self._woken.wait()

    def discard_input(self) -> None:
        self._inbuf.clear()

    async def drop_input_forever(self) -> None:
        """Read and drop everything (a module that is booting)."""
        while True:
            await self._fill()
            self._inbuf.clear()

    async def read_line(self) -> bytes:
        """The next command line without its CR; a LF after the CR is dropped."""
        while True:
            while self._inbuf[:1] == b"\n":
                del self._inbuf[:1]
            end = self._inbuf.find(b"\r")
            if end >= 0:
                line = bytes(self._inbuf[:end])
                del self._inbuf[: end + 1]
                return line
            if len(self._inbuf) > 4096:  # a runaway line: forget it, like firmware
                self._inbuf.clear()
            await self._fill()

    async def read_exact(self, n: int) -> bytes:
        while len(self._inbuf) < n:
            await self._fill()
        data = bytes(self._inbuf[:n])
        del self._inbuf[:n]
        return data

    async def read_some(self) -> bytes:
        """Whatever has arrived (at least one byte)."""
        while not self._inbuf:
            await self._fill()
        data = bytes(self._inbuf)
        self._inbuf.clear()
        return data

    async def read_until(self, stops: bytes, limit: int) -> tuple[bytes, int]:
        """Bytes up to the first byte in ``stops`` (consumed, returned as int).

        Bytes past ``limit`` are dropped (the ctrl-z form of ``AT+QSSLSEND``).
        """
        data = bytearray()
        while True:
            while not self._inbuf:
                await self._fill()
            for i, byte in enumerate(self._inbuf):
                if byte in stops:
                    data += self._inbuf[:i]
                    del self._inbuf[: i + 1]
                    return bytes(data[:limit]), byte
            data += self._inbuf
            self._inbuf.clear()
            del data[limit:]

    # -- output ----------------------------------------------------------

    async def _send(self, data: bytes, *, hold: bool = False) -> None:
        if hold:
            await self.until_heard()
        elif self.silent:
            return
        step = self._tx_pacer.burst
        for start in range(0, len(data), step):
            chunk = data[start : start + step]
            # The host reacts to the last bytes of a write: they must not come late.
            last = start + step >= len(data)
            await self._tx_pacer.consume(len(chunk), exact=last, early=not last)
            await self._stream.send_all(chunk)
            self.bytes_out += len(chunk)
            if self._trace:
                self._trace("module->host", chunk)

    async def write(self, data: bytes, *, hold: bool = False) -> None:
        """Write one unit; no URC can come between its bytes.  While silent it
        is dropped (an answer never given), or with ``hold`` waits for the
        silence to end (data the module took from a socket: a hung module
        loses none of it, it just says nothing meanwhile)."""
        async with self.output_lock:
            await self._send(data, hold=hold)
        self._answered()

    async def write_locked(self, data: bytes) -> None:
        """Write while the caller already holds ``output_lock``."""
        await self._send(data)
        self._answered()

    def _answered(self) -> None:
        if self.on_answer is not None:
            self.on_answer()

    async def urc(self, data: bytes) -> None:
        """Write a URC now (waits while the host owes raw bytes)."""
        async with self.urc_gate, self.output_lock:
            await self._send(data)

    def post_urc(self, data: bytes, written: Callable[[], None]) -> None:
        """Queue a URC for the URC writer (keeps order, never blocks).

        ``written()`` is called once it is on the line.  A queued URC is
        written whole even if its poster is cancelled meanwhile.
        """
        self._urcs.append((data, written))
        self._urc_lot.unpark_all()

    def clear_urcs(self) -> None:
        self._urcs.clear()

    async def run_urc_writer(self) -> None:
        while True:
            while not self._urcs:
                await self._urc_lot.park()
            async with self.urc_gate, self.output_lock:
                # Take it only now: everything queued before is out already.
                data, written = self._urcs.popleft()
                await self._send(data, hold=True)  # a hang delays the queue, loses none of it
                written()
