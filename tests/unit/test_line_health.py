"""When the module counts as silent (``modem.core.line_health``), without Trio."""

from __future__ import annotations

from modem.core import commands
from modem.core.at_command import Command
from modem.core.line_counts import LineCounts
from modem.core.line_health import (
    HealthTimes,
    LineHealth,
    LineStep,
    LineVerdict,
    Waiting,
    answers_promptly,
)

TIMES = HealthTimes(silent_after=1.0, idle_probe_after=10.0, probe_every=1.0)


def test_commands_a_live_module_answers_at_once():
    assert answers_promptly(commands.qsslsend(0, 1460))
    assert answers_promptly(commands.qsslrecv(0, 1500))
    assert answers_promptly(commands.csq())
    assert answers_promptly(commands.qsslopen(1, 0, 3, "a.test", 443, 0, 300))
    assert answers_promptly(commands.qsslclose(3, 0))
    # These may work in silence for long: no verdict from them.
    assert not answers_promptly(commands.qsslclose(3, 10))
    assert not answers_promptly(commands.qiact(1))
    assert not answers_promptly(commands.cfun(1, reset=True))
    assert not answers_promptly(Command("AT+COPS=?", timeout=180))
    assert not answers_promptly(commands.qsslopen(1, 0, 3, "a.test", 443, 2, 60))


TICK = 0.1


def ticks(health: LineHealth, counts: LineCounts, waiting: Waiting | None,
          start: float, end: float) -> tuple[float, LineStep] | None:
    """Sample every ``TICK`` from ``start`` to ``end`` (as ``watch_line`` does): the
    time and step of the first sample that asks for something, else None."""
    n = 0
    while (now := round(start + n * TICK, 3)) <= end:
        step = health.sample(now, counts, waiting)
        if step is not LineStep.NOTHING:
            return now, step
        n += 1
    return None


def test_a_prompt_command_unanswered_for_a_second_makes_the_module_silent():
    health, counts = LineHealth(115200, TIMES), LineCounts()
    assert ticks(health, counts, None, 0.0, 0.0) is None
    counts.to_module += 20  # AT+QSSLRECV=0,1500 goes out
    waiting = Waiting(prompt=True, since=0.0)
    assert ticks(health, counts, waiting, 0.1, 0.5) is None
    counts.from_module += 10  # something came: the clock starts again
    assert ticks(health, counts, waiting, 0.6, 1.5) is None
    assert ticks(health, counts, waiting, 1.6, 3.0) == (1.6, LineStep.SILENT)
    assert health.verdict is LineVerdict.SILENT


def test_bytes_still_on_the_wire_are_not_silence():
    """A 1460-byte payload takes 1.52 s at 9600 baud: the module cannot answer before."""
    health, counts = LineHealth(9600, TIMES), LineCounts()
    ticks(health, counts, None, 0.0, 0.0)
    counts.to_module += 1460
    waiting = Waiting(prompt=True, since=0.0)
    # Sent after the sample at 0 s: on the wire until 1.52 s at most, then a second of nothing.
    assert ticks(health, counts, waiting, 0.1, 5.0) == (2.6, LineStep.SILENT)


def test_a_slow_command_never_makes_a_verdict():
    health, counts = LineHealth(115200, TIMES), LineCounts()
    assert ticks(health, counts, Waiting(prompt=False, since=0.0), 0.0, 60.0) is None


def test_an_idle_line_is_probed_and_a_silent_one_every_second_until_it_answers():
    health, counts = LineHealth(115200, TIMES), LineCounts()
    assert ticks(health, counts, None, 0.0, 10.0) == (10.0, LineStep.PROBE)
    assert health.probed(10.0, answered=True) is LineStep.NOTHING
    assert ticks(health, counts, None, 10.1, 30.0) == (20.0, LineStep.PROBE)
    assert health.probed(20.0, answered=False) is LineStep.NOTHING  # one may be our stall
    assert health.verdict is LineVerdict.ANSWERING
    assert ticks(health, counts, None, 20.1, 30.0) == (21.0, LineStep.PROBE)
    assert health.probed(21.0, answered=False) is LineStep.SILENT
    assert health.verdict is LineVerdict.SILENT
    # While silent a probe goes every second, queued behind whatever holds the line.
    busy = Waiting(prompt=True, since=21.8)
    assert ticks(health, counts, busy, 21.1, 30.0) == (22.0, LineStep.PROBE)
    assert health.probed(22.0, answered=False) is LineStep.NOTHING  # no news
    assert health.probed(23.0, answered=True) is LineStep.NOTHING
    assert health.verdict is LineVerdict.ANSWERING


def test_a_host_that_was_stalled_itself_does_not_blame_the_module():
    """A late sample (the host starved of CPU) may have the answer unread in its buffers."""
    health, counts = LineHealth(115200, TIMES), LineCounts()
    waiting = Waiting(prompt=True, since=0.0)
    assert ticks(health, counts, waiting, 0.0, 0.5) is None
    assert health.sample(1.5, counts, waiting) is LineStep.NOTHING  # 1 s since the last look
    assert ticks(health, counts, waiting, 1.6, 5.0) == (2.5, LineStep.SILENT)


def test_a_probe_that_waits_behind_the_modules_other_bytes_is_no_miss():
    """On a multiplexed line a DLC's OK may wait behind the other DLCs' frames: an
    unanswered probe while the module's bytes kept coming says nothing."""
    health, counts = LineHealth(115200, TIMES), LineCounts()
    assert ticks(health, counts, None, 0.0, 10.0) == (10.0, LineStep.PROBE)
    for sent in (10.0, 11.0, 12.0):
        counts.from_module += 1500  # another DLC's pushes, after the probe went out
        assert health.sample(sent + 0.5, counts, None) is LineStep.NOTHING
        assert health.probed(sent, answered=False) is LineStep.NOTHING
    assert health.verdict is LineVerdict.ANSWERING
    # The line falls quiet: now unanswered probes count.
    assert health.probed(20.0, answered=False) is LineStep.NOTHING
    assert health.probed(21.0, answered=False) is LineStep.SILENT
