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


def test_a_prompt_command_unanswered_for_a_second_makes_the_module_silent():
    health, counts = LineHealth(115200, TIMES), LineCounts()
    assert health.sample(0.0, counts, None) is LineStep.NOTHING
    counts.to_module += 20  # AT+QSSLRECV=0,1500 goes out
    waiting = Waiting(prompt=True, since=0.0)
    assert health.sample(0.5, counts, waiting) is LineStep.NOTHING
    counts.from_module += 10  # something came: the clock starts again
    assert health.sample(0.9, counts, waiting) is LineStep.NOTHING
    assert health.sample(1.8, counts, waiting) is LineStep.NOTHING
    assert health.sample(2.0, counts, waiting) is LineStep.SILENT
    assert health.verdict is LineVerdict.SILENT


def test_bytes_still_on_the_wire_are_not_silence():
    """A 1460-byte payload takes 1.52 s at 9600 baud: the module cannot answer before."""
    health, counts = LineHealth(9600, TIMES), LineCounts()
    health.sample(0.0, counts, None)
    counts.to_module += 1460
    waiting = Waiting(prompt=True, since=0.0)
    assert health.sample(0.0, counts, waiting) is LineStep.NOTHING
    assert health.sample(2.4, counts, waiting) is LineStep.NOTHING  # 1.52 s wire + 1 s
    assert health.sample(2.6, counts, waiting) is LineStep.SILENT


def test_a_slow_command_never_makes_a_verdict():
    health, counts = LineHealth(115200, TIMES), LineCounts()
    health.sample(0.0, counts, None)
    for t in (1.0, 5.0, 60.0):
        assert health.sample(t, counts, Waiting(prompt=False, since=0.0)) is LineStep.NOTHING


def test_an_idle_line_is_probed_and_a_silent_one_every_second_until_it_answers():
    health, counts = LineHealth(115200, TIMES), LineCounts()
    health.sample(0.0, counts, None)
    assert health.sample(9.9, counts, None) is LineStep.NOTHING
    assert health.sample(10.0, counts, None) is LineStep.PROBE
    assert health.probed(10.0, answered=True) is LineStep.NOTHING
    assert health.sample(19.9, counts, None) is LineStep.NOTHING
    assert health.sample(20.0, counts, None) is LineStep.PROBE
    assert health.probed(20.0, answered=False) is LineStep.SILENT
    assert health.verdict is LineVerdict.SILENT
    assert health.sample(20.5, counts, None) is LineStep.NOTHING
    # While silent a probe goes every second, queued behind whatever holds the line.
    assert health.sample(21.0, counts, Waiting(prompt=True, since=20.8)) is LineStep.PROBE
    assert health.probed(21.0, answered=False) is LineStep.NOTHING  # no news
    assert health.probed(22.0, answered=True) is LineStep.NOTHING
    assert health.verdict is LineVerdict.ANSWERING
