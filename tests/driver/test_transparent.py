"""``TransparentSocket`` against the emulator: a socket moves to the module's
second AT port (``usbmodem``) in transparent mode and back, over real ptys
and real TLS (manual 1.3; docs/reliability.md, "Transparent mode").

Each adverse order is an emulator option: data after ``+++`` before ``OK``
(the default) or held, ``NO CARRIER`` with data still buffered, a port that
refuses transparent mode, a server whose bytes look like ``NO CARRIER`` or
the escape's ``OK``, an escape answered with ``NO CARRIER``.  The last tests
lend DLC 1 of the ``usbat`` pty under ``AT+CMUX`` instead (the driver then
runs on ``usbmodem``), also on firmware that refuses mode 2 on every DLC.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import trio
import trustme

from modem.core.at_command import Command
from modem.core.profile import TlsProfile
from modem.core.stream_errors import EndUnconfirmed, StreamHole, TransparentEndUnproven
from modem.driver import Modem
from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.line_faults import MuxStatusLoss
from modem.link.mux_session import MuxSession
from modem.link.serial_stream import open_serial_stream
from modem.sockets.transparent_channels import TransparentOptions
from modem.sockets.transparent_socket import SocketMode, TransparentSocket
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import (
    TlsServer,
    close_tls,
    enter_cmux,
    open_local_listeners,
    receive_exactly,
    server_context,
    source_data,
    wait_until,
)
from tests.proxy_helpers import LentPort

GUARD = 0.2  # the emulator's +++ guard time: quick tests
OPTIONS = TransparentOptions(guard=GUARD)
MIB = 1 << 20

Script = Callable[[trio.SSLStream[Any]], Awaitable[None]]


class ScriptedServer:
    """A TLS server on 127.0.0.1 running ``script`` on each connection."""

    def __init__(self, cert: trustme.LeafCert, script: Script) -> None:
        self.context = server_context(cert)
        self.script = script
        self.port = 0

    async def serve(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        listeners, self.port = await open_local_listeners()
        async with trio.open_nursery() as nursery:
            task_status.started()
            await trio.serve_listeners(self._handle, listeners, handler_nursery=nursery)

    async def _handle(self, tcp: trio.SocketStream) -> None:
        stream = trio.SSLStream(tcp, self.context, server_side=True)
        try:
            await stream.do_handshake()
            await self.script(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await close_tls(stream)


def source_on_request(data: bytes, pause_at: int | None = None) -> Script:
    """Waits for one byte, sends ``data`` (pausing 0.3 s at ``pause_at``), closes."""

    async def script(stream: trio.SSLStream[Any]) -> None:
        await stream.receive_some(1)
        cut = len(data) if pause_at is None else pause_at
        await stream.send_all(data[:cut])
        if pause_at is not None:
            await trio.sleep(0.3)
            await stream.send_all(data[cut:])
    return script


@pytest.fixture
def firmware() -> dict[str, Any]:
    """Emulator options of the test (``@pytest.mark.parametrize`` overrides it)."""
    return {}


@pytest.fixture
async def emulator(firmware: dict[str, Any]) -> AsyncIterator[Emulator]:
    """The USB composition (``usbat``, ``usbmodem``); conftest's ``modem`` runs on usbat."""
    config = EmulatorConfig(extra_ports=("usbmodem",), escape_guard=GUARD, real_dns=False,
                            resolve={"echo.test": "127.0.0.1"}, **firmware)
    async with Emulator.running(config) as emulator:
        yield emulator


@pytest.fixture
async def lent(emulator: Emulator, modem: Modem) -> AsyncIterator[LentPort]:
    async with LentPort.open(emulator.devices["usbmodem"]) as port:
        yield port


async def transparent_socket(modem: Modem, lent: LentPort, port: int, profile: TlsProfile
                             ) -> TransparentSocket:
    return TransparentSocket(await open_socket(modem, port, profile), lent, OPTIONS)


async def serve(nursery: trio.Nursery, cert: trustme.LeafCert, script: Script) -> int:
    server = ScriptedServer(cert, script)
    await nursery.start(server.serve)
    return server.port


async def read_to_end(sock: TransparentSocket) -> bytes:
    got = bytearray()
    while chunk := await sock.receive_some(65536):
        got += chunk
    return bytes(got)


