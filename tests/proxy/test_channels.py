"""``--channels``: the proxy on the module's CMUX DLCs or USB AT ports, as a process
against the emulator's options, and what the status page, ``/metrics`` and
``ssl-proxy doctor`` show (issue 21 items 3, 4)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from modem.emulator import Emulator, EmulatorConfig
from proxy.cli import parse_command_line
from proxy.config.build import build_config, load_toml
from proxy.modems.channel_ports import second_at_port
from proxy.service import ProxyService
from tests.helpers import TlsServer, round_trip, wait_until
from tests.proxy_helpers import (
    connect,
    http_get,
    run_cli,
    start_proxy,
    start_proxy_process,
    status_json,
)

MAP = ("--map", "0=echo.test:1")
RESOLVE = {"echo.test": "127.0.0.1"}


# -- the setting ---------------------------------------------------------------------

def test_single_is_the_default_and_the_flag_and_toml_set_it(tmp_path: Path) -> None:
    assert parse_command_line([*MAP]).channels == "single"
    for kind in ("auto", "single", "cmux", "ports"):
        assert parse_command_line([*MAP, "--channels", kind]).channels == kind
    path = tmp_path / "proxy.toml"
    path.write_text('channels = "cmux"\n[[map]]\nlisten = 0\nconnect = "h:1"\n')
    assert build_config({}, load_toml(path)).channels == "cmux"


def test_a_bad_value_is_one_line() -> None:
    done = run_cli(*MAP, "--channels", "dlc")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "--channels: 'dlc' is not one of auto, single, cmux, ports" in done.stderr


# -- the second USB port -----------------------------------------------------------

@pytest.mark.parametrize(("first", "second"), [
    ("usb-Quectel_EC25-if02-port0", "usb-Quectel_EC25-if03-port0"),
    ("pci-0000:00:14.0-usb-0:4:1.2-port0", "pci-0000:00:14.0-usb-0:4:1.3-port0"),
])
def test_the_second_port_is_the_first_ones_sibling_by_name(tmp_path: Path, first: str,
                                                            second: str) -> None:
    (tmp_path / first).touch()
    assert second_at_port(str(tmp_path / first)) is None  # no sibling there, no sysfs entry
    (tmp_path / second).touch()
    assert second_at_port(str(tmp_path / first)) == str(tmp_path / second)


# -- the proxy as a process ----------------------------------------------------------

async def echo_clients(port: int, count: int, size: int = 30_000) -> None:
    async def one() -> None:
        payload = os.urandom(size)
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            assert await round_trip(stream, payload) == payload

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(one)


@pytest.mark.long  # over 20 s each: the proxy process muxes, serves, and stops
@pytest.mark.parametrize("urcs", ["first", "all", "2"])
async def test_cmux_serves_wherever_the_module_puts_its_urcs(
        echo_server: TlsServer, ca_file: Path, tmp_path: Path, nursery: trio.Nursery,
        urcs: str) -> None:
    config = EmulatorConfig(resolve=RESOLVE, real_dns=False, cmux_urcs=urcs)
    async with Emulator.running(config) as emu:
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--device", emu.device, "--channels", "cmux",
            "--cacert", str(ca_file), "--map", f"0=echo.test:{echo_server.port}", "-v",
            within=60)
        await echo_clients(proxy.port, 6)
        assert await proxy.stop() == 0
    log = proxy.output.decode(errors="replace")
    assert "AT channels up" in log and "kind=cmux" in log, log
    used = {line.rpartition("channel=")[2].strip().strip('"') for line in log.splitlines()
            if "socket channel" in line}
    if urcs == "all":
        # The URC channel is whichever DLC brings the first socket URC; when that is
        # DLC 4 the spare becomes DLC 3 (ChannelSet._spare), for the sockets after it.
        assert {"DLC 2"} < used <= {"DLC 2", "DLC 3", "DLC 4"}, log
    else:
        assert used == {"DLC 2", "DLC 3"}, log  # DLC 4 is the spare, for transparent mode
    assert "WARNING" not in log and "ERROR" not in log, log


async def test_ports_use_the_modules_second_usb_port(
        echo_server: TlsServer, ca_file: Path, tmp_path: Path, nursery: trio.Nursery) -> None:
    config = EmulatorConfig(resolve=RESOLVE, real_dns=False, extra_ports=("usbmodem",))
    async with Emulator.running(config) as emu:
        first = tmp_path / "usb-Quectel_EC25_1-if02-port0"
        first.symlink_to(emu.devices["usbat"])
        (tmp_path / "usb-Quectel_EC25_1-if03-port0").symlink_to(emu.devices["usbmodem"])
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--device", str(first), "--urc-port", "usbat",
            "--channels", "auto", "--cacert", str(ca_file),
            "--map", f"0=echo.test:{echo_server.port}", "-v", within=60)
        await echo_clients(proxy.port, 3)
        assert await proxy.stop() == 0
    log = proxy.output.decode(errors="replace")
    assert "kind=ports" in log and "channel=usbmodem" in log, log


async def test_a_module_that_refuses_cmux_is_served_on_one_channel_said_once(
        echo_server: TlsServer, ca_file: Path, tmp_path: Path, nursery: trio.Nursery) -> None:
    config = EmulatorConfig(resolve=RESOLVE, real_dns=False, absent_commands={"+CMUX"})
    async with Emulator.running(config) as emu:
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--device", emu.device, "--channels", "cmux",
            "--cacert", str(ca_file), "--map", f"0=echo.test:{echo_server.port}", within=60)
        await echo_clients(proxy.port, 2)
        assert await proxy.stop() == 0
    log = proxy.output.decode(errors="replace")
    assert log.count("refused several AT channels") == 1, log
    assert "AT+CMUX=? answered ERROR" in log, log


@asynccontextmanager
async def cmux_proxy(nursery: trio.Nursery, echo_server: TlsServer, ca_file: Path,
                     **emulator: Any) -> AsyncIterator[ProxyService]:
    """The proxy with ``--channels cmux`` and a status page, on an emulator with
    ``emulator`` options; shut down on exit."""
    config = EmulatorConfig(resolve=RESOLVE, real_dns=False, **emulator)
    async with Emulator.running(config) as emu:
        service = await start_proxy(nursery, emu, "--channels", "cmux", "--cacert",
                                    str(ca_file), "--map", f"0=echo.test:{echo_server.port}",
                                    "--status", "127.0.0.1:0")
        yield service
        service.request_shutdown()


async def channels_after_an_echo(service: ProxyService) -> dict[str, Any]:
    """One echo through ``service``, then its status page's ``channels``."""
    async with await connect(service) as stream:
        assert await round_trip(stream, b"m" * 3000) == b"m" * 3000
    page = await status_json(service.status_address)
    return dict(page["modems"][0]["channels"])


