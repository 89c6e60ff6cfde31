"""``ssl-proxy doctor``: will this module work?  One line per check, and a transcript.

``main(argv)`` (argv after ``doctor``) returns 0 when every check passed, 1
when one failed, 2 for a mistake in the flags.  The checks are in
``proxy.doctor.checks``, the output in ``proxy.doctor.report``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn, TextIO

import trio

from modem import __version__
from modem.bringup.steps import PdpSettings
from modem.core.errors import render
from proxy.config.model import APN_AUTH, URC_PORT_CHOICES
from proxy.config.parse import parse_endpoint, parse_resolve
from proxy.config.toml_file import load_toml

from ..errors import ConfigError
from .checks import Doctor, DoctorOptions
from .report import Report

__all__ = ["DoctorOptions", "main", "run_doctor"]

DEFAULT_TRANSCRIPT = "ssl-proxy-doctor.txt"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"doctor: {message} (see ssl-proxy doctor --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ssl-proxy doctor",
                description="Check a module step by step, the way the proxy brings it up; "
                            "one line per check with what to do when it fails.")
    p.add_argument("--config", metavar="FILE",
                   help="take the module, APN and TLS settings (and --host: the first "
                        "map's server) from the proxy's config file; flags override it")
    # SUPPRESS: a flag not given leaves the file's key (or the default) in force.
    s = argparse.SUPPRESS
    p.add_argument("--device", metavar="PATH", default=s,
                   help="the AT port (default: find it)")
    p.add_argument("--baud", type=int, metavar="N", default=s, help="default 115200")
    p.add_argument("--rtscts", action="store_true", default=s)
    p.add_argument("--urc-port", choices=URC_PORT_CHOICES, default=s)
    p.add_argument("--apn", metavar="APN", default=s,
                   help="activate the PDP context with this APN")
    p.add_argument("--apn-user", metavar="U", default=s)
    p.add_argument("--apn-password", metavar="P", default=s)
    p.add_argument("--apn-auth", choices=list(APN_AUTH), default=s)
    p.add_argument("--pdp-context", type=int, metavar="N", default=s)
    p.add_argument("--host", metavar="HOST:PORT", default=s,
                   help="try a TLS open to this server")
    p.add_argument("--cacert", metavar="FILE", default=s,
                   help="CA certificates for --host (default: the host's bundle)")
    p.add_argument("--wait", type=float, default=60.0, metavar="S",
                   help="how long to wait for network registration (default 60)")
    p.add_argument("--transcript", type=Path, default=Path(DEFAULT_TRANSCRIPT), metavar="FILE",
                   help=f"where to write the transcript (default ./{DEFAULT_TRANSCRIPT})")
    g = p.add_argument_group("emulator (no module needed)")
    g.add_argument("--emulate", action="store_true", help="check the built-in emulator")
    g.add_argument("--resolve", action="append", default=[], metavar="NAME=IP")
    g.add_argument("--emulate-sim", choices=("ready", "absent"), default="ready")
    g.add_argument("--emulate-registration", type=int, choices=range(6), default=1,
                   metavar="STAT", help="1 home, 5 roaming, 2 searching, 3 denied")
    return p


def parse_options(argv: list[str]) -> tuple[DoctorOptions, Path]:
    """Flags (over ``--config``'s keys) -> options and the transcript path;
    ``ConfigError`` (one line) if wrong."""
    ns = build_parser().parse_args(argv)
    given = {k.replace("_", "-"): v for k, v in vars(ns).items()}
    file = load_toml(ns.config) if ns.config else {}
    maps = file.get("map") or []
    if maps and "host" not in given:
        file["host"] = maps[0]["connect"]
        file.setdefault("cacert", maps[0].get("cacert"))
    settings = {**{k: v for k, v in file.items() if v is not None}, **given}
    emulate = bool(ns.emulate or file.get("emulate"))
    if emulate and given.get("device"):  # a file's device gives way to --emulate
        raise ConfigError("doctor: --device and --emulate exclude each other; drop one")
    if (ns.resolve or ns.emulate_sim != "ready" or ns.emulate_registration != 1) \
            and not emulate:
        raise ConfigError("doctor: --resolve and --emulate-* only work with --emulate")
    if settings.get("urc-port", "auto") not in URC_PORT_CHOICES:
        raise ConfigError(f"doctor: urc-port {settings['urc-port']!r} is not one of "
                          f"{', '.join(URC_PORT_CHOICES)}")
    file_resolve = file.get("resolve") or []
    if isinstance(file_resolve, dict):
        file_resolve = [f"{name}={ip}" for name, ip in file_resolve.items()]
    auth_name = settings.get("apn-auth")
    if auth_name is not None and auth_name not in APN_AUTH:
        raise ConfigError(f"doctor: apn-auth {auth_name!r} is not one of {', '.join(APN_AUTH)}")
    user = str(settings.get("apn-user", ""))
    auth = APN_AUTH[auth_name] if auth_name else (APN_AUTH["pap-or-chap"] if user else 0)
    baud = int(settings.get("baud", 115200))
    emulator: dict[str, Any] = {
        "resolve": dict(parse_resolve(str(spec)) for spec in [*file_resolve, *ns.resolve]),
        "sim": ns.emulate_sim, "registration": ns.emulate_registration,
        "baud": baud,  # the emulated line is paced like the real one would be
    }
    host = settings.get("host")
    cacert = settings.get("cacert")
    options = DoctorOptions(
        device=None if emulate else settings.get("device"), baud=baud,
        rtscts=bool(settings.get("rtscts", False)),
        urc_port=str(settings.get("urc-port", "auto")),
        pdp=PdpSettings(int(settings.get("pdp-context", 1)), settings.get("apn"), user,
                        str(settings.get("apn-password", "")), auth),
        host=parse_endpoint(str(host), "--host") if host else None,
        cacert=Path(cacert).expanduser() if cacert else None,
        emulate=emulate, emulator=emulator, wait=ns.wait)
    return options, ns.transcript


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
