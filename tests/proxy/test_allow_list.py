"""A map's allow list: clients from other addresses are reset at once and counted.

The list is parsed once (``proxy.config.allow``); a refused client never
takes a module socket or a queue place, shows in ``refused`` on the status
page and in ``ssl_proxy_clients_refused_total``; a Unix-socket map takes
none (its file's permissions decide).
"""

from __future__ import annotations

import ipaddress
import re

import pytest
import trio

from proxy.cli import parse_command_line
from proxy.config.allow import parse_allow
from proxy.config.build import ConfigError, build_config
from proxy.config.endpoint import UnixAddress
from proxy.config.profiles import build_profiles, load_all_material
from proxy.config.toml_file import load_toml
from proxy.logging_setup import NOTICE
from tests.helpers import free_port, round_trip
from tests.proxy_helpers import (
    address,
    http_get,
    messages,
    proxy_on_emulator,
    run_cli,
    start_proxy,
    status_json,
    talk,
)

REMOTE = "api.example.com:443"


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_addresses_and_networks_of_both_families():
    allow = parse_allow(["10.0.0.0/8, 192.168.1.7", "fd00::/8", "::1"], "allow")
    assert allow.entries == ["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"]
    for admitted in ("10.200.3.4", "192.168.1.7", "fd12::5", "::1"):
        assert allow.admits(ip(admitted)), admitted
    for refused in ("11.0.0.1", "192.168.1.8", "fe80::1", "::2", "127.0.0.1"):
        assert not allow.admits(ip(refused)), refused


def test_an_ipv4_mapped_peer_matches_the_ipv4_rules():
    allow = parse_allow(["10.0.0.0/8"], "allow")
    assert allow.admits(ip("::ffff:10.1.2.3"))
    assert not allow.admits(ip("::ffff:11.1.2.3"))


@pytest.mark.parametrize(("entries", "message"), [
    (["api.example.com"], "neither an IP address nor a network; .*names are not resolved"),
    (["10.1.2.3/8"], "has bits set past its /8; write 10.0.0.0/8"),
    (["10.0.0.0/33"], "neither an IP address nor a network"),
    ([], "an empty allow list would refuse every client"),
    ([" , "], "an empty allow list would refuse every client"),
])
def test_a_bad_entry_is_one_line_that_says_what_to_write(entries, message):
    with pytest.raises(ConfigError, match=message) as caught:
        parse_allow(entries, "--allow")
    assert "\n" not in str(caught.value)


def test_the_flag_repeats_and_takes_commas_for_every_tcp_map():
    config = build_config({"map": [f"0.0.0.0:9000={REMOTE}", f"9001={REMOTE}"],
                           "allow": ["10.0.0.0/8,192.168.1.7", "fd00::/8"]})
    for mapping in config.maps:
        assert mapping.allow is not None
        assert mapping.allow.entries == ["10.0.0.0/8", "192.168.1.7", "fd00::/8"]


def test_a_map_table_has_its_own_over_the_top_level(tmp_path):
    path = tmp_path / "proxy.toml"
    path.write_text(f'allow = ["10.0.0.0/8"]\n'
                    f'[[map]]\nlisten = "0.0.0.0:9000"\nconnect = "{REMOTE}"\n'
                    f'allow = ["192.168.1.7", "fd00::/8"]\n'
                    f'[[map]]\nlisten = 9001\nconnect = "{REMOTE}"\n'
                    f'[[map]]\nlisten = "unix:{tmp_path}/api.sock"\nconnect = "{REMOTE}"\n')
    own, default, unix = build_config({}, load_toml(path)).maps
    assert own.allow is not None and own.allow.entries == ["192.168.1.7", "fd00::/8"]
    assert default.allow is not None and default.allow.entries == ["10.0.0.0/8"]
    assert isinstance(unix.listen, UnixAddress) and unix.allow is None  # its file decides