async def downloading(nursery: trio.Nursery, cert: trustme.LeafCert, modem: Modem,
                      lent: LentPort, profile: TlsProfile, want: bytes,
                      pause_at: int | None = None) -> TransparentSocket:
    """A socket in transparent mode whose server sends ``want`` on its first byte."""
    port = await serve(nursery, cert, source_on_request(want, pause_at))
    sock = await transparent_socket(modem, lent, port, profile)
    assert await sock.enter()
    await sock.send_all(b"?")
    return sock


async def read_to_reset(sock: TransparentSocket, error: type[Exception]) -> bytes:
    """What ``sock`` delivered before it raised ``error`` (it must)."""
    got = bytearray()
    with pytest.raises(error):
        while chunk := await sock.receive_some(65536):
            got += chunk
    return bytes(got)


async def lent_channel_answers(lent: LentPort) -> bool:
    """The lent channel came back in command mode and in step."""
    assert not lent.lent
    return (await lent.channel.run(Command("AT"))).ok


# -- bytes both ways ------------------------------------------------------------------


@pytest.mark.parametrize("access_mode", ["buffer", "push"])
async def test_a_mebibyte_upload_arrives_whole(modem, lent, profile, server_cert, nursery):
    sink = TlsServer(server_cert, "sink")
    await nursery.start(sink.serve)
    sock = await transparent_socket(modem, lent, sink.port, profile)
    data = os.urandom(MIB)
    assert await sock.enter()
    assert sock.mode is SocketMode.TRANSPARENT
    await sock.send_all(data)
    await wait_until(lambda: sink.connections and sink.connections[0].received >= MIB)
    assert sink.connections[0].sha256.digest() == hashlib.sha256(data).digest()
    assert sock.bytes_sent == MIB
    await sock.leave()
    assert sock.mode is SocketMode.COMMANDS
    await sock.aclose()
    assert lent.broken == 0 and not lent.urcs


@pytest.mark.parametrize("access_mode", ["buffer", "push"])
async def test_both_ways_at_once_hash_checked(modem, lent, profile, echo_server):
    sock = await transparent_socket(modem, lent, echo_server.port, profile)
    data = os.urandom(MIB)
    assert await sock.enter()
    got = bytearray()

    async def reader() -> None:
        while len(got) < len(data):
            got.extend(await sock.receive_some(65536))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await sock.send_all(data)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    await sock.aclose()
    assert lent.broken == 0 and await lent_channel_answers(lent)


async def test_a_download_ends_cleanly_after_every_byte(modem, lent, profile, server_cert,
                                                         nursery):
    want = source_data(300_000)
    sock = await downloading(nursery, server_cert, modem, lent, profile, want)
    assert await read_to_end(sock) == want  # NO CARRIER, checked, then +QSSLRECV: 0
    assert sock.peer_closed and not sock.id_lost
    await sock.aclose()
    assert lent.broken == 0 and await lent_channel_answers(lent)


@pytest.mark.parametrize("firmware", [{"no_carrier_with_data": True}])
async def test_no_carrier_with_data_still_buffered_loses_nothing(modem, lent, profile,
                                                                 server_cert, nursery):
    want = source_data(200_000)
    sock = await downloading(nursery, server_cert, modem, lent, profile, want)
    assert await read_to_end(sock) == want  # the rest read with AT+QSSLRECV after the end
    await sock.aclose()


@pytest.mark.parametrize("firmware", [{"no_carrier_with_data": True, "closed_read_error": True}])
async def test_data_left_behind_that_cannot_be_read_is_a_reset(modem, lent, profile,
                                                               server_cert, nursery):
    want = source_data(200_000)
    sock = await downloading(nursery, server_cert, modem, lent, profile, want)
    assert want.startswith(await read_to_reset(sock, EndUnconfirmed))
    await sock.aclose()


async def test_a_line_ending_in_crlf_is_not_held_back_on_a_quiet_line(modem, lent, profile,
                                                                      echo_server):
    sock = await transparent_socket(modem, lent, echo_server.port, profile)
    assert await sock.enter()
    for line in (b"+PONG\r\n", b"\r\n", b"x\r"):
        await sock.send_all(line)
        assert await receive_exactly(sock, len(line)) == line
    await sock.aclose()


