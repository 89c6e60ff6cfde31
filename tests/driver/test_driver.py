"""The driver against the emulator over a real pty, with real TLS servers."""

from __future__ import annotations

import functools
import hashlib
import os

import pytest
import trio

from modem.core import errors
from modem.core.profile import TlsProfile
from modem.driver import Modem, PdpSettings
from modem.emulator import Emulator, EmulatorConfig, Fault
from modem.link.serial_stream import open_serial_stream
from tests.driver.conftest import ACCESS_MODES, open_socket
from tests.helpers import TlsServer, receive_exactly, source_data, wait_until

PUSH_OVERSHOOT = 256 * 1024
"""Bytes a push-mode socket may take past its limit before the switch lands
(pushes already on their way on an unpaced line, on a loaded machine; a
quarter of ``PushInbox.hard_limit``; measured: about 2 KiB)."""


async def echo_roundtrip(sock, payload: bytes) -> bytes:
    """Send ``payload`` while reading the echo concurrently; return what came back."""
    got = bytearray()

    async def reader():
        while len(got) < len(payload):
            data = await sock.receive_some(65536)
            assert data, "peer closed early"
            got.extend(data)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await sock.send_all(payload)
    return bytes(got)


@pytest.mark.parametrize("access_mode", ACCESS_MODES)
async def test_twelve_sockets_move_random_binary_both_ways(modem, echo_server, profile):
    size = 160 * 1024
    payloads = [os.urandom(size) for _ in range(12)]
    results: dict[int, bytes] = {}

    async def one(i):
        sock = await open_socket(modem, echo_server.port, profile)
        try:
            results[i] = await echo_roundtrip(sock, payloads[i])
        finally:
            await sock.aclose()

    async with trio.open_nursery() as nursery:
        for i in range(12):
            nursery.start_soon(one, i)
    for i in range(12):
        assert hashlib.sha256(results[i]).digest() == hashlib.sha256(payloads[i]).digest()
    assert modem.client_ids.free == 12
    server_hashes = sorted(c.sha256.digest() for c in echo_server.connections)
    assert server_hashes == sorted(hashlib.sha256(p).digest() for p in payloads)


@pytest.mark.parametrize("payload", [
    bytes(range(256)) * 8,
    b"\r\nOK\r\n" * 300,
    b"> " * 1000,
    b'+QSSLURC: "recv",0\r\n' * 120,
    b"\r\nSEND OK\r\n\r\nERROR\r\n+QSSLRECV: 5\r\n" * 60,
    b"\x1a\x1b" * 900,
    b"\r" * 1500 + b"\n" * 1500 + b"\x00" * 1500,
], ids=["all-bytes", "ok", "prompt", "urc", "results", "ctrlz-esc", "cr-lf-nul"])
async def test_payloads_that_look_like_protocol_arrive_intact(modem, echo_server, profile,
                                                               payload):
    sock = await open_socket(modem, echo_server.port, profile)
    assert await echo_roundtrip(sock, payload) == payload
    await sock.aclose()


async def test_sni_is_sent_for_host_names(modem, echo_server, profile):
    sock = await open_socket(modem, echo_server.port, profile)
    await sock.aclose()
    assert echo_server.sni_seen == ["echo.test"]


@pytest.mark.parametrize("access_mode", ACCESS_MODES)
async def test_peer_close_delivers_everything_then_end_of_stream(modem, server_cert,
                                                                  nursery, profile):
    source = TlsServer(server_cert, handler="source", source_bytes=300_000)
    await nursery.start(source.serve)
    sock = await open_socket(modem, source.port, profile)
    got = await receive_exactly(sock, 400_000)
    assert got == source_data(300_000)
    assert await sock.receive_some() == b""
    await sock.aclose()
    assert modem.client_ids.free == 12


@pytest.mark.parametrize("access_mode", ACCESS_MODES)
async def test_slow_reader_holds_the_server_back_while_others_move(modem, server_cert,
                                                                    echo_server, nursery,
                                                                    profile):
    total = 4 * 1024 * 1024
    source = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(source.serve)
    slow = await open_socket(modem, source.port, profile)
    # Nobody reads `slow`: the module buffer, then TCP, then the server stop.
    await trio.sleep(1.0)
    sent_early = source.connections[0].sent
    other = await open_socket(modem, echo_server.port, profile)
    payload = os.urandom(64 * 1024)
    assert await echo_roundtrip(other, payload) == payload
    await other.aclose()
    await trio.sleep(0.5)
    sent_later = source.connections[0].sent
    assert sent_later < total // 2, "the server was not held back"
    assert sent_later - sent_early < 256 * 1024
    if slow.push is not None:  # push mode: the backlog went to the module, not to us
        assert slow.push.switches >= 1
        assert slow.push.peak <= slow.push.limit + PUSH_OVERSHOOT
    got = await receive_exactly(slow, total)
    assert hashlib.sha256(got).digest() == hashlib.sha256(source_data(total)).digest()
    if slow.push is not None:  # the reader caught up: back to push
        assert slow.push.returns >= 1
    await slow.aclose()