async def test_a_module_silent_at_the_mux_start_is_tried_again_not_held_on_one_channel(
        echo_server: TlsServer, ca_file: Path, nursery: trio.Nursery) -> None:
    """No UA to the first multiplexer start (a module silent right after AT+CMUX's
    OK) is a lost life: the next one runs on CMUX, not ten minutes on one channel."""
    async with cmux_proxy(nursery, echo_server, ca_file, cmux_unanswered_starts=1) as service:
        channels = await channels_after_an_echo(service)
        assert (channels["kind"], channels["fallback"]) == ("cmux", None)
        assert channels["mux_starts_lost"] == 1 and channels["fallbacks"] == {}
        _, body = await http_get(service.status_address, "/metrics")
        assert 'ssl_proxy_mux_starts_lost_total{modem="modem1"} 1.0' in body.decode()


async def test_an_msc_lost_on_the_way_to_the_module_is_sent_again_and_shown(
        echo_server: TlsServer, ca_file: Path, nursery: trio.Nursery) -> None:
    """The host's first MSC (DLC 1's signals at its open) is lost on the line: the
    proxy sends it again when no answer comes, and the status page and
    ``/metrics`` count it (a noisy line toward the module)."""
    async with cmux_proxy(nursery, echo_server, ca_file,
                          faults=("mux_status_loss:1",)) as service:
        modem = service.pool.members[0].modem
        assert modem is not None
        await wait_until(lambda: modem.channel_book.statuses_resent >= 1)
        channels = await channels_after_an_echo(service)
        assert channels["kind"] == "cmux" and channels["statuses_resent"] >= 1
        _, body = await http_get(service.status_address, "/metrics")
        assert 'ssl_proxy_mux_statuses_resent_total{modem="modem1"}' in body.decode()


