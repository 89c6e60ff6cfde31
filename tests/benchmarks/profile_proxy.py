"""Where the CPU goes: py-spy on the proxy (and the emulator) during one transfer.

    python -m tests.benchmarks.profile_proxy [--baud 0] [--latency-ms 0]
        [--scenario download|upload] [--mib 16] [--out DIR]

Needs ``py-spy`` (``pip install py-spy``; not a bench dependency because it
is a native tool only this investigation uses).  Runs the emulator and
``ssl-proxy`` as processes, samples both with ``py-spy record --format raw``
while a transfer runs through the proxy, and prints for each process the
functions with the most samples, counted *inclusively* (the function or
anything it calls) and by *self* time.  The collapsed stacks are kept in
``--out`` for a flame graph (``flamegraph.pl`` or speedscope).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import trio

from . import clients
from .processes import emulator_process, proxy_process
from .servers import BenchServer, BenchServers, payload

MB = 1_000_000


def summarize(path: Path, top: int) -> list[str]:
    """The ``top`` functions by inclusive and by self samples in a collapsed-stack file."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1]
                  + ")" if " (" in f else f for f in stack.split(";")]
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    out = [f"{total} samples"]
    out.append("inclusive:")
    out += [f"  {100 * n / total:5.1f} %  {f}" for f, n in inclusive.most_common(top)]
    out.append("self:")
    out += [f"  {100 * n / total:5.1f} %  {f}" for f, n in own.most_common(top)]
    return out


async def run(args: argparse.Namespace, out: Path) -> dict[str, float]:
    size = args.mib * (1 << 20)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    async with trio.open_nursery() as nursery:
        servers = BenchServers()
        kind = "source" if args.scenario == "download" else "sink"
        server = await servers.serve(nursery, BenchServer(kind, size=size))
        cacert = out / "ca.pem"
        cacert.write_bytes(servers.ca_pem)
        async with emulator_process(args.baud, args.latency_ms) as emu, \
                proxy_process(emu.device, args.baud or 115200, [server.port], cacert) as proxy:
            samplers = []
            for name, pid in (("proxy", proxy.pid), ("emulator", emu.pid)):
                cmd = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250",
                       "--nonblocking", "-o", str(out / f"{name}.collapsed")]
                samplers.append(await trio.lowlevel.open_process(cmd, stdout=subprocess.DEVNULL,
                                                                 stderr=subprocess.DEVNULL))
            await trio.sleep(1.0)  # let py-spy attach
            before, emu_before = proxy.stats(), emu.stats()
            port = proxy.ports[server.port]
            if args.scenario == "download":
                result = await clients.download(port, size)
            else:
                result = await clients.upload(port, server, payload(size))
            after, emu_after = proxy.stats(), emu.stats()
            for sampler in samplers:
                sampler.send_signal(2)
                await sampler.wait()
        nursery.cancel_scope.cancel()
    mb = result.nbytes / MB
    return {
        "mb_per_s": result.goodput / MB,
        "proxy_cpu_s_per_mb": (after.cpu_s - before.cpu_s) / mb,
        "emulator_cpu_s_per_mb": (emu_after.cpu_s - emu_before.cpu_s) / mb,
        "seconds": result.seconds,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.profile_proxy",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--baud", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--scenario", choices=["download", "upload"], default="download")
    p.add_argument("--mib", type=int, default=16)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--out", type=Path, help="keep the collapsed stacks here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        figures = trio.run(run, args, out)
        print(", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
        for name in ("proxy", "emulator"):
            path = out / f"{name}.collapsed"
            if path.exists():
                print(f"== {name}")
                print("\n".join(summarize(path, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
