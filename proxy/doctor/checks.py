"""The checks of ``ssl-proxy doctor``: the bring-up (``modem.bringup.steps``) one step at a time.

In order: the serial port opens; the module answers ``AT`` (then ``ATE0``,
``AT+CMEE=1``); identity and firmware (``ATI``, ``AT+QGMR`` or ``AT+GMR``);
URC routing (``AT+QURCCFG="urcport"``, set as the proxy would); the SIM
(``AT+CPIN?``, its PIN entered under the proxy's rule, ``AT+QPINC``'s tries
left); registration (``AT+CEREG?``/``AT+CREG?``, polled up to
``--wait`` s) and signal (``AT+CSQ``); the module clock against the network's
time (``AT+CCLK?``, ``AT+QLTS=1``) and the host's; the PDP context and its
address (``AT+QIACT?``, activated as the proxy would); the files on UFS
(``AT+QFLST``); the AT round trip (``AT`` timed five times) and the line's
real throughput toward the module (an ``AT+QFUPL`` of a test file, checksum
verified, then deleted); and, with ``--host``, a TLS open through the real
driver (``Modem.open``: the full bring-up, files uploaded, SSL context
configured, ``AT+QSSLOPEN``).

A check that depends on one that failed is skipped (no SIM: no registration,
no PDP, no TLS).  The clock is only read, never set: the proxy sets it at
start (``modem.core.clock_policy``).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from modem.bringup.sim import check_sim, pin_counters
from modem.bringup.steps import (
    BringUpError,
    PdpSettings,
    activate_pdp,
    configure_line,
    identify,
    route_urcs,
    wait_registered,
)
from modem.channels import ExtraPort
from modem.core import commands
from modem.core.at_command import Command
from modem.core.channel_plan import ChannelKind, ChannelMode, ChannelPlan, plan_channels
from modem.core.clock_policy import decide_clock
from modem.core.errors import DeviceError, ModemError
from modem.core.families import TRAITS, Family, family_of
from modem.core.mux import DEFAULT_N1
from modem.core.profile import TlsProfile
from modem.core.sim_pin import PIN_TRIES, SimPin
from modem.driver import Modem
from modem.link.channel import AtChannel
from modem.link.console import console_command
from modem.link.line_speed import LineSpeedMismatch, adjustable, find_speed
from modem.link.response_errors import error_of
from modem.options import ModemOptions
from proxy.config.certificates import host_ca_bundle, read_ca_file
from proxy.config.model import Endpoint
from proxy.modems.channel_ports import SECOND_PORT, extra_at_ports, second_at_port
from proxy.modems.device_opener import PortOpener
from proxy.modems.names import MODEM_NAME, discovered_name
from proxy.modems.port_discovery import describe_device, find_at_port, urc_port_for

from ..errors import ProxyError
from . import channel_trial
from .report import CheckResult, Outcome, Report, failed

TEST_FILE = "UFS:sp-doctor.tmp"  # sp-: a proxy start deletes it if a run left it


@dataclass(frozen=True)
class DoctorOptions:
    """What to check with.  ``name``: the module's name as the proxy gives it
    (``proxy.modems.names``; None: discovered, named once found).  ``emulator``:
    ``EmulatorConfig`` keywords (``--emulate``)."""

    name: str | None = None
    device: str | None = None
    baud: int | None = commands.DEFAULT_LINE_BAUD  # None: --baud auto
    rtscts: bool = False
    urc_port: str = "auto"
    pdp: PdpSettings = field(default_factory=PdpSettings)
    sim_pin: SimPin | None = None  # its repr hides the PIN
    module_family: Family | None = None  # None: from ATI
    channels: ChannelMode = ChannelMode.SINGLE
    mux_n1: int = DEFAULT_N1
    host: Endpoint | None = None
    cacert: Path | None = None
    emulate: bool = False
    emulator: dict[str, Any] = field(default_factory=dict)
    wait: float = 60.0  # registration
    throughput_bytes: int = 8192


class Doctor:
    """Runs the checks in order into ``report``; ``run`` returns when all are done."""

    def __init__(self, options: DoctorOptions, report: Report) -> None:
        self.options = options
        self.report = report
        self.device: str | None = None
        self.name = options.name
        self.urc_port: str | None = None
        self.second_port: str | None = None  # the module's usbmodem port (channels)
        self.emulator: Any = None  # the Emulator under --emulate
        self.failed: set[str] = set()
        self.line_baud = options.baud or commands.DEFAULT_LINE_BAUD
        """The line's speed: ``--baud``, or the one found for ``--baud auto``."""

    def _add(self, result: CheckResult) -> None:
        if result.outcome is Outcome.FAIL:
            self.failed.add(result.name)
        self.report.add(result)

    def _skip(self, name: str, needs: str) -> None:
        self._add(CheckResult(name, Outcome.SKIP, f"not run: {needs} failed"))

    async def run(self) -> None:
        async with AsyncExitStack() as stack:
            if self.options.emulate:
                from modem.emulator import Emulator, EmulatorConfig

                emulator = await stack.enter_async_context(
                    Emulator.running(EmulatorConfig(**self.options.emulator)))
                self.emulator = emulator
                self.device, self.urc_port = emulator.device, emulator.config.port_name
                self.second_port = emulator.devices.get(SECOND_PORT)
            await self._run_on_device()

    async def _run_on_device(self) -> None:
        opts = self.options
        if self.device is not None:
            device = self.device
        else:
            try:
                device = opts.device or await _find_device()
            except ProxyError as exc:
                return self._add(failed("port", exc, "give --device"))
            if opts.urc_port != "auto":
                self.urc_port = opts.urc_port
            else:
                self.urc_port = urc_port_for(describe_device(device))[0]
            self.device = device
            self.second_port = second_at_port(device)
        name = self.name or _discovered_name(device)
        MODEM_NAME.set(name)  # the transcript's driver lines say modem=<name>, as the proxy's
        opener = PortOpener(device, baudrate=self.line_baud, rtscts=opts.rtscts)
        try:
            stream = await opener()
        except DeviceError as exc:
            return self._add(failed("port", exc))
        self._add(CheckResult("port", Outcome.PASS,
                              f"{device} ({name}) opened at {self.line_baud} baud"
                              + (" (--baud auto)" if opts.baud is None else "")))
        async with stream:
            if not await self._on_channel(stream) and await self._line_speed(stream):
                await self._on_channel(stream)
        if {"at", "sim", "network", "pdp"} & self.failed:
            self._skip("tls", "an earlier check")
            return self._skip(channel_trial.NAME, "an earlier check")
        # At the speed the at check found (--baud auto) or was given.
        await self._check_tls(PortOpener(device, baudrate=self.line_baud, rtscts=opts.rtscts))

    async def _on_channel(self, stream: trio.abc.Stream) -> bool:
        """The module checks on a channel over ``stream``; False when ``AT`` got no
        answer (nothing reported yet: the line's speed is looked at first)."""
        channel = AtChannel(stream, lambda urc: None, trace=True, command_timeout_cap=30)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(channel.read_loop)
            answered = await self._module_checks(channel)
            nursery.cancel_scope.cancel()
        return answered

    async def _line_speed(self, stream: trio.abc.Stream) -> bool:
        """After no answer: True when the module answers at another speed and
        ``--baud auto`` takes it (checks again); else the at check's FAIL line,
        naming the speed it answers at when there is one."""
        line = adjustable(stream)
        tried = line.speed if line is not None else self.line_baud
        found = await find_speed(stream, tried)
        if found == tried or (found is not None and self.options.baud is None):
            self.line_baud = found
            return True
        if found is not None:
            self._add(failed("at", LineSpeedMismatch(tried, found)))
        else:
            self._add(CheckResult(
                "at", Outcome.FAIL, "the module does not answer AT",
                "check that this is the AT port (USB interface 2, e.g. /dev/ttyUSB2), "
                "--baud, and that no other program (ModemManager) uses it"))
        self._skip_all_after_at()
        return False

    def _skip_all_after_at(self) -> None:
        for name in ("identity", "urcs", "channels", "sim", "network", "signal", "clock", "pdp",
                     "files", "round-trip", "throughput"):
            self._skip(name, "at")

    async def _module_checks(self, channel: AtChannel) -> bool:
        """Every check from ``at`` on; False (nothing reported) when ``AT`` got no answer."""
        try:
            with trio.fail_after(20):
                await channel.sync()
            await configure_line(channel)
        except (ModemError, trio.TooSlowError):
            return False
        found = (f" at {self.line_baud} baud (found: --baud auto)" if self.options.baud is None
                 else "")
        self._add(CheckResult("at", Outcome.PASS,
                              f"the module answers{found} (echo off, numeric errors)"))
        steps: list[tuple[str, Callable[[AtChannel], Awaitable[CheckResult]], set[str]]] = [
            ("identity", self._identity, set()),
            ("urcs", self._urcs, set()),
            ("channels", self._channels, set()),
            ("sim", self._sim, set()),
            ("network", self._network, {"sim"}),
            ("signal", self._signal, set()),
            ("clock", self._clock, set()),
            ("pdp", self._pdp, {"sim", "network"}),
            ("files", self._files, set()),
            ("round-trip", self._round_trip, set()),
            ("throughput", self._throughput, set()),
        ]
        for name, check, needs in steps:
            if needs & self.failed:
                self._skip(name, " and ".join(sorted(needs & self.failed)))
                continue
            try:
                self._add(await check(channel))
            except ModemError as exc:
                self._add(failed(name, exc, "see docs/troubleshooting.md"))
        return True

    async def _identity(self, channel: AtChannel) -> CheckResult:
        identity = await identify(channel)
        firmware = identity.revision or "?"
        for query in ("AT+QGMR", "AT+GMR"):
            resp = await channel.run(console_command(query, 5.0))
            if resp.ok and resp.lines:
                firmware = resp.lines[0].strip()
                break
        found = family_of(identity.model, identity.revision)
        family = self.options.module_family or found
        how = "given" if self.options.module_family else "from ATI"
        buffer = "" if TRAITS[family].push else ": sockets open in buffer mode (no documented push)"
        return CheckResult("identity", Outcome.PASS,
                           f"{identity.manufacturer} {identity.model}, firmware {firmware}; "
                           f"family {family} ({how}){buffer}")

    async def _urcs(self, channel: AtChannel) -> CheckResult:
        found = await route_urcs(channel, self.urc_port)
        if found is None:
            return CheckResult("urcs", Outcome.PASS, "AT+QURCCFG not supported: URCs left as "
                               "the firmware sends them (the proxy polls if they are lost)")
        return CheckResult("urcs", Outcome.PASS, f"URCs go to {found} "
                           f"(this port is {self.urc_port or 'unknown'})")

    async def _channels(self, channel: AtChannel) -> CheckResult:
        """What channels the module offers (``AT+CMUX=?``, a second USB AT port) and
        what ``--channels auto`` would run on; the multiplexer is not started."""
        test = await channel.run(commands.cmux_test())
        n1_max = commands.parse_cmux_n1(test.lines[0]) if test.ok and test.lines else None
        cmux = ("no multiplexer (AT+CMUX=? answered ERROR)" if not test.ok
                else f"AT+CMUX offered (frames up to {n1_max} bytes)" if n1_max
                else "AT+CMUX offered")
        second = self.second_port
        ports = f"second AT port {second}" if second else "no second USB AT port found"
        plan = plan_channels(ChannelMode.AUTO, self.urc_port, 1 if second else 0)
        if plan.kind is ChannelKind.CMUX and not test.ok:
            plan = ChannelPlan(ChannelKind.SINGLE, "the module has no multiplexer")
        auto = plan.kind.value + (f": {plan.reason}" if plan.reason else "")
        return CheckResult("channels", Outcome.PASS, f"{cmux}; {ports}; --channels auto "
                           f"would use {auto} (--channels is {self.options.channels})")

    async def _sim(self, channel: AtChannel) -> CheckResult:
        """The SIM as bring-up finds it: its PIN entered under the same rule
        (only while no wrong PIN is counted), and the tries left."""
        try:
            entered = await check_sim(channel, self.options.sim_pin)
        except BringUpError as exc:
            return failed("sim", exc)
        counters = await pin_counters(channel)
        left = ("" if counters is None else
                f"; PIN tries left {counters.pin} of {PIN_TRIES}, PUK tries {counters.puk}")
        how = "unlocked with its PIN" if entered else "ready"
        return CheckResult("sim", Outcome.PASS, f"SIM {how} (AT+CPIN?: READY{left})")

    async def _network(self, channel: AtChannel) -> CheckResult:
        try:
            described = await wait_registered(channel, self.options.wait)
        except BringUpError as exc:
            return failed("network", exc)
        return CheckResult("network", Outcome.PASS, described)

    async def _signal(self, channel: AtChannel) -> CheckResult:
        resp = await channel.run(commands.csq())
        quality = commands.parse_csq(resp.lines[0]) if resp.ok and resp.lines else None
        if quality is None or quality.dbm is None:
            return CheckResult("signal", Outcome.FAIL, "no signal (AT+CSQ: 99)",
                               "check the antenna and its cable, and the coverage")
        found = f"{quality.dbm} dBm (AT+CSQ rssi {quality.rssi})"
        if quality.dbm < -105:
            return CheckResult("signal", Outcome.FAIL, f"weak: {found}",
                               "move or replace the antenna; below -105 dBm opens time out")
        return CheckResult("signal", Outcome.PASS, found)

    async def _clock(self, channel: AtChannel) -> CheckResult:
        module = await _read_time(channel, commands.cclk_query(), commands.parse_cclk)
        network = await _read_time(channel, commands.qlts(1),
                                   lambda line: commands.parse_qlts(line, 1))
        host = datetime.now(UTC)
        decision = decide_clock(host, module, network)
        shown = ", ".join(f"{what} {_when(value)}" for what, value in
                          (("module", module), ("network", network), ("host", host)))
        if not decision.trusted:
            return CheckResult("clock", Outcome.FAIL, f"no trustworthy time: {shown}",
                               "set the host clock (NTP), or use --ignore-local-time")
        action = (f"the proxy sets it from the {decision.source.value} clock at start"
                  if decision.set_to is not None else "right")
        return CheckResult("clock", Outcome.PASS, f"{shown} ({action})")

    async def _pdp(self, channel: AtChannel) -> CheckResult:
        try:
            address = await activate_pdp(channel, self.options.pdp)
        except BringUpError as exc:
            return failed("pdp", exc)
        return CheckResult("pdp", Outcome.PASS,
                           f"context {self.options.pdp.context_id} active, address {address}")

    async def _files(self, channel: AtChannel) -> CheckResult:
        resp = await channel.run(commands.qflst("*"))
        if not resp.ok:
            return CheckResult("files", Outcome.FAIL, "AT+QFLST failed",
                               "the module's file system does not answer: restart the module")
        entries = []
        for line in resp.lines:
            try:
                entries.append(commands.parse_qflst(line))
            except ValueError:
                continue
        ours = [e for e in entries if e.bare_name.startswith("sp-")]
        total = sum(e.size for e in entries)
        return CheckResult("files", Outcome.PASS, f"{len(entries)} files on UFS, {total} bytes "
                           f"({len(ours)} of ssl-proxy's)")

    async def _round_trip(self, channel: AtChannel) -> CheckResult:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            await channel.run(commands.at())
            times.append(time.perf_counter() - start)
        return CheckResult("round-trip", Outcome.PASS,
                           f"AT answered in {statistics.median(times) * 1000:.1f} ms "
                           "(median of 5)")

    async def _throughput(self, channel: AtChannel) -> CheckResult:
        size = self.options.throughput_bytes
        data = os.urandom(size)
        wait = commands.upload_wait(size, self.line_baud)
        start = time.perf_counter()
        resp = await channel.run(commands.qfupl(TEST_FILE, size, wait), data)
        took = time.perf_counter() - start
        await channel.run(commands.qfdel(TEST_FILE))
        if not resp.ok:
            failure = await error_of(channel, resp, "AT+QFUPL")
            return CheckResult("throughput", Outcome.FAIL,
                               f"a {size}-byte test upload (AT+QFUPL) failed: {failure}",
                               "check the module's free space (AT+QFLDS=\"UFS\")")
        if not (resp.lines and commands.parse_qfupl(resp.lines[0]).matches(data)):
            return CheckResult("throughput", Outcome.FAIL,
                               f"a {size}-byte test upload (AT+QFUPL) came back damaged",
                               "check the cable, --baud and --rtscts")
        rate = size / took / 1000
        line = self.line_baud / 10 / 1000
        return CheckResult("throughput", Outcome.PASS,
                           f"{size} bytes to the module in {took:.2f} s: {rate:.1f} kB/s "
                           f"({self.line_baud} baud carries {line:.1f} kB/s; a USB port "
                           "is not held to its baud)")

    async def _check_tls(self, opener: PortOpener) -> None:
        """``tls``: the proxy's bring-up on the channels it would use, one open; then,
        on that socket, ``transparent`` (``channel_trial``)."""
        host, opts = self.options.host, self.options
        if host is None:
            self._add(CheckResult("tls", Outcome.SKIP,
                                  "no --host given (e.g. --host example.com:443)"))
            return self._add(CheckResult(channel_trial.NAME, Outcome.SKIP,
                                         "no --host given: no socket to lend a channel"))
        try:
            path = opts.cacert or host_ca_bundle()
            profile = TlsProfile(cacert=read_ca_file(path), seclevel=1, sni=not host.is_ip)
        except ProxyError as exc:
            self._add(failed("tls", exc))
            return self._skip(channel_trial.NAME, "tls")
        opened = False
        try:
            async with _modem(opener, opts, self.urc_port, profile, self.line_baud,
                              extra_at_ports(opts.channels, opener.path, self.emulator,
                                             self.line_baud, opts.rtscts)) as modem:
                client_id = modem.client_ids.acquire_nowait()
                start = time.perf_counter()
                sock = await modem.open_ssl_socket(client_id, host.host, host.port, profile)
                took, opened = time.perf_counter() - start, True
                kind = modem.channel_book.kind
                self._add(CheckResult("tls", Outcome.PASS, f"TLS to {host} opened in {took:.2f}"
                                      f" s, server certificate verified against {path}"
                                      + (f" (on {kind.value})" if kind else "")))
                self._add(await channel_trial.transparent_check(modem, sock, opts.channels,
                                                                opts.rtscts))
                await sock.aclose()
        except ModemError as exc:  # its message names the open ("open HOST:PORT: error ...")
            if opened:  # the close, or the driver's end, failed
                return self._add(failed("close", exc, "see docs/troubleshooting.md"))
            self._add(failed("tls", exc, "see docs/troubleshooting.md for the code"))
            self._skip(channel_trial.NAME, "tls")


