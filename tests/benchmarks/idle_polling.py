"""``python -m tests.benchmarks.idle_polling``: what idle connections cost the line.

The driver polls a waiting socket whose URCs may have been lost
(``modem.core.urc_watch``).  This opens ``--connections`` sockets with the
driver's production timings to a TLS echo server that never speaks first,
lets every reader reach its steady poll gap (``--settle`` s), then counts
the bytes and commands on the emulator's line for ``--window`` seconds, on
the emulator's strict line model.  Prints one JSON
record: bytes per second each way, the share of the line, per connection,
and the formula's prediction (``urc_watch.idle_line_share``).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys

import trio
import trustme

from modem.core.profile import TlsProfile
from modem.core.urc_watch import UrcPolling, idle_line_share
from modem.driver import Modem, PdpSettings
from modem.emulator import Emulator, EmulatorConfig
from modem.link.serial_stream import open_serial_stream
from tests.helpers import CommandCount, TlsServer


async def measure(connections: int, baud: int, latency_ms: float, settle: float,
                  window: float) -> dict[str, object]:
    ca = trustme.CA()
    commands = CommandCount()
    config = EmulatorConfig(baud=baud, latency_ms=latency_ms,
                            resolve={"bench.test": "127.0.0.1"})
    async with trio.open_nursery() as nursery:
        server = TlsServer(ca.issue_cert("bench.test"))
        await nursery.start(server.serve)
        async with Emulator.running(config, trace=commands) as emu:
            profile = TlsProfile(cacert=ca.cert_pem.bytes())
            open_stream = functools.partial(open_serial_stream, emu.device, baudrate=baud)
            async with Modem.open(open_stream, pdp=PdpSettings(apn="internet"),
                                  profiles=[profile]) as modem:
                socks = []
                for _ in range(connections):
                    cid = await modem.client_ids.acquire()
                    socks.append(await modem.open_ssl_socket(cid, "bench.test", server.port,
                                                             profile))
                async with trio.open_nursery() as readers:
                    for sock in socks:
                        readers.start_soon(sock.receive_some)
                    await trio.sleep(settle)
                    line = emu.line
                    in0, out0 = line.bytes_in, line.bytes_out
                    recv0, state0 = commands.count(b"AT+QSSLRECV="), commands.count(
                        b"AT+QSSLSTATE=")
                    await trio.sleep(window)
                    host_to_module = (line.bytes_in - in0) / window
                    module_to_host = (line.bytes_out - out0) / window
                    recvs = (commands.count(b"AT+QSSLRECV=") - recv0) / window
                    states = (commands.count(b"AT+QSSLSTATE=") - state0) / window
                    readers.cancel_scope.cancel()
                for sock in socks:
                    await sock.aclose()
        nursery.cancel_scope.cancel()
    rate = baud / 10
    return {
        "connections": connections, "baud": baud, "latency_ms": latency_ms,
        "window_s": window, "settle_s": settle,
        "module_to_host_bytes_per_s": round(module_to_host, 1),
        "host_to_module_bytes_per_s": round(host_to_module, 1),
        "line_share": round(max(module_to_host, host_to_module) / rate, 4),
        "per_connection_bytes_per_s": round(module_to_host / connections, 1),
        "recv_polls_per_s": round(recvs, 2),
        "state_polls_per_s": round(states, 2),
        "formula_line_share": round(idle_line_share(UrcPolling(), connections, baud), 4),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.idle_polling",
                                description=__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=12)
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--latency-ms", type=float, default=2.0)
    p.add_argument("--settle", type=float, default=8.0, help="seconds before counting")
    p.add_argument("--window", type=float, default=30.0, help="seconds counted")
    ns = p.parse_args(argv)
    record = trio.run(measure, ns.connections, ns.baud, ns.latency_ms, ns.settle, ns.window)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