def test_a_unix_map_with_its_own_allow_list_is_refused_in_one_line(tmp_path):
    path = tmp_path / "proxy.toml"
    path.write_text(f'emulate = true\n[[map]]\nlisten = "unix:{tmp_path}/api.sock"\n'
                    f'connect = "{REMOTE}"\nallow = ["10.0.0.0/8"]\n')
    result = run_cli("--config", str(path))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "a Unix-socket map takes no allow list" in line
    assert "permissions decide who connects" in line and "remove allow" in line


def test_an_allow_flag_with_only_unix_maps_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="every map listens on a Unix socket file"):
        build_config({"map": [f"unix:{tmp_path}/a.sock={REMOTE}"], "allow": ["10.0.0.0/8"]})


async def refused_metric(service) -> dict[str, float]:
    """``ssl_proxy_clients_refused_total`` on ``/metrics``, by its ``map`` label."""
    status, body = await http_get(service.status_address, "/metrics")
    assert status == 200
    pattern = r'^ssl_proxy_clients_refused_total\{map="([^"]*)"\} (\S+)$'
    return {found[1]: float(found[2])
            for found in re.finditer(pattern, body.decode(), re.MULTILINE)}


async def test_a_client_outside_the_list_is_reset_counted_and_never_queued(
        emulator, echo_server, ca_file, tmp_path, nursery):
    remote = f"echo.test:{echo_server.port}"
    path = tmp_path / "proxy.toml"
    path.write_text(f'cacert = "{ca_file}"\n'
                    f'[[map]]\nlisten = 0\nconnect = "{remote}"\nallow = ["10.0.0.0/8"]\n'
                    f'[[map]]\nlisten = 0\nconnect = "{remote}"\nallow = ["127.0.0.0/8"]\n')
    service = await start_proxy(nursery, emulator, "--config", str(path), "--status", "0")
    closed, opened = address(service, 0), address(service, 1)
    for _ in range(3):
        seen = await talk(closed.port, b"let me in")
        assert seen.end == "reset" and seen.data == b""
    async with await trio.open_tcp_stream(opened.host, opened.port) as stream:
        assert await round_trip(stream, b"allowed") == b"allowed"
    page = await status_json(service.status_address)
    assert [m["refused"] for m in page["maps"]] == [3, 0]
    assert [m["allow"] for m in page["maps"]] == [["10.0.0.0/8"], ["127.0.0.0/8"]]
    assert page["counters"]["refused"] == 3
    assert page["counters"]["accepted"] == 1  # the refused never became connections
    assert len(echo_server.connections) == 1  # no module socket was opened for them
    assert await refused_metric(service) == {f"{closed} -> {remote}": 3.0,
                                             f"{opened} -> {remote}": 0.0}


async def test_a_listener_beyond_loopback_is_warned_about_only_without_a_list(caplog, ca_file):
    caplog.set_level(NOTICE)
    flags = {"map": [f"0.0.0.0:0={REMOTE}"], "cacert": str(ca_file)}
    async with proxy_on_emulator({**flags, "allow": ["10.0.0.0/8"]}) as service:
        bound = address(service)
    log = messages(caplog, NOTICE)
    assert f"listening on {bound} -> {REMOTE} (allow 10.0.0.0/8)" in log
    assert "reachable from other hosts" not in log
    caplog.clear()
    async with proxy_on_emulator(flags):
        pass
    assert "listener reachable from other hosts" in messages(caplog)


async def test_a_reload_changes_the_list_without_closing_the_listener(
        emulator, echo_server, ca_file, tmp_path, nursery):
    port = free_port()
    path = tmp_path / "proxy.toml"

    def write(allow: str) -> None:
        path.write_text(f'cacert = "{ca_file}"\n[[map]]\nlisten = {port}\n'
                        f'connect = "echo.test:{echo_server.port}"\nallow = ["{allow}"]\n')

    write("10.0.0.0/8")
    service = await start_proxy(nursery, emulator, "--config", str(path))
    assert (await talk(port, b"knock")).end == "reset"
    write("127.0.0.1")

    def source():
        config = parse_command_line(["--device", emulator.device, "--config", str(path)])
        return config, build_profiles(config, load_all_material(config))

    assert await service.reload(source)
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        assert await round_trip(stream, b"let in") == b"let in"
    assert service.registry.counters.refused == 1
