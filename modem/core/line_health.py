"""Is the module answering?  The rule behind the health probe (sans-I/O).

A module can fall silent without being lost: a firmware hang, a brown-out
that has not reset it yet, a USB hub that stalls.  Until the channel gives
up on it (a command's timeout, then five unanswered ``AT``: up to 150 s for
an ``AT+QSSLOPEN``) every new connection would queue behind the silence.
``LineHealth`` decides sooner, from what the line shows:

* **silent**: a command that a live module answers at once has waited
  ``silent_after`` seconds (0.8) with nothing at all from the module meanwhile,
  and the host's own bytes left the wire before that (their wire time
  counted at the line's rate, so a slow upload or a long ``AT+QSSLSEND``
  payload is not mistaken for silence); or a probe went unanswered;
* **probe**: nothing has come from the module for ``idle_probe_after``
  seconds and no command waits: an ``AT`` in its turn, bounded under a
  second, finds a module that fell silent while idle (two unanswered in a
  row, ``probe_every`` apart, so that one lost to a loaded host does not);
* **answering** again: a probe got its ``OK``.

A host too loaded to look at the line for half of ``silent_after`` (a late sample)
gives the module the benefit of the doubt: its answer may be unread in our
own buffers.

"At once" is a guess from the command (``answers_promptly``): the manual
gives 300 ms for most commands, none for the data commands whose answers
come as soon as the bytes are handled, and ``AT+QSSLOPEN`` in buffer or
push mode answers ``OK`` at once (its outcome comes later as a URC, manual
2.1.2).  Commands that may work silently for long (``AT+QIACT``, ``AT+CFUN``,
an ``AT+QSSLCLOSE`` with a close timeout, console commands with their own
long limit) never make a verdict.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from modem.core.at_command import Command, Framing
from modem.core.commands import DEFAULT_LINE_BAUD
from modem.core.line_counts import BITS_PER_BYTE, LineCounts

__all__ = ["HealthTimes", "LineHealth", "LineStep", "LineVerdict", "Waiting",
           "answers_promptly"]

PROMPT_TIMEOUT = 10.0
"""Commands whose limit is at most this answer at once when the module lives
(the manual's quick commands and the data commands: ``commands._fields``)."""


def answers_promptly(command: Command) -> bool:
    """Whether a live module starts answering ``command`` within a second."""
    if command.framing is Framing.DATA_MODE:
        return False
    if command.text.startswith("AT+QSSLOPEN="):
        return True
    if command.text.startswith("AT+QSSLCLOSE="):
        # Up to <close_timeout> (default 10) seconds for the server's close_notify
        # (manual 2.1.5): only a close with 0 answers at once.
        return command.text.partition(",")[2] == "0"
    return command.timeout <= PROMPT_TIMEOUT


class LineVerdict(enum.Enum):
    ANSWERING = "answering"
    SILENT = "silent"


class LineStep(enum.Enum):
    """What the shell does after a sample."""

    NOTHING = "nothing"
    SILENT = "silent"
    """The module fell silent: say so, and end the wait of the command on the line."""
    PROBE = "probe"
    """Send an ``AT`` in its turn (bounded) and report its outcome."""


@dataclass(frozen=True)
class HealthTimes:
    """Seconds; the defaults are the production values, tests scale them."""

    silent_after: float = 0.8
    """Under the channel's own 1 s for a resynchronising ``AT``, so that its
    unanswered ``AT`` make a verdict too."""
    idle_probe_after: float = 10.0
    probe_every: float = 1.0
    """While silent: the gap between two probes."""
    probe_bound: float = 0.8
    """An ``AT`` probe's own limit (under a second)."""


@dataclass(frozen=True)
class Waiting:
    """The command on the line: whether it answers at once, and since when it waits."""

    prompt: bool
    since: float


class LineHealth:
    """The verdict on one life's line, from samples of its byte counts."""

    def __init__(self, baud: int | None = None, times: HealthTimes | None = None) -> None:
        self.times = times or HealthTimes()
        self.verdict = LineVerdict.ANSWERING
        self._bytes_per_second = (baud or DEFAULT_LINE_BAUD) / BITS_PER_BYTE
        self._counts = (0, 0)
        self._heard_at = -math.inf
        self._wire_free_at = -math.inf
        self._last_probe = -math.inf
        self._last_sample = -math.inf
        self._missed = 0  # idle probes unanswered in a row while answering

    def sample(self, now: float, counts: LineCounts, waiting: Waiting | None) -> LineStep:
        """Take the counts at ``now`` and the command on the line (None: idle).

        A sample that comes late (the host itself was stalled for half of
        ``silent_after``: a loaded machine) counts as hearing from the module:
        its answer may be waiting unread in our own buffers."""
        sent, heard = counts.to_module - self._counts[0], counts.from_module - self._counts[1]
        self._counts = (counts.to_module, counts.from_module)
        stalled = now - self._last_sample > self.times.silent_after / 2
        if heard or stalled:
            self._heard_at = now
        if sent:  # they went out after the last sample, at the earliest
            start = max(self._last_sample, self._wire_free_at)
            self._wire_free_at = start + sent / self._bytes_per_second
        self._last_sample = now
        times = self.times
        if self.verdict is LineVerdict.SILENT or (self._missed and waiting is None):
            due = now - self._last_probe >= times.probe_every
            return LineStep.PROBE if due else LineStep.NOTHING
        if waiting is not None:
            quiet_since = max(waiting.since, self._heard_at, self._wire_free_at)
            if waiting.prompt and now - quiet_since >= times.silent_after:
                self.verdict = LineVerdict.SILENT
                return LineStep.SILENT
            return LineStep.NOTHING
        if now - max(self._heard_at, self._last_probe) >= times.idle_probe_after:
            return LineStep.PROBE
        return LineStep.NOTHING

    def probed(self, now: float, answered: bool) -> LineStep:
        """A probe sent at ``now`` got its ``OK`` or not; SILENT when that is news.
        An unanswered probe while the module's bytes kept coming (its ``OK`` may
        wait behind them: a multiplexed line busy with other channels) is no miss."""
        self._last_probe = now
        if answered:
            self.verdict = LineVerdict.ANSWERING
            self._heard_at = max(self._heard_at, now)
            self._missed = 0
            return LineStep.NOTHING
        if self.verdict is LineVerdict.SILENT or self._heard_at > now:
            return LineStep.NOTHING
        self._missed += 1
        if self._missed < 2:
            return LineStep.NOTHING
        self._missed = 0
        self.verdict = LineVerdict.SILENT
        return LineStep.SILENT
