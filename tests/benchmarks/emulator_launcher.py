"""The emulator with a strict line model and a timestamped line trace.

Same contract as ``python -m modem.emulator`` for what the benchmark uses:
flags ``--baud``, ``--latency-ms``, ``--resolve NAME=IP``; the first stdout
line is ``device: <path>``; runs until SIGINT/SIGTERM.  The harness uses the
project's program unless it needs one of the two extras here:

* ``--strict-pacing`` swaps the emulator's token bucket (which keeps up to
  5 ms of credit, so an idle gap of up to 5 ms on the line costs nothing)
  for ``StrictPacer``: a byte can leave no earlier than the line is free,
  and idle time is never saved up (only the pacer's own timer overshoot is
  forgiven).  It shows how much of the command turnaround the bucket hides;
  see docs/benchmarks.md.
* ``--trace-file PATH`` writes every chunk with its line times
  (``TraceFile``), for ``tests.benchmarks.line_trace``.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time

import trio

from modem.emulator import Emulator, EmulatorConfig
from modem.emulator import line as emulator_line

# Seconds between one consume() returning and the next being called that still
# count as a continuous stream (the caller's own work between two chunks).
CONTINUITY = 0.001


class StrictPacer:
    """Serialises bytes on a line of ``rate`` bytes/s; an idle line saves up nothing.

    Trio's sleeps end late (epoll rounds its timeout up to whole
    milliseconds), so lateness of our own sleep is not idle time: the next
    chunk starts where the last one ended on the line.  Any other gap is
    idle, and the line clock restarts from now.
    """

    #: Every pacer made, in order: a ``HostLine`` makes its receive pacer first.
    instances: list[StrictPacer] = []

    def __init__(self, rate: float) -> None:
        self.rate = rate
        # Chunk size the emulator reads and writes in (as the token bucket's burst).
        self.burst = max(16, int(rate * 0.005)) if rate else 1 << 16
        self._free_at = -math.inf  # when the line has carried everything booked
        self._returned_at = -math.inf  # when the last consume() returned
        self.last = (0.0, 0.0)  # line time (trio clock) of the last bytes booked
        StrictPacer.instances.append(self)

    @property
    def unpaced(self) -> bool:
        return not self.rate

    async def consume(self, n: int) -> None:
        """Sleep until n more bytes have crossed the line."""
        if not self.rate:
            return
        now = trio.current_time()
        if now > self._free_at and now - self._returned_at > CONTINUITY:
            self._free_at = now  # the line was idle: that time is gone
        start = self._free_at
        self._free_at += n / self.rate
        self.last = (start, self._free_at)
        if self._free_at > now:
            await trio.sleep(self._free_at - now)
        self._returned_at = trio.current_time()


class TraceFile:
    """``Emulator.running``'s line trace with a monotonic timestamp per chunk.

    One line per chunk: ``<start> <end> <logged> <h|m> <hex bytes>`` (h: host
    to module, m: module to host), times on the ``time.monotonic()`` clock.
    ``logged`` is when the chunk was handed over (module->host: written to the
    pty, after the pacing sleep; host->module: taken in).  With the strict
    pacer ``start`` and ``end`` are the chunk's exact times on the modelled
    line; otherwise both are 0.  Read by
    ``tests.benchmarks.line_trace``.
    """

    def __init__(self, path: str) -> None:
        self._file = open(path, "w")  # noqa: SIM115 (closed by close())

    def __call__(self, direction: str, data: bytes) -> None:
        host = direction.startswith("host")
        tag = "h" if host else "m"
        mono = time.monotonic()
        start = end = 0.0
        pacers = StrictPacer.instances
        if len(pacers) >= 2:  # the current HostLine's pair is the last two made
            offset = mono - trio.current_time()
            line_start, line_end = pacers[-2 if host else -1].last
            start, end = line_start + offset, line_end + offset
        self._file.write(f"{start:.6f} {end:.6f} {mono:.6f} {tag} {data.hex()}\n")

    def close(self) -> None:
        self._file.close()


async def _main(config: EmulatorConfig, trace: TraceFile | None) -> None:
    async with Emulator.running(config, trace=trace) as emu:
        print(f"device: {emu.device}", flush=True)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                return


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="emulator_launcher")
    p.add_argument("--baud", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--resolve", action="append", default=[])
    p.add_argument("--strict-pacing", action="store_true")
    p.add_argument("--trace-file", metavar="PATH", help="timestamped line trace (TraceFile)")
    p.add_argument("--recv-urc-rearm", default="drain", help="as python -m modem.emulator")
    p.add_argument("--fault", action="append", default=[], help="as python -m modem.emulator")
    ns = p.parse_args(argv)
    if ns.strict_pacing:
        emulator_line.Pacer = StrictPacer  # type: ignore[misc, assignment]
    resolve = dict(item.split("=", 1) for item in ns.resolve)
    trace = TraceFile(ns.trace_file) if ns.trace_file else None
    try:
        config = EmulatorConfig(baud=ns.baud, latency_ms=ns.latency_ms, resolve=resolve,
                                recv_urc_rearm=ns.recv_urc_rearm, faults=tuple(ns.fault))
        trio.run(_main, config, trace)
    finally:
        if trace is not None:
            trace.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
