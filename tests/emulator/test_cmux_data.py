"""Sockets through the emulated multiplexer: shared between DLCs, transparent
mode per DLC, ``+++``, DTR through MSC (``AT&D``), ``NO CARRIER``, the hang
quirk of some firmware, the paced line."""

from __future__ import annotations

import pytest
import trio
import trustme

from modem.core.mux import V24, FrameType, MessageType
from modem.emulator import Emulator, EmulatorConfig
from tests.helpers import TlsServer, source_data

from .conftest import Host, emulator_host
from .mux_host import MuxHost

GUARD = 0.2


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(escape_guard=GUARD, real_dns=False)


@pytest.fixture
async def mux(emu: Emulator, host: Host, ca: trustme.CA) -> MuxHost:
    """DLCs 1 and 2 open, echo off on both, PDP context 1 active, the CA uploaded."""
    emu.files.put("UFS:cacert.pem", ca.cert_pem.bytes())
    m = MuxHost(host)
    await m.enter()
    for dlci in (1, 2):
        await m.open(dlci)
        await m.command(dlci, "ATE0")
    assert await m.command(1, "AT+QIACT=1") == b"\r\nOK\r\n"
    return m


async def escape(mux: MuxHost, dlci: int) -> None:
    await trio.sleep(GUARD * 1.5)
    await mux.send(dlci, b"+++")
    await trio.sleep(GUARD * 1.5)
    assert await mux.read_until(dlci, b"\r\nOK\r\n") == b"\r\nOK\r\n"


async def connect(mux: MuxHost, dlci: int, cid: int, port: int) -> None:
    await mux.send(dlci, f'AT+QSSLOPEN=1,1,{cid},"127.0.0.1",{port},2\r'.encode())
    assert await mux.read_until(dlci, b"\r\nCONNECT\r\n") == b"\r\nCONNECT\r\n"


async def test_sockets_are_the_modules_not_the_dlcs(mux: MuxHost, echo_server) -> None:
    await mux.send(1, f'AT+QSSLOPEN=1,1,3,"127.0.0.1",{echo_server.port},0\r'.encode())
    await mux.read_until(1, b'+QSSLOPEN: 3,0\r\n')
    await mux.send(2, b"AT+QSSLSEND=3,5\r")
    assert await mux.read_until(2, b"> ") == b"\r\n> "
    await mux.send(2, b"hello")
    assert await mux.read_until(2, b"SEND OK\r\n") == b"\r\nSEND OK\r\n"
    await mux.read_until(1, b'+QSSLURC: "recv",3\r\n')  # URCs: the first DLC
    assert await mux.command(1, "AT+QSSLRECV=3,100") == (
        b"\r\n+QSSLRECV: 5\r\nhello\r\n\r\nOK\r\n")


async def test_one_dlc_in_transparent_mode_while_another_runs_commands(
        mux: MuxHost, echo_server) -> None:
    await connect(mux, 2, 4, echo_server.port)
    await mux.send(2, b"raw \r\nOK\r\n bytes \x00\xf9\xff")
    assert await mux.read_until(2, b"\xf9\xff") == b"raw \r\nOK\r\n bytes \x00\xf9\xff"
    assert b',2,1,4,2,"usbat",1' in await mux.command(1, "AT+QSSLSTATE=4")
    await escape(mux, 2)
    assert b',2,1,4,0,"usbat",1' in await mux.command(1, "AT+QSSLSTATE=4")
    assert await mux.command(2, "ATO") == b"\r\nCONNECT\r\n"
    await escape(mux, 2)


async def test_the_first_dlc_in_data_mode_passes_urcs_to_the_next(
        emu: Emulator, mux: MuxHost, echo_server) -> None:
    await connect(mux, 1, 4, echo_server.port)
    emu.module.post_urc(b"\r\n+QIND: test\r\n")
    assert await mux.read_until(2, b"+QIND: test\r\n") == b"\r\n+QIND: test\r\n"
    await escape(mux, 1)


async def test_dtr_drop_with_at_d1_leaves_data_mode(mux: MuxHost, echo_server) -> None:
    assert await mux.command(2, "AT&D1") == b"\r\nOK\r\n"
    await connect(mux, 2, 5, echo_server.port)
    await mux.set_status(2, V24.RTR)  # DTR off, RTS on
    assert await mux.read_until(2, b"\r\nOK\r\n") == b"\r\nOK\r\n"
    assert b",2,1,5,0," in await mux.command(2, "AT+QSSLSTATE=5")  # open, buffer mode


async def test_dtr_drop_with_at_d2_hangs_up(mux: MuxHost, echo_server) -> None:
    assert await mux.command(2, "AT&D2") == b"\r\nOK\r\n"
    await connect(mux, 2, 6, echo_server.port)
    await mux.set_status(2, V24.RTR)
    assert await mux.read_until(2, b"\r\nNO CARRIER\r\n") == b"\r\nNO CARRIER\r\n"
    assert await mux.command(2, "AT+QSSLSTATE=6") == b"\r\nOK\r\n"  # gone


async def test_dtr_is_ignored_with_at_d0(mux: MuxHost, echo_server) -> None:
    assert await mux.command(2, "AT&D0") == b"\r\nOK\r\n"
    await connect(mux, 2, 7, echo_server.port)
    await mux.set_status(2, V24.RTR)
    await mux.message(MessageType.MSC, command=False)
    await mux.send(2, b"still raw")
    assert await mux.read_until(2, b"still raw") == b"still raw"
    await escape(mux, 2)


async def test_a_remote_close_is_no_carrier_on_that_dlc(
        mux: MuxHost, server_cert: trustme.LeafCert, nursery: trio.Nursery) -> None:
    server = TlsServer(server_cert, handler="source", source_bytes=3000)
    await nursery.start(server.serve)
    await connect(mux, 2, 8, server.port)
    got = await mux.read_until(2, b"\r\nNO CARRIER\r\n")
    assert got == source_data(3000) + b"\r\nNO CARRIER\r\n"
    assert await mux.command(1, "AT") == b"\r\nOK\r\n"


async def test_a_module_that_hangs_when_the_first_frame_comes_too_soon() -> None:
    config = EmulatorConfig(cmux_hang_below_ms=100)
    async with emulator_host(config) as (emu, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        mux = MuxHost(host)
        assert await host.command("AT+CMUX=0,0,5,127") == b"\r\nOK\r\n"
        await mux.send_frame(0, FrameType.SABM, pf=True)  # at once: the module deadlocks
        with trio.move_on_after(1):
            await mux.pump()
            pytest.fail("a hung module answered")
        emu.restart()  # only a reset helps
        await host.read_until(b"+QIND: SMS DONE\r\n")
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        mux = MuxHost(host)
        await mux.enter(settle=0.15)  # 150 ms after the OK: fine
        assert (await mux.open(1)).kind is FrameType.UA