async def test_unknown_host_is_dns_parse_failed(modem, profile):
    cid = await modem.client_ids.acquire()
    with pytest.raises(errors.DnsParseFailed) as info:
        await modem.open_ssl_socket(cid, "no-such-host.invalid", 443, profile)
    assert info.value.code == 565
    assert modem.client_ids.free == 12


async def test_refused_port_is_socket_connection_failed(modem, profile):
    with trio.socket.socket() as s:
        await s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        cid = await modem.client_ids.acquire()
        with pytest.raises(errors.SocketConnectionFailed) as info:
            await modem.open_ssl_socket(cid, "127.0.0.1", port, profile)
    assert info.value.code == 566
    assert "Socket connection failed" in str(info.value)


async def test_wrong_ca_fails_the_handshake(emulator, echo_server):
    import trustme

    other_ca = TlsProfile(cacert=trustme.CA().cert_pem.bytes())
    open_stream = functools.partial(open_serial_stream, emulator.device)
    async with Modem.open(open_stream, pdp=PdpSettings(apn="internet"),
                          profiles=[other_ca]) as modem:
        cid = await modem.client_ids.acquire()
        with pytest.raises(errors.SocketConnectionFailed):
            await modem.open_ssl_socket(cid, "echo.test", echo_server.port, other_ca)


async def test_second_bring_up_does_not_upload_again(emulator, profile):
    open_stream = functools.partial(open_serial_stream, emulator.device)
    async with Modem.open(open_stream, pdp=PdpSettings(apn="internet"), profiles=[profile]):
        pass
    ufs = emulator.module.files.areas["UFS"]
    first = dict(ufs)
    assert profile.cacert in first.values()
    async with Modem.open(open_stream, pdp=PdpSettings(apn="internet"), profiles=[profile]):
        pass
    # An upload stores a new bytes object; the same objects mean no upload.
    assert all(ufs[name] is content for name, content in first.items())


# -- faults ---------------------------------------------------------------------


async def wait_ready(modem: Modem) -> None:
    with trio.fail_after(30):
        await modem.state.wait_value("ready")


async def assert_new_socket_works(modem, echo_server, profile):
    await wait_ready(modem)
    sock = await open_socket(modem, echo_server.port, profile)
    payload = os.urandom(20_000)
    assert await echo_roundtrip(sock, payload) == payload
    await sock.aclose()


@pytest.mark.parametrize("access_mode", ACCESS_MODES)
async def test_fault_peer_close(modem, emulator, echo_server, profile):
    sock = await open_socket(modem, echo_server.port, profile)
    await emulator.inject(Fault.peer_close(sock.client_id))
    with trio.fail_after(10):
        assert await sock.receive_some() == b""
    with pytest.raises(errors.ModemError):
        await sock.send_all(b"x" * 10)
    await sock.aclose()
    await assert_new_socket_works(modem, echo_server, profile)


@pytest.mark.parametrize("access_mode", ACCESS_MODES)
async def test_fault_pdp_deact(modem, emulator, echo_server, profile):
    sock = await open_socket(modem, echo_server.port, profile)
    await emulator.inject(Fault.pdp_deact(1))
    with trio.fail_after(10), pytest.raises((errors.PdpContextBrokeDown, errors.SocketClosed)):
        while True:
            await sock.receive_some()
    await sock.aclose()
    await assert_new_socket_works(modem, echo_server, profile)


async def test_an_open_that_finds_the_pdp_context_down_reactivates_it(
        modem, emulator, echo_server, profile):
    """The network dropped the context and its pdpdeact was lost: the next open
    answers 561, and the driver reactivates the context then, as after a
    pdpdeact (before: eight such opens, then a module restart)."""
    await emulator.inject(Fault.urc_loss(1.0, ("pdpdeact",)))
    await emulator.inject(Fault.pdp_deact(1))
    with pytest.raises(errors.OpenPdpContextFailed):
        await open_socket(modem, echo_server.port, profile)
    await wait_until(lambda: modem.pdp_reactivations >= 1, within=10)
    await assert_new_socket_works(modem, echo_server, profile)
    assert modem.restarts == 0


@pytest.mark.parametrize("access_mode", ACCESS_MODES)
async def test_fault_restart(modem, emulator, echo_server, profile):
    sock = await open_socket(modem, echo_server.port, profile)
    await emulator.inject(Fault.restart())
    with trio.fail_after(10), pytest.raises(errors.ModuleLost, match="restarted"):
        await sock.receive_some()
    await sock.aclose()
    await assert_new_socket_works(modem, echo_server, profile)
    assert modem.client_ids.free == 12


