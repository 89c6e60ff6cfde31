"""``python -m tests.benchmarks [--quick] [--json PATH] [--plot PATH] ...``.

Runs the matrix (``scenarios``), prints progress on stderr and the Markdown
table on stdout, and writes the JSON records and the plot when asked.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from .access_modes import ACCESS_MODES, ProxyMode, proxy_mode
from .channel_modes import parse_channels
from .report import markdown_table, plot, write_json
from .scenarios import (
    FULL,
    PACED_SCENARIOS,
    QUICK,
    UNPACED_SCENARIOS,
    Bench,
    Setting,
    start_servers,
)

FULL_SETTINGS = (Setting(115200, 2), Setting(115200, 10), Setting(921600, 2),
                 Setting(921600, 10), Setting(3000000, 5), Setting(0, 0))
QUICK_SETTINGS = (Setting(115200, 2), Setting(921600, 10), Setting(0, 0))


def machine() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "kernel": platform.release()}


def parse_setting(text: str) -> Setting:
    """``115200/2`` (baud/latency ms), ``unpaced`` (or ``0/0``).  A ``/strict``
    suffix (older commands) is accepted: the strict line model is the only one."""
    text = text.removesuffix("/strict")
    if text == "unpaced":
        return Setting(0, 0)
    baud, _, latency = text.partition("/")
    return Setting(int(baud), float(latency.removesuffix("ms") or 0))


def parse_access_modes(text: str) -> tuple[str, ...]:
    """``buffer,push``: the proxy's ``--access-mode`` values to run, in order."""
    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in modes if m not in ACCESS_MODES]
    if not modes or unknown:
        raise argparse.ArgumentTypeError(
            f"want a comma-separated list of {', '.join(ACCESS_MODES)}, got {text!r}")
    return modes


def channel_modes_arg(text: str) -> tuple[str, ...]:
    try:
        return parse_channels(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


async def run(settings: tuple[Setting, ...], scenarios: tuple[str, ...], quick: bool,
              modes: tuple[ProxyMode, ...],
              emulator_args: tuple[str, ...] = (),
              channels: tuple[str | None, ...] = (None,)) -> list[dict[str, Any]]:
    sizes = QUICK if quick else FULL
    records: list[dict[str, Any]] = []
    async with trio.open_nursery() as nursery:
        servers, ports = await start_servers(nursery, sizes)
        with tempfile.TemporaryDirectory() as tmp:
            cacert = Path(tmp) / "ca.pem"
            cacert.write_bytes(servers.ca_pem)
            for setting in settings:
                wanted = UNPACED_SCENARIOS if not setting.baud else PACED_SCENARIOS
                chosen = tuple(s for s in wanted if s in scenarios)
                if chosen:
                    bench = Bench(setting, sizes, servers, ports, cacert, log, chosen, modes,
                                  emulator_args, channels)
                    records += await bench.run()
        nursery.cancel_scope.cancel()
    return records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true",
                   help="small transfers on three lines (under 3 minutes)")
    p.add_argument("--json", type=Path, metavar="PATH", help="write the records here")
    p.add_argument("--plot", type=Path, metavar="PNG", help="write the plot here (matplotlib)")
    p.add_argument("--markdown", type=Path, metavar="PATH", help="write the table here too")
    p.add_argument("--setting", action="append", type=parse_setting, metavar="BAUD/MS",
                   help="only these lines, e.g. 115200/2, 3000000/5 or unpaced; "
                        "repeatable")
    p.add_argument("--access-modes", type=parse_access_modes, metavar="MODES",
                   help="the proxy's access modes to measure, e.g. buffer,push (each runs "
                        "its own proxy with --access-mode X; a proxy without that flag "
                        "runs buffer mode only); default: the proxy's own default, with no "
                        "--access-mode passed (records name the mode it runs)")
    p.add_argument("--channels", type=channel_modes_arg, metavar="KINDS",
                   help="the proxy's --channels to measure, e.g. single,cmux,ports (each "
                        "runs its own proxy; cmux:1500 adds --mux-n1 1500; cmux/always sets "
                        "every map's transparent = always; ports links the emulator's "
                        "usbmodem port as the usbat port's sibling); default: no "
                        "--channels passed")
    p.add_argument("--scenario", action="append",
                   choices=[*PACED_SCENARIOS, *UNPACED_SCENARIOS],
                   help="only these scenarios; repeatable")
    p.add_argument("--emulator-arg", action="append", default=[], metavar="ARG",
                   help="pass ARG to the emulator, e.g. --emulator-arg=--recv-urc-rearm=empty "
                        "or --emulator-arg=--fault=urc_loss:0.3,recv; repeatable")
    ns = p.parse_args(argv)
    settings = tuple(ns.setting) if ns.setting else (QUICK_SETTINGS if ns.quick
                                                      else FULL_SETTINGS)
    scenarios = tuple(ns.scenario) if ns.scenario else (*PACED_SCENARIOS, *UNPACED_SCENARIOS)
    try:
        modes = tuple(proxy_mode(mode) for mode in ns.access_modes or (None,))
    except ValueError as exc:
        p.error(str(exc))
    started = time.monotonic()
    records = trio.run(run, settings, scenarios, ns.quick, modes, tuple(ns.emulator_arg),
                       ns.channels or (None,))
    meta = {**machine(), "quick": ns.quick, "seconds": round(time.monotonic() - started, 1),
            "command": "python -m tests.benchmarks " + " ".join(argv or sys.argv[1:])}
    table = markdown_table(records)
    print(table)
    if ns.markdown:
        ns.markdown.write_text(table + "\n")
    if ns.json:
        write_json(records, ns.json, meta)
    if ns.plot and not plot(records, ns.plot):
        log("no plot: matplotlib is not installed (pip install matplotlib)")
    log(f"done in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
