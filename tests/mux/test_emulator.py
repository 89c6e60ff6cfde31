"""``MuxSession`` against the emulator over a real pty (and as a process): AT on
several DLCs at once, a TLS stream on one while another runs commands, the
module's flow control, DTR, close down, and the firmware quirks the
emulator plays."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trustme

from modem.core.mux import V24
from modem.core.mux.errors import DlcRefused, MuxStartFailed
from modem.emulator import Emulator, EmulatorConfig
from modem.link.mux_session import MuxOptions, MuxSession
from modem.link.serial_stream import SerialStream, open_serial_stream
from tests.helpers import REPO, enter_cmux, read_until

OPTIONS = MuxOptions(start_delay=0.15, response_timeout=1.0, retries=1)


@asynccontextmanager
async def muxed_emulator(config: EmulatorConfig) -> AsyncIterator[tuple[Emulator, SerialStream]]:
    """A booted emulator and its pty, past ``AT+CMUX``'s OK."""
    async with Emulator.running(config) as emu:
        await emu.wait_booted()
        stream = await open_serial_stream(emu.device)
        async with stream:
            await enter_cmux(stream)
            yield emu, stream


@pytest.fixture
async def line(ca: trustme.CA) -> AsyncIterator[SerialStream]:
    config = EmulatorConfig(baud=921600, escape_guard=0.2, real_dns=False, auto_pdp=True)
    async with muxed_emulator(config) as (emu, stream):
        emu.files.put("UFS:cacert.pem", ca.cert_pem.bytes())
        yield stream


async def at(stream: trio.abc.Stream, command: bytes) -> bytes:
    await stream.send_all(command + b"\r")
    return await read_until(stream, b"OK\r\n")


async def until_it_answers(stream: trio.abc.Stream) -> None:
    """``AT`` until ``OK``: a module that may still be booting."""
    with trio.fail_after(20):
        while True:
            await stream.send_all(b"AT\r")
            with trio.move_on_after(0.5):
                await read_until(stream, b"OK\r\n")
                return


async def test_commands_on_four_dlcs_at_once(line: SerialStream) -> None:
    async with MuxSession.open(line, OPTIONS) as mux:
        dlcs = [await mux.open_dlc(n) for n in (1, 2, 3, 4)]
        answers: dict[int, bytes] = {}

        async def ask(stream) -> None:
            for _ in range(10):
                answers[stream.dlci] = await at(stream, b"ATI")

        async with trio.open_nursery() as nursery:
            for stream in dlcs:
                nursery.start_soon(ask, stream)
        assert all(b"Revision: EC25" in a for a in answers.values())
        with pytest.raises(DlcRefused):
            await mux.open_dlc(5)
        await mux.test()
        assert mux.counters.problems == 0
    assert await at(line, b"AT") == b"\r\nOK\r\n"  # closed down: AT commands again


async def test_a_tls_stream_on_one_dlc_while_another_runs_commands(
        line: SerialStream, echo_server) -> None:
    payload = os.urandom(100_000)
    async with MuxSession.open(line, OPTIONS) as mux:
        commands, data = await mux.open_dlc(1), await mux.open_dlc(2)
        await at(commands, b"ATE0")
        await data.send_all(f'ATE0;+QSSLOPEN=1,1,0,"127.0.0.1",{echo_server.port},2\r'.encode())
        await read_until(data, b"CONNECT\r\n")
        received = bytearray()

        async def receive() -> None:
            while len(received) < len(payload):
                received.extend(await data.receive_some())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            nursery.start_soon(data.send_all, payload)
            for _ in range(20):
                assert (await at(commands, b"AT+CSQ")).endswith(b"OK\r\n")
        assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
        assert mux.counters.problems == 0


async def test_dtr_drop_leaves_data_mode_with_at_d1(line: SerialStream, echo_server) -> None:
    async with MuxSession.open(line, OPTIONS) as mux:
        data = await mux.open_dlc(2)
        await at(data, b"ATE0")
        await at(data, b"AT&D1")
        await data.send_all(f'AT+QSSLOPEN=1,1,1,"127.0.0.1",{echo_server.port},2\r'.encode())
        await read_until(data, b"CONNECT\r\n")
        data.set_signals(dtr=False)
        assert await read_until(data, b"OK\r\n") == b"\r\nOK\r\n"
        data.set_signals(dtr=True)
        assert b",2,1,1,0," in await at(data, b"AT+QSSLSTATE=1")


async def test_the_modules_flow_control_holds_our_sends() -> None:
    # The DLC's port spends half a second on each command; what we send
    # meanwhile fills its buffer, the module sets FC, and our writer holds
    # the rest until it clears.
    async with (muxed_emulator(EmulatorConfig(latency_ms=500)) as (_, stream),
                MuxSession.open(stream, OPTIONS) as mux, trio.open_nursery() as nursery):
        a = await mux.open_dlc(1)
        # Far more than the module's DLC buffer (64 KiB) and the pty can hold.
        nursery.start_soon(a.send_all, b"ATE0\r" + b"AT\r" * 70_000)
        with trio.fail_after(10):
            await a.wait_peer_signals(V24.FC)
        assert a.pending > 0  # our writer holds what the module cannot take
        answers = b""
        while answers.count(b"OK") < 3:
            answers += await a.receive_some()
        nursery.cancel_scope.cancel()


async def test_a_module_that_hangs_on_a_hasty_first_frame() -> None:
    async with muxed_emulator(EmulatorConfig(cmux_hang_below_ms=100)) as (emu, stream):
        hasty = MuxOptions(start_delay=0, response_timeout=0.3, retries=1)
        with pytest.raises(MuxStartFailed, match="never answered") as info:
            async with MuxSession.open(stream, hasty):
                pass
        assert "100 ms" in (info.value.hint or "")
        emu.restart()
        await read_until(stream, b"+QIND: SMS DONE\r\n")
        await enter_cmux(stream)
        async with MuxSession.open(stream, OPTIONS) as mux:  # 150 ms: it works
            assert b"OK" in await at(await mux.open_dlc(1), b"AT")


async def test_the_emulator_program_with_an_extra_port_and_the_hang_quirk() -> None:
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "modem.emulator", "--baud", "115200", "--extra-port",
         "usbmodem", "--cmux-hang-below-ms", "100", "--cmux-urcs", "all"],
        cwd=REPO, stdout=subprocess.PIPE)
    try:
        out = await read_until(proc.stdout, b"port usbmodem: ")
        if not out.endswith(b"\n"):
            out += await read_until(proc.stdout, b"\n")
        lines = out.decode().splitlines()
        assert lines[0].startswith("device: ") and lines[1].startswith("port usbmodem: ")
        device, modem_port = (line.split(": ", 1)[1] for line in lines[:2])
        stream = await open_serial_stream(device)
        async with stream:
            await until_it_answers(stream)
            await enter_cmux(stream)
            async with MuxSession.open(stream, OPTIONS) as mux:
                a, b = await mux.open_dlc(1), await mux.open_dlc(2)
                assert b"OK" in await at(a, b"AT")
                assert b"OK" in await at(b, b"AT")
        other = await open_serial_stream(modem_port)
        async with other:
            assert (await at(other, b"AT+CSQ")).endswith(b"OK\r\n")
    finally:
        proc.terminate()
        with trio.fail_after(20):
            await proc.wait()
        await proc.stdout.aclose()
