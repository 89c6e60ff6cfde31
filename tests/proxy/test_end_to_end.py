"""The proxy end to end: local TCP clients -> proxy -> emulated module -> real TLS servers.

Everything is real except the module: the emulator runs on a pseudo-terminal
and makes real TLS connections to servers on 127.0.0.1 whose certificates
come from trustme.  Assertions are on bytes, hashes, counters and the
emulator's sockets, not on log lines (except where a hint for the user is
the point).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
import trustme

from modem.emulator import Emulator, EmulatorConfig
from proxy.cli import parse_command_line
from proxy.config.profiles import build_profiles, load_all_material
from proxy.connections.registry import OPEN, QUEUED
from proxy.service import ProxyService
from tests.helpers import TlsServer, free_port, source_data

REPO = Path(__file__).resolve().parents[2]
NAMES = ("echo.test", "other.test", "source.test")


@pytest.fixture
async def emulator():
    config = EmulatorConfig(resolve=dict.fromkeys(NAMES, "127.0.0.1"), real_dns=False)
    async with Emulator.running(config) as emu:
        yield emu


async def start_proxy(nursery: trio.Nursery, emulator: Emulator | None, *argv: str,
                      linger: float | None = 0.3) -> ProxyService:
    """A ProxyService configured by flags, started in ``nursery``."""
    device = ["--device", emulator.device] if emulator is not None else []
    config = parse_command_line([*device, *argv])
    service = ProxyService(config, build_profiles(config, load_all_material(config)),
                           config.device, linger=linger,
                           emulator_options={"real_dns": False})
    return await nursery.start(service.run)


def address(service: ProxyService, index: int = 0):
    return list(service.listen_addresses.values())[index]


async def connect(service: ProxyService, index: int = 0) -> trio.SocketStream:
    where = address(service, index)
    return await trio.open_tcp_stream(where.host, where.port)


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Poll state that offers no event to wait on (the emulator's socket table)."""
    with trio.fail_after(10):
        while not predicate():  # noqa: ASYNC110
            await trio.sleep(0.005)


async def read_all(stream: trio.abc.ReceiveStream) -> bytes:
    data = bytearray()
    while chunk := await stream.receive_some(65536):
        data += chunk
    return bytes(data)


async def round_trip(stream: trio.abc.Stream, data: bytes) -> bytes:
    """Send ``data`` and read as many bytes back (concurrently, as echo needs)."""
    got = bytearray()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(stream.send_all, data)
        while len(got) < len(data):
            chunk = await stream.receive_some(65536)
            assert chunk, f"closed after {len(got)} of {len(data)} bytes"
            got += chunk
    return bytes(got)


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

async def http_get(where, path: str, method: str = "GET") -> tuple[int, bytes]:
    async with await trio.open_tcp_stream(where.host, where.port) as stream:
        await stream.send_all(f"{method} {path} HTTP/1.0\r\n\r\n".encode())
        data = await read_all(stream)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


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
    (conn,) = data["connections"]
    assert conn["state"] == OPEN and conn["client_id"] == 0
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


async def console_command(stream: trio.abc.Stream, line: str) -> list[str]:
    """Send one line; the response lines up to the final one (OK / ERROR...)."""
    await stream.send_all(line.encode() + b"\r\n")
    lines: list[str] = []
    buffer = b""
    while True:
        while b"\r\n" in buffer:
            raw, buffer = buffer.split(b"\r\n", 1)
            lines.append(raw.decode())
            if re.match(r"^(OK|ERROR.*|\+CME ERROR.*)$", lines[-1]):
                assert buffer == b""
                return lines
        chunk = await stream.receive_some(4096)
        assert chunk, lines
        buffer += chunk


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


# -- shutdown ---------------------------------------------------------------------------

async def test_shutdown_closes_every_module_socket(emulator, echo_server, ca_file):
    async with trio.open_nursery() as nursery:
        service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                    "--map", f"0=echo.test:{echo_server.port}", "--grace", "1")
        idle = [await connect(service) for _ in range(3)]
        for stream in idle:
            assert await round_trip(stream, b"ping") == b"ping"
        busy = await connect(service)
        assert await round_trip(busy, b"ping") == b"ping"
        assert len(emulator.module.sockets) == 4
        where = address(service)
        service.request_shutdown()
        # a connection that finishes within the grace period finishes normally
        assert await round_trip(busy, b"last words") == b"last words"
        await busy.aclose()
    assert service.state == "stopped"
    assert emulator.module.sockets == {}
    for stream in idle:  # cut when the grace period ended: reset, not a clean end
        with pytest.raises(trio.BrokenResourceError):
            await read_all(stream)
        await stream.aclose()
    assert service.registry.counters.ends["shutdown_cut"] == 3
    with pytest.raises(OSError):
        await trio.open_tcp_stream(where.host, where.port)