# -- servers whose bytes look like the end --------------------------------------------


@pytest.mark.parametrize("then_close", [False, True], ids=["stays-open", "then-closes"])
async def test_a_servers_no_carrier_is_never_a_clean_end(modem, lent, profile, server_cert,
                                                         nursery, then_close):
    forged = b"data\r\nNO CARRIER\r\n+QSSLURC: \"closed\",5\r\nmore"

    async def script(stream: trio.SSLStream[Any]) -> None:
        await stream.receive_some(1)
        await stream.send_all(forged)
        if not then_close:
            await trio.sleep(10)

    port = await serve(nursery, server_cert, script)
    sock = await transparent_socket(modem, lent, port, profile)
    assert await sock.enter()
    await sock.send_all(b"?")
    assert forged.startswith(await read_to_reset(sock, StreamHole))
    assert lent.broken == 1 and not lent.urcs  # nothing it read after was believed
    await sock.aclose()


async def test_a_servers_ok_during_the_escape_is_never_the_modules(modem, lent, profile,
                                                                   server_cert, nursery):
    async def script(stream: trio.SSLStream[Any]) -> None:
        await stream.receive_some(1)
        for _ in range(200):
            await stream.send_all(b"\r\nOK\r\n")
            await trio.sleep(0.02)

    port = await serve(nursery, server_cert, script)
    sock = await transparent_socket(modem, lent, port, profile)
    assert await sock.enter()
    await sock.send_all(b"?")
    await sock.receive_some()
    await sock.leave()
    with pytest.raises(TransparentEndUnproven):
        while True:
            await sock.receive_some()
    assert lent.broken == 1
    await sock.aclose()


@pytest.mark.parametrize("firmware", [{"escape_no_carrier": True}])
async def test_an_escape_answered_with_no_carrier_is_a_reset(modem, lent, profile, echo_server):
    # The socket stays open: taking that NO CARRIER for the remote's close would
    # give the client a FIN for a stream that goes on.
    sock = await transparent_socket(modem, lent, echo_server.port, profile)
    assert await sock.enter()
    await sock.send_all(b"ping")
    assert await receive_exactly(sock, 4) == b"ping"
    await sock.leave()
    with pytest.raises(TransparentEndUnproven):
        await sock.receive_some()
    await sock.aclose()


# -- leaving and coming back ----------------------------------------------------------


@pytest.mark.parametrize("firmware", [{}, {"output_during_escape": False}],
                         ids=["data-until-ok", "held-at-escape"])
async def test_leaving_while_data_flows_keeps_every_byte_in_order(modem, lent, profile,
                                                                  server_cert, nursery):
    want = source_data(400_000)
    sock = await downloading(nursery, server_cert, modem, lent, profile, want, 100_000)
    got = bytearray(await receive_exactly(sock, 1000))

    async def reader() -> None:
        while chunk := await sock.receive_some(65536):
            got.extend(chunk)

    async with trio.open_nursery() as nursery2:
        nursery2.start_soon(reader)
        await sock.leave()  # +++ while the server still sends
        assert sock.mode is SocketMode.COMMANDS
    assert bytes(got) == want
    await sock.aclose()
    assert lent.broken == 0


@pytest.mark.parametrize("access_mode", ["buffer", "push"])
async def test_leave_and_enter_again(modem, lent, profile, echo_server):
    sock = await transparent_socket(modem, lent, echo_server.port, profile)
    for round_ in range(2):
        assert await sock.enter()
        await sock.send_all(b"raw %d \r\nNO CARRIER" % round_)
        assert await receive_exactly(sock, 18) == b"raw %d \r\nNO CARRIER" % round_
        await sock.leave()
        await sock.send_all(b"by command")  # AT+QSSLSEND, AT+QSSLRECV on the AT port
        assert await receive_exactly(sock, 10) == b"by command"
    assert sock.sessions == 2 and lent.loans == 2 and lent.broken == 0
    await sock.aclose()


