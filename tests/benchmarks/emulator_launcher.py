"""The emulator with a timestamped line trace.

Same contract as ``python -m modem.emulator`` for what the benchmark uses:
flags ``--baud``, ``--latency-ms``, ``--resolve NAME=IP``; the first stdout
line is ``device: <path>``; runs until SIGINT/SIGTERM.  The harness uses the
project's program unless it needs the extra here: ``--trace-file PATH``
writes every chunk with its line times (``TraceFile``), for
``tests.benchmarks.line_trace``.  The line model is the emulator's own
(``modem.emulator.pacing``: strict, idle time is never saved up).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

import trio

from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.line import HostLine


class TraceFile:
    """``Emulator.running``'s line trace with a monotonic timestamp per chunk.

    One line per chunk: ``<start> <end> <logged> <h|m> <hex bytes>`` (h: host
    to module, m: module to host), times on the ``time.monotonic()`` clock.
    ``logged`` is when the chunk was handed over (module->host: written to the
    pty, after the pacing sleep; host->module: taken in).  ``start`` and
    ``end`` are the chunk's times on the modelled line (the pacer's line
    clock; 0 on an unpaced line or before ``attach``).  Read by
    ``tests.benchmarks.line_trace``.
    """

    def __init__(self, path: str) -> None:
        self._file = open(path, "w")  # noqa: SIM115 (closed by close())
        self._line: HostLine | None = None

    def attach(self, line: HostLine) -> None:
        """The emulator's line, whose pacers know each chunk's line time."""
        self._line = line

    def __call__(self, direction: str, data: bytes) -> None:
        host = direction.startswith("host")
        tag = "h" if host else "m"
        mono = time.monotonic()
        start = end = 0.0
        if self._line is not None:
            offset = mono - trio.current_time()
            line_start, line_end = self._line.line_time(to_host=not host)
            if line_end:
                start, end = line_start + offset, line_end + offset
        self._file.write(f"{start:.6f} {end:.6f} {mono:.6f} {tag} {data.hex()}\n")

    def close(self) -> None:
        self._file.close()


async def _main(config: EmulatorConfig, trace: TraceFile | None) -> None:
    async with Emulator.running(config, trace=trace) as emu:
        if trace is not None:
            trace.attach(emu.line)
        print(f"device: {emu.device}", flush=True)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                return


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="emulator_launcher")
    p.add_argument("--baud", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--resolve", action="append", default=[])
    p.add_argument("--trace-file", metavar="PATH", help="timestamped line trace (TraceFile)")
    p.add_argument("--recv-urc-rearm", default="drain", help="as python -m modem.emulator")
    p.add_argument("--fault", action="append", default=[], help="as python -m modem.emulator")
    ns = p.parse_args(argv)
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
