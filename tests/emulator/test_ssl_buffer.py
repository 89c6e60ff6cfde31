"""Buffer access mode over real TLS: the manual's chapter 3.3 and the error paths."""

from __future__ import annotations

import hashlib
import os
import re

import pytest
import trio
import trustme

from modem.emulator import Emulator, EmulatorConfig, Fault
from tests.helpers import TlsServer, source_data, wait_until

from .conftest import Host

DATA = b"Test data from SSL"


async def test_chapter_3_3_buffer_mode(emu: Emulator, online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(4, "127.0.0.1", echo_server.port) == 0
    local_port = emu.module.sockets[4].local_port
    assert local_port > 0
    assert await host.command("AT+QSSLSTATE") == (
        b'\r\n+QSSLSTATE: 4,"SSLClient","127.0.0.1",%d,%d,2,1,4,0,"usbat",1\r\n\r\nOK\r\n'
        % (echo_server.port, local_port)
    )
    await host.send("AT+QSSLSEND=4,18\r")
    await host.expect(b"\r\n> ")
    await host.send(DATA)
    await host.expect(b"\r\nSEND OK\r\n")
    await host.expect(b'\r\n+QSSLURC: "recv",4\r\n')
    await host.send("AT+QSSLRECV=4,1500\r")
    await host.expect(b"\r\n+QSSLRECV: 18\r\nTest data from SSL\r\n\r\nOK\r\n")
    await host.send("AT+QSSLRECV=4,1500\r")
    await host.expect(b"\r\n+QSSLRECV: 0\r\n\r\nOK\r\n")
    assert await host.command("AT+QSSLCLOSE=4") == b"\r\nOK\r\n"
    assert await host.command("AT+QSSLSTATE") == b"\r\nOK\r\n"
    assert 4 not in emu.module.sockets


async def test_state_of_one_socket_and_of_an_unused_id(online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(0, "api.example.com", echo_server.port, ctx=2) == 0
    answer = await host.command("AT+QSSLSTATE=0")
    assert re.fullmatch(
        rb'\r\n\+QSSLSTATE: 0,"SSLClient","127.0.0.1",%d,\d+,2,1,0,0,"usbat",2\r\n'
        rb"\r\nOK\r\n" % echo_server.port,
        answer,
    )
    assert await host.command("AT+QSSLSTATE=1") == b"\r\nOK\r\n"


async def test_recv_urc_once_until_the_buffer_is_drained(
    emu: Emulator, online: Host, echo_server
) -> None:
    host = online
    assert await host.open_ssl(1, "127.0.0.1", echo_server.port) == 0
    sock = emu.module.sockets[1]
    assert await host.send_data(1, b"first") == b"SEND OK"
    assert await host.urc(b'+QSSLURC: "recv"') == b'+QSSLURC: "recv",1'
    assert await host.send_data(1, b"second") == b"SEND OK"
    await wait_until(lambda: len(sock.rx) == 11)
    assert await host.recv_data(1, 5) == b"first"  # not drained: no new URC
    assert await host.recv_data(1, 1500) == b"second"
    assert host.urcs == []
    assert await host.send_data(1, b"third") == b"SEND OK"
    assert await host.urc(b'+QSSLURC: "recv"') == b'+QSSLURC: "recv",1'
    assert await host.recv_data(1) == b"third"


async def test_peer_close_keeps_buffered_data_readable(
    emu: Emulator, online: Host, server_cert: trustme.LeafCert, nursery: trio.Nursery
) -> None:
    server = TlsServer(server_cert, handler="source", source_bytes=3000)
    await nursery.start(server.serve)
    host = online
    assert await host.open_ssl(2, "127.0.0.1", server.port) == 0
    assert await host.urc(b'+QSSLURC: "recv"') == b'+QSSLURC: "recv",2'
    assert await host.urc(b'+QSSLURC: "closed"') == b'+QSSLURC: "closed",2'
    answer = await host.command("AT+QSSLSTATE=2")
    assert b",4,1,2,0," in answer  # closing
    data = await host.recv_data(2) + await host.recv_data(2) + await host.recv_data(2)
    assert data == source_data(3000)
    assert await host.recv_data(2) == b""
    assert await host.command("AT+QSSLCLOSE=2") == b"\r\nOK\r\n"
    assert await host.command("AT+QSSLSTATE") == b"\r\nOK\r\n"


async def test_injected_peer_close(emu: Emulator, online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(3, "127.0.0.1", echo_server.port) == 0
    await emu.inject(Fault.peer_close(client_id=3))
    assert await host.urc(b"+QSSLURC: ") == b'+QSSLURC: "closed",3'
    assert await host.command("AT+QSSLSEND=3,5") == b"\r\nERROR\r\n"
    assert await host.command("AT+QSSLCLOSE=3") == b"\r\nOK\r\n"


async def test_pdp_deactivation_closes_its_sockets(
    emu: Emulator, online: Host, echo_server
) -> None:
    host = online
    assert await host.open_ssl(5, "127.0.0.1", echo_server.port) == 0
    await emu.inject(Fault.pdp_deact(1))
    assert await host.urc(b"+QIURC: ") == b'+QIURC: "pdpdeact",1'
    assert await host.urc(b"+QSSLURC: ") == b'+QSSLURC: "closed",5'
    assert await host.command("AT+QIACT?") == b"\r\nOK\r\n"


async def test_id_in_use_is_563(online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(0, "127.0.0.1", echo_server.port) == 0
    assert await host.command(f'AT+QSSLOPEN=1,1,0,"127.0.0.1",{echo_server.port},0') == (
        b"\r\nERROR\r\n"
    )
    assert await host.command("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 563,Socket identity has been used\r\n\r\nOK\r\n"
    )


async def test_inactive_pdp_context_is_561(host: Host, echo_server) -> None:
    assert await host.command(f'AT+QSSLOPEN=1,1,0,"127.0.0.1",{echo_server.port},0') == (
        b"\r\nERROR\r\n"
    )
    assert await host.command("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 561,Open PDP context failed\r\n\r\nOK\r\n"
    )


async def test_unknown_host_is_565(online: Host) -> None:
    assert await online.open_ssl(0, "nowhere.invalid", 443) == 565
    assert await online.command("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 565,DNS parse failed\r\n\r\nOK\r\n"
    )
    assert await online.command("AT+QSSLSTATE") == b"\r\nOK\r\n"  # the id is free again


async def test_refused_port_is_566(online: Host) -> None:
    with trio.socket.socket() as probe:  # a port nobody listens on
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert await online.open_ssl(0, "127.0.0.1", port) == 566
    assert await online.command("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 566,Socket connection failed\r\n\r\nOK\r\n"
    )


@pytest.mark.parametrize(
    "command",
    [
        'AT+QSSLOPEN=0,1,0,"h",443,0',
        'AT+QSSLOPEN=1,6,0,"h",443,0',
        'AT+QSSLOPEN=1,1,12,"h",443,0',
        'AT+QSSLOPEN=1,1,0,"h",0,0',
        'AT+QSSLOPEN=1,1,0,"h",443,3',
        "AT+QSSLOPEN=1,1,0,h,443,0",
        "AT+QSSLSEND=12,1",
        "AT+QSSLSEND=0,0",
        "AT+QSSLSEND=0,1461",
        "AT+QSSLRECV=0,0",
        "AT+QSSLRECV=0,1501",
        "AT+QSSLRECV=12,10",
        "AT+QSSLCLOSE=12",
        "AT+QSSLCLOSE=0,65536",
    ],
)
async def test_parameter_ranges(online: Host, command: str) -> None:
    assert await online.command(command) == b"\r\nERROR\r\n"
    assert await online.command("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 552,Invalid parameter\r\n\r\nOK\r\n"
    )


async def test_send_and_recv_on_unused_id(online: Host) -> None:
    assert await online.command("AT+QSSLSEND=7,10") == b"\r\nERROR\r\n"
    assert await online.command("AT+QSSLRECV=7,10") == b"\r\nERROR\r\n"
    assert await online.command("AT+QSSLCLOSE=7") == b"\r\nOK\r\n"


async def test_test_commands(online: Host) -> None:
    assert await online.command("AT+QSSLOPEN=?") == (
        b"\r\n+QSSLOPEN: (1-16),(0-5),(0-11),<serveraddr>,<server_port>[,(0-2)]\r\n\r\nOK\r\n"
    )
    assert await online.command("AT+QSSLSEND=?") == (
        b"\r\n+QSSLSEND: (0-11)[,(1-1460)]\r\n\r\nOK\r\n"
    )
    assert await online.command("AT+QSSLRECV=?") == b"\r\n+QSSLRECV: (0-11),(1-1500)\r\n\r\nOK\r\n"
    assert await online.command("AT+QSSLCLOSE=?") == (
        b"\r\n+QSSLCLOSE: (0-11)[,(0-65535)]\r\n\r\nOK\r\n"
    )
    assert await online.command("AT+QSSLSTATE=?") == b"\r\nOK\r\n"


async def test_send_fail_fault(emu: Emulator, online: Host, echo_server) -> None:
    host = online
    assert await host.open_ssl(0, "127.0.0.1", echo_server.port) == 0
    await emu.inject(Fault.send_fail(2))
    assert await host.send_data(0, b"a") == b"SEND FAIL"
    assert await host.send_data(0, b"b") == b"SEND FAIL"
    assert await host.send_data(0, b"c") == b"SEND OK"
    await host.urc(b'+QSSLURC: "recv"')
    assert await host.recv_data(0) == b"c"


async def test_binary_mebibyte_round_trip(online: Host, echo_server) -> None:
    host = online
    payload = os.urandom(1 << 20)
    assert await host.open_ssl(0, "127.0.0.1", echo_server.port) == 0
    received = hashlib.sha256()
    got = 0
    for offset in range(0, len(payload), 1460):
        chunk = payload[offset : offset + 1460]
        while await host.send_data(0, chunk) == b"SEND FAIL":
            data = await host.recv_data(0)
            received.update(data)
            got += len(data)
        data = await host.recv_data(0)
        received.update(data)
        got += len(data)
    while got < len(payload):
        data = await host.recv_data(0)
        received.update(data)
        got += len(data)
    assert received.hexdigest() == hashlib.sha256(payload).hexdigest()
    assert echo_server.connections[0].received == len(payload)


async def test_backpressure_reaches_the_server(
    emu: Emulator, online: Host, server_cert: trustme.LeafCert, nursery: trio.Nursery
) -> None:
    total = 16 << 20
    server = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(server.serve)
    host = online
    assert await host.open_ssl(0, "127.0.0.1", server.port) == 0
    sock = emu.module.sockets[0]
    await wait_until(lambda: len(sock.rx) >= sock.rx_limit)
    await trio.sleep(0.3)  # let every buffer on the way fill up
    stalled_at = server.connections[0].sent
    assert stalled_at < total  # the server is blocked: the host has not read
    expected = source_data(total)
    got = b"".join([await host.recv_data(0) for _ in range(200)])
    assert got == expected[: len(got)]
    await wait_until(lambda: server.connections[0].sent > stalled_at)
    assert await host.command("AT+QSSLCLOSE=0,1") == b"\r\nOK\r\n"


async def test_send_fail_when_the_send_buffer_is_full(
    server_cert: trustme.LeafCert, ca: trustme.CA, nursery: trio.Nursery
) -> None:
    from .conftest import emulator_host

    stalled = await nursery.start(serve_stalling_tls, server_cert)
    config = EmulatorConfig(tx_buffer=4096, socket_buffer=4096)
    async with emulator_host(config) as (_, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        assert await host.command("AT+QIACT=1") == b"\r\nOK\r\n"
        assert await host.open_ssl(0, "127.0.0.1", stalled) == 0
        results = [await host.send_data(0, b"x" * 1460) for _ in range(2000)]
        assert b"SEND FAIL" in results
        first_fail = results.index(b"SEND FAIL")
        assert all(r == b"SEND OK" for r in results[:first_fail])


async def serve_stalling_tls(cert: trustme.LeafCert, task_status=trio.TASK_STATUS_IGNORED):
    """A TLS server that completes the handshake and then never reads."""
    import socket
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    sock = trio.socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await sock.bind(("127.0.0.1", 0))
    sock.listen()
    listener = trio.SocketListener(sock)
    task_status.started(sock.getsockname()[1])
    async with listener, trio.open_nursery() as nursery:
        while True:
            tcp = await listener.accept()
            stream = trio.SSLStream(tcp, ctx, server_side=True)
            nursery.start_soon(_handshake_then_stall, stream)


async def _handshake_then_stall(stream: trio.SSLStream) -> None:
    async with stream:
        await stream.do_handshake()
        await trio.sleep_forever()
