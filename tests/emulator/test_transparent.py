"""Transparent access mode (manual 1.3, chapter 3.5): CONNECT, +++, ATO,
AT+QISWTMD, NO CARRIER."""

from __future__ import annotations

import functools
import hashlib
import os
import ssl

import pytest
import trio
import trustme

from modem.emulator import Emulator, EmulatorConfig, Fault
from tests.helpers import TlsServer, source_data

from .conftest import Host, data_during_a_silence, emulator_host

GUARD = 0.2  # a short +++ guard time keeps these tests quick; one test uses the manual's 1 s


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(escape_guard=GUARD, real_dns=False)


async def escape(host: Host, guard: float = GUARD) -> None:
    """``+++`` with the guard times, then the module's OK."""
    await trio.sleep(guard * 1.5)
    await host.send(b"+++")
    await trio.sleep(guard * 1.5)
    await host.expect(b"\r\nOK\r\n")


async def echo_round(host: Host, data: bytes) -> None:
    await host.send(data)
    await host.expect(data)


async def test_chapter_3_5_transparent_mode(emu: Emulator, online: Host, echo_server) -> None:
    host = online
    await host.send(f'AT+QSSLOPEN=1,1,4,"127.0.0.1",{echo_server.port},2\r')
    await host.expect(b"\r\nCONNECT\r\n")
    await echo_round(host, b"raw \r\nOK\r\n bytes \x00\xff\x1a")
    await escape(host)
    state = await host.command("AT+QSSLSTATE=4")
    assert b',2,1,4,0,"usbat",1\r\n' in state  # connected, buffer mode now
    assert await host.command("AT+QSSLCLOSE=4") == b"\r\nOK\r\n"


async def test_plus_signs_inside_data_are_data(online: Host, echo_server) -> None:
    host = online
    await host.send(f'AT+QSSLOPEN=1,1,0,"127.0.0.1",{echo_server.port},2\r')
    await host.expect(b"\r\nCONNECT\r\n")
    await echo_round(host, b"a+++b")
    await echo_round(host, b"+++x")  # no silence after the +++
    await trio.sleep(GUARD * 1.5)
    await echo_round(host, b"++")  # two alone are data once the guard time is over
    await escape(host)


async def test_escape_ato_and_data_received_meanwhile(online: Host, echo_server) -> None:
    host = online
    await host.send(f'AT+QSSLOPEN=1,1,2,"127.0.0.1",{echo_server.port},2\r')
    await host.expect(b"\r\nCONNECT\r\n")
    await escape(host)
    assert await host.send_data(2, b"while in command mode") == b"SEND OK"
    assert await host.urc(b'+QSSLURC: "recv"') == b'+QSSLURC: "recv",2'
    assert await host.recv_data(2) == b"while in command mode"
    await host.send("ATO\r")
    await host.expect(b"\r\nCONNECT\r\n")
    await echo_round(host, b"back again")
    await escape(host)


async def test_ato_without_a_transparent_socket_is_no_carrier(host: Host) -> None:
    assert await host.command("ATO") == b"\r\nNO CARRIER\r\n"


