"""``python -m modem.emulator``: run a virtual EC2x until SIGINT or SIGTERM.

The first line on stdout is ``device: <pty path>``; open that path (or the
``--link`` symlink) as the module's AT port.  With ``--extra-port NAME`` a
line ``port NAME: <pty path>`` follows for each more port of the module.
See docs/emulator.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import signal
import sys

import trio

from .config import CMUX_URC_CHOICES, OPEN_PUSH, RECV_URC_REARM, SIM_STATES, EmulatorConfig
from .emulator import Emulator
from .fault_spec import parse_fault_spec
from .models import MODELS
from .urc_port import FACTORY_URC_PORT, URC_PORTS


def _resolve_pair(text: str) -> tuple[str, str]:
    name, sep, address = text.partition("=")
    if not sep or not name or not address:
        raise argparse.ArgumentTypeError(f"want NAME=IP, got {text!r}")
    return name, address


def _fault(text: str) -> str:
    try:
        parse_fault_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def _command_name(text: str) -> str:
    """``AT+QURCCFG``, ``+qurccfg`` or ``QURCCFG`` -> ``+QURCCFG``."""
    name = text.upper().removeprefix("AT").lstrip("+")
    if not name.isalnum():
        raise argparse.ArgumentTypeError(f"want a command name like +QURCCFG, got {text!r}")
    return "+" + name


def _pin(text: str) -> str:
    if not (text.isdigit() and 4 <= len(text) <= 8):
        raise argparse.ArgumentTypeError("want a PIN of 4 to 8 digits")
    return text


def _cmux_urcs(text: str) -> str:
    if text not in CMUX_URC_CHOICES and not text.isdigit():
        raise argparse.ArgumentTypeError(f"want first, all or a DLC number, got {text!r}")
    return text


def _setting_name(text: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", text):
        raise argparse.ArgumentTypeError(f"want a lower-case setting name like checkhost, "
                                         f"got {text!r}")
    return text


def _when(text: str) -> dt.datetime:
    """``now`` or an ISO 8601 time (UTC unless it has a zone)."""
    if text == "now":
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"want now or an ISO time like 2020-01-01T00:00:00Z, got {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _network_time(text: str) -> float | None:
    """``right`` (0), ``none`` (no network time) or an ISO time: offset from now."""
    if text == "right":
        return 0.0
    if text == "none":
        return None
    return (_when(text) - dt.datetime.now(dt.UTC)).total_seconds()


def _add_firmware_orders(p: argparse.ArgumentParser) -> None:
    """The flags of the orders and answers real firmware may choose."""
    g = p.add_argument_group("orders real firmware may choose (docs/reliability.md)")
    g.add_argument("--push-trailer", choices=("crlf", "none"), default="crlf",
                   help="what follows a push frame's data: CR LF (default, as BG96 firmware "
                        "writes it) or nothing (the manual's format)")
    g.add_argument("--pushes-after-switch", action="store_true",
                   help="answer AT+QISWTMD=<id>,0 before the pushes already queued")
    g.add_argument("--late-pushes-after-close", action="store_true",
                   help="a closed push socket's leftover data is pushed right after the OK "
                        "of the next AT+QSSLOPEN of its ID")
    g.add_argument("--switch-when-closed", action="store_true",
                   help="AT+QISWTMD=<id>,0 is taken for a socket the peer closed (default: "
                        "ERROR, as for any socket no longer connected)")
    g.add_argument("--keep-buffer-on-push", action="store_true",
                   help="AT+QISWTMD=<id>,1 keeps the buffer (announced with a recv URC) and "
                        "pushes only newer data")
    g.add_argument("--kept-read-error", action="store_true",
                   help="with --keep-buffer-on-push, AT+QSSLRECV in push mode answers ERROR")
    g.add_argument("--closed-read-error", action="store_true",
                   help="once the peer closed, AT+QSSLRECV answers ERROR (data left is lost)")
    g.add_argument("--empty-read-error", action="store_true",
                   help="once the peer closed and nothing is left, AT+QSSLRECV answers ERROR "
                        "instead of +QSSLRECV: 0")
    g.add_argument("--recv-max", type=int, default=0, metavar="N",
                   help="at most N bytes per AT+QSSLRECV answer, whatever was asked")
    g.add_argument("--hold-output-on-escape", action="store_true",
                   help="transparent mode: socket data waits in the buffer from the +++ on "
                        "(default: it goes to the host until the OK)")
    g.add_argument("--no-carrier-with-data", action="store_true",
                   help="transparent mode: a peer close is NO CARRIER at once, the rest left "
                        "in the buffer for AT+QSSLRECV")
    g.add_argument("--escape-no-carrier", action="store_true",
                   help="transparent mode: answer +++ with NO CARRIER though the socket "
                        "stays open")
    g.add_argument("--transparent-refused", action="append", default=[], metavar="PORT",
                   help="this port (usbat, usbmodem, uart1, or dlc: every DLC) refuses "
                        "transparent mode with ERROR; repeatable")
    g.add_argument("--open-push", choices=OPEN_PUSH, default="honour",
                   help="what AT+QSSLOPEN does with access mode 1: honour it (default), "
                        "answer OK and keep the socket in buffer mode, or refuse it (ERROR)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m modem.emulator",
        description="A virtual Quectel EC2x on a pseudo-terminal, with real TLS.",
    )
    p.add_argument("--baud", type=int, default=0, help="line rate; 0 (default) is unpaced")
    p.add_argument("--uart", action="store_true",
                   help="the line is a UART at --baud: a host at another speed reads and "
                        "sends garbage (a USB port, the default, ignores the speed)")
    p.add_argument("--latency-ms", type=float, default=0.0,
                   help="turnaround before each command's first response byte")
    p.add_argument("--resolve", type=_resolve_pair, action="append", default=[],
                   metavar="NAME=IP", help="answer NAME with IP instead of asking DNS")
    p.add_argument("--no-dns", action="store_true",
                   help="names not given with --resolve fail with 565")
    p.add_argument("--link", metavar="PATH", help="also make PATH a symlink to the pty")
    p.add_argument("--fault", type=_fault, action="append", default=[], metavar="SPEC",
                   help="inject a fault, e.g. peer_close:3@5s, restart@10s, noise:20, "
                        "random:0.05 (see docs/emulator.md)")
    p.add_argument("--seed", type=int, default=0, help="seed for random faults and noise")
    p.add_argument("--auto-pdp", action="store_true", help="context 1 is active at boot")
    p.add_argument("--clock-now", action="store_true",
                   help="the module clock starts right (default: 1980-01-06)")
    p.add_argument("--port-name", choices=URC_PORTS, default=FACTORY_URC_PORT,
                   help="the AT port the pty plays; URCs reach it only while "
                        'AT+QURCCFG="urcport" names it (factory default: usbat)')
    p.add_argument("--absent-command", type=_command_name, action="append", default=[],
                   metavar="NAME",
                   help="play firmware without this command (e.g. +QURCCFG): it answers "
                        "ERROR; repeatable")
    p.add_argument("--recv-urc-rearm", choices=RECV_URC_REARM, default="drain",
                   help="when the next \"recv\" URC comes: once a read empties the buffer "
                        "(drain, default) or only after a read that returned 0 bytes (empty)")
    p.add_argument("--clock-start", type=_when, metavar="TIME",
                   help="the module clock starts at TIME (now, or ISO like 2020-01-01T00:00Z)")
    p.add_argument("--network-time", type=_network_time, default=0.0, metavar="WHEN",
                   help="what AT+QLTS reports: right (default), none (+QLTS: \"\"), "
                        "or an ISO time")
    p.add_argument("--ctzu", type=int, choices=(0, 1, 3), default=0,
                   help="AT+CTZU at boot; 3: the module clock follows the network time")
    p.add_argument("--hostname-check", type=_setting_name, metavar="SETTING",
                   help="play firmware with a server host-name check: AT+QSSLCFG=? lists "
                        "SETTING (e.g. checkhost), and with it on an open fails (566) "
                        "unless the certificate names the host")
    p.add_argument("--sim", choices=SIM_STATES, default="ready",
                   help="absent: play a module without a SIM (AT+CPIN? answers +CME ERROR: 10); "
                        "puk: a SIM locked behind its PUK")
    p.add_argument("--sim-pin", type=_pin, metavar="PIN",
                   help="the SIM wants this PIN after every power-up (AT+CPIN: SIM PIN)")
    p.add_argument("--sim-pin-tries", type=int, choices=range(4), default=3, metavar="N",
                   help="PIN tries left at start (AT+QPINC; 0 is the PUK lock; default 3)")
    p.add_argument("--sim-ready-delay", type=float, default=0.0, metavar="S",
                   help="seconds after power-up the SIM is busy (AT+CPIN? answers "
                        "+CME ERROR: 14)")
    p.add_argument("--registration", type=int, choices=range(6), default=1, metavar="STAT",
                   help="the registration stat reported: 1 home (default), 5 roaming, "
                        "2 searching, 3 denied, 0 not searching")
    _add_firmware_orders(p)
    p.add_argument("--model", choices=list(MODELS), default="ec25",
                   help="the module family played: its ATI identity, boot line and "
                        "AT+QSSLCFG settings (docs/modules.md)")
    p.add_argument("--extra-port", choices=URC_PORTS, action="append", default=[],
                   metavar="NAME",
                   help="one more AT port of the module on a pty of its own (the USB "
                        "composition: --extra-port usbmodem); repeatable")
    _add_cmux_arguments(p)
    p.add_argument("--rtscts", action="store_true",
                   help="the line has RTS/CTS: while the module is silent the host's bytes "
                        "wait instead of being dropped")
    p.add_argument("--trace", action="store_true", help="log every line byte to stderr")
    return p


def _add_cmux_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the module's 07.10 multiplexer (``AT+CMUX``)."""
    p.add_argument("--cmux-dlcs", type=int, default=4, metavar="N",
                   help="under AT+CMUX the DLCs 1..N open as AT ports (default 4)")
    p.add_argument("--cmux-urcs", type=_cmux_urcs, default="first", metavar="WHERE",
                   help="which DLC gets the URCs under AT+CMUX: first (the lowest open "
                        "one not in data mode, default), all, or a DLC number")
    p.add_argument("--cmux-hang-below-ms", type=float, default=0.0, metavar="MS",
                   help="play firmware that hangs until a restart when the first frame "
                        "follows the OK of AT+CMUX by less than MS (a BG95: 100)")
    p.add_argument("--cmux-unanswered-starts", type=int, default=0, metavar="N",
                   help="the first N multiplexer starts get no UA (a module silent right "
                        "after AT+CMUX's OK; the close-down is taken)")
    p.add_argument("--cmux-mute-dlc", type=int, action="append", default=[], metavar="N",
                   help="DLC N opens under AT+CMUX but answers nothing (not an AT port: "
                        "firmware that keeps one for NMEA); repeatable")
    p.add_argument("--cmux-n1-max", type=int, default=32768, metavar="BYTES",
                   help="the largest N1 (frame size) AT+CMUX takes and AT+CMUX=? lists "
                        "(default 32768; the M10 manual's range)")
    p.add_argument("--cmux-no-pn", action="store_true",
                   help="under AT+CMUX answer PN (parameter negotiation) with NSC")
    p.add_argument("--cmux-msc-retries", type=int, default=3, metavar="N",
                   help="send an MSC again up to N times while the host's response is "
                        "T2 (0.3 s) late (default 3; 0: once, a module that never resends)")


