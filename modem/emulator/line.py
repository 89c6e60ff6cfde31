"""The module's side of the serial line: paced input and output, URC delivery.

Output rules (what real firmware does):
every write is one unit under ``output_lock`` so a URC never lands inside a
response, a ``+QSSLRECV`` payload or a prompt.  Queued URCs wait for
``urc_gate``, which the command processor holds while the host owes it raw
bytes (``AT+QSSLSEND`` / ``AT+QFUPL`` data, transparent mode).
While ``silent`` (fault injection) input is read and dropped and nothing is
written.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import trio

from .pacing import Pacer
from .urc_port import UrcRouting

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
        self._urcs: deque[tuple[bytes, trio.Event]] = deque()
        self._urc_lot = trio.lowlevel.ParkingLot()
        self._silent_until = -math.inf
        #: Keeps a URC when it returns True; None keeps all (see faults.UrcLoss).
        self.urc_filter: Callable[[bytes], bool] | None = None
        #: Changes a push frame's bytes on the line (faults.PushLoss); None: intact.
        self.push_mangle: Callable[[bytes], bytes] | None = None
        #: Client IDs whose push frames wait for the next command's answer
        #: (faults.HoldPushes): that answer then overtakes them.
        self.held_ids: set[int] = set()
        self._held: list[tuple[bytes, trio.Event]] = []
        self.last_input_time = -math.inf
        self.bytes_in = 0
        self.bytes_out = 0
        self.routing = UrcRouting()  # outlives a restart, like the module's NVM

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
        """Answer nothing and drop input for ``seconds``."""
        self._silent_until = max(self._silent_until, trio.current_time() + seconds)
        self._inbuf.clear()

    @property
    def silent(self) -> bool:
        return trio.current_time() < self._silent_until

    # -- input -----------------------------------------------------------

    async def _fill(self) -> None:
        data = await self._stream.receive_some(self._rx_pacer.burst)
        if not data:
            # Only when the pty vanished under us: nothing more will come.
            await trio.sleep_forever()
        await self._rx_pacer.consume(len(data))
        self.last_input_time = trio.current_time()
        if self.silent:
            return
        self.bytes_in += len(data)
        self._inbuf += data
        if self._trace:
            self._trace("host->module", bytes(data))

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

    async def _send(self, data: bytes) -> None:
        if self.silent:
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

    async def write(self, data: bytes) -> None:
        """Write one unit; no URC can come between its bytes."""
        async with self.output_lock:
            await self._send(data)
        self.release_held()

    async def write_locked(self, data: bytes) -> None:
        """Write while the caller already holds ``output_lock``."""
        await self._send(data)
        self.release_held()

    def post_push(self, client_id: int, unit: bytes) -> trio.Event:
        """Queue a push frame (``post_urc``), through the push faults: mangled on
        the line, or held back until the next answer is written."""
        if self.push_mangle is not None:
            unit = self.push_mangle(unit)
        if client_id in self.held_ids:
            done = trio.Event()
            self._held.append((unit, done))
            return done
        return self.post_urc(unit)

    def post_after_pushes(self, client_id: int, unit: bytes) -> trio.Event:
        """Queue a socket's URC behind its push frames, also held ones: a module
        writes its URCs in order (docs/reliability.md, guess G1)."""
        if client_id in self.held_ids:
            done = trio.Event()
            self._held.append((unit, done))
            return done
        return self.post_urc(unit)

    @property
    def held_count(self) -> int:
        """Push frames held back for the next answer (``faults.HoldPushes``)."""
        return len(self._held)

    def release_held(self) -> None:
        """An answer was written: the push frames held for it follow now."""
        if not self._held:
            return
        self.held_ids.clear()
        held, self._held = self._held, []
        for unit, done in held:
            self.post_urc(unit, done)

    async def urc(self, data: bytes) -> None:
        """Write a URC now (waits while the host owes raw bytes)."""
        async with self.urc_gate, self.output_lock:
            await self._send(data)

    def post_urc(self, data: bytes, done: trio.Event | None = None) -> trio.Event:
        """Queue a URC for the URC writer (keeps order, never blocks).

        The returned event is set once it is written (at once when the
        URCs go to another AT port: ``routing``).  A queued URC is
        written whole even if its poster is cancelled meanwhile.
        """
        done = trio.Event() if done is None else done
        if not self.routing.reaches_host or (
            self.urc_filter is not None and not self.urc_filter(data)
        ):
            # AT+QURCCFG sends it to another port, or it is lost on the line
            # (the ``urc_loss`` fault).
            done.set()
            return done
        self._urcs.append((data, done))
        self._urc_lot.unpark_all()
        return done

    def clear_urcs(self) -> None:
        self._urcs.clear()

    async def run_urc_writer(self) -> None:
        while True:
            while not self._urcs:
                await self._urc_lot.park()
            async with self.urc_gate, self.output_lock:
                # Take it only now: everything queued before is out already.
                data, done = self._urcs.popleft()
                await self._send(data)
                done.set()