async def test_a_module_silent_as_dlc_1_opens_is_tried_again_not_held_on_one_channel(
        echo_server: TlsServer, ca_file: Path, nursery: trio.Nursery) -> None:
    """No UA to DLC 1's SABM (the first session's DLC 1 drops every frame) is a
    lost life too; DM to it would be a refusal."""
    async with cmux_proxy(nursery, echo_server, ca_file,
                          faults=("dlc_silent:1",)) as service:
        channels = await channels_after_an_echo(service)
        assert (channels["kind"], channels["fallbacks"]) == ("cmux", {})
        assert channels["mux_starts_lost"] == 1


async def test_a_dlc_that_is_no_at_port_is_left_out_not_taken_for_a_refusal(
        echo_server: TlsServer, ca_file: Path, nursery: trio.Nursery) -> None:
    """Firmware that keeps a DLC for something else (GNSS NMEA) opens it and never
    answers AT there: the other DLCs serve (before: one channel for ten minutes)."""
    async with cmux_proxy(nursery, echo_server, ca_file, cmux_mute_dlcs=(3,)) as service:
        channels = await channels_after_an_echo(service)
        assert (channels["kind"], channels["fallbacks"]) == ("cmux", {})
        assert [c["name"] for c in channels["channels"]] == ["DLC 1", "DLC 2", "DLC 4"]


@pytest.mark.long  # three lives of unanswered ATs
async def test_a_module_whose_dlcs_all_stay_silent_is_not_taken_for_a_refusal(
        echo_server: TlsServer, ca_file: Path, nursery: trio.Nursery) -> None:
    """No DLC answers AT, DLC 1 neither: a module gone silent, a lost life tried
    again at once; three in a row hold it on one channel (not one refusal)."""
    async with cmux_proxy(nursery, echo_server, ca_file,
                          cmux_mute_dlcs=(1, 2, 3, 4)) as service:
        channels = await channels_after_an_echo(service)
        assert channels["kind"] == "single"
        assert channels["mux_starts_lost"] == 3
        assert channels["fallback"] == "lost its channels in 3 lives in a row"


@pytest.mark.parametrize("rtscts", [False, True])
async def test_a_channel_is_lent_for_transparent_mode_only_on_a_line_with_flow_control(
        ca_file: Path, nursery: trio.Nursery, rtscts: bool) -> None:
    """Without RTS/CTS a module that stalls drops our frames, and in transparent
    mode nothing would show the hole the server gets (the 30-minute cmux soak,
    seed 10: 8,067 bytes missing upstream after a silence)."""
    config = EmulatorConfig(resolve=RESOLVE, real_dns=False, rtscts=rtscts)
    async with Emulator.running(config) as emu:
        flags = ("--rtscts",) if rtscts else ()
        service = await start_proxy(nursery, emu, "--channels", "cmux", *flags, "--cacert",
                                    str(ca_file), *MAP)
        assert (service.pool.members[0].dedicated is not None) is rtscts
        service.request_shutdown()


# -- what is shown -------------------------------------------------------------------

