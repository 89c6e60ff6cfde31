"""``MuxSession`` and ``DlcStream`` against a scripted module on a memory line.

Fairness between DLCs, the module's flow control, ours, refusals, closes,
a lost line, resynchronisation: what needs exact control of the other end.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from modem.core.mux import V24, Frame, FrameType, MessageType, MuxState
from modem.core.mux.errors import (
    DlcClosedError,
    DlcOverrun,
    DlcRefused,
    DlcUnanswered,
    MuxLost,
    MuxStartFailed,
)
from modem.link.dlc_stream import DlcStream
from modem.link.mux_session import MuxOptions, MuxSession
from tests.helpers import wait_until

from .conftest import FAST, ScriptedModule

Pair = tuple[trio.abc.Stream, ScriptedModule]


async def test_open_talk_and_close_down(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        at = await mux.open_dlc(1)
        await at.send_all(b"AT\r")
        await module.send(1, b"\r\nOK\r\n")
        assert await at.receive_some() == b"\r\nOK\r\n"
        await module.wait_for(lambda: bytes(module.data.get(1, b"")) == b"AT\r")
        assert module.signals_sent(1) == [V24.RTC | V24.RTR]  # DTR and RTS on, after the UA
    assert module.messages[-1].kind is MessageType.CLD
    assert mux.state is MuxState.CLOSED
    assert mux.counters.problems == 0


async def test_dlcs_take_frame_sized_turns(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux, trio.open_nursery() as nursery:
        a, b = await mux.open_dlc(1), await mux.open_dlc(2)
        before = len(module.frames)
        nursery.start_soon(a.send_all, bytes(127 * 20))
        nursery.start_soon(b.send_all, bytes(127 * 20))
    data_frames = [f.dlci for f in module.frames[before:] if f.kind is FrameType.UIH and f.dlci]
    assert sorted(data_frames) == [1] * 20 + [2] * 20
    runs = [data_frames[i] == data_frames[i + 1] for i in range(len(data_frames) - 1)]
    assert sum(runs) <= 1  # they alternate from the moment both have data


async def test_the_modules_fc_bit_holds_one_dlc_only(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        a, b = await mux.open_dlc(1), await mux.open_dlc(2)
        await module.status(1, V24.FC | V24.RTC | V24.RTR)
        await module.wait_for(lambda: mux._conn.stopped(1))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(a.send_all, b"held back")
            await b.send_all(b"goes through")
            await module.wait_for(lambda: bytes(module.data.get(2, b"")) == b"goes through")
            await trio.testing.wait_all_tasks_blocked()
            assert 1 not in module.data
            await module.status(1, V24.RTC | V24.RTR)
        await module.wait_for(lambda: bytes(module.data.get(1, b"")) == b"held back")
        assert a.peer_signals == V24.RTC | V24.RTR


async def test_fcoff_holds_every_dlc_until_fcon(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        a = await mux.open_dlc(1)
        await module.command(MessageType.FCOFF)
        await module.wait_for(lambda: mux._conn.stopped(1))
        with trio.move_on_after(0.2):
            await a.send_all(b"later")
        assert 1 not in module.data
        await module.command(MessageType.FCON)
        await module.wait_for(lambda: not mux._conn.stopped(1))


async def fill_and_drain(module: ScriptedModule, stream: DlcStream, *, lose: int = 0) -> None:
    """Nine frames nobody reads: the host sets FC; ``lose`` MSCs are lost from then
    on; everything read: the host clears FC (its MSC seen by the module)."""
    for _ in range(9):
        await module.send(1, bytes(127))
    await module.wait_for(lambda: V24.FC in module.signals_sent(1)[-1])
    module.lose_status = lose
    got = b""
    while len(got) < 9 * 127:
        got += await stream.receive_some()
    await module.wait_for(lambda: V24.FC not in module.signals_sent(1)[-1])


async def test_a_dlc_nobody_reads_asks_the_module_to_stop(line_pair: Pair) -> None:
    line, module = line_pair
    options = MuxOptions(start_delay=0, response_timeout=0.2, high_water=1000,
                         receive_limit=5000)
    async with MuxSession.open(line, options) as mux:
        a = await mux.open_dlc(1)
        await fill_and_drain(module, a)
        for _ in range(50):  # a module that ignores FC
            await module.send(1, bytes(127))
        with pytest.raises(DlcOverrun, match="5000 bytes"):
            await a.receive_some()


async def test_a_lost_fc_clear_is_sent_again_until_the_module_answers(
        line_pair: Pair) -> None:
    """27.010 5.7: our MSC is repeated every T2 until answered; without it the
    module would hold the DLC's frames for good once our FC-clear was lost."""
    line, module = line_pair
    options = MuxOptions(start_delay=0, response_timeout=0.2, high_water=1000,
                         receive_limit=5000)
    async with MuxSession.open(line, options) as mux:
        await fill_and_drain(module, await mux.open_dlc(1), lose=2)
        assert mux.counters.status_resent == 2
        assert mux.counters.status_unanswered == 0


