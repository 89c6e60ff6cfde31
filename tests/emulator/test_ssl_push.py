"""Direct push mode (manual 1.3, chapter 3.4) and the ctrl-z form of QSSLSEND."""

from __future__ import annotations

import hashlib
import os

import trio
import trustme

from modem.emulator import Emulator
from tests.helpers import TlsServer, source_data

from .conftest import Host, data_during_a_silence

DATA = b"Test data from SSL"


async def test_chapter_3_4_push_mode(emu: Emulator, online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(4, "127.0.0.1", echo_server.port, mode=1) == 0
    local_port = emu.module.sockets[4].local_port
    assert await host.command("AT+QSSLSTATE") == (
        b'\r\n+QSSLSTATE: 4,"SSLClient","127.0.0.1",%d,%d,2,1,4,1,"usbat",1\r\n\r\nOK\r\n'
        % (echo_server.port, local_port)
    )
    await host.send("AT+QSSLSEND=4,18\r")
    await host.expect(b"\r\n> ")
    await host.send(DATA)
    await host.expect(b"\r\nSEND OK\r\n")
    await host.expect(b'\r\n+QSSLURC: "recv",4,18\r\nTest data from SSL\r\n')  # its trailer
    assert await host.command("AT+QSSLRECV=4,1500") == b"\r\nERROR\r\n"
    assert await host.command("AT+QSSLCLOSE=4") == b"\r\nOK\r\n"


async def test_push_mode_delivers_everything_then_closed(
    online: Host, server_cert: trustme.LeafCert, nursery: trio.Nursery
) -> None:
    total = 200_000
    server = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(server.serve)
    host = online
    assert await host.open_ssl(1, "127.0.0.1", server.port, mode=1) == 0
    assert await host.urc(b'+QSSLURC: "closed"') == b'+QSSLURC: "closed",1'
    assert bytes(host.pushed[1]) == source_data(total)


async def test_a_silent_module_pushes_what_came_meanwhile_once_it_speaks_again(
    emu: Emulator, online: Host, echo_server
) -> None:
    """A hung module says nothing; its socket's data is not lost by the hang
    (the emulator dropped such push frames once: a hole), it comes after."""
    host = online
    assert await host.open_ssl(4, "127.0.0.1", echo_server.port, mode=1) == 0
    await data_during_a_silence(emu, host, 4, DATA)
    await host.expect(b'\r\n+QSSLURC: "recv",4,18\r\nTest data from SSL\r\n')
    await trio.sleep(0.3)
    assert await host.command("AT+QSSLCLOSE=4") == b"\r\nOK\r\n"

async def test_push_mode_binary_mebibyte_round_trip(online: Host, echo_server) -> None:
    host = online
    payload = os.urandom(1 << 20)
    assert await host.open_ssl(0, "127.0.0.1", echo_server.port, mode=1) == 0
    for offset in range(0, len(payload), 1460):
        chunk = payload[offset : offset + 1460]
        while await host.send_data(0, chunk) == b"SEND FAIL":
            await host.send("AT\r")  # let the pushes drain the echo meanwhile
            assert await host.final() == b"OK"
    pushed = await host.pushed_data(0, len(payload))
    assert hashlib.sha256(pushed).digest() == hashlib.sha256(payload).digest()


async def test_ctrl_z_send_form(online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(4, "127.0.0.1", echo_server.port) == 0
    await host.send("AT+QSSLSEND=4\r")
    await host.expect(b"\r\n> ")
    await host.send(DATA + b"\x1a")
    await host.expect(b"\r\nSEND OK\r\n")
    await host.expect(b'\r\n+QSSLURC: "recv",4\r\n')
    assert await host.recv_data(4) == DATA


async def test_escape_cancels_the_ctrl_z_form(online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(4, "127.0.0.1", echo_server.port) == 0
    await host.send("AT+QSSLSEND=4\r")
    await host.expect(b"\r\n> ")
    await host.send(b"never sent\x1b")
    await host.expect(b"\r\nOK\r\n")
    assert await host.send_data(4, b"sent") == b"SEND OK"
    await host.urc(b'+QSSLURC: "recv"')
    assert await host.recv_data(4) == b"sent"
    assert echo_server.connections[0].received == 4


async def test_ctrl_z_form_takes_at_most_1460_bytes(online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(4, "127.0.0.1", echo_server.port) == 0
    await host.send("AT+QSSLSEND=4\r")
    await host.expect(b"\r\n> ")
    await host.send(b"y" * 2000 + b"\x1a")
    await host.expect(b"\r\nSEND OK\r\n")
    await host.urc(b'+QSSLURC: "recv"')
    data = b""
    while len(data) < 1460:
        data += await host.recv_data(4)
    assert data == b"y" * 1460