async def test_queued_connections_are_dropped_at_shutdown(emulator, echo_server, ca_file):
    async with trio.open_nursery() as nursery:
        service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                    "--map", f"0=echo.test:{echo_server.port}",
                                    "--max-connections", "1", "--grace", "30")
        held = await connect(service)
        assert await round_trip(held, b"x") == b"x"
        queued = await connect(service)
        await wait_until(lambda: len(service.registry) == 2)
        service.request_shutdown()
        with trio.fail_after(5), pytest.raises(trio.BrokenResourceError):
            await read_all(queued)  # reset at once, not after the grace period
        await queued.aclose()
        await held.aclose()  # the open one ends by itself, well within the grace
    assert emulator.module.sockets == {}


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


class ProxyProcess:
    """``python -m proxy.cli --emulate ...`` as a child process, its stderr collected."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.stderr = b""

    async def read_until(self, marker: bytes, within: float = 20) -> None:
        with trio.fail_after(within):
            while marker not in self.stderr:
                chunk = await self.process.stderr.receive_some(4096)
                assert chunk, self.stderr.decode()
                self.stderr += chunk

    async def wait(self) -> int:
        with trio.fail_after(20):
            while chunk := await self.process.stderr.receive_some(4096):
                self.stderr += chunk
            return await self.process.wait()

    @property
    def port(self) -> int:
        return int(re.search(rb"listening on 127\.0\.0\.1:(\d+)", self.stderr).group(1))


async def start_process(nursery: trio.Nursery, *argv: str, within: float = 20
                        ) -> ProxyProcess:
    async def run(task_status=trio.TASK_STATUS_IGNORED):
        await trio.run_process([sys.executable, "-m", "proxy.cli", *argv], cwd=REPO,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, check=False, task_status=task_status)
    proxy = ProxyProcess(await nursery.start(run))
    await proxy.read_until(b"listening on", within)
    return proxy


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])  # SIGHUP reloads
async def test_a_signal_stops_the_program_gracefully(server_cert, ca_file, nursery, signum):
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    proxy = await start_process(
        nursery, "--emulate", "--resolve", "echo.test=127.0.0.1", "--cacert", str(ca_file),
        "--map", f"0=echo.test:{echo.port}", "--grace", "0.5")
    async with await trio.open_tcp_stream("127.0.0.1", proxy.port) as stream:
        assert await round_trip(stream, b"through a process") == b"through a process"
        proxy.process.send_signal(signum)
        # Reset once the grace period ended: a cut is never a clean end of stream.
        with trio.fail_after(20), pytest.raises(trio.BrokenResourceError) as cut:
            await read_all(stream)
        assert isinstance(cut.value.__cause__, ConnectionResetError)
    assert await proxy.wait() == 0, proxy.stderr.decode()
    assert b"Traceback" not in proxy.stderr and b"error" not in proxy.stderr


async def test_a_second_signal_stops_at_once(server_cert, ca_file, nursery):
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    proxy = await start_process(
        nursery, "--emulate", "--resolve", "echo.test=127.0.0.1", "--cacert", str(ca_file),
        "--map", f"0=echo.test:{echo.port}", "--grace", "600")
    async with await trio.open_tcp_stream("127.0.0.1", proxy.port) as stream:
        assert await round_trip(stream, b"hold") == b"hold"
        proxy.process.send_signal(signal.SIGINT)
        await proxy.read_until(b"shutting down")
        proxy.process.send_signal(signal.SIGINT)
        assert await proxy.wait() == 1  # well before the grace period
        with pytest.raises(trio.BrokenResourceError) as cut:
            await read_all(stream)
        assert isinstance(cut.value.__cause__, ConnectionResetError)
    assert b"Traceback" not in proxy.stderr


async def test_a_traced_run_never_shows_key_material(ca, ca_file, tmp_path, nursery):
    client = ca.issue_cert("client@example")
    client.cert_chain_pems[0].write_to_path(tmp_path / "client.pem")
    client.private_key_pem.write_to_path(tmp_path / "client.key")
    proxy = await start_process(
        nursery, "--emulate", "--cacert", str(ca_file),
        "--clientcert", str(tmp_path / "client.pem"), "--clientkey", str(tmp_path / "client.key"),
        "--map", "0=h.test:443", "-vv", "--trace-at")
    proxy.process.send_signal(signal.SIGTERM)
    assert await proxy.wait() == 0
    log = proxy.stderr.decode()
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