async def test_a_newer_status_ends_the_older_ones_retries(line_pair: Pair) -> None:
    """Firmware that answers no MSC: each is sent ``retries`` more times, then
    counted; an FC-set never follows the FC-clear that replaced it."""
    line, module = line_pair
    module.answer_status = False
    options = MuxOptions(start_delay=0, response_timeout=0.2, retries=2, high_water=1000,
                         receive_limit=5000)
    async with MuxSession.open(line, options) as mux:
        await fill_and_drain(module, await mux.open_dlc(1))
        await wait_until(lambda: mux.counters.status_unanswered >= 1, within=5)
        await trio.sleep(0.3)  # past one more T2: nothing more may come
        sent = module.signals_sent(1)
        last_set = max(i for i, signals in enumerate(sent) if V24.FC in signals)
        assert V24.FC not in sent[-1] and sent[last_set + 1:] == [sent[-1]] * 3
        assert mux.counters.status_unanswered == 1


async def test_a_module_that_never_answers_the_start(line_pair: Pair) -> None:
    line, module = line_pair
    module.answer = False
    with pytest.raises(MuxStartFailed, match="never answered") as info:
        async with MuxSession.open(line, FAST):
            pass
    assert "100 ms" in (info.value.hint or "")
    sabms = [f for f in module.frames if f.kind is FrameType.SABM]
    assert len(sabms) == 1 + FAST.retries


