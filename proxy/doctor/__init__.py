"""``ssl-proxy doctor``: will this module work?  One line per check, and a transcript.

``main(argv)`` (argv after ``doctor``) returns 0 when every check passed, 1
when one failed, 2 for a mistake in the flags.  The checks are in
``proxy.doctor.checks``, the output in ``proxy.doctor.report``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn, TextIO

import trio

from modem import __version__
from modem.bringup.steps import PdpSettings
from modem.core.commands import DEFAULT_LINE_BAUD
from modem.core.errors import render
from modem.emulator.config import SIM_STATES
from proxy.config.flags import add_flags
from proxy.config.maps import first_map_server
from proxy.config.model import ModemSpec
from proxy.config.modems import device_list, table_specs
from proxy.config.parse import parse_endpoint
from proxy.config.rules import (
    check_device_or_emulate,
    check_emulator_only,
    complete_apn_auth,
    merge,
)
from proxy.config.schema import Group, Place, read
from proxy.config.settings import SETTINGS
from proxy.config.sim_pin import sim_pin_from
from proxy.config.toml_file import load_toml
from proxy.modems.names import numbered_name

from ..errors import ConfigError
from .checks import Doctor, DoctorOptions
from .report import Report

__all__ = ["DoctorOptions", "main", "run_doctor"]

DEFAULT_TRANSCRIPT = "ssl-proxy-doctor.txt"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"doctor: {message} (see ssl-proxy doctor --help)")


def build_parser() -> argparse.ArgumentParser:
    """The doctor's parser: the proxy's module, APN and TLS flags (``Place.DOCTOR``
    settings), and its own."""
    p = _Parser(prog="ssl-proxy doctor",
                description="Check a module step by step, the way the proxy brings it up; "
                            "one line per check with what to do when it fails.  --config "
                            "takes the settings from the proxy's file (and --host: its first "
                            "map's server).")
    sections = add_flags(p, Place.DOCTOR)
    p.add_argument("--host", metavar="HOST:PORT", help="try a TLS open to this server")
    p.add_argument("--modem", metavar="NAME",
                   help="with --config: check the [[modem]] of this name (default: the first)")
    p.add_argument("--wait", type=float, default=60.0, metavar="S",
                   help="how long to wait for network registration (default: 60)")
    p.add_argument("--transcript", type=Path, default=Path(DEFAULT_TRANSCRIPT), metavar="FILE",
                   help=f"where to write the transcript (default: ./{DEFAULT_TRANSCRIPT})")
    emulator = sections[Group.EMULATOR]
    emulator.add_argument("--emulate-sim", choices=SIM_STATES, default="ready")
    emulator.add_argument("--emulate-sim-pin", metavar="PIN",
                          help="the emulated SIM wants this PIN (a test PIN, not yours)")
    emulator.add_argument("--emulate-sim-pin-tries", type=int, choices=range(4), default=3,
                          metavar="N", help="the emulated SIM's PIN tries left")
    emulator.add_argument("--emulate-registration", type=int, choices=range(6), default=1,
                          metavar="STAT", help="1 home, 5 roaming, 2 searching, 3 denied")
    return p


_SETTINGS = tuple(row for row in SETTINGS.where(Place.DOCTOR) if not row.structured)
"""What the doctor reads of the proxy's settings."""


def parse_options(argv: list[str]) -> tuple[DoctorOptions, Path]:
    """Flags (over ``--config``'s keys) -> options and the transcript path;
    ``ConfigError`` (one line) if wrong."""
    ns = build_parser().parse_args(argv)
    flags = {row.name: vars(ns)[row.name] for row in SETTINGS.where(Place.DOCTOR)
             if row.name in vars(ns)}
    try:
        options = _options(ns, flags)
    except ConfigError as exc:
        raise ConfigError(f"doctor: {exc}") from None
    return options, ns.transcript


