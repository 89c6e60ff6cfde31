"""The proxy with a channel to lend (issue 21 item 3): a bulk upload moves to the
module's second AT port in transparent mode while an interactive connection on
the same module goes on over the first; the half-close gives the channel back.

The channel is a ``LentPort`` on the emulator's ``usbmodem`` pty, handed to the
pool member as ``dedicated`` (the channel set of ``--channels`` will do that).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import pytest
import trio

from modem.core.at_command import Command
from modem.emulator import Emulator, EmulatorConfig
from tests.helpers import TlsServer, round_trip, wait_until
from tests.proxy.conftest import NAMES
from tests.proxy_helpers import LentPort, connect, start_proxy

CHUNK = 16 * 1024


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    config = EmulatorConfig(extra_ports=("usbmodem",),  # the manual's 1 s guard time
                            resolve=dict.fromkeys(NAMES, "127.0.0.1"), real_dns=False)
    async with Emulator.running(config) as emu:
        yield emu


async def test_a_bulk_upload_takes_the_lent_channel_while_an_echo_goes_on(
        emulator, echo_server, server_cert, ca_file, nursery):
    sink = await nursery.start(TlsServer(server_cert, "sink").serve)
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=source.test:{sink.port}",
                                "--map", f"0=echo.test:{echo_server.port}")
    async with LentPort.open(emulator.devices["usbmodem"]) as lent:
        service.pool.members[0].dedicated = lent
        echoes_done = trio.Event()
        upload = hashlib.sha256()
        sent = 0
        echoed: list[bool] = []

        async def uploader(stream: trio.SocketStream) -> None:
            nonlocal sent
            # The client stays ahead of the module until the echoes are done, so the
            # upload is on the lent channel for all of them.
            while not echoes_done.is_set():
                data = os.urandom(CHUNK)
                await stream.send_all(data)
                upload.update(data)
                sent += len(data)
            await stream.send_eof()

        async with await connect(service, 0) as bulk, await connect(service, 1) as echo:
            async with trio.open_nursery() as clients:
                clients.start_soon(uploader, bulk)
                await wait_until(lambda: lent.lent)
                for n in range(20):
                    data = b"interactive %d\n" % n
                    assert await round_trip(echo, data) == data
                    echoed.append(lent.lent)
                echoes_done.set()
            await wait_until(lambda: sink.connections and sink.connections[0].received == sent)
            assert sink.connections[0].sha256.digest() == upload.digest()
            await wait_until(lambda: not lent.lent)  # the half-close gave it back
        assert all(echoed)  # every echo completed while the upload held the channel
        assert lent.loans == 1 and lent.broken == 0
        assert (await lent.channel.run(Command("AT"))).ok  # back in command mode, in step
        counters = service.registry.counters
        assert counters.bytes_up == sent + sum(len(b"interactive %d\n" % n) for n in range(20))


async def test_a_quiet_upload_gives_the_channel_back_and_the_connection_goes_on(
        emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}")
    async with LentPort.open(emulator.devices["usbmodem"]) as lent:
        service.pool.members[0].dedicated = lent
        async with await connect(service) as stream:
            # Large enough that the client stays 64 KiB ahead in some run even on a
            # loaded machine (a run that finds it behind starts again from zero).
            data = os.urandom(1_000_000)
            assert await round_trip(stream, data) == data  # the echo comes back on it too
            loans = lent.loans
            assert loans >= 1
            await wait_until(lambda: not lent.lent)  # QUIET after the last send
            tail = b"after the channel went back"
            assert await round_trip(stream, tail) == tail  # by AT+QSSLSEND on usbat
            assert lent.loans == loans and lent.broken == 0


@pytest.mark.long  # about 20 s: the multiplexer's bring-up, then the channel's quiet time
async def test_under_cmux_a_bulk_upload_borrows_a_dlc_of_the_channel_set(
        emulator, echo_server, server_cert, ca_file, nursery):
    """The wiring: with ``--channels cmux`` the pool member lends the life's free DLCs
    (``ChannelSet.borrow_dedicated``); the upload arrives whole and the DLC comes back."""
    sink = await nursery.start(TlsServer(server_cert, "sink").serve)
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--channels", "cmux", "--rtscts",  # lending needs it
                                "--map", f"0=source.test:{sink.port}",
                                "--map", f"0=echo.test:{echo_server.port}")
    modem = service.pool.members[0].modem
    assert modem is not None

    def lent() -> bool:
        channels = modem.channels
        return channels is not None and any("lent" in ch["roles"]
                                            for ch in channels.describe())

    async with await connect(service, 1) as echo:  # a socket URC: the URC channel is known
        assert await round_trip(echo, b"first\n") == b"first\n"
        upload = hashlib.sha256()
        sent = 0
        async with await connect(service, 0) as bulk:
            with trio.fail_after(60):
                while not lent():
                    data = os.urandom(CHUNK)
                    await bulk.send_all(data)
                    upload.update(data)
                    sent += len(data)
            assert await round_trip(echo, b"while lent\n") == b"while lent\n"
            await bulk.send_eof()
            await wait_until(lambda: sink.connections and sink.connections[0].received == sent)
            assert sink.connections[0].sha256.digest() == upload.digest()
            await wait_until(lambda: not lent())


async def test_an_idle_connection_that_may_borrow_a_channel_still_ends(
        emulator, echo_server, ca_file, nursery):
    """The steering watcher of a connection that may go transparent ends with an idle
    stop: it held the connection (and its client ID) open for good (found by the
    soak under CMUX: 12 IDs held, every new connection queued until it timed out)."""
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--idle-timeout", "1",
                                "--map", f"0=echo.test:{echo_server.port}")
    async with LentPort.open(emulator.devices["usbmodem"]) as lent:
        service.pool.members[0].dedicated = lent
        async with await connect(service) as stream:
            assert await round_trip(stream, b"hello\n") == b"hello\n"
            with trio.fail_after(15):
                assert await stream.receive_some(100) == b""  # the idle timeout's FIN
        await wait_until(lambda: service.registry.counters.ends.get("idle_timeout") == 1)
        assert lent.loans == 0
