"""Line pacing and command latency, in virtual time (MockClock, in-memory line)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from modem.emulator.at_commands import CommandProcessor
from modem.emulator.config import EmulatorConfig
from modem.emulator.faults import FaultState
from modem.emulator.files import FileStore
from modem.emulator.line import HostLine
from modem.emulator.module import Module
from modem.emulator.pacing import Pacer
from tests.helpers import receive_exactly


async def test_pacer_holds_the_rate(autojump_clock) -> None:
    pacer = Pacer(960.0)
    start = trio.current_time()
    for _ in range(100):
        await pacer.consume(96)
    elapsed = trio.current_time() - start
    assert 10 - pacer.burst / 960 <= elapsed <= 10.01


async def test_an_idle_line_saves_nothing_up(autojump_clock) -> None:
    # A token bucket would let the first burst after the pause leave at once.
    pacer = Pacer(960.0)
    await pacer.consume(96)
    await trio.sleep(5)
    start = trio.current_time()
    await pacer.consume(96)
    assert trio.current_time() - start == pytest.approx(0.1)


async def test_a_pause_after_a_chunk_is_idle_line_time(autojump_clock) -> None:
    # The host's next command, a moment after the module's answer, starts
    # now and not where the previous chunk ended (its turnaround counts from
    # its own last byte).
    pacer = Pacer(960.0)
    await pacer.consume(96)  # 0.1 s of line
    await trio.sleep(0.0005)  # longer than the caller's work between chunks
    await pacer.consume(96)
    assert pacer.last == pytest.approx((0.1005, 0.2005))
    assert trio.current_time() == pytest.approx(0.2005)


async def test_unpaced_pacer_never_sleeps(autojump_clock) -> None:
    pacer = Pacer(0)
    start = trio.current_time()
    await pacer.consume(10**9)
    assert trio.current_time() == start


async def test_module_output_is_paced_at_baud_over_ten(autojump_clock) -> None:
    ours, theirs = trio.testing.memory_stream_pair()
    line = HostLine(ours, EmulatorConfig(baud=96000).bytes_per_second)
    payload = (bytes(range(256)) * 40)[:9600]  # one second at 9600 bytes/s
    async with trio.open_nursery() as nursery:
        nursery.start_soon(line.write, payload)
        start = trio.current_time()
        assert await receive_exactly(theirs, len(payload)) == payload
        assert 0.99 <= trio.current_time() - start <= 1.01


async def test_module_input_is_read_at_baud_over_ten(autojump_clock) -> None:
    ours, theirs = trio.testing.memory_stream_pair()
    line = HostLine(ours, EmulatorConfig(baud=96000).bytes_per_second)
    payload = (bytes(range(256)) * 40)[:9600]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(theirs.send_all, payload)
        start = trio.current_time()
        assert await line.read_exact(len(payload)) == payload
        assert 0.99 <= trio.current_time() - start <= 1.01


@pytest.mark.parametrize("latency_ms", [0.0, 250.0])
async def test_latency_comes_after_the_echo_and_before_the_answer(
    autojump_clock, latency_ms: float
) -> None:
    ours, theirs = trio.testing.memory_stream_pair()
    config = EmulatorConfig(latency_ms=latency_ms)
    line = HostLine(ours, 0)
    faults = FaultState(0)
    module = Module(config, line, FileStore(), faults.pending, restart=lambda: None)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(module.run, CommandProcessor(module, faults).run)
        await module.booted.wait()
        await receive_exactly(theirs, len(b"\r\nRDY\r\n"))
        await trio.sleep(1)  # the boot URCs
        while await _pending(theirs):
            pass
        await theirs.send_all(b"AT\r")
        start = trio.current_time()
        assert await receive_exactly(theirs, 3) == b"AT\r"
        assert trio.current_time() == start
        assert await receive_exactly(theirs, 6) == b"\r\nOK\r\n"
        assert trio.current_time() - start == pytest.approx(latency_ms / 1000)
        nursery.cancel_scope.cancel()


async def test_each_command_round_trip_pays_turnaround_and_line_time(autojump_clock) -> None:
    ours, theirs = trio.testing.memory_stream_pair()
    config = EmulatorConfig(baud=115200, latency_ms=2.0)
    line = HostLine(ours, config.bytes_per_second)
    faults = FaultState(0)
    module = Module(config, line, FileStore(), faults.pending, restart=lambda: None)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(module.run, CommandProcessor(module, faults).run)
        await module.booted.wait()
        await trio.sleep(1)  # the boot URCs
        while await _pending(theirs):
            pass
        for _ in range(20):
            await trio.sleep(0.05)  # an idle line between commands
            start = trio.current_time()
            await theirs.send_all(b"AT\r")
            assert await receive_exactly(theirs, 9) == b"AT\r\r\nOK\r\n"
            # "AT\r" in, then 2 ms from its CR to the first byte of "\r\nOK\r\n" (the
            # echo goes out meanwhile), then those 6 bytes: 9 bytes of line time + 2 ms.
            assert trio.current_time() - start == pytest.approx(0.002 + 9 / 11520)
        nursery.cancel_scope.cancel()


async def _pending(stream: trio.abc.ReceiveStream) -> bytes:
    with trio.move_on_after(0.1):
        return await stream.receive_some(65536)
    return b""