async def test_a_refused_dlc(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        with pytest.raises(DlcRefused, match="refused DLC 7"):
            await mux.open_dlc(7)
        assert (await mux.open_dlc(1)).dlci == 1


async def test_the_module_closing_a_dlc_ends_its_stream(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        a = await mux.open_dlc(1)
        await module.send(1, b"last words")
        await module.write(Frame(1, FrameType.DISC, pf=True))
        assert await a.receive_some() == b"last words"
        assert await a.receive_some() == b""
        with pytest.raises(DlcClosedError, match="closed by the module"):
            await a.send_all(b"too late")


async def test_aclose_sends_disc(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        a = await mux.open_dlc(3)
        await a.aclose()
        assert any(f.kind is FrameType.DISC and f.dlci == 3 for f in module.frames)
        with pytest.raises(DlcClosedError):
            await a.send_all(b"x")
        again = await mux.open_dlc(3)
        assert again is not a


async def test_a_lost_line_fails_every_stream(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        a = await mux.open_dlc(1)
        await module.send(1, b"unread")
        await module.stream.aclose()
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(MuxLost):  # what was not read yet is not handed out
            await a.receive_some()
        with pytest.raises(MuxLost):
            await a.send_all(b"x")
        with pytest.raises(MuxLost):
            await mux.open_dlc(2)


async def test_a_half_frame_is_given_up_when_the_line_is_quiet(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        a = await mux.open_dlc(1)
        await module.write_raw(b"\xf9\x07\xef")  # noise that looks like a frame's start
        await module.send(1, b"after the noise")
        assert await a.receive_some() == b"after the noise"
        assert mux.counters.bad_frames == 1


async def test_a_cancelled_send_leaves_the_send_side_broken(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        a = await mux.open_dlc(1)
        await module.status(1, V24.RTC | V24.RTR)
        await module.wait_for(lambda: a.peer_signals)
        frames_before = len(module.frames)
        with trio.move_on_after(0.05):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(a.send_all, bytes(127 * 100))
                await module.wait_for(lambda: len(module.frames) > frames_before)
                await module.status(1, V24.FC)
                await trio.sleep_forever()
        with pytest.raises(DlcClosedError, match="cancelled part way"):
            await a.send_all(b"more")


async def test_test_command_and_pn(line_pair: Pair) -> None:
    line, module = line_pair
    module.pn_n1 = 64
    async with MuxSession.open(line, FAST) as mux:
        await mux.test(b"are you there")
        a = await mux.open_dlc(2, n1=512)
        assert mux.n1(2) == 64  # the module's answer is in force
        await a.send_all(bytes(100))
        module.pn_n1 = None
        await mux.open_dlc(3, n1=512)
        assert mux.n1(3) == FAST.n1  # PN not offered: the given N1
    sizes = [len(f.info) for f in module.frames if f.kind is FrameType.UIH and f.dlci == 2]
    assert sizes == [64, 36]


async def test_closing_a_dlc_while_a_send_waits_fails_that_send(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        a, b = await mux.open_dlc(1), await mux.open_dlc(2)
        await module.status(1, V24.FC)  # hold DLC 1's frames
        await module.wait_for(lambda: mux._conn.stopped(1))
        failures: list[BaseException] = []

        async def send() -> None:
            try:
                await a.send_all(bytes(1000))
            except DlcClosedError as exc:
                failures.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            await trio.testing.wait_all_tasks_blocked()
            await a.aclose()
        assert len(failures) == 1
        await b.send_all(b"the writer lives on")
        await module.wait_for(lambda: bytes(module.data.get(2, b"")) == b"the writer lives on")


class _Recording(trio.abc.Stream):
    """A line that notes when each write was handed to it (virtual time)."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.writes: list[tuple[float, int]] = []

    async def send_all(self, data) -> None:
        self.writes.append((trio.current_time(), len(data)))
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes=None) -> bytes:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_known_line_rate_keeps_the_writer_near_the_line(
        autojump_clock, line_pair: Pair) -> None:
    line, module = line_pair
    recording = _Recording(line)
    options = MuxOptions(start_delay=0, response_timeout=0.2, line_rate=1000.0, lead=0.05)
    async with MuxSession.open(recording, options) as mux:
        a = await mux.open_dlc(1)
        start = trio.current_time()
        recording.writes.clear()
        await a.send_all(bytes(127 * 20))
        elapsed = trio.current_time() - start
    sent = 0
    for when, size in recording.writes:  # never more than lead + one frame ahead of the line
        assert sent - (when - start) * 1000.0 <= 0.05 * 1000.0 + 133
        sent += size
    # send_all returns when its last frame is taken: 19 frames of line time
    # (133 bytes each, at 1000 bytes/s) less the lead, give or take the MSC
    # sent at the open.
    assert elapsed == pytest.approx(19 * 133 / 1000.0 - 0.05, abs=0.03)


async def test_a_dlc_the_module_never_answers_can_be_tried_again(line_pair: Pair) -> None:
    line, module = line_pair
    async with MuxSession.open(line, FAST) as mux:
        module.answer = False
        with pytest.raises(DlcUnanswered, match="did not answer"):
            await mux.open_dlc(2)
        module.answer = True
        assert (await mux.open_dlc(2)).dlci == 2
