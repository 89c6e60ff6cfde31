"""``--map unix:PATH=HOST:PORT``: a map listening on a Unix socket file.

The file is a socket of mode 0660 in the owner's group while the proxy
serves it, gone after it; a stale file from a crashed run is replaced and a
live one refused (the AT console's listener, ``proxy.ops.unix_listener``);
a reload adds and removes such a map with its file.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import stat

import pytest
import trio

from proxy.config.build import build_config
from proxy.errors import ListenError
from proxy.service import ServiceState
from tests.helpers import TlsServer, read_all, round_trip, source_data, wait_until
from tests.proxy_helpers import build_service, start_proxy, start_proxy_process, status_json


async def test_a_unix_map_serves_a_transfer_and_leaves_no_file(
        emulator, server_cert, ca_file, tmp_path, nursery):
    size = 200_000
    path = tmp_path / "api.sock"
    source = await nursery.start(TlsServer(server_cert, "source", source_bytes=size).serve)
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file), "--status", "0",
                                "--map", f"unix:{path}=source.test:{source.port}")
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == os.getegid()
    async with await trio.open_unix_socket(str(path)) as stream:
        with trio.fail_after(30):
            got = await read_all(stream)
        assert hashlib.sha256(got).digest() == hashlib.sha256(source_data(size)).digest()
    page = await status_json(service.status_address)
    assert page["maps"][0]["listen"] == f"unix:{path}"
    assert page["maps"][0]["allow"] is None and page["counters"]["bytes_down"] == size
    service.request_shutdown()
    await wait_until(lambda: service.state is ServiceState.STOPPED)
    assert not path.exists()


async def test_a_unix_client_is_named_by_its_process_and_user(
        emulator, echo_server, ca_file, tmp_path, nursery):
    path = tmp_path / "api.sock"
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"unix:{path}=echo.test:{echo_server.port}")
    async with await trio.open_unix_socket(str(path)) as stream:
        assert await round_trip(stream, b"who am I") == b"who am I"
        (record,) = service.registry.connections.values()
        assert record.peer == f"unix:pid={os.getpid()},uid={os.geteuid()}"
        assert record.listen == f"unix:{path}"


async def test_a_stale_file_is_replaced_and_a_live_one_refused(tmp_path, ca_file):
    stale, live = tmp_path / "stale.sock", tmp_path / "live.sock"
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(stale))
    crashed.close()  # the file stays, nobody accepts: what a crash leaves
    serving = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    serving.bind(str(live))
    serving.listen()
    try:
        service = build_service(build_config({
            "emulate": True, "cacert": str(ca_file),
            "map": [f"unix:{stale}=echo.test:443", f"unix:{live}=echo.test:443"]}))
        with pytest.raises(ListenError, match="another process serves it") as caught:
            with trio.fail_after(30):
                await service.run()
        assert f"unix:{live}" in str(caught.value)
        assert stat.S_ISSOCK(os.stat(live).st_mode)  # still the other process's
        assert not stale.exists()  # replaced, then removed as the start failed
    finally:
        serving.close()


def write_config(path, ca_file, maps: list[str]) -> None:
    lines = ["emulate = true", 'resolve = { "echo.test" = "127.0.0.1" }',
             f'cacert = "{ca_file}"', "grace = 1"]
    for listen_at, remote in maps:
        lines += ["[[map]]", f'listen = "{listen_at}"', f'connect = "{remote}"']
    path.write_text("\n".join(lines) + "\n")


async def test_a_reload_adds_and_removes_a_unix_map_with_its_file(
        server_cert, ca_file, tmp_path, nursery):
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    remote = f"echo.test:{echo.port}"
    config, path = tmp_path / "proxy.toml", tmp_path / "api.sock"
    write_config(config, ca_file, [("127.0.0.1:0", remote)])
    proxy = await start_proxy_process(nursery, tmp_path / "proxy.log", "--config", str(config))
    assert not path.exists()

    write_config(config, ca_file, [("127.0.0.1:0", remote), (f"unix:{path}", remote)])
    proxy.process.send_signal(signal.SIGHUP)
    await proxy.wait_for(f"listening on unix:{path} -> {remote}".encode())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    async with await trio.open_unix_socket(str(path)) as stream:
        assert await round_trip(stream, b"through the new map") == b"through the new map"

    write_config(config, ca_file, [("127.0.0.1:0", remote)])
    proxy.process.send_signal(signal.SIGHUP)
    await proxy.wait_for(f"no longer listening on unix:{path}".encode())
    await wait_until(lambda: not path.exists(), within=10)
    assert await proxy.stop() == 0
