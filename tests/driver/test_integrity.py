"""Every byte reaches its own socket in order, or that socket fails (docs/reliability.md).

One test per finding of the integrity review, each against an emulator that
plays the adverse order as an option (``EmulatorConfig``) or a fault
(``faults.py``).  Each fails on a driver that trusts the module's order.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import trio
import trustme

from modem.core.errors import ModemError, SocketConnectionFailed
from modem.core.push_flow import AccessMode
from modem.core.stream_errors import (
    BufferedDataUnreadable,
    EndUnconfirmed,
    LineFramingLost,
    StreamHole,
)
from modem.emulator import Emulator, EmulatorConfig
from modem.sockets.ssl_socket import SslSocket
from tests.driver.conftest import modem_on
from tests.helpers import TlsServer, receive_exactly, source_data, take_id, wait_until

RESOLVE = {"echo.test": "127.0.0.1"}


class PayloadServer(TlsServer):
    """Sends ``payload`` to each client (then closes), or, with ``hold``, sends
    it only once ``release`` is set and then stays open."""

    def __init__(self, cert: trustme.LeafCert, payload: bytes, *, hold: bool = False) -> None:
        super().__init__(cert, "source", source_bytes=len(payload))
        self.payload = payload
        self.hold = hold
        self.release = trio.Event()

    async def _source(self, stream: Any, record: Any) -> None:
        if self.hold:
            await self.release.wait()
        await stream.send_all(self.payload)
        record.sent = len(self.payload)
        if self.hold:
            await trio.sleep_forever()


async def echo(sock: SslSocket, payload: bytes) -> bytes:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sock.send_all, payload)
        return await receive_exactly(sock, len(payload))


async def outcome(sock: SslSocket, n: int) -> bytes | ModemError:
    """What a reader of ``n`` bytes gets: the bytes, or the failure that ended the stream."""
    try:
        return await receive_exactly(sock, n)
    except ModemError as exc:
        return exc


async def test_a_closed_sockets_late_pushes_never_reach_the_next_socket_on_its_id(
        server_cert, echo_server, nursery, profile):
    """Finding 1: the module answers AT+QSSLCLOSE, then writes that socket's
    queued pushes right after the next open's OK on the same ID."""
    source = TlsServer(server_cert, handler="source", source_bytes=400_000)
    await nursery.start(source.serve)
    config = EmulatorConfig(resolve=RESOLVE, baud=115200, late_pushes_after_close=True,
                            rx_buffer=4096)
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH) as modem):
        for _ in range(3):
            cid = take_id(modem.client_ids, 3)
            first = await modem.open_ssl_socket(cid, "echo.test", source.port, profile)
            await receive_exactly(first, 5000)  # the rest waits in the module
            await first.aclose()
            cid = take_id(modem.client_ids, 3)
            second = await modem.open_ssl_socket(cid, "echo.test", echo_server.port, profile)
            payload = os.urandom(3000)
            assert await echo(second, payload) == payload
            await second.aclose()
        assert modem.integrity.stale_pushes > 0  # the late pushes came, and reached nobody


async def test_a_retry_after_563_gets_a_fresh_socket(server_cert, echo_server, nursery,
                                                     profile):
    """Finding 1: an ID the module still holds (563) is closed and the open tried
    again; the first attempt's late pushes must not reach the retry's socket."""
    source = TlsServer(server_cert, handler="source", source_bytes=400_000)
    await nursery.start(source.serve)
    config = EmulatorConfig(resolve=RESOLVE, baud=115200, late_pushes_after_close=True,
                            rx_buffer=4096)
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH) as modem):
        cid = take_id(modem.client_ids, 2)
        # Another program opened this ID behind the proxy's back (context 5, push).
        await modem.at_command(f'AT+QSSLOPEN=1,5,{cid},"echo.test",{source.port},1')
        await wait_until(lambda: cid in emu.module.sockets and emu.module.sockets[cid].connected)
        sock = await modem.open_ssl_socket(cid, "echo.test", echo_server.port, profile)
        payload = os.urandom(3000)
        assert await echo(sock, payload) == payload
        await sock.aclose()


