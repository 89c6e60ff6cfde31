"""The benchmark's own arithmetic and defaults (``tests/benchmarks``; docs/benchmarks.md).

The benchmarks are not tests, but the bound they print beside each figure
and the access mode they name in each record must be right: the PPP bound is
plain arithmetic over the header and framing sizes, checked here by hand,
and the mode the benchmark reports for "the proxy's default" is the one the
settings table declares.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from proxy.config.build import build_config
from proxy.config.settings import SETTINGS
from proxy.connections.transparent_policy import TransparentUse
from tests.benchmarks.access_modes import default_mode, proxy_mode
from tests.benchmarks.channel_modes import (
    emulator_args,
    map_keys,
    parse_channels,
    proxy_device,
)
from tests.benchmarks.ppp_bound import (
    LINUX_PPPD,
    VARIANTS,
    bound_fields,
    cmux_share,
    ppp_bound,
    smallest_n1,
)
from tests.benchmarks.processes import EmulatorProcess, maps_toml
from tests.benchmarks.report import mode_label

# TLS plaintext per 1500-byte IP packet: 1448 TCP payload bytes (52 bytes of
# IPv4, TCP and timestamps) less 29 bytes per 16 KiB record (TLS 1.2 AES-GCM).
PAYLOAD = 1448 * 16384 / (16384 + 29)
# The PPP frame: packet + protocol (PFC) + FCS, 2 of 256 byte values escaped,
# one shared flag.
DATA_FRAME = (1500 + 1 + 2) * (1 + 2 / 256) + 1
ACK_FRAME = (52 + 1 + 2) * (1 + 2 / 256) + 1


def test_one_way_bound_at_115200_is_the_payload_over_the_frame() -> None:
    bound = ppp_bound(115200)
    assert bound.line_rate == 11520
    assert bound.one_way == pytest.approx(11520 * PAYLOAD / DATA_FRAME)
    assert round(bound.one_way / bound.line_rate, 4) == 0.9536


def test_each_way_adds_an_ack_every_second_segment() -> None:
    bound = ppp_bound(115200)
    assert bound.each_way == pytest.approx(11520 * PAYLOAD / (DATA_FRAME + ACK_FRAME / 2))
    assert round(bound.each_way / bound.line_rate, 4) == 0.9362


def test_the_bound_scales_with_the_baud_rate() -> None:
    slow, fast = ppp_bound(115200), ppp_bound(921600)
    assert fast.one_way == pytest.approx(8 * slow.one_way)
    assert fast.each_way == pytest.approx(8 * slow.each_way)


def test_the_variants_move_the_bound_as_their_bytes_say() -> None:
    shares = {name.split(" (")[0]: (round(link.one_way_share, 4), round(link.each_way_share, 4))
              for name, link in VARIANTS.items()}
    assert shares == {
        "Linux pppd, Quectel module": (0.9536, 0.9362),
        # 12 header bytes fewer per segment
        "a server without TCP timestamps": (0.9615, 0.9477),
        # FF 03, a 2-byte protocol and a second flag: the rough 0.95 / 0.93
        "no ACFC/PFC, two flags per frame": (0.9511, 0.9325),
        # 34 of 256 byte values escaped
        "ACCM not negotiated": (0.8485, 0.8330),
    }
    assert VARIANTS["ACCM not negotiated (all 32 control characters escaped)"].wire(1500) == (
        pytest.approx(1503 * 290 / 256 + 1))


def test_record_fields_use_one_way_or_both_ways_as_the_scenario_does() -> None:
    line = 11520
    download = bound_fields("download", 115200, 0.9 * line)
    assert download == {"ppp_goodput": round(line * LINUX_PPPD.one_way_share, 1),
                        "ppp_share": 0.9536,
                        "ppp_ratio": round(0.9 / LINUX_PPPD.one_way_share, 4)}
    mixed = bound_fields("mixed", 115200, line)
    assert mixed["ppp_share"] == round(2 * LINUX_PPPD.each_way_share, 4) == 1.8724
    assert mixed["ppp_each_way_share"] == 0.9362
    assert mixed["ppp_ratio"] == round(1 / (2 * LINUX_PPPD.each_way_share), 4)
    assert bound_fields("reqresp", 115200, line) == {}
    assert bound_fields("unpaced", 0, 4e6) == {}


def test_cmux_n1_that_carries_more_than_the_bound() -> None:
    assert cmux_share(127) == 127 / 133  # 6 bytes around a frame with a 1-byte length
    assert cmux_share(128) == 128 / 135  # 7 with a 2-byte length
    one_way = LINUX_PPPD.one_way_share
    assert smallest_n1(one_way, 127) == 124
    assert cmux_share(123) < one_way < cmux_share(124)
    assert smallest_n1(one_way) == 144
    assert cmux_share(143) < one_way < cmux_share(144)
    assert smallest_n1(LINUX_PPPD.each_way_share) == 89


def test_the_benchmark_follows_the_proxys_default_access_mode() -> None:
    assert default_mode() == str(SETTINGS.default("access-mode"))
    mode = proxy_mode(None)
    assert (mode.name, mode.args, mode.default) == (default_mode(), (), True)
    assert proxy_mode("buffer").args == ("--access-mode", "buffer")


def test_channels_are_named_in_the_records_and_parsed_strictly(tmp_path: Path) -> None:
    assert parse_channels("single, cmux,ports") == ("single", "cmux", "ports")
    with pytest.raises(ValueError, match="--channels takes"):
        parse_channels("single,dlc")
    assert parse_channels("cmux:1500") == ("cmux:1500",)
    for bad in ("ports:1500", "cmux:big"):
        with pytest.raises(ValueError, match="--channels takes"):
            parse_channels(bad)
    assert mode_label({"access_mode": "push", "channels": "cmux"}) == "push, cmux"
    assert mode_label({"access_mode": "push", "access_mode_default": True}) == "push (default)"
    emulator = EmulatorProcess("/dev/pts/7", 1, {"usbmodem": "/dev/pts/8"})
    assert proxy_device(None, emulator, tmp_path) == ("/dev/pts/7", ())
    assert proxy_device("cmux", emulator, tmp_path) == (
        "/dev/pts/7", ("--channels", "cmux", "--rtscts"))  # a lent DLC needs flow control
    assert proxy_device("cmux:1500", emulator, tmp_path) == (
        "/dev/pts/7", ("--channels", "cmux", "--rtscts", "--mux-n1", "1500"))
    assert proxy_device("single", emulator, tmp_path) == ("/dev/pts/7", ("--channels", "single"))
    device, flags = proxy_device("ports", emulator, tmp_path)
    assert Path(device).name.endswith("-if02-port0")
    assert Path(device).readlink() == Path("/dev/pts/7")
    assert flags == ("--channels", "ports", "--urc-port", "usbat", "--rtscts")
    assert emulator_args(("single", "ports")) == ("--extra-port", "usbmodem")
    assert emulator_args(("ports/always",)) == ("--extra-port", "usbmodem")
    assert emulator_args(("single", "cmux")) == ()


def test_a_channel_kind_may_set_every_maps_transparent_use_through_a_settings_file() -> None:
    assert parse_channels("cmux:1500/always,cmux/never") == ("cmux:1500/always", "cmux/never")
    with pytest.raises(ValueError, match="--channels takes"):
        parse_channels("cmux/sometimes")
    emulator = EmulatorProcess("/dev/pts/7", 1, {})
    assert proxy_device("cmux:1500/always", emulator, Path("/tmp")) == (
        "/dev/pts/7", ("--channels", "cmux", "--rtscts", "--mux-n1", "1500"))
    assert map_keys("cmux:1500/always") == {"transparent": "always"}
    assert map_keys("cmux") == map_keys(None) == {}
    config = build_config({"emulate": True}, tomllib.loads(
        maps_toml("bench.test", [4433, 4434], map_keys("cmux/always"))))
    assert [(m.remote.port, m.transparent) for m in config.maps] == [
        (4433, TransparentUse.ALWAYS), (4434, TransparentUse.ALWAYS)]
