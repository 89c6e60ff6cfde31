"""``python -m tests.benchmarks.push_rss``: the proxy's memory with slow readers in push mode.

Runs the emulator and ``ssl-proxy --access-mode push`` as processes, opens
``--connections`` (12) local clients through one map to a TLS source server
that sends ``--mib`` MiB on each, and lets every client read slowly
(``--read-rate`` bytes per second, a 4 KiB socket receive buffer), so the
module pushes faster than the clients take.  Samples the proxy's RSS every
half second for ``--seconds`` and prints one JSON record: the RSS before the
clients came, the highest RSS while they read, and ``VmHWM`` (the peak the
kernel saw).  The bound per connection is ``modem.core.push_flow``'s hard limit;
docs/benchmarks.md has the figure and the command.
"""

from __future__ import annotations

import argparse
import json
import socket as stdlib_socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
import trustme

from modem.core.push_flow import DEFAULT_PUSH_LIMIT, PushInbox
from tests.helpers import TlsServer

from .processes import emulator_process, proxy_process


async def _slow_client(port: int, read_rate: int, seconds: float, got: list[int]) -> None:
    sock = trio.socket.socket()
    sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, 4096)
    await sock.connect(("127.0.0.1", port))
    stream = trio.SocketStream(sock)
    step = 0.1
    with trio.move_on_after(seconds):
        async with stream:
            while chunk := await stream.receive_some(max(1, int(read_rate * step))):
                got.append(len(chunk))
                await trio.sleep(step)


async def measure(connections: int, mib: int, read_rate: int, seconds: float, baud: int,
                  latency_ms: float, access_mode: str) -> dict[str, Any]:
    ca = trustme.CA()
    server = TlsServer(ca.issue_cert("bench.test"), "source", source_bytes=mib << 20)
    samples: list[float] = []
    got: list[int] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        with tempfile.TemporaryDirectory() as tmp:
            cacert = Path(tmp) / "ca.pem"
            cacert.write_bytes(ca.cert_pem.bytes())
            async with emulator_process(baud, latency_ms) as emulator, \
                    proxy_process(emulator.device, baud or 115200, [server.port], cacert,
                                  extra=("--access-mode", access_mode)) as proxy:
                before = proxy.stats().rss_mb
                local = proxy.ports[server.port]
                async with trio.open_nursery() as clients:
                    for _ in range(connections):
                        clients.start_soon(_slow_client, local, read_rate, seconds, got)
                    end = time.monotonic() + seconds
                    while time.monotonic() < end:
                        samples.append(proxy.stats().rss_mb)
                        await trio.sleep(0.5)
                hwm = proxy.stats().peak_rss_mb
        nursery.cancel_scope.cancel()
    hard = PushInbox(DEFAULT_PUSH_LIMIT).hard_limit
    return {
        "access_mode": access_mode, "connections": connections, "baud": baud,
        "latency_ms": latency_ms, "read_rate_bps": read_rate, "seconds": seconds,
        "bytes_read_by_clients": sum(got),
        "rss_before_mb": round(before, 1), "rss_max_mb": round(max(samples), 1),
        "vm_hwm_mb": round(hwm, 1),
        "push_limit": DEFAULT_PUSH_LIMIT, "hard_limit_per_connection": hard,
        "hard_limit_all_mb": round(connections * hard / 2**20, 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.push_rss", description=__doc__)
    p.add_argument("--connections", type=int, default=12)
    p.add_argument("--mib", type=int, default=4, help="MiB the server sends on each")
    p.add_argument("--read-rate", type=int, default=2000, help="bytes/s each client reads")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--baud", type=int, default=0, help="emulated line (0: unpaced, the worst)")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--access-mode", choices=["buffer", "push"], default="push")
    ns = p.parse_args(argv)
    record = trio.run(measure, ns.connections, ns.mib, ns.read_rate, ns.seconds, ns.baud,
                      ns.latency_ms, ns.access_mode)
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
