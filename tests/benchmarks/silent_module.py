"""How long opens take to fail while the module is silent (``modem.link.health``).

    python -m tests.benchmarks.silent_module [SILENCE_S]

The driver with its production options on the emulator; the module falls
silent (the ``silence`` fault) and opens start at once and at later moments.
Prints, for each, when it started and how long it took to end, and how.
"""

from __future__ import annotations

import functools
import sys

import trio
import trustme

from modem.core.errors import ModemError
from modem.core.profile import TlsProfile
from modem.driver import Modem, PdpSettings
from modem.emulator import Emulator, EmulatorConfig, Fault
from modem.link.serial_stream import open_serial_stream

STARTS = (0.0, 0.5, 1.5, 2.0, 3.0, 5.0)


async def measure(silence: float) -> list[tuple[float, float, str]]:
    profile = TlsProfile(cacert=trustme.CA().cert_pem.bytes())
    ended: list[tuple[float, float, str]] = []
    async with (Emulator.running(EmulatorConfig(resolve={"echo.test": "127.0.0.1"})) as emu,
                Modem.open(functools.partial(open_serial_stream, emu.device),
                           pdp=PdpSettings(apn="internet"), profiles=[profile]) as modem):

        async def open_at(delay: float) -> None:
            await trio.sleep(delay)
            cid = await modem.client_ids.acquire()
            start = trio.current_time()
            try:
                await modem.open_ssl_socket(cid, "echo.test", 9, profile)
                how = "opened"
            except ModemError as exc:
                how = type(exc).__name__
            ended.append((delay, trio.current_time() - start, how))

        await emu.inject(Fault.silence(silence))
        async with trio.open_nursery() as nursery:
            for delay in STARTS:
                nursery.start_soon(open_at, delay)
    return sorted(ended)


def main() -> None:
    silence = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    for delay, took, how in trio.run(measure, silence):
        print(f"open started {delay:4.1f} s into a {silence:g} s silence: "
              f"ended after {took:5.2f} s ({how})")


if __name__ == "__main__":
    main()