async def test_a_failed_open_whose_close_went_unanswered_keeps_its_id(profile):
    """Finding 1: a failed open frees its ID only once the module confirmed the close."""
    config = EmulatorConfig(resolve=RESOLVE, faults=("open_fail:566", "unanswered:+QSSLCLOSE"))
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, command_timeout_cap=0.5) as modem):
        cid = await modem.client_ids.acquire()
        with pytest.raises(SocketConnectionFailed):
            await modem.open_ssl_socket(cid, "echo.test", 443, profile)
        assert cid in modem.client_ids.in_use  # the module may still hold it
        await wait_until(lambda: cid not in modem.client_ids.in_use)  # a later close answered


async def test_bytes_lost_inside_push_frames_fail_their_socket_never_shift(echo_server,
                                                                           profile):
    """Finding 3: a UART drops a byte in 5 % of push frames; every echoed stream
    arrives exactly or its socket fails, never complete in length and wrong."""
    config = EmulatorConfig(resolve=RESOLVE, seed=3, faults=("push_byte_loss:0.05",))
    results: list[bytes | ModemError] = []
    payloads = [os.urandom(64 * 1024) for _ in range(12)]
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH) as modem):

        async def one(payload: bytes) -> None:
            cid = await modem.client_ids.acquire()
            sock = await modem.open_ssl_socket(cid, "echo.test", echo_server.port, profile)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_send_quietly, sock, payload)
                    results.append(await outcome(sock, len(payload)))
            finally:
                await sock.aclose()

        async with trio.open_nursery() as clients:
            for payload in payloads:
                clients.start_soon(one, payload)
    assert all(r in payloads or isinstance(r, StreamHole) for r in results), [
        type(r).__name__ if isinstance(r, Exception) else len(r) for r in results]
    assert any(isinstance(r, StreamHole) for r in results)  # the fault did hit
    assert modem.integrity.broken_frames > 0


async def _send_quietly(sock: SslSocket, payload: bytes) -> None:
    try:
        await sock.send_all(payload)
    except ModemError:
        pass  # the socket failed: its reader says so


async def test_garbled_push_headers_never_let_a_servers_data_act_as_urcs(server_cert, nursery,
                                                                         profile):
    """Finding 4: push headers lose a byte of their name; servers send data that
    looks like other sockets' URCs.  No socket ends early in a clean end, none
    gets bytes another server sent.  (A byte lost from a header's length is the
    limit docs/reliability.md names: it can end a frame early exactly where a
    hostile server's data holds what a frame end looks like.)"""
    hostile = b"".join(b'\r\n+QSSLURC: "closed",%d\r\n\r\n+QSSLURC: "recv",%d,5\r\nHELLO'
                       % (cid, cid) for cid in range(12)) * 120
    server = PayloadServer(server_cert, hostile)
    await nursery.start(server.serve)
    config = EmulatorConfig(resolve=RESOLVE, seed=5, baud=921600,
                            faults=("push_header_loss:0.08,name",))
    results: list[bytes | ModemError] = []
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH) as modem):

        async def one() -> None:
            cid = await modem.client_ids.acquire()
            try:
                sock = await modem.open_ssl_socket(cid, "echo.test", server.port, profile)
            except ModemError as exc:  # the line started over during the open
                results.append(exc)
                return
            try:
                results.append(await outcome(sock, len(hostile) + 1))
            finally:
                await sock.aclose()

        async with trio.open_nursery() as clients:
            for _ in range(8):
                clients.start_soon(one)
    for result in results:
        # Everything and then a clean end (one byte more was asked), or a failure:
        # a socket's own hole, or the whole line starting over (LineFramingLost).
        assert result == hostile or isinstance(result, ModemError), result[:80]
    assert any(isinstance(r, StreamHole | LineFramingLost) for r in results)
    assert modem.integrity.line_losses > 0


class GreetThenMore(TlsServer):
    """Each client gets ``greeting`` at once, then ``more`` once ``release`` is
    set, then the end of the stream."""

    def __init__(self, cert: trustme.LeafCert, greeting: bytes, more: bytes) -> None:
        super().__init__(cert, "source")
        self.greeting = greeting
        self.more = more
        self.release = trio.Event()

    async def _source(self, stream: Any, record: Any) -> None:
        await stream.send_all(self.greeting)
        await self.release.wait()
        await stream.send_all(self.more)
        record.sent = len(self.greeting) + len(self.more)