def _discovered_name(device: str) -> str:
    """What the proxy calls the module discovery found at ``device``."""
    port = describe_device(device)
    return discovered_name(port.usb_path if port is not None else None, 1)


async def _find_device() -> str:
    found: str = await trio.to_thread.run_sync(find_at_port)
    return found


@asynccontextmanager
async def _modem(opener: PortOpener, options: DoctorOptions, urc_port: str | None,
                 profile: TlsProfile, line_baud: int,
                 extra_ports: tuple[ExtraPort, ...]) -> AsyncIterator[Modem]:
    async with Modem.open(
        opener,
        pdp=options.pdp,
        profiles=[profile],
        options=ModemOptions(
            trace_at=True,
            urc_port=urc_port,
            registration_timeout=options.wait,
            line_baud=line_baud,
            sim_pin=options.sim_pin,
            module_family=options.module_family,
            channels=options.channels,
            mux_n1=options.mux_n1,
            flow_control=options.rtscts,
            extra_ports=extra_ports,
        ),
    ) as modem:
        yield modem


async def _read_time(channel: AtChannel, cmd: Command,
                     parse: Callable[[str], datetime | None]) -> datetime | None:
    resp = await channel.run(cmd)
    for line in resp.lines if resp.ok else []:
        try:
            return parse(line)
        except ValueError:
            continue
    return None


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else "none"
