"""A map listening on IPv6 (``--map [::1]:0=HOST:PORT``) serves real transfers,
and its allow list takes IPv6 addresses.

Skipped only when this machine has no IPv6 loopback at all (checked when the
test runs: binding ``::1`` fails); CI machines have it.
"""

from __future__ import annotations

import hashlib
import socket

import pytest
import trio

from proxy.config.endpoint import Endpoint
from tests.helpers import TlsServer, read_all, round_trip, source_data
from tests.proxy_helpers import address, start_proxy, status_json, talk


@pytest.fixture(autouse=True)
def _ipv6_loopback() -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"this machine has no IPv6 loopback (binding ::1: {exc})")


async def open_v6(where: Endpoint) -> trio.SocketStream:
    assert where.host == "::1"
    return await trio.open_tcp_stream("::1", where.port)


async def test_a_transfer_through_an_ipv6_listener(emulator, server_cert, ca_file, nursery):
    size = 300_000
    source = await nursery.start(TlsServer(server_cert, "source", source_bytes=size).serve)
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file), "--status", "0",
                                "--map", f"[::1]:0=source.test:{source.port}")
    where = address(service)
    async with await open_v6(where) as stream:
        with trio.fail_after(30):
            got = await read_all(stream)
    assert hashlib.sha256(got).digest() == hashlib.sha256(source_data(size)).digest()
    page = await status_json(service.status_address)
    assert page["maps"][0]["listen"] == f"[::1]:{where.port}" == str(where)
    assert page["counters"]["bytes_down"] == size
    assert page["counters"]["ends"] == {"remote_closed": 1}


async def test_an_ipv6_allow_list(emulator, echo_server, ca_file, nursery):
    remote = f"echo.test:{echo_server.port}"
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file), "--status", "0",
                                "--map", f"[::1]:0={remote}", "--map", f"127.0.0.1:0={remote}",
                                "--allow", "::1/128,fd00::/8")
    async with await open_v6(address(service, 0)) as stream:
        assert await round_trip(stream, b"over IPv6") == b"over IPv6"
    seen = await talk(address(service, 1).port, b"from 127.0.0.1")  # not in the list
    assert seen.end == "reset"
    page = await status_json(service.status_address)
    assert [m["refused"] for m in page["maps"]] == [0, 1]