async def test_a_server_that_speaks_first_loses_nothing_when_urcs_go_elsewhere(server_cert,
                                                                               nursery,
                                                                               profile):
    """Finding 5: with URCs (and so pushes) going to another port, a push-mode
    open resolves by polling; what the server said first was pushed elsewhere,
    so the socket is opened again in buffer mode before anyone reads.  The
    server stays open and says more: the reader gets the greeting and what
    follows, in order, never the later bytes alone."""
    greeting = source_data(6000, seed=11)
    more = source_data(4000, seed=12)
    server = GreetThenMore(server_cert, greeting, more)
    await nursery.start(server.serve)
    config = EmulatorConfig(resolve=RESOLVE, port_name="usbmodem")
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH,
                         urc_polling=_fast_polls()) as modem):
        cid = await modem.client_ids.acquire()
        sock = await modem.open_ssl_socket(cid, "echo.test", server.port, profile)
        server.release.set()
        with trio.fail_after(30):
            got = await receive_exactly(sock, len(greeting) + len(more) + 1)
        assert got == greeting + more
        await sock.aclose()
        assert modem.integrity.reopened_in_buffer_mode == 1


def _fast_polls() -> Any:
    from modem.core.urc_watch import UrcPolling

    return UrcPolling(open_check_after=0.2, open_check_max=0.4, read_poll_first=0.05,
                      read_poll_max=0.2)


async def test_data_the_module_keeps_on_the_switch_back_to_push_comes_first(server_cert,
                                                                           nursery, profile):
    """Finding 6: firmware that keeps its buffer on AT+QISWTMD=<id>,1 and pushes
    only newer data: a slow reader still gets every byte in order."""
    total = 600_000
    source = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(source.serve)
    config = EmulatorConfig(resolve=RESOLVE, keep_buffer_on_push=True)
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH,
                         push_limit=16 * 1024) as modem):
        cid = await modem.client_ids.acquire()
        sock = await modem.open_ssl_socket(cid, "echo.test", source.port, profile)
        got = bytearray()
        while len(got) < total:
            chunk = await sock.receive_some(4096)
            if not chunk:
                break
            got += chunk
            if len(got) % (64 * 1024) < 4096:
                await trio.sleep(0.2)  # fall behind: buffer mode, then back to push
        assert bytes(got) == source_data(total)
        assert sock.push is not None and sock.push.switches >= 1
        await sock.aclose()


async def test_data_the_module_keeps_and_will_not_hand_over_fails_the_socket(server_cert,
                                                                              nursery,
                                                                              profile):
    """Finding 6: firmware that keeps its buffer on the switch back to push and
    refuses to read it in push mode: the reader gets the bytes in order up to
    the hole, then a failure, never the newer bytes after a gap."""
    total = 600_000
    source = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(source.serve)
    config = EmulatorConfig(resolve=RESOLVE, keep_buffer_on_push=True, kept_read_error=True)
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH,
                         push_limit=16 * 1024) as modem):
        cid = await modem.client_ids.acquire()
        sock = await modem.open_ssl_socket(cid, "echo.test", source.port, profile)
        got = bytearray()
        with pytest.raises(BufferedDataUnreadable):
            while chunk := await sock.receive_some(4096):
                got += chunk
                if len(got) % (64 * 1024) < 4096:
                    await trio.sleep(0.2)  # fall behind: buffer mode, then back to push
        assert bytes(got) == source_data(total)[:len(got)]
        await sock.aclose()


@pytest.mark.parametrize("recv_max", [500, 1499])
async def test_after_the_peer_closed_reads_go_on_until_the_buffer_is_shown_empty(
        server_cert, nursery, profile, recv_max):
    """Finding 7: firmware that returns fewer bytes than asked although more
    waits; a short read after "closed" is no end of stream."""
    total = 60_000
    source = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(source.serve)
    config = EmulatorConfig(resolve=RESOLVE, recv_max=recv_max)
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile) as modem):
        cid = await modem.client_ids.acquire()
        sock = await modem.open_ssl_socket(cid, "echo.test", source.port, profile)
        await wait_until(lambda: sock.peer_closed)  # everything waits in the module
        assert await receive_exactly(sock, total + 1) == source_data(total)
        await sock.aclose()