async def test_status_and_metrics_show_the_dlcs(echo_server: TlsServer, ca_file: Path,
                                                nursery: trio.Nursery) -> None:
    config = EmulatorConfig(resolve=RESOLVE, real_dns=False)
    async with Emulator.running(config) as emu:
        service = await start_proxy(nursery, emu, "--channels", "cmux", "--cacert",
                                    str(ca_file), "--map", f"0=echo.test:{echo_server.port}",
                                    "--status", "127.0.0.1:0")
        async with await connect(service) as stream:
            assert await round_trip(stream, b"c" * 5000) == b"c" * 5000
            page = await status_json(service.status_address)
        channels = page["modems"][0]["channels"]
        assert channels["kind"] == "cmux" and channels["mode"] == "cmux"
        assert channels["n1"] == 127
        rows = {c["name"]: c for c in channels["channels"]}
        assert rows["DLC 1"]["roles"][0] == "control"
        assert sum(len(c["sockets"]) for c in rows.values()) == 1
        status, body = await http_get(service.status_address, "/metrics")
        assert status == 200
        samples = {(s.name, frozenset(s.labels.items())): s.value
                   for family in text_string_to_metric_families(body.decode())
                   for s in family.samples}
        assert samples[("ssl_proxy_channels", frozenset(
            {"modem": "modem1", "kind": "cmux"}.items()))] == 4
        moved = sum(v for (name, labels), v in samples.items()
                    if name == "ssl_proxy_channel_bytes_total"
                    and ("direction", "to_module") in labels)
        assert moved > 5000
        assert samples[("ssl_proxy_channel_frames_total", frozenset(
            {"modem": "modem1", "channel": "DLC 1", "direction": "to_module"}.items()))] > 0
        assert samples[("ssl_proxy_mux_bad_frames_total", frozenset(
            {"modem": "modem1", "reason": "fcs"}.items()))] == 0
        service.request_shutdown()


@pytest.mark.parametrize(("module_max", "expected"), [(32768, 1500), (127, 127)])
async def test_the_frame_size_asked_is_used_unless_the_module_lists_a_smaller_one(
        echo_server: TlsServer, ca_file: Path, nursery: trio.Nursery, module_max: int,
        expected: int) -> None:
    config = EmulatorConfig(resolve=RESOLVE, real_dns=False, cmux_n1_max=module_max)
    async with Emulator.running(config) as emu:
        service = await start_proxy(nursery, emu, "--channels", "cmux", "--mux-n1", "1500",
                                    "--cacert", str(ca_file), "--map",
                                    f"0=echo.test:{echo_server.port}", "--status", "127.0.0.1:0")
        payload = os.urandom(40_000)
        async with await connect(service) as stream:
            assert await round_trip(stream, payload) == payload
            page = await status_json(service.status_address)
        assert page["modems"][0]["channels"]["n1"] == expected
        service.request_shutdown()


def test_the_frame_size_setting_is_checked_in_one_line(tmp_path: Path) -> None:
    assert parse_command_line([*MAP]).mux_n1 == 127
    assert parse_command_line([*MAP, "--mux-n1", "1500"]).mux_n1 == 1500
    path = tmp_path / "proxy.toml"
    path.write_text('mux-n1 = 4096\n[[map]]\nlisten = 0\nconnect = "h:1"\n')
    assert build_config({}, load_toml(path)).mux_n1 == 4096
    done = run_cli(*MAP, "--mux-n1", "0")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "--mux-n1" in done.stderr


def test_doctor_says_what_auto_would_pick(tmp_path: Path) -> None:
    done = run_cli("doctor", "--emulate", "--channels", "cmux",
                   "--transcript", str(tmp_path / "doctor.txt"), timeout=120)
    line = next(x for x in done.stdout.splitlines() if " channels " in x)
    assert "PASS" in line
    assert "AT+CMUX offered (frames up to 32768 bytes)" in line
    assert "--channels auto would use single: the module's second USB AT port (usbmodem) " \
           "was not found" in line
    assert "(--channels is cmux)" in line
