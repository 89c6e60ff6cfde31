"""Stand-in for ``python -m modem.emulator`` while that program does not exist yet.

Same contract as the harness expects from it: flags ``--baud``,
``--latency-ms``, ``--resolve NAME=IP``; the first stdout line is
``device: <path>``; runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys

import trio

from modem.emulator import Emulator, EmulatorConfig


async def _main(config: EmulatorConfig) -> None:
    async with Emulator.running(config) as emu:
        print(f"device: {emu.device}", flush=True)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                return


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="emulator_launcher")
    p.add_argument("--baud", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--resolve", action="append", default=[])
    ns = p.parse_args(argv)
    resolve = dict(item.split("=", 1) for item in ns.resolve)
    trio.run(_main, EmulatorConfig(baud=ns.baud, latency_ms=ns.latency_ms, resolve=resolve))
    return 0


if __name__ == "__main__":
    sys.exit(main())
