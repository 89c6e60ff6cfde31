"""The proxy end to end: local TCP clients -> proxy -> emulated module -> real TLS servers.

Everything is real except the module: the emulator runs on a pseudo-terminal
and makes real TLS connections to servers on 127.0.0.1 whose certificates
come from trustme.  Assertions are on bytes, hashes, counters and the
emulator's sockets, not on log lines (except where a hint for the user is
the point).  Stopping the proxy is in test_shutdown.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal

import pytest
import trio
import trustme

from proxy.config.build import Endpoint
from proxy.connections.registry import OPEN, QUEUED
from tests.helpers import TlsServer, free_port, read_all, round_trip, source_data, wait_until
from tests.proxy_helpers import (
    address,
    connect,
    console_command,
    http_get,
    start_proxy,
    start_proxy_process,
)

# -- data -----------------------------------------------------------------------

async def test_concurrent_clients_through_two_maps(emulator, echo_server, ca_file, nursery):
    port = echo_server.port
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{port}", "--map", f"0=other.test:{port}")
    results: list[tuple[str, str]] = []

    async def client(index: int, seed: int) -> None:
        data = os.urandom(20_000 + seed * 1000)
        stream = await connect(service, index)
        async with stream:
            got = await round_trip(stream, data)
        results.append((hashlib.sha256(data).hexdigest(), hashlib.sha256(got).hexdigest()))

    async with trio.open_nursery() as clients:
        for n in range(10):
            clients.start_soon(client, n % 2, n)
    assert len(results) == 10
    assert all(sent == echoed for sent, echoed in results)
    assert sorted(set(echo_server.sni_seen)) == ["echo.test", "other.test"]
    counters = service.registry.counters
    assert counters.opened == 10 and not counters.open_failures
    assert counters.bytes_up == counters.bytes_down == sum(20_000 + n * 1000 for n in range(10))
    await wait_until(lambda: not emulator.module.sockets and len(service.registry) == 0)
    assert service.modem.client_ids.free == 12


async def test_remote_close_delivers_everything_then_eof(emulator, server_cert, ca_file, nursery):
    source = await nursery.start(TlsServer(server_cert, "source", source_bytes=150_000).serve)
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=source.test:{source.port}")
    async with await connect(service) as stream:
        data = await read_all(stream)
    assert hashlib.sha256(data).digest() == hashlib.sha256(source_data(150_000)).digest()
    await wait_until(lambda: not emulator.module.sockets and service.modem.client_ids.free == 12)


async def test_local_half_close_gets_the_answer_then_a_reset_while_the_remote_stays_open(
        emulator, echo_server, ca_file, nursery):
    """The echo server never learns of the shutdown (the module has no half-close), so
    it never closes: the answer arrives whole, then a reset says it may not be all."""
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}",
                                "--half-close-timeout", "0.5", linger=None)
    async with await connect(service) as stream:
        await stream.send_all(b"question\n" * 1000)
        await stream.send_eof()
        got = bytearray()
        with trio.fail_after(20), pytest.raises(trio.BrokenResourceError) as cut:
            while chunk := await stream.receive_some(65536):
                got += chunk
        assert isinstance(cut.value.__cause__, ConnectionResetError)
    assert got == b"question\n" * 1000
    await wait_until(lambda: not emulator.module.sockets)
    assert service.registry.counters.ends == {"half_close_timeout": 1}
    assert service.registry.counters.resets == 1


# -- admission ------------------------------------------------------------------------

async def test_the_thirteenth_connection_waits_for_a_free_id(
        emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}")
    streams = []
    for n in range(12):
        stream = await connect(service)
        assert await round_trip(stream, b"hello %d" % n) == b"hello %d" % n
        streams.append(stream)
    assert len(emulator.module.sockets) == 12
    last = await connect(service)
    await last.send_all(b"waiting")
    await wait_until(lambda: any(r.state == QUEUED for r in service.registry.connections.values()))
    await streams[0].aclose()
    got = b""
    while len(got) < len(b"waiting"):
        got += await last.receive_some(100)
    assert got == b"waiting"
    assert service.registry.counters.queue_timeouts == 0
    for stream in [*streams[1:], last]:
        await stream.aclose()
    await wait_until(lambda: not emulator.module.sockets)


async def test_past_max_connections_a_client_is_reset_after_the_queue_timeout(
        emulator, echo_server, ca_file, nursery, caplog):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}",
                                "--max-connections", "2", "--queue-timeout", "0.3")
    held = [await connect(service) for _ in range(2)]
    for stream in held:
        assert await round_trip(stream, b"x") == b"x"
    async with await connect(service) as third:
        with pytest.raises(trio.BrokenResourceError):
            await read_all(third)  # reset: nothing was served
    assert service.registry.counters.queue_timeouts == 1
    assert service.registry.counters.ends["queue_timeout"] == 1
    assert len(emulator.module.sockets) == 2
    assert any("--max-connections 2 reached" in r.getMessage() + str(r.__dict__)
               for r in caplog.records)
    for stream in held:
        await stream.aclose()


# -- failed opens ---------------------------------------------------------------------

@pytest.mark.parametrize(("remote", "other_ca", "code", "hint"), [
    ("nowhere.test:443", False, "565", "--resolve"),
    ("echo.test:{refused}", False, "566", "remote port"),
    ("echo.test:{echo}", True, "566", "--cacert"),
])
async def test_failed_open_closes_the_client_and_says_why(
        emulator, echo_server, ca_file, tmp_path, nursery, caplog, remote, other_ca, code, hint):
    cacert = ca_file
    if other_ca:
        cacert = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(cacert)
    remote = remote.format(refused=free_port(), echo=echo_server.port)
    service = await start_proxy(nursery, emulator, "--cacert", str(cacert),
                                "--map", f"0={remote}")
    async with await connect(service) as stream:
        # Reset, not a clean end: the client must not take it for an empty answer.
        with pytest.raises(trio.BrokenResourceError):
            await read_all(stream)
    assert dict(service.registry.counters.open_failures) == {code: 1}
    assert service.registry.counters.opened == 0
    failures = [r for r in caplog.records if r.getMessage() == "open failed"]
    assert len(failures) == 1
    fields = failures[0].kv_fields
    assert f"error {code}" in fields["error"] and hint in fields["hint"]
    await wait_until(lambda: service.modem.client_ids.free == 12)
    assert not emulator.module.sockets


# -- status page and AT console ------------------------------------------------------

async def test_status_page(emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}",
                                "--map", "0=nowhere.test:443", "--status", "0")
    async with await connect(service, 1) as failing:
        with pytest.raises(trio.BrokenResourceError):
            await read_all(failing)
    async with await connect(service) as stream:
        assert await round_trip(stream, b"a" * 5000) == b"a" * 5000
        status, body = await http_get(service.status_address, "/status.json")
        assert status == 200
        data = json.loads(body)
    assert data["module"]["model"] == "EC25"
    assert data["module"]["state"] == "ready"
    assert isinstance(data["module"]["signal_dbm"], int)
    assert data["module"]["address"]
    assert data["module"]["access_mode"] == "push"
    # The emulated module clock starts in 1980; the host's is plausible, so it was set.
    clock = data["module"]["clock"]
    assert (clock["source"], clock["trusted"], clock["reason"]) == (
        "host", True, "host clock plausible")
    assert clock["set_to"] is not None
    status, page = await http_get(service.status_address, "/")
    assert b"<th>access_mode</th>" in page and b"<td>push</td>" in page
    assert b"source: host, reason: host clock plausible, set_to: " in page
    (conn,) = data["connections"]
    # The failed open's ID 0 rests while others are fresh (longest free first, and
    # 1 is among the last: modem.core.push_headers.BUFFER_ONLY_IDS).
    assert conn["state"] == OPEN and conn["client_id"] == 2
    assert conn["bytes_up"] == conn["bytes_down"] == 5000
    assert conn["remote"] == f"echo.test:{echo_server.port}"
    assert conn["listen"] == str(address(service))
    assert data["counters"]["opened"] == 1
    assert data["counters"]["open_failures"] == {"565": 1}
    assert [m["remote"] for m in data["maps"]] == [f"echo.test:{echo_server.port}",
                                                   "nowhere.test:443"]
    status, body = await http_get(service.status_address, "/")
    assert status == 200 and b"EC25" in body
    assert (await http_get(service.status_address, "/nope"))[0] == 404
    assert (await http_get(service.status_address, "/", "POST"))[0] == 405




async def test_at_console_while_data_flows(emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}", "--at-console", "0")
    data = os.urandom(300_000)
    echoed: list[bytes] = []
    flowing = trio.Event()

    async def transfer():
        async with await connect(service) as stream:
            assert await round_trip(stream, b"start") == b"start"
            flowing.set()
            echoed.append(await round_trip(stream, data))

    async with trio.open_nursery() as inner:
        inner.start_soon(transfer)
        await flowing.wait()
        where = service.console_address
        async with await trio.open_tcp_stream(where.host, where.port) as console:
            answer = await console_command(console, "AT+CSQ")
            assert re.fullmatch(r"\+CSQ: \d+,\d+", answer[0]) and answer[-1] == "OK"
            answer = await console_command(console, "AT+QSSLCLOSE=0")
            assert len(answer) == 1 and answer[0].startswith("ERROR: AT+QSSLCLOSE refused")
            answer = await console_command(console, "AT+CSQ;+QSSLCLOSE=0")
            assert answer[0].startswith("ERROR:")
            answer = await console_command(console, "AT+CEREG?")
            assert answer[0].startswith("+CEREG: ") and answer[-1] == "OK"
            assert 0 in emulator.module.sockets  # the refused close never reached it
    assert echoed == [data]




async def test_the_console_commands_the_docs_show_answer(emulator, echo_server, ca_file,
                                                        nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}", "--at-console", "0")
    where = service.console_address
    async with await trio.open_tcp_stream(where.host, where.port) as console:
        cell, final = await console_command(console, 'AT+QENG="servingcell"')
        assert cell.startswith('+QENG: "servingcell","NOCONN","LTE",') and final == "OK"
        space, final = await console_command(console, 'AT+QFLDS="UFS"')
        free, total = map(int, space.removeprefix("+QFLDS: ").split(","))
        assert 0 < free < total and final == "OK"  # the proxy's CA file is stored
        # Both answers of a line of two: the second is not taken for a URC.
        assert await console_command(console, "AT+CSQ;+CEREG?") == [
            "+CSQ: 20,99", "+CEREG: 0,1", "OK"]


async def test_bound_addresses_are_logged_and_a_file_device_yields_to_emulate(
        tmp_path, ca_file, nursery):
    """``--status`` / ``--at-console`` with port 0: the real bound address is logged, and
    it is the one that answers; a config file's ``device`` yields to ``--emulate``, with a
    one-line notice."""
    config = tmp_path / "proxy.toml"
    config.write_text(f'device = "/dev/ttyUSB2"\ncacert = "{ca_file}"\n'
                      '[[map]]\nlisten = 0\nconnect = "echo.test:443"\n')
    proxy = await start_proxy_process(
        nursery, tmp_path / "proxy.log", "--config", str(config), "--emulate",
        "--status", "127.0.0.1:0", "--at-console", "127.0.0.1:0",
        ready=b"AT console on", within=30)
    log = proxy.output.decode()
    status = re.search(r"status page on http://127\.0\.0\.1:(\d+)/", log)
    console = re.search(r"AT console on 127\.0\.0\.1:(\d+)", log)
    assert status and console, log
    assert int(status[1]) != 0 and int(console[1]) != 0
    with trio.fail_after(30):
        code, body = await http_get(Endpoint("127.0.0.1", int(status[1])), "/status.json")
        assert code == 200 and json.loads(body)["module"]["state"] == "ready"
        async with await trio.open_tcp_stream("127.0.0.1", int(console[1])) as stream:
            await stream.send_all(b"AT\r\n")
            answer = b""
            while b"OK" not in answer:
                answer += await stream.receive_some(100)
    assert await proxy.stop(signal.SIGTERM) == 0
    notices = [line for line in log.splitlines() if "is not used" in line]
    assert len(notices) == 1
    assert "--emulate given: the config file's device = '/dev/ttyUSB2' is not used" in notices[0]



async def test_built_in_emulator(server_cert, ca_file, nursery):
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    async with trio.open_nursery() as inner:
        service = await start_proxy(inner, None, "--emulate", "--resolve", "echo.test=127.0.0.1",
                                    "--cacert", str(ca_file), "--map", f"0=echo.test:{echo.port}")
        async with await connect(service) as stream:
            assert await round_trip(stream, b"emulated") == b"emulated"
        service.request_shutdown()
    assert service.emulator is not None and service.emulator.module.sockets == {}


async def test_ignore_local_time_reaches_the_module(emulator, echo_server, ca_file, nursery):
    async with trio.open_nursery() as inner:
        service = await start_proxy(inner, emulator, "--cacert", str(ca_file), "--map",
                                    f"0=echo.test:{echo_server.port}", "--ignore-local-time")
        context = emulator.module.ssl_contexts[0]
        assert (context.seclevel, context.ignorelocaltime) == (1, 1)
        async with await connect(service) as stream:
            assert await round_trip(stream, b"dates unchecked") == b"dates unchecked"
        service.request_shutdown()


async def test_a_traced_run_never_shows_key_material(ca, ca_file, tmp_path, nursery):
    client = ca.issue_cert("client@example")
    client.cert_chain_pems[0].write_to_path(tmp_path / "client.pem")
    client.private_key_pem.write_to_path(tmp_path / "client.key")
    proxy = await start_proxy_process(
        nursery, tmp_path / "proxy.log", "--emulate", "--cacert", str(ca_file),
        "--clientcert", str(tmp_path / "client.pem"), "--clientkey", str(tmp_path / "client.key"),
        "--map", "0=h.test:443", "-vv", "--trace-at")
    assert await proxy.stop(signal.SIGTERM) == 0
    log = proxy.output.decode()
    assert "AT+QFUPL" in log  # the files were uploaded under the trace
    key_lines = [line for line in client.private_key_pem.bytes().decode().splitlines()
                 if not line.startswith("-----")]
    assert not any(line in log for line in key_lines)


async def test_module_failure_mid_stream_resets_the_client(emulator, echo_server, ca_file,
                                                          nursery):
    """A broken module socket must never look like a complete stream to the client."""
    from modem.emulator import Fault

    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}")
    async with await connect(service) as stream:
        assert await round_trip(stream, b"before" * 100) == b"before" * 100
        await emulator.inject(Fault.restart())
        with trio.fail_after(20), pytest.raises(trio.BrokenResourceError):
            while True:
                data = await stream.receive_some(65536)
                assert data, "a clean end of stream after the module failed"