@pytest.mark.parametrize("firmware", [{"transparent_refused": ("usbmodem",)}])
async def test_a_port_that_refuses_transparent_mode(modem, lent, profile, echo_server):
    sock = await transparent_socket(modem, lent, echo_server.port, profile)
    assert not await sock.enter()
    assert sock.refused and sock.mode is SocketMode.COMMANDS
    assert not await sock.enter()
    assert lent.loans == 1 and lent.broken == 0
    await sock.send_all(b"still served")
    assert await receive_exactly(sock, 12) == b"still served"
    await sock.aclose()


async def test_closing_in_transparent_mode_gives_the_channel_back(modem, lent, profile,
                                                                  echo_server):
    sock = await transparent_socket(modem, lent, echo_server.port, profile)
    assert await sock.enter()
    await sock.send_all(b"x" * 10_000)
    await sock.aclose()  # AT+QSSLCLOSE on the AT port: NO CARRIER on the lent one
    assert lent.broken == 0 and await lent_channel_answers(lent)
    assert not modem.open_sockets


# -- on a DLC of the multiplexer ------------------------------------------------------


@pytest.fixture
async def modem_on_usbmodem(emulator: Emulator, profile: TlsProfile) -> AsyncIterator[Modem]:
    async with modem_on(emulator.devices["usbmodem"], profile, urc_port="usbmodem") as m:
        yield m


@pytest.fixture
async def dlc(emulator: Emulator, modem_on_usbmodem: Modem) -> AsyncIterator[LentPort]:
    """DLC 1 of the usbat pty under AT+CMUX, lent; the driver runs on usbmodem."""
    line = await open_serial_stream(emulator.device)
    await enter_cmux(line)
    async with MuxSession.open(line) as mux:
        stream = await mux.open_dlc(1)
        async with LentPort.on_stream(stream) as port:
            yield port


async def test_an_upload_in_transparent_mode_on_a_dlc(modem_on_usbmodem, dlc, profile, server_cert,
                                                       nursery):
    sink = TlsServer(server_cert, "sink")
    await nursery.start(sink.serve)
    sock = TransparentSocket(await open_socket(modem_on_usbmodem, sink.port, profile), dlc,
                             OPTIONS)
    data = os.urandom(256 << 10)
    assert await sock.enter()
    await sock.send_all(data)
    await wait_until(lambda: sink.connections and sink.connections[0].received >= len(data))
    assert sink.connections[0].sha256.digest() == hashlib.sha256(data).digest()
    await sock.leave()
    assert sock.mode is SocketMode.COMMANDS
    await sock.aclose()
    assert dlc.loans == 1 and dlc.broken == 0


@pytest.mark.parametrize("firmware", [{"transparent_refused": ("dlc",)}])
async def test_a_module_that_refuses_transparent_mode_on_a_dlc(modem_on_usbmodem, dlc, profile,
                                                               echo_server):
    sock = TransparentSocket(await open_socket(modem_on_usbmodem, echo_server.port, profile), dlc,
                             OPTIONS)
    assert not await sock.enter()
    assert sock.refused and sock.mode is SocketMode.COMMANDS
    await sock.send_all(b"on the command channel")
    assert await receive_exactly(sock, 22) == b"on the command channel"
    await sock.aclose()
    assert dlc.loans == 1 and dlc.broken == 0


async def test_a_download_on_a_dlc_goes_on_after_its_fc_clear_was_lost(
        emulator, modem_on_usbmodem, profile, server_cert, nursery):
    """The reader stops: the DLC's buffer passes its high water and the host sets FC;
    the MSC that clears it is lost on the way (``mux_status_loss``).  The host sends
    an unanswered MSC again (27.010 5.7), so the download goes on to its last byte
    rather than stop for good."""
    line = await open_serial_stream(emulator.device)
    await enter_cmux(line)
    async with MuxSession.open(line) as mux:
        stream = await mux.open_dlc(1)
        async with LentPort.on_stream(stream) as port:
            want = source_data(400_000)
            sock = await downloading(nursery, server_cert, modem_on_usbmodem, port, profile,
                                     want)
            await wait_until(lambda: stream.stopping_peer)
            await emulator.inject(MuxStatusLoss(1))
            with trio.fail_after(30):
                assert await read_to_end(sock) == want
            assert mux.counters.status_resent >= 1
            await sock.aclose()
            assert port.broken == 0
