"""Measure transparent-mode data through the multiplexer against the raw line.

    python -m tests.mux.measure_throughput [--baud 115200] [--kib 100] [--n1 127] [--paced]

On one emulator at BAUD, KIB kibibytes go up a transparent-mode socket to a
local TLS echo server and come back, first on the raw line, then on DLC 2
of a ``MuxSession`` (N1 bytes per frame) while DLC 1 asks ``AT+CSQ`` over
and over.  Prints both times, the ratio, what the framing alone predicts
(N1 + 6 bytes on the line for N1 of data, one-octet lengths), and how many
commands DLC 1 got through meanwhile.  ``--paced`` tells the session the
line rate (``MuxOptions.line_rate``), so it does not fill the tty's buffer
with DLC 2's frames in front of DLC 1's commands.
Not a test: it takes as long as the line says.
"""

from __future__ import annotations

import argparse

import trio
import trustme

from modem.emulator import Emulator, EmulatorConfig
from modem.link.mux_session import MuxOptions, MuxSession
from modem.link.serial_stream import open_serial_stream
from tests.helpers import TlsServer, enter_cmux, read_until


async def _echo_through(stream: trio.abc.Stream, payload: bytes) -> float:
    received = bytearray()

    async def receive() -> None:
        while len(received) < len(payload):
            received.extend(await stream.receive_some())

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive)
        await stream.send_all(payload)
    assert received == payload
    return trio.current_time() - start


async def _commands(stream: trio.abc.Stream, count: list[int]) -> None:
    while True:
        await stream.send_all(b"AT+CSQ\r")
        await read_until(stream, b"OK\r\n")
        count[0] += 1


async def measure(baud: int, size: int, n1: int, paced: bool) -> tuple[float, float, int]:
    cert = trustme.CA().issue_cert("localhost", "127.0.0.1")
    server = TlsServer(cert, handler="echo")
    payload = (bytes(range(256)) * (size // 256 + 1))[:size]
    connect = b'AT+QSSLOPEN=1,1,%d,"127.0.0.1",%d,2\r'
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        config = EmulatorConfig(baud=baud, auto_pdp=True, escape_guard=0.2)
        async with Emulator.running(config) as emu:
            await emu.wait_booted()
            line = await open_serial_stream(emu.device)
            async with line:
                await line.send_all(b"ATE0\r" + connect % (0, server.port))
                await read_until(line, b"CONNECT\r\n")
                raw = await _echo_through(line, payload)
                await trio.sleep(0.3)
                await line.send_all(b"+++")
                await read_until(line, b"OK\r\n")
                await enter_cmux(line, b"AT+CMUX=0,0,5,%d\r" % n1)
                options = MuxOptions(n1=n1, start_delay=0.2, line_rate=baud / 10 if paced else 0)
                async with MuxSession.open(line, options) as mux:
                    commands, data = await mux.open_dlc(1), await mux.open_dlc(2)
                    await data.send_all(b"ATE0\r" + connect % (1, server.port))
                    await read_until(data, b"CONNECT\r\n")
                    count = [0]
                    async with trio.open_nursery() as beside:
                        beside.start_soon(_commands, commands, count)
                        muxed = await _echo_through(data, payload)
                        beside.cancel_scope.cancel()
        nursery.cancel_scope.cancel()
    return raw, muxed, count[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--kib", type=int, default=100)
    parser.add_argument("--n1", type=int, default=127)
    parser.add_argument("--paced", action="store_true",
                        help="tell the session the line rate (MuxOptions.line_rate)")
    args = parser.parse_args()
    raw, muxed, commands = trio.run(measure, args.baud, args.kib * 1024, args.n1, args.paced)
    framing = (args.n1 + 6) / args.n1
    paced = "paced" if args.paced else "unpaced"
    print(f"{args.kib} KiB each way, transparent mode, {args.baud} baud: raw line {raw:.2f} s, "
          f"DLC 2 of the multiplexer (N1 {args.n1}, {paced}) {muxed:.2f} s with {commands} "
          f"AT+CSQ on DLC 1 meanwhile; ratio {muxed / raw:.3f} (framing alone: {framing:.3f})")


if __name__ == "__main__":
    main()
