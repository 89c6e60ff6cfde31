"""How the module's ports share its time and its line, in virtual time (MockClock,
in-memory lines): one processor behind every port, and a multiplexer whose
frames are paced as the line is, framing included."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from modem.core.mux import FrameDecoder, MuxConnection
from modem.emulator.at_commands import CommandProcessor
from modem.emulator.config import EmulatorConfig
from modem.emulator.faults import FaultState
from modem.emulator.files import FileStore
from modem.emulator.line import HostLine
from modem.emulator.module import Module
from tests.helpers import receive_exactly


async def _drain(stream: trio.abc.ReceiveStream) -> bytes:
    out = b""
    while True:
        with trio.move_on_after(0.5):
            out += await stream.receive_some()
            continue
        return out


async def test_two_ports_share_the_modules_processing_time(autojump_clock) -> None:
    config = EmulatorConfig(latency_ms=100, extra_ports=("usbmodem",))
    at_ours, at_theirs = trio.testing.memory_stream_pair()
    modem_ours, modem_theirs = trio.testing.memory_stream_pair()
    faults = FaultState(0)
    module = Module(config, HostLine(at_ours, 0), FileStore(), faults.pending, lambda: None,
                    other_lines=[("usbmodem", HostLine(modem_ours, 0))])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(module.run, CommandProcessor(module, faults).run)
        await module.booted.wait()
        await _drain(at_theirs)
        start = trio.current_time()
        await at_theirs.send_all(b"ATE0\r")
        await modem_theirs.send_all(b"ATE0\r")
        done = {}

        async def answer(name: str, stream: trio.abc.ReceiveStream) -> None:
            assert (await receive_exactly(stream, 11)).endswith(b"\r\nOK\r\n")
            done[name] = trio.current_time() - start

        async with trio.open_nursery() as both:
            both.start_soon(answer, "usbat", at_theirs)
            both.start_soon(answer, "usbmodem", modem_theirs)
        assert sorted(done.values()) == pytest.approx([0.1, 0.2])  # one after the other
        nursery.cancel_scope.cancel()


async def test_the_multiplexer_is_paced_framing_included(autojump_clock) -> None:
    config = EmulatorConfig(baud=96000)  # 9600 bytes/s each way
    ours, theirs = trio.testing.memory_stream_pair()
    faults = FaultState(0)
    module = Module(config, HostLine(ours, config.bytes_per_second), FileStore(),
                    faults.pending, lambda: None)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(module.run, CommandProcessor(module, faults).run)
        await module.booted.wait()
        await _drain(theirs)
        await theirs.send_all(b"ATE0\rAT+CMUX=0,0,5,31\r")
        await _drain(theirs)
        host = MuxConnection(n1=31)
        await theirs.send_all(host.start())
        host.receive_data(await _drain(theirs))
        await theirs.send_all(host.open(1))
        host.receive_data(await _drain(theirs))
        await theirs.send_all(host.send(1, b"ATI\r" * 20))
        chunks: list[tuple[float, int]] = []
        decoder = FrameDecoder()
        payload = 0
        while payload < 20 * 55:  # echo and answer of each ATI
            chunk = await theirs.receive_some()
            chunks.append((trio.current_time(), len(chunk)))
            payload += sum(len(f.info) for f in decoder.feed(chunk) if f.dlci == 1)
        framed = sum(n for _, n in chunks[1:])
        assert framed > payload * 1.15  # 6 bytes of framing on each 31
        elapsed = chunks[-1][0] - chunks[0][0]
        assert elapsed == pytest.approx(framed / 9600, rel=0.02)
        nursery.cancel_scope.cancel()