async def test_fault_silence(emulator, echo_server, profile, capped_modem):
    modem = capped_modem
    sock = await open_socket(modem, echo_server.port, profile)
    await emulator.inject(Fault.silence(3.0))
    with trio.fail_after(30), pytest.raises((errors.ModuleLost, errors.ModuleTimeout)):
        await sock.send_all(b"hello")
        await sock.receive_some()
    await sock.aclose()
    await assert_new_socket_works(modem, echo_server, profile)


async def test_fault_noise_changes_nothing(modem, emulator, echo_server, profile):
    sock = await open_socket(modem, echo_server.port, profile)
    await emulator.inject(Fault.noise(200))
    payload = os.urandom(100_000)
    assert await echo_roundtrip(sock, payload) == payload
    await sock.aclose()


async def test_fault_send_fail_burst_loses_nothing(modem, emulator, echo_server, profile):
    sock = await open_socket(modem, echo_server.port, profile)
    await emulator.inject(Fault.send_fail(6))
    payload = os.urandom(30_000)
    assert await echo_roundtrip(sock, payload) == payload
    assert sock.send_fails == 6
    await sock.aclose()


async def test_vanished_device_is_reopened_when_it_returns(tmp_path, profile, echo_server):
    """USB re-enumeration: the port disappears, then comes back at the same path."""
    link = tmp_path / "ttyUSB2"
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"})
    open_stream = functools.partial(open_serial_stream, str(link))
    async with trio.open_nursery() as nursery:
        first_gone = trio.Event()

        async def first_module(task_status=trio.TASK_STATUS_IGNORED):
            async with Emulator.running(config) as emu:
                link.symlink_to(emu.device)
                task_status.started()
                await first_gone.wait()
                link.unlink()

        await nursery.start(first_module)
        async with Modem.open(open_stream, pdp=PdpSettings(apn="internet"),
                              profiles=[profile]) as modem:
            sock = await open_socket(modem, echo_server.port, profile)
            first_gone.set()
            with trio.fail_after(10), pytest.raises(errors.ModuleLost):
                while True:
                    await sock.receive_some()
            await sock.aclose()
            await trio.sleep(1.0)  # the driver retries a missing device meanwhile
            assert modem.state.value == "recovering"
            assert isinstance(modem.last_error, errors.DeviceNotFound)
            # While it recovers, everything fails at once instead of waiting.
            with trio.fail_after(5):  # a hang guard: the old wait was 90 s
                with pytest.raises(errors.ModuleNotReady, match="recovering after: no such"):
                    await modem.at_command("AT")
                with pytest.raises(errors.ModuleNotReady):
                    await modem.module_info(max_age=0)
                with pytest.raises(errors.ModuleNotReady):
                    await open_socket(modem, echo_server.port, profile)
            assert modem.client_ids.free == 12
            async with Emulator.running(config) as emu:
                link.symlink_to(emu.device)
                await assert_new_socket_works(modem, echo_server, profile)


async def test_identical_open_failures_across_hosts_restart_the_module(modem, echo_server,
                                                                        profile):
    """Real modules can get stuck failing every open the same way; a restart cures it."""
    from modem import driver

    ports = []
    with trio.socket.socket() as a, trio.socket.socket() as b:
        for s in (a, b):
            await s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
        for i in range(driver.RESTART_STREAK):
            cid = await modem.client_ids.acquire()
            host = "127.0.0.1" if i % 2 else "localhost"
            with pytest.raises(errors.SocketConnectionFailed):
                await modem.open_ssl_socket(cid, host, ports[i % 2], profile)
    with trio.fail_after(20):
        await modem.state.wait_value("recovering")
        await modem.state.wait_value("ready")
    assert modem.restarts == 1
    await assert_new_socket_works(modem, echo_server, profile)


async def test_unconfirmed_close_keeps_the_id_until_the_module_confirms(emulator, echo_server,
                                                                         profile, capped_modem):
    modem = capped_modem
    sock = await open_socket(modem, echo_server.port, profile)
    cid = sock.client_id
    await emulator.inject(Fault.silence(2.0))
    await sock.aclose()  # QSSLCLOSE goes unanswered
    assert cid in modem.client_ids.in_use, "an ID the module may still hold was reused"
    with trio.fail_after(30):  # all 12 come back once the module confirms the close
        ids = [await modem.client_ids.acquire() for _ in range(12)]
    for i in ids:
        modem.client_ids.release(i)
    assert not emulator.module.sockets
    await assert_new_socket_works(modem, echo_server, profile)
