"""Where the line time goes: one proxied transfer with a timestamped line trace.

    python -m tests.benchmarks.line_trace [--baud 115200] [--latency-ms 2]
        [--scenario download|upload|reqresp] [--kib 128]

Runs the emulator (``emulator_launcher --trace-file``) and ``ssl-proxy`` as
processes, moves one transfer through the proxy, then reads the trace.  For
the direction that carries the payload (the *bottleneck*: module->host for
a download, host->module for an upload) it splits the transfer's time into

* payload: the bytes the user wanted;
* framing: other bytes on that direction (``+QSSLRECV: n``, ``OK``, URCs;
  the ``AT+QSSLSEND`` command lines on the uplink);
* idle gaps, each cut into: *host* (the proxy had the line and sent
  nothing), *other direction* (the command or answer the gap waits for is
  crossing the opposite direction), *module* (the module's turnaround,
  the emulator's ``--latency-ms`` plus its timer overshoot).

The chunk times are the emulator's modelled line times (its strict line
model, ``modem.emulator.pacing``), not when the bytes reached the pty.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import trio

from . import clients
from .processes import emulator_process, proxy_process
from .servers import BenchServer, BenchServers, payload


@dataclass
class Chunk:
    start: float
    end: float
    logged: float  # module->host: when it reached the pty; host->module: when read
    direction: str  # "h" host->module, "m" module->host
    data: bytes


def read_trace(path: Path, rate: float) -> list[Chunk]:
    chunks = []
    for line in path.read_text().splitlines():
        start, end, logged, direction, hexdata = line.split(" ")
        data = bytes.fromhex(hexdata)
        stop = float(end) or float(logged)
        begin = float(start) or stop - len(data) / rate
        chunks.append(Chunk(begin, stop, float(logged), direction, data))
    return chunks


@dataclass
class Breakdown:
    window: float
    payload: float
    framing: float
    host: float
    other_direction: float
    module: float
    gaps: int
    host_gaps: list[float]
    module_gaps: list[float]
    late: float = 0.0  # of the host gaps: module->host bytes reaching the pty late

    def lines(self) -> list[str]:
        w = self.window
        parts = [("payload", self.payload), ("framing bytes", self.framing),
                 ("idle: host", self.host - self.late),
                 ("idle: emulator late write", self.late),
                 ("idle: other direction", self.other_direction),
                 ("idle: module turnaround", self.module)]
        out = [f"window {w:.3f} s, {self.gaps} gaps on the bottleneck direction"]
        for name, value in parts:
            out.append(f"  {name:<24} {value:8.3f} s  {100 * value / w:5.1f} %")
        rest = w - sum(v for _, v in parts)
        out.append(f"  {'unaccounted':<24} {rest:8.3f} s  {100 * rest / w:5.1f} %")
        if self.host_gaps:
            out.append(f"  host gap median {1000 * statistics.median(self.host_gaps):.2f} ms, "
                       f"module gap median {1000 * statistics.median(self.module_gaps):.2f} ms")
        return out


def breakdown(chunks: list[Chunk], bottleneck: str, payload_bytes: int, rate: float,
              t0: float, t1: float) -> Breakdown:
    """Split [t0, t1] of the ``bottleneck`` direction as the module docstring says."""
    mine = [c for c in chunks if c.direction == bottleneck and t0 <= c.end <= t1]
    other = [c for c in chunks if c.direction != bottleneck and t0 <= c.end <= t1]
    busy = sum(len(c.data) for c in mine) / rate
    pay = min(payload_bytes / rate, busy)
    host = module = across = late = 0.0
    host_gaps: list[float] = []
    module_gaps: list[float] = []
    # The side that acts first after the bottleneck direction goes quiet.
    first = "host" if bottleneck == "m" else "module"
    gaps = 0
    j = 0
    for prev, nxt in zip(mine, mine[1:], strict=False):
        a, b = prev.end, nxt.start
        if b - a <= 1e-4:
            continue
        gaps += 1
        while j < len(other) and other[j].end < a:
            j += 1
        inside = []
        k = j
        while k < len(other) and other[k].start < b:
            inside.append(other[k])
            k += 1
        if not inside:
            module += b - a if first == "module" else 0.0
            host += b - a if first == "host" else 0.0
            continue
        o1, o2 = max(a, inside[0].start), min(b, inside[-1].end)
        before, after = max(0.0, o1 - a), max(0.0, b - o2)
        across += max(0.0, o2 - o1)
        h, m = (before, after) if first == "host" else (after, before)
        # The host cannot answer bytes before they reach the pty: the emulator's
        # sleep overshoot delays the last module->host chunk before a host gap.
        if first == "host":
            late += min(h, max(0.0, prev.logged - prev.end))
        elif inside[-1].direction == "m":
            late += min(h, max(0.0, inside[-1].logged - inside[-1].end))
        host += h
        module += m
        host_gaps.append(h)
        module_gaps.append(m)
    return Breakdown(t1 - t0, pay, busy - pay, host, across, module, gaps, host_gaps,
                     module_gaps, late)


async def traced(args: argparse.Namespace, trace: Path) -> tuple[float, float, int]:
    size = args.kib * 1024
    async with trio.open_nursery() as nursery:
        servers = BenchServers()
        kinds = {"download": ["source"], "upload": ["sink"], "reqresp": ["reqresp"],
                 "duplex": ["source", "sink"]}[args.scenario]
        served = [await servers.serve(nursery, BenchServer(
            kind, size=size, request=200, reply=2048, count=args.exchanges))
            for kind in kinds]
        server = served[-1]
        with tempfile.TemporaryDirectory() as tmp:
            cacert = Path(tmp) / "ca.pem"
            cacert.write_bytes(servers.ca_pem)
            async with emulator_process(args.baud, args.latency_ms, trace_file=trace) as emu, \
                    proxy_process(emu.device, args.baud or 115200,
                                  [srv.port for srv in served], cacert,
                                  extra=tuple(args.proxy_arg), program=args.program) as proxy:
                port = proxy.ports[server.port]
                t0 = time.monotonic()
                if args.scenario == "download":
                    result = await clients.download(port, size)
                    nbytes = size
                elif args.scenario == "upload":
                    result = await clients.upload(port, server, payload(size))
                    nbytes = size
                elif args.scenario == "duplex":
                    down_port = proxy.ports[served[0].port]
                    async with trio.open_nursery() as both:
                        both.start_soon(clients.download, down_port, size)
                        both.start_soon(clients.upload, port, server, payload(size))
                    nbytes = size  # each way
                else:
                    result = await clients.reqresp(port, payload(200), 2048, args.exchanges)
                    nbytes = 2048 * args.exchanges
                    ms = [1000 * x for x in result.samples[1:]]
                    print(f"exchange median {statistics.median(ms):.2f} ms", file=sys.stderr)
                t1 = time.monotonic()
        nursery.cancel_scope.cancel()
    return t0, t1, nbytes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.line_trace",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--latency-ms", type=float, default=2.0)
    p.add_argument("--scenario", choices=["download", "upload", "reqresp", "duplex"],
                   default="download",
                   help="duplex: a download and an upload of --kib each at once; both "
                        "directions are broken down")
    p.add_argument("--kib", type=int, default=128)
    p.add_argument("--exchanges", type=int, default=20)
    p.add_argument("--keep", type=Path, help="keep the raw trace here")
    p.add_argument("--proxy-arg", action="append", default=[], metavar="ARG",
                   help="pass ARG to the proxy, e.g. --proxy-arg=--access-mode=push")
    p.add_argument("--program", default="proxy.cli",
                   help="the proxy module run with python -m (a variant with a change "
                        "patched in, or an instrumented one)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        trace = args.keep or Path(tmp) / "line.trace"
        t0, t1, nbytes = trio.run(traced, args, trace)
        rate = args.baud / 10
        chunks = read_trace(trace, rate)
    directions = {"upload": ["h"], "duplex": ["m", "h"]}.get(args.scenario, ["m"])
    print(f"{args.scenario} {args.kib} KiB at {args.baud}/{args.latency_ms:g}ms "
          f"(strict line model): {nbytes / (t1 - t0):.0f} B/s, "
          f"{nbytes / (t1 - t0) / rate:.3f} of the line"
          + (" each way" if args.scenario == "duplex" else ""))
    for bottleneck in directions:
        result = breakdown(chunks, bottleneck, nbytes, rate, t0, t1)
        if len(directions) > 1:
            print("module->host:" if bottleneck == "m" else "host->module:")
        print("\n".join(result.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
