"""Measure the emulator's line pacing: transparent-mode data at a baud rate.

    python -m tests.emulator.measure_pacing [--baud 115200] [--kib 100]

Opens a transparent-mode socket to a local TLS echo server and pushes KIB
kibibytes through it while reading the echo (the line is full duplex), then
prints the elapsed time next to what the line rate predicts
(bytes / (baud / 10)).  Not a test: it takes as long as the line says.
"""

from __future__ import annotations

import argparse

import trio
import trustme

from modem.emulator import Emulator, EmulatorConfig
from tests.emulator.conftest import BOOT_DONE, Host
from tests.helpers import TlsServer


async def measure(baud: int, size: int) -> float:
    cert = trustme.CA().issue_cert("localhost", "127.0.0.1")
    server = TlsServer(cert, handler="echo")
    payload = bytes(range(256)) * (size // 256 + 1)
    payload = payload[:size]
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        async with Emulator.running(EmulatorConfig(baud=baud)) as emu:
            host = Host.open(emu.device)
            await host.read_until(BOOT_DONE)
            await host.send("ATE0\r")
            await host.read_until(b"OK\r\n")
            assert await host.command("AT+QIACT=1") == b"\r\nOK\r\n"
            await host.send(f'AT+QSSLOPEN=1,1,0,"127.0.0.1",{server.port},2\r')
            await host.expect(b"\r\nCONNECT\r\n")
            start = trio.current_time()
            async with trio.open_nursery() as pair:
                pair.start_soon(host.send, payload)
                echoed = await host.read_exact(len(payload))
            elapsed = trio.current_time() - start
            assert echoed == payload
            await host.aclose()
        nursery.cancel_scope.cancel()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--kib", type=int, default=100)
    args = parser.parse_args()
    size = args.kib * 1024
    predicted = size / (args.baud / 10)
    elapsed = trio.run(measure, args.baud, size)
    print(
        f"{args.kib} KiB each way, transparent mode, {args.baud} baud: "
        f"{elapsed:.2f} s (line rate predicts {predicted:.2f} s, ratio {elapsed / predicted:.3f})"
    )


if __name__ == "__main__":
    main()