def _options(ns: argparse.Namespace, flags: dict[str, Any]) -> DoctorOptions:
    """The proxy's reading of ``flags`` over the file, for one module."""
    path = flags.pop("config", None)
    file = load_toml(path) if path is not None else {}
    file_maps = file.pop("map", None)
    file_modems = file.pop("modem", None)
    given, _ = merge(flags, file)
    emulate = bool(given.get("emulate"))
    devices = device_list(given.get("device"))
    check_device_or_emulate(devices, emulate)
    if len(devices) > 1:
        raise ConfigError("give one --device (the doctor checks one module)")
    check_emulator_only(given, emulate)
    emulated_sim = {"sim": ns.emulate_sim, "sim_pin": ns.emulate_sim_pin,
                    "sim_pin_tries": ns.emulate_sim_pin_tries}
    if (emulated_sim != {"sim": "ready", "sim_pin": None, "sim_pin_tries": 3}
            or ns.emulate_registration != 1) and not emulate:
        raise ConfigError("--emulate-sim* and --emulate-registration only work with --emulate")
    values = read(_SETTINGS, given, defaults=True)
    complete_apn_auth(values)
    module = _chosen_module(ns.modem, devices, file_modems, values, emulate)
    host, cacert = ns.host, values["cacert"]
    server = first_map_server(file_maps) if host is None else None
    if server is not None:
        host, tls = server
        cacert = cacert if "cacert" in flags else tls.get("cacert", cacert)
    sim_pin, _ = sim_pin_from(values["sim_pin_file"], os.environ)
    emulator = {"resolve": dict(values["resolve"]), **emulated_sim,
                "registration": ns.emulate_registration,
                # the emulated line is paced like the real one would be
                "baud": module.baud or DEFAULT_LINE_BAUD}
    return DoctorOptions(
        name=module.name if module.device or emulate else None,
        device=module.device, baud=module.baud, rtscts=values["rtscts"],
        urc_port=str(module.urc_port), sim_pin=sim_pin,
        module_family=values["module_family"], channels=values["channels"],
        mux_n1=values["mux_n1"],
        pdp=PdpSettings(values["pdp_context"], module.apn, values["apn_user"],
                        values["apn_password"], values["apn_auth"]),
        host=parse_endpoint(str(host), "--host") if host else None, cacert=cacert,
        emulate=emulate, emulator=emulator, wait=ns.wait)


def _chosen_module(name: str | None, devices: list[str], file_modems: Any,
                   values: dict[str, Any], emulate: bool) -> ModemSpec:
    """The module to check, named and set up as the proxy does: the ``[[modem]]``
    of ``--config`` named ``name`` (the first without one), else the one module of
    the top-level settings and ``--device`` (``modem1``; a discovered one is named
    once found)."""
    if name is not None and devices:
        raise ConfigError("--modem and --device exclude each other; drop one")
    if name is not None and not file_modems:
        raise ConfigError(f"--modem {name}: --config has no [[modem]] tables")
    if devices or not file_modems:
        return ModemSpec(numbered_name(1), devices[0] if devices else None, values["baud"],
                         values["apn"], values["urc_port"])
    specs = table_specs(file_modems, values, emulate)
    if name is None:
        return specs[0]
    for spec in specs:
        if spec.name == name:
            return spec
    raise ConfigError(f"--modem {name}: no such [[modem]]; the modules are "
                      f"{', '.join(s.name for s in specs)}")


async def run_doctor(options: DoctorOptions, out: TextIO = sys.stdout,
                     transcript: Path | None = None) -> Report:
    """Run every check, printing each line to ``out``; the report (transcript written)."""
    report = Report(out, transcript)
    report.note(f"ssl-proxy doctor {__version__}")
    report.note(f"options: {options!r}")  # PdpSettings hides the password
    with report.capturing():
        await Doctor(options, report).run()
    report.write_transcript()
    return report


def main(argv: list[str], out: TextIO = sys.stdout) -> int:
    """``ssl-proxy doctor ARGS``: 0 all passed, 1 a check failed, 2 a flag is wrong."""
    try:
        options, transcript = parse_options(argv)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except ConfigError as exc:
        print(f"ssl-proxy: error: {render(exc)}", file=sys.stderr)
        return 2
    report = trio.run(run_doctor, options, out, transcript)
    verdict = "all checks passed" if report.passed else "some checks failed"
    print(f"{verdict}; transcript (secrets redacted, attach it to a bug report): {transcript}",
          file=out)
    return 0 if report.passed else 1
