"""The ``ssl-proxy`` command: flags and file in, exit status out.

``main(argv)`` returns the exit status instead of calling ``sys.exit``:

* 0 -- stopped by SIGINT/SIGTERM after a graceful shutdown (or ``--help``,
  ``--version``);
* 2 -- a usage or configuration mistake found before anything starts (flag
  syntax, the ``--config`` file, certificate files);
* 1 -- a runtime failure (no module found, device unusable, port in use,
  module bring-up failed: SIM, APN, network).

Every failure prints one line, ``ssl-proxy: error: <what and what to do>``,
on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import NoReturn

from modem import __version__
from modem.core.errors import ExplainedError, render
from proxy.config.build import ProxyConfig, build_config, load_toml
from proxy.config.file_secrets import exposure_warning
from proxy.config.flags import add_flags
from proxy.config.schema import Place

from .errors import ConfigError

PROG = "ssl-proxy"

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose mistakes raise ``ConfigError`` (one line, no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see ssl-proxy --help)")


_DESCRIPTION = """\
Plain local TCP listeners whose connections leave over TLS through a Quectel
EC2x/EG9x/EM05 LTE module's SSL AT commands.

commands:
  ssl-proxy [options]          run the proxy (the options below)
  ssl-proxy doctor [options]   check a module step by step, one line per check
                               with what to do (see ssl-proxy doctor --help)
"""

_EPILOG = """\
examples:
  ssl-proxy --map 9000=api.example.com:443
  ssl-proxy --device /dev/ttyUSB2 --apn internet --cacert ca.pem \\
            --map 9000=api.example.com:443 --map 1883=broker.example.com:8883
  ssl-proxy --emulate --resolve api.example.com=127.0.0.1 --cacert ca.pem \\
            --map 9000=api.example.com:8443
  ssl-proxy doctor --device /dev/ttyUSB2 --host example.com:443   (check a module)

exit status: 0 after SIGINT/SIGTERM, 2 for a mistake in flags, the config file or
certificate files, 1 for a runtime failure (module, device, network, port in use).
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``ssl-proxy`` parser: one flag per setting of ``SETTINGS`` (``Place.FLAG``)."""
    p = _Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    add_flags(p, Place.FLAG)
    return p


def parse_command_line(argv: list[str] | None) -> ProxyConfig:
    """Flags (and the ``--config`` file they name) -> a validated ``ProxyConfig``."""
    flags = dict(vars(build_parser().parse_args(argv)))
    path = flags.pop("config", None)
    file = load_toml(path) if path is not None else None
    config = build_config(flags, file)
    warning = exposure_warning(path, file) if path is not None and file is not None else None
    if warning is not None:
        config = replace(config, file_warnings=(*config.file_warnings, warning))
    return config


def _fail(exc: ExplainedError, status: int) -> int:
    """Print ``exc`` as the one ``ssl-proxy: error: ...`` line; return ``status``."""
    print(f"{PROG}: error: {render(exc)}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run ``ssl-proxy`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["doctor"]:  # ssl-proxy doctor: check a module (proxy.doctor)
        from .doctor import main as doctor_main

        return doctor_main(args[1:])
    try:
        config = parse_command_line(argv)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except ConfigError as exc:
        return _fail(exc, EXIT_USAGE)

    from .runner import RuntimeFailure, load_all_material, run

    try:
        materials = load_all_material(config)
    except ConfigError as exc:
        return _fail(exc, EXIT_USAGE)
    try:
        return run(config, materials, reread=lambda: parse_command_line(argv))
    except RuntimeFailure as exc:
        return _fail(exc, EXIT_RUNTIME)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