def _trace(direction: str, data: bytes) -> None:
    print(f"{direction} {data!r}", file=sys.stderr, flush=True)


def _make_link(device: str, link: str) -> None:
    if os.path.islink(link):
        os.unlink(link)
    elif os.path.exists(link):
        raise SystemExit(f"--link {link}: exists and is not a symlink")
    os.symlink(device, link)


def _remove_link(link: str) -> None:
    if os.path.islink(link):
        os.unlink(link)


async def serve(config: EmulatorConfig, link: str | None, trace: bool) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with Emulator.running(config, trace=_trace if trace else None) as emu:
            if link:
                _make_link(emu.device, link)
            try:
                print(f"device: {emu.device}", flush=True)
                for name in config.extra_ports:
                    print(f"port {name}: {emu.devices[name]}", flush=True)
                async for _ in signals:
                    break
            finally:
                if link:
                    _remove_link(link)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = _config(args)
    except ValueError as exc:
        parser.error(str(exc))
    trio.run(serve, config, args.link, args.trace)
    return 0


def _config(args: argparse.Namespace) -> EmulatorConfig:
    """``ValueError`` for settings that do not go together (a port named twice)."""
    return EmulatorConfig(
        baud=args.baud,
        uart=args.uart,
        latency_ms=args.latency_ms,
        resolve=dict(args.resolve),
        real_dns=not args.no_dns,
        seed=args.seed,
        auto_pdp=args.auto_pdp,
        clock_start=args.clock_start or (dt.datetime.now(dt.UTC) if args.clock_now else None),
        faults=tuple(args.fault),
        port_name=args.port_name,
        absent_commands=frozenset(args.absent_command),
        recv_urc_rearm=args.recv_urc_rearm,
        network_time_offset=args.network_time,
        ctzu=args.ctzu,
        hostname_check=args.hostname_check,
        sim=args.sim,
        sim_pin=args.sim_pin,
        sim_pin_tries=args.sim_pin_tries,
        sim_ready_delay=args.sim_ready_delay,
        registration=args.registration,
        push_trailer=args.push_trailer == "crlf",
        pushes_after_switch=args.pushes_after_switch,
        late_pushes_after_close=args.late_pushes_after_close,
        keep_buffer_on_push=args.keep_buffer_on_push,
        switch_when_closed=args.switch_when_closed,
        kept_read_error=args.kept_read_error,
        closed_read_error=args.closed_read_error,
        empty_read_error=args.empty_read_error,
        recv_max=args.recv_max,
        output_during_escape=not args.hold_output_on_escape,
        no_carrier_with_data=args.no_carrier_with_data,
        escape_no_carrier=args.escape_no_carrier,
        transparent_refused=tuple(args.transparent_refused),
        open_push=args.open_push,
        model=args.model,
        extra_ports=tuple(args.extra_port),
        cmux_dlcs=args.cmux_dlcs,
        cmux_urcs=args.cmux_urcs,
        cmux_hang_below_ms=args.cmux_hang_below_ms,
        cmux_pn=not args.cmux_no_pn,
        cmux_n1_max=args.cmux_n1_max,
        cmux_unanswered_starts=args.cmux_unanswered_starts,
        cmux_msc_retries=args.cmux_msc_retries,
        cmux_mute_dlcs=tuple(args.cmux_mute_dlc), rtscts=args.rtscts,
    )


if __name__ == "__main__":
    sys.exit(main())
