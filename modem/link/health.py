"""The health probe: watch one life's line and say when the module is silent.

``watch_line`` samples the channel every ``TICK`` seconds for the rule of
``modem.core.line_health``: when a command that a live module answers at
once has waited a second with nothing from the module, the module is
*silent*: ``on_verdict`` is told (the supervisor then fails new opens at
once with ``ModuleNotReady``, as while it recovers) and the command's wait
ends now (``AtChannel.cut_short``) instead of at its own limit (150 s for
an ``AT+QSSLOPEN``).  From then on an ``AT`` in its turn, bounded under a
second, probes it every second; its ``OK`` makes it *answering* again.  A
line quiet for ``idle_probe_after`` seconds is probed the same way.  The
channel itself still decides that the module is lost (five unanswered
``AT`` break it), so a module silent for good is restarted as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from modem.core.at_command import Command
from modem.core.errors import ModemError, ModuleLost
from modem.core.line_health import (
    HealthTimes,
    LineHealth,
    LineStep,
    LineVerdict,
    Waiting,
    answers_promptly,
)
from modem.link.channel import AtChannel

__all__ = ["TICK", "ModuleSilent", "watch_line"]

log = logging.getLogger("modem.driver")

TICK = 0.1
"""Seconds between two samples of the line."""


class ModuleSilent(ModuleLost):
    """The module answers nothing, not even an ``AT``, for now."""

    hint = ("new connections fail at once until it answers an AT again (probed every "
            "second); if it stays silent it is restarted")


async def watch_line(channel: AtChannel, baud: int | None, times: HealthTimes,
                     on_verdict: Callable[[LineVerdict, ModemError | None], None]) -> None:
    """Watch ``channel`` until cancelled (or until it breaks); ``on_verdict`` is
    told each change, with the reason when it falls silent."""
    health = LineHealth(baud, times)
    while channel.failure is None:
        was = health.verdict
        waiting = channel.waiting
        step = health.sample(trio.current_time(), channel.line_counts,
                             None if waiting is None else
                             Waiting(answers_promptly(waiting[0]), waiting[1]))
        failure = None
        if step is LineStep.SILENT and waiting is not None:
            reason = f"the module said nothing for {times.silent_after:g} s"
            channel.cut_short(reason)
            failure = ModuleSilent(f"{reason} after {waiting[0].loggable}")
        elif step is LineStep.PROBE:
            sent = trio.current_time()
            health.probed(sent, await _answers(channel, times.probe_bound))
            if channel.failure is not None:
                return  # lost: the supervisor has taken over
            failure = ModuleSilent(
                f"the module did not answer an AT within {times.probe_bound:g} s")
        if health.verdict is not was:
            if health.verdict is LineVerdict.SILENT:
                log.warning("module silent: new connections fail at once until it answers: "
                            "%s", failure)
            else:
                log.info("module answers again: new connections are taken")
            on_verdict(health.verdict, failure if health.verdict is LineVerdict.SILENT
                       else None)
        await trio.sleep(TICK)


async def _answers(channel: AtChannel, bound: float) -> bool:
    """Whether an ``AT`` in its turn gets ``OK`` within ``bound`` s of going out."""
    try:
        return (await channel.run(Command("AT", timeout=bound))).ok
    except ModemError:
        return False