@pytest.mark.parametrize("refusal", ["closed_read_error", "empty_read_error"])
async def test_a_refused_read_after_the_peer_closed_is_no_clean_end(server_cert, nursery,
                                                                    profile, refusal):
    """Finding 7: firmware that answers ERROR to reads once the peer closed
    (data left or not), or once nothing is left (in place of +QSSLRECV: 0):
    the stream cannot be shown complete; the reader gets what could be read,
    then a failure, never a clean end."""
    total = 60_000
    source = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(source.serve)
    config = EmulatorConfig(resolve=RESOLVE, **{refusal: True})
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile) as modem):
        cid = await modem.client_ids.acquire()
        sock = await modem.open_ssl_socket(cid, "echo.test", source.port, profile)
        await wait_until(lambda: sock.peer_closed)
        got = bytearray()
        with pytest.raises(EndUnconfirmed):
            while chunk := await sock.receive_some(1500):
                got += chunk
        assert bytes(got) == source_data(total)[:len(got)]
        if refusal == "empty_read_error":
            assert len(got) == total  # all of it was there to read
        await sock.aclose()


async def test_ids_a_lost_byte_could_confuse_are_opened_in_buffer_mode(echo_server, profile):
    """Finding 4: one lost byte turns a push header of 10 or 11 into one of 0 or
    1 (and one of 1 into a notice of 10 or 11), so those IDs never push; they
    are handed out last."""
    async with (Emulator.running(EmulatorConfig(resolve=RESOLVE)) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH) as modem):
        socks = []
        for _ in range(12):
            cid = await modem.client_ids.acquire()
            socks.append(await modem.open_ssl_socket(cid, "echo.test", echo_server.port,
                                                     profile))
        assert [s.client_id for s in socks][-3:] == [1, 10, 11]
        for sock in socks:
            assert await echo(sock, b"ping %d" % sock.client_id) == b"ping %d" % sock.client_id
            want = AccessMode.BUFFER if sock.client_id in (1, 10, 11) else AccessMode.PUSH
            assert sock.access_mode is want
            await sock.aclose()


@pytest.mark.long  # about 11 s: recoveries while the loss goes on
async def test_a_line_lost_under_pushes_recovers_while_the_loss_goes_on(server_cert,
                                                                       nursery, profile):
    """Finding 4's cost: a garbled header costs a full recovery.  The recovery
    closes the module's sockets first, so their pushes (the only thing the line
    loses bytes of here) stop, and the module is ready again while the loss
    goes on; the sockets of the lost life failed visibly, and the module serves
    new sockets once the line is clean."""
    from modem.emulator import parse_fault_spec

    server = PayloadServer(server_cert, source_data(400_000), hold=True)
    await nursery.start(server.serve)
    async with (Emulator.running(EmulatorConfig(resolve=RESOLVE, seed=5)) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH) as modem):
        socks = []
        for _ in range(6):
            cid = await modem.client_ids.acquire()
            socks.append(await modem.open_ssl_socket(cid, "echo.test", server.port, profile))
        await emu.inject(parse_fault_spec("push_header_loss:0.3").fault)
        server.release.set()
        with trio.fail_after(30):
            await modem.state.wait_value("recovering")
            await modem.state.wait_value("ready")
        assert modem.integrity.line_losses >= 1
        for sock in socks:
            with pytest.raises(ModemError):
                await receive_exactly(sock, 400_001)
            await sock.aclose()
        # Once the line is clean again, a fresh socket echoes.
        await emu.inject(parse_fault_spec("push_header_loss:0").fault)
        echo_server = TlsServer(server_cert, "echo")
        await nursery.start(echo_server.serve)
        cid = await modem.client_ids.acquire()
        sock = await modem.open_ssl_socket(cid, "echo.test", echo_server.port, profile)
        assert await echo(sock, b"after the storm") == b"after the storm"
        await sock.aclose()
