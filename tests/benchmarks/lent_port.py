"""``python -m tests.benchmarks.lent_port [--quick] [--setting BAUD/MS ...]``: upload
through a socket in transparent mode on a second AT port against push mode.

Per setting (strict line model, 115200/2 and 921600/10 by default): one
emulator (in this process) with the USB composition (``usbat`` and
``usbmodem``, each paced on its own at the setting's rate), the driver on
``usbat`` in push mode, a TLS sink on 127.0.0.1.  The same upload goes
twice: through a push-mode socket (``AT+QSSLSEND`` per 1460 bytes on
``usbat``), then through a ``TransparentSocket`` that borrowed ``usbmodem``
(``LentPort``) and switched there (``AT+QISWTMD=<id>,2``; the switch is
inside the timed span, the escape after it is not).  Time runs from the
first byte given to the socket until the sink has the last one, its hash
checked.  Markdown on stdout: bytes per second and the share of the line
(``baud / 10`` bytes per second).  Not a test: it takes what the line says.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import time

import trio
import trustme

from modem.bringup.steps import PdpSettings
from modem.core.profile import TlsProfile
from modem.driver import AccessMode, Modem
from modem.emulator import Emulator, EmulatorConfig
from modem.link.serial_stream import open_serial_stream
from modem.options import ModemOptions
from modem.sockets.transparent_channels import TransparentOptions
from modem.sockets.transparent_socket import TransparentSocket
from tests.helpers import TlsServer, wait_until
from tests.proxy_helpers import LentPort

from .__main__ import parse_setting
from .scenarios import Setting

DEFAULT_SETTINGS = (Setting(115200, 2), Setting(921600, 10))
QUICK_SIZE = 64 << 10
FULL_SIZE = 1 << 20


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


async def _upload(sock: trio.abc.Stream, sink: TlsServer, data: bytes,
                  before: int) -> float:
    start = trio.current_time()
    if isinstance(sock, TransparentSocket):
        assert await sock.enter(), "the lent port refused transparent mode"
    await sock.send_all(data)
    conn = sink.connections[before]
    await wait_until(lambda: conn.received >= len(data), within=3600, every=0.01)
    took = trio.current_time() - start
    assert conn.sha256.digest() == hashlib.sha256(data).digest()
    return took


async def measure(setting: Setting, size: int) -> dict[str, float]:
    ca = trustme.CA()
    profile = TlsProfile(cacert=ca.cert_pem.bytes())
    sink = TlsServer(ca.issue_cert("bench.test", "127.0.0.1"), "sink")
    data = os.urandom(size)
    config = EmulatorConfig(baud=setting.baud, latency_ms=setting.latency_ms,
                            extra_ports=("usbmodem",), real_dns=False,
                            resolve={"bench.test": "127.0.0.1"})
    rate = setting.baud / 10
    out: dict[str, float] = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.serve)
        async with Emulator.running(config) as emu, Modem.open(
                functools.partial(open_serial_stream, emu.device),
                pdp=PdpSettings(apn="internet"), profiles=[profile],
                options=ModemOptions(access_mode=AccessMode.PUSH)) as modem, \
                LentPort.open(emu.devices["usbmodem"]) as lent:
            for name in ("push", "transparent"):
                cid = await modem.client_ids.acquire()
                home = await modem.open_ssl_socket(cid, "bench.test", sink.port, profile)
                sock: trio.abc.Stream = home
                if name == "transparent":
                    sock = TransparentSocket(home, lent, TransparentOptions(line_rate=rate))
                await wait_until(lambda: len(sink.connections) > len(out))
                took = await _upload(sock, sink, data, len(out))
                out[name] = size / took
                log(f"[{setting.label}] {name}: {size} bytes in {took:.2f} s")
                await sock.aclose()
        nursery.cancel_scope.cancel()
    return out


async def run(settings: tuple[Setting, ...], size: int) -> list[str]:
    rows = ["| line | push, usbat (B/s) | transparent, usbmodem (B/s) | transparent / push "
            "| push share of line | transparent share of line |",
            "|---|---|---|---|---|---|"]
    for setting in settings:
        got = await measure(setting, size)
        rate = setting.baud / 10
        push, raw = got["push"], got["transparent"]
        rows.append(f"| {setting.label} | {push:,.0f} | {raw:,.0f} | {raw / push:.2f} "
                    f"| {push / rate:.2f} | {raw / rate:.2f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.lent_port")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE} bytes, not {FULL_SIZE}")
    p.add_argument("--setting", action="append", type=parse_setting, metavar="BAUD/MS",
                   help="a paced line (repeatable; default 115200/2 and 921600/10)")
    ns = p.parse_args(argv)
    settings = tuple(ns.setting) if ns.setting else DEFAULT_SETTINGS
    if any(not s.baud for s in settings):
        p.error("a share of the line needs a paced line: give BAUD/MS with BAUD > 0")
    size = QUICK_SIZE if ns.quick else FULL_SIZE
    print("\n".join(trio.run(run, settings, size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