async def test_qiswtmd_switches_modes(online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(3, "127.0.0.1", echo_server.port) == 0
    assert await host.command("AT+QISWTMD=3,1") == b"\r\nOK\r\n"
    assert await host.send_data(3, b"pushed") == b"SEND OK"
    assert await host.pushed_data(3, 6) == b"pushed"
    await host.send("AT+QISWTMD=3,2\r")
    await host.expect(b"\r\nCONNECT\r\n")
    await echo_round(host, b"transparent")
    await escape(host)
    assert await host.command("AT+QISWTMD=3,0") == b"\r\nOK\r\n"
    assert await host.command("AT+QISWTMD=9,0") == b"\r\nERROR\r\n"
    assert await host.command("AT+QISWTMD=3,3") == b"\r\nERROR\r\n"


@pytest.mark.parametrize("size", [5000, 300_000])  # the larger outlasts the buffer
async def test_peer_close_in_transparent_mode_is_no_carrier(
    online: Host, server_cert: trustme.LeafCert, nursery: trio.Nursery, size: int
) -> None:
    """Everything the peer sent comes before ``NO CARRIER``, also when the server
    closed while the module still held some of it."""
    server = TlsServer(server_cert, handler="source", source_bytes=size)
    await nursery.start(server.serve)
    host = online
    await host.send(f'AT+QSSLOPEN=1,1,1,"127.0.0.1",{server.port},2\r')
    await host.expect(b"\r\nCONNECT\r\n")
    assert await host.read_exact(size) == source_data(size)
    await host.expect(b"\r\nNO CARRIER\r\n")
    assert b",4,1,1,0," in await host.command("AT+QSSLSTATE=1")
    assert await host.command("ATO") == b"\r\nNO CARRIER\r\n"
    assert await host.command("AT+QSSLCLOSE=1") == b"\r\nOK\r\n"


async def test_injected_drop_in_transparent_mode(
    emu: Emulator, online: Host, echo_server
) -> None:
    host = online
    await host.send(f'AT+QSSLOPEN=1,1,1,"127.0.0.1",{echo_server.port},2\r')
    await host.expect(b"\r\nCONNECT\r\n")
    await emu.inject(Fault.peer_close(1))
    await host.expect(b"\r\nNO CARRIER\r\n")


async def test_a_silent_module_holds_its_sockets_data_until_it_speaks_again(
    emu: Emulator, online: Host, echo_server
) -> None:
    """A hung module says nothing; the data its socket receives meanwhile is
    not lost (the emulator dropped it once: a hole no host could see on a raw
    channel), it comes when the module speaks again."""
    host = online
    await host.send(f'AT+QSSLOPEN=1,1,1,"127.0.0.1",{echo_server.port},2\r')
    await host.expect(b"\r\nCONNECT\r\n")
    await echo_round(host, b"before")
    await data_during_a_silence(emu, host, 1, b"came while silent")
    await host.expect(b"came while silent")
    await trio.sleep(0.1)
    await echo_round(host, b"after")

async def test_failed_transparent_open_is_error(online: Host) -> None:
    with trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert await online.command(f'AT+QSSLOPEN=1,1,0,"127.0.0.1",{port},2') == b"\r\nERROR\r\n"
    assert await online.command("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 566,Socket connection failed\r\n\r\nOK\r\n"
    )


async def test_urcs_wait_until_transparent_mode_ends(
    emu: Emulator, online: Host, echo_server, server_cert: trustme.LeafCert,
    nursery: trio.Nursery,
) -> None:
    """Socket 5's data arrives while socket 6 is transparent: its URC waits for the escape."""
    host = online
    release = trio.Event()

    async def speak_when_released(stream: trio.SSLStream[trio.SocketStream]) -> None:
        await stream.do_handshake()
        await release.wait()
        await stream.send_all(b"for five")
        await trio.sleep_forever()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    listeners = await nursery.start(
        functools.partial(trio.serve_ssl_over_tcp, speak_when_released, 0, context,
                          host="127.0.0.1")
    )
    port = listeners[0].transport_listener.socket.getsockname()[1]
    assert await host.open_ssl(5, "127.0.0.1", port) == 0
    await host.send(f'AT+QSSLOPEN=1,1,6,"127.0.0.1",{echo_server.port},2\r')
    await host.expect(b"\r\nCONNECT\r\n")
    release.set()
    five = emu.module.sockets[5]
    with trio.fail_after(5):
        while not five.rx:
            await five.wait_change()
    # socket 5's data is in, but its URC must not land in socket 6's stream
    await echo_round(host, b"only socket six")
    await escape(host)
    assert await host.urc(b'+QSSLURC: "recv"') == b'+QSSLURC: "recv",5'


async def test_transparent_binary_mebibyte_full_duplex(online: Host, echo_server) -> None:
    host = online
    payload = os.urandom(1 << 20)
    await host.send(f'AT+QSSLOPEN=1,1,0,"127.0.0.1",{echo_server.port},2\r')
    await host.expect(b"\r\nCONNECT\r\n")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(host.send, payload)
        echoed = await host.read_exact(len(payload))
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
    await escape(host)


async def test_escape_with_the_manuals_one_second_guard(echo_server) -> None:
    config = EmulatorConfig()
    async with emulator_host(config) as (_, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        assert await host.command("AT+QIACT=1") == b"\r\nOK\r\n"
        await host.send(f'AT+QSSLOPEN=1,1,0,"127.0.0.1",{echo_server.port},2\r')
        await host.expect(b"\r\nCONNECT\r\n")
        await trio.sleep(0.5)
        await echo_round(host, b"+++")  # only half a second of silence: data
        await escape(host, guard=1.0)
