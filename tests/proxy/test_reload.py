"""SIGHUP reloads the config (proxy.ops.reload): maps added, removed, changed live."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import pytest
import trio

from modem.bringup.contexts import assign_contexts
from modem.core.profile import TlsProfile
from proxy.cli import parse_command_line
from proxy.config.profiles import build_profiles, load_all_material
from proxy.ops.reload import plan_reload
from proxy.service import ProxyService
from tests.helpers import TlsServer, free_port, read_all, round_trip, source_data, wait_until
from tests.proxy_helpers import start_proxy, start_proxy_process


def write_config(path: Path, ca_file: Path, maps: list[tuple[int, str, str | None]],
                 extra: str = "") -> None:
    """A config file: emulated module, each map (port, remote, its own cacert or None)."""
    lines = ["emulate = true", 'resolve = { "echo.test" = "127.0.0.1", '
             '"source.test" = "127.0.0.1" }', f'cacert = "{ca_file}"', "grace = 1", extra]
    for port, remote, cacert in maps:
        lines += ["[[map]]", f"listen = {port}", f'connect = "{remote}"']
        if cacert is not None:
            lines.append(f'cacert = "{cacert}"')
    path.write_text("\n".join(lines) + "\n")


async def test_reload_adds_a_map_while_a_transfer_continues(server_cert, ca_file, tmp_path,
                                                            nursery):
    size = 400_000
    source = await nursery.start(TlsServer(server_cert, "source", source_bytes=size).serve)
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    first, second = free_port(), free_port()
    config = tmp_path / "proxy.toml"
    write_config(config, ca_file, [(first, f"source.test:{source.port}", None)])
    proxy = await start_proxy_process(nursery, tmp_path / "proxy.log", "--config", str(config),
                                      "-v")

    # The new map's CA file holds the same CA but other bytes: it is uploaded anew.
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(ca_file.read_bytes() + b"\n")
    async with await trio.open_tcp_stream("127.0.0.1", first) as transfer:
        got = bytearray()
        while len(got) < size // 4:
            got += await transfer.receive_some(65536)
        write_config(config, ca_file, [(first, f"source.test:{source.port}", None),
                                       (second, f"echo.test:{echo.port}", str(other_ca))],
                     extra="apn = \"changed.example\"")
        proxy.process.send_signal(signal.SIGHUP)
        await proxy.wait_for(b"reloaded")
        async with await trio.open_tcp_stream("127.0.0.1", second) as added:
            assert await round_trip(added, b"through the new map") == b"through the new map"
        got += await read_all(transfer)
    assert hashlib.sha256(got).digest() == hashlib.sha256(source_data(size)).digest()
    log = proxy.output.decode()
    assert f"listening on 127.0.0.1:{second} -> echo.test:{echo.port}" in log
    assert "uploaded file" in log  # the new CA file went to the module
    assert "need a restart" in log and "settings=apn" in log

    write_config(config, ca_file, [(first, "source.test:not-a-port", None)])  # invalid
    proxy.process.send_signal(signal.SIGHUP)
    await proxy.wait_for(b"reload failed")
    async with await trio.open_tcp_stream("127.0.0.1", second) as still:
        assert await round_trip(still, b"old maps stay") == b"old maps stay"

    proxy.process.send_signal(signal.SIGTERM)
    assert await proxy.wait() == 0, proxy.output.decode()
    assert b"Traceback" not in proxy.output


def source_from(argv: list[str]):
    def read():
        config = parse_command_line(argv)
        return config, build_profiles(config, load_all_material(config))
    return read


async def test_reload_removes_and_changes_maps(emulator, server_cert, ca_file, nursery):
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    other = await nursery.start(TlsServer(server_cert, "echo").serve)
    kept, dropped = free_port(), free_port()
    base = ["--device", emulator.device, "--cacert", str(ca_file)]
    service: ProxyService = await start_proxy(
        nursery, emulator, "--cacert", str(ca_file),
        "--map", f"{kept}=echo.test:{echo.port}", "--map", f"{dropped}=echo.test:{echo.port}")
    async with await trio.open_tcp_stream("127.0.0.1", dropped) as on_removed:
        assert await round_trip(on_removed, b"before") == b"before"
        applied = await service.reload(source_from(
            [*base, "--map", f"{kept}=other.test:{other.port}"]))
        assert applied
        # The removed map's open connection runs on; its port no longer accepts.
        assert await round_trip(on_removed, b"still open") == b"still open"
        with pytest.raises(OSError):
            await trio.open_tcp_stream("127.0.0.1", dropped)
    async with await trio.open_tcp_stream("127.0.0.1", kept) as changed:
        assert await round_trip(changed, b"to the new remote") == b"to the new remote"
    await wait_until(lambda: len(other.connections) == 1)
    assert [str(m.remote) for m in service.config.maps] == [f"other.test:{other.port}"]
    service.request_shutdown()


async def test_an_invalid_reload_keeps_the_old_maps(emulator, echo_server, ca_file, tmp_path,
                                                    nursery, caplog):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}")
    before = service.config
    bad_ca = tmp_path / "bad.pem"
    bad_ca.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    assert not await service.reload(source_from(
        ["--device", emulator.device, "--cacert", str(bad_ca), "--map", "0=echo.test:1"]))
    assert service.config is before
    assert any("reload failed" in r.getMessage() for r in caplog.records)
    where = list(service.listen_addresses.values())[0]
    async with await trio.open_tcp_stream(where.host, where.port) as stream:
        assert await round_trip(stream, b"unchanged") == b"unchanged"
    service.request_shutdown()


def test_plan_reload_sorts_maps_and_keeps_restart_settings():
    old = parse_command_line(["--emulate", "--map", "9000=a.test:443", "--map", "9001=b.test:443",
                              "--grace", "1"])
    new = parse_command_line(["--emulate", "--map", "9000=a.test:8443", "--map", "9002=c.test:443",
                              "--grace", "2", "--max-connections", "3"])
    plan = plan_reload(old, new)
    assert [str(m.listen) for m in plan.added] == ["127.0.0.1:9002"]
    assert [str(m.listen) for m in plan.removed] == ["127.0.0.1:9001"]
    assert [(str(a.remote), str(b.remote)) for a, b in plan.changed] == [
        ("a.test:443", "a.test:8443")]
    assert plan.needs_restart == ("max-connections",)
    assert plan.config.max_connections == old.max_connections and plan.config.grace == 2


def test_assign_contexts_keeps_ids_in_use_and_reuses_freed_ones_last():
    a, b, c = (TlsProfile(seclevel=0, negotiate_timeout=t) for t in (10, 20, 30))
    assert assign_contexts({a: 0, b: 1}, [b, c]) == {b: 1, c: 2}
    full = {TlsProfile(seclevel=0, negotiate_timeout=10 + n): n for n in range(6)}
    kept = list(full)[1:]
    assert assign_contexts(full, [*kept, c])[c] == 0


async def test_a_changed_ca_file_is_uploaded_and_used_by_new_connections(emulator, server_cert,
                                                                        ca_file, tmp_path,
                                                                        nursery):
    from modem.core.profile import module_file_name

    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(ca_file.read_bytes())
    argv = ["--device", emulator.device, "--cacert", str(ca),
            "--map", f"0=echo.test:{echo.port}"]
    service = await start_proxy(nursery, emulator, *argv[2:])
    where = list(service.listen_addresses.values())[0]
    async with await trio.open_tcp_stream(where.host, where.port) as before:
        assert await round_trip(before, b"old context") == b"old context"
        ca.write_bytes(ca_file.read_bytes() + b"\n")  # renewed: same CA, other bytes
        assert await service.reload(source_from(argv))
        new_name = module_file_name(ca.read_bytes())
        contexts = {cfg.cacert: n for n, cfg in emulator.module.ssl_contexts.items()}
        assert new_name in contexts  # uploaded, a context configured for it
        async with await trio.open_tcp_stream(where.host, where.port) as after:
            assert await round_trip(after, b"new context") == b"new context"
            in_use = {s.ctx_id for s in emulator.module.sockets.values()}
            assert contexts[new_name] in in_use  # the new connection uses it
        assert await round_trip(before, b"still flowing") == b"still flowing"
    service.request_shutdown()
