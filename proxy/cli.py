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
from typing import Any, NoReturn

from modem import __version__
from modem.core.errors import ExplainedError, render
from modem.core.limits import CLIENT_IDS
from proxy.config.build import TLS_VERSIONS, ProxyConfig, build_config, load_toml
from proxy.config.file_secrets import exposure_warning

from .errors import ConfigError

PROG = "ssl-proxy"

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose mistakes raise ``ConfigError`` (one line, no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see ssl-proxy --help)")


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
    p = _Parser(
        prog=PROG,
        description="Plain local TCP listeners whose connections leave over TLS through a "
                    "Quectel EC2x/EG9x/EM05 LTE module's SSL AT commands.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    p.add_argument("--config", metavar="FILE",
                   help="TOML file with the same settings; flags override it")

    g = p.add_argument_group("module")
    g.add_argument("--device", metavar="PATH", action="append",
                   help="the module's AT port (default: find USB vendor 2c7c, interface 2); "
                        "repeat it for several modules")
    g.add_argument("--baud", type=int, metavar="N", help="serial speed (default 115200)")
    g.add_argument("--rtscts", action=argparse.BooleanOptionalAction,
                   help="RTS/CTS hardware flow control (default off)")
    g.add_argument("--urc-port", metavar="PORT",
                   help="the module's name for the AT port opened: usbat, usbmodem or uart1; "
                        "bring-up routes URCs there (default auto: USB interface 2 usbat, "
                        "3 usbmodem, a non-USB serial device uart1)")
    g.add_argument("--access-mode", metavar="MODE",
                   help="how the module hands over received data: buffer (read with "
                        "AT+QSSLRECV) or push (sent unasked; a socket whose client lags "
                        "switches to buffer until it catches up) (default push)")

    g = p.add_argument_group("network (PDP context)")
    g.add_argument("--apn", metavar="APN",
                   help="set this APN (default: use the context the module has)")
    g.add_argument("--apn-user", metavar="U", help="APN user name")
    g.add_argument("--apn-password", metavar="P", help="APN password (never logged)")
    g.add_argument("--apn-auth", choices=["none", "pap", "chap", "pap-or-chap"],
                   help="APN authentication (default: pap-or-chap with a user, else none)")
    g.add_argument("--pdp-context", type=int, metavar="N", help="PDP context id (default 1)")

    g = p.add_argument_group("mappings")
    g.add_argument("--map", action="append", metavar="[BIND:]LPORT=HOST:RPORT",
                   help="listen on BIND:LPORT (BIND default 127.0.0.1) and forward over TLS "
                        "to HOST:RPORT; repeatable")

    g = p.add_argument_group("TLS (for every map; the file can set them per map)")
    g.add_argument("--cacert", metavar="FILE",
                   help="CA certificates (PEM) that verify servers (default: host bundle)")
    g.add_argument("--clientcert", metavar="FILE", help="client certificate (PEM)")
    g.add_argument("--clientkey", metavar="FILE", help="client key (PEM, unencrypted)")
    g.add_argument("--tls-version", choices=TLS_VERSIONS, help="TLS version (default 1.2)")
    g.add_argument("--ciphers", metavar="CODE,...",
                   help="cipher suite codes from the manual, e.g. 0xC02F,0x0035 "
                        "(default 0xFFFF: all)")
    g.add_argument("--insecure", action="store_true",
                   help="do not verify server certificates (seclevel 0)")
    g.add_argument("--sni", action=argparse.BooleanOptionalAction,
                   help="send SNI for host names (default on)")
    g.add_argument("--ignore-local-time", action="store_true",
                   help="the module does not check certificate dates (ignorelocaltime 1); "
                        "only when its clock cannot be set")
    g.add_argument("--negotiate-timeout", type=int, metavar="S",
                   help="TLS handshake limit, 10-300 s (default 300)")

    g = p.add_argument_group("limits and shutdown")
    g.add_argument("--max-connections", type=int, metavar="N",
                   help=f"open module sockets at most, 1-{CLIENT_IDS} (default {CLIENT_IDS})")
    g.add_argument("--queue-timeout", type=float, metavar="S",
                   help="how long a connection waits for a free socket (default 30)")
    g.add_argument("--queue-max", type=int, metavar="N",
                   help="connections that may wait for a socket at most; past it a new one "
                        "is reset at once (default 64)")
    g.add_argument("--half-close-timeout", type=float, metavar="S",
                   help="after a client shuts down its write side, how long the remote may "
                        "stay quiet before the connection is reset (default 30)")
    g.add_argument("--idle-reclaim", type=float, metavar="S",
                   help="while connections wait, close one idle this long with nothing in "
                        "flight and give its socket to the longest waiter; 0: never (default 5)")
    g.add_argument("--idle-release", action="store_true",
                   help="an idle reclaim closes only the module socket: the client stays "
                        "connected and its next request opens a new one (HTTP keep-alive)")
    g.add_argument("--idle-timeout", type=float, metavar="S",
                   help="close a connection idle this long with nothing in flight, waiters "
                        "or not; 0: never (default 0)")
    g.add_argument("--grace", type=float, metavar="S",
                   help="on SIGINT/SIGTERM, how long open connections may finish (default 5)")

    g = p.add_argument_group("services")
    g.add_argument("--status", metavar="[BIND:]PORT",
                   help="serve a read-only HTTP status page (/ and /status.json) and /metrics")
    g.add_argument("--at-console", metavar="[BIND:]PORT",
                   help="serve a line-based AT command console")
    g.add_argument("--at-pty", metavar="PATH",
                   help="serve the AT console on a pseudo-terminal linked at PATH, for "
                        "minicom, picocom or a pyserial script")

    g = p.add_argument_group("logging")
    g.add_argument("-v", "--verbose", action="count",
                   help="log each connection's life (-vv: debug)")
    g.add_argument("--trace-at", action="store_true",
                   help="log the AT traffic (payloads as lengths only)")
    g.add_argument("--trace-payload", action="store_true",
                   help="with --trace-at, also log the first bytes of each payload "
                        "(user data: may hold credentials)")
    g.add_argument("--log-format", choices=["text", "json"],
                   help="text: key=value lines (default); json: one object per line")

    g = p.add_argument_group("emulator (no module needed)")
    g.add_argument("--emulate", action="store_true",
                   help="run against the built-in module emulator")
    g.add_argument("--resolve", action="append", metavar="NAME=IP",
                   help="the emulator's DNS: NAME resolves to IP; repeatable")
    g.add_argument("--emulate-baud", type=int, metavar="N",
                   help="the emulated serial line's speed")
    g.add_argument("--emulate-latency-ms", type=float, metavar="N",
                   help="the emulator's added latency per command")
    g.add_argument("--emulate-modems", type=int, metavar="N",
                   help="run N emulated modules (implies --emulate; default 1)")
    return p


def parse_command_line(argv: list[str] | None) -> ProxyConfig:
    """Flags (and the ``--config`` file they name) -> a validated ``ProxyConfig``."""
    ns = build_parser().parse_args(argv)
    flags: dict[str, Any] = {k.replace("_", "-"): v for k, v in vars(ns).items()}
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
