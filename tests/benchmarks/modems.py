"""``python -m tests.benchmarks.modems``: aggregate download over 1, 2 and 4 modems.

For each modem count N: N emulator processes (``--baud``, ``--latency-ms``,
115200 / 2 ms by default), one ``ssl-proxy`` process with ``--device`` given
N times, and ``--per-modem`` concurrent downloads per modem of ``--size``
bytes each from one TLS source server, all started together.  Reported per
N: the aggregate goodput (all payload bytes over the time from the first
connect to the last byte), its ratio to one modem's, how placement spread
the connections (``/status.json``'s ``modems[].opened``), and the proxy's
CPU seconds and peak RSS over the run (``/proc``).  Markdown on stdout,
progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from tests.helpers import free_port

from .clients import download
from .processes import emulator_process, proxy_process
from .servers import BenchServer, BenchServers
from .transparent import Transfer


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


async def _status(port: int) -> dict[str, Any]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"GET /status.json HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    result: dict[str, Any] = json.loads(data.split(b"\r\n\r\n", 1)[1])
    return result


async def run_one(modems: int, per_modem: int, size: int, baud: int, latency_ms: float,
                  server: BenchServer, cacert: Path) -> dict[str, Any]:
    async with trio.open_nursery() as nursery:
        devices: list[str] = []
        pids: list[int] = []

        async def emulator(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                           ) -> None:
            async with emulator_process(baud, latency_ms) as emu:
                devices.append(emu.device)
                pids.append(emu.pid)
                task_status.started()
                await trio.sleep_forever()

        for _ in range(modems):
            await nursery.start(emulator)
        status_port = free_port()
        extra = (*(a for d in devices[1:] for a in ("--device", d)), "--status",
                 str(status_port))
        async with proxy_process(devices[0], baud, [server.port], cacert,
                                 extra=extra) as proxy:
            local = proxy.ports[server.port]
            before = proxy.stats()
            transfers: list[Transfer] = []

            async def client() -> None:
                transfers.append(await download(local, size))

            async with trio.open_nursery() as clients:
                for _ in range(modems * per_modem):
                    clients.start_soon(client)
            after = proxy.stats()
            status = await _status(status_port)
        nursery.cancel_scope.cancel()
    start = min(t.start for t in transfers)
    end = max(t.end for t in transfers)
    total = sum(t.nbytes for t in transfers)
    return {
        "modems": modems, "connections": len(transfers), "bytes": total,
        "seconds": round(end - start, 2), "goodput_Bps": round(total / (end - start)),
        "spread": [m.get("opened", len(transfers)) for m in status["modems"]],
        "proxy_cpu_s": round(after.cpu_s - before.cpu_s, 2),
        "proxy_peak_rss_mb": round(after.peak_rss_mb, 1),
    }


def table(records: list[dict[str, Any]], baud: int, latency_ms: float) -> str:
    one = next((r["goodput_Bps"] for r in records if r["modems"] == 1), None)
    lines = [f"Aggregate download, {baud} baud / {latency_ms:g} ms per modem",
             "",
             "| modems | connections | bytes | seconds | goodput (B/s) | vs one | spread "
             "| proxy CPU (s) | CPU % of run | proxy peak RSS (MB) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        ratio = f"{r['goodput_Bps'] / one:.2f}x" if one else "-"
        share = 100 * r["proxy_cpu_s"] / r["seconds"]
        lines.append(f"| {r['modems']} | {r['connections']} | {r['bytes']} | {r['seconds']} | "
                     f"{r['goodput_Bps']} | {ratio} | {'/'.join(map(str, r['spread']))} | "
                     f"{r['proxy_cpu_s']} | {share:.0f} | {r['proxy_peak_rss_mb']} |")
    return "\n".join(lines)


async def run(counts: list[int], per_modem: int, size: int, baud: int, latency_ms: float
              ) -> list[dict[str, Any]]:
    records = []
    async with trio.open_nursery() as nursery:
        servers = BenchServers()
        server = await servers.serve(nursery, BenchServer("source", size=size))
        with tempfile.TemporaryDirectory() as tmp:
            cacert = Path(tmp) / "ca.pem"
            cacert.write_bytes(servers.ca_pem)
            for count in counts:
                log(f"{count} modem(s), {count * per_modem} downloads of {size} bytes")
                record = await run_one(count, per_modem, size, baud, latency_ms, server, cacert)
                log(f"  {record}")
                records.append(record)
        nursery.cancel_scope.cancel()
    return records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.modems", description=__doc__)
    p.add_argument("--modems", type=int, action="append", metavar="N",
                   help="modem counts to run (default 1, 2, 4)")
    p.add_argument("--per-modem", type=int, default=2, help="downloads per modem (default 2)")
    p.add_argument("--size", type=int, default=60_000, help="bytes per download")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--latency-ms", type=float, default=2.0)
    p.add_argument("--json", type=Path, metavar="PATH", help="write the records here")
    ns = p.parse_args(argv)
    counts = ns.modems or [1, 2, 4]
    records = trio.run(run, counts, ns.per_modem, ns.size, ns.baud, ns.latency_ms)
    print(table(records, ns.baud, ns.latency_ms))
    if ns.json:
        ns.json.write_text(json.dumps(records, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
