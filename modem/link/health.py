"""The health probe: watch one life's line and say when the module is silent.

``watch_line`` samples the channel every ``TICK`` seconds for the rule of
``modem.core.line_health``: when a command that a live module answers at
once has waited 0.8 s with nothing from the module, the module is
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
from modem.core.errors import ModemError, ModuleLost, render
from modem.core.line_counts import LineCounts
from modem.core.line_health import (
    HealthTimes,
    LineHealth,
    LineStep,
    LineVerdict,
    Waiting,
    answers_promptly,
)
from modem.core.log_fields import kv
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
                     on_verdict: Callable[[LineVerdict, ModemError | None], None],
                     wire: LineCounts | None = None) -> None:
    """Watch ``channel`` until cancelled (or until it breaks); ``on_verdict`` is
    told each change, with the reason when it falls silent.  Probes run in
    their own task, so the line is still watched while one waits its turn.
    ``wire``: the bytes of the line under the channel when it shares one (a
    DLC's answer waits behind the other DLCs' frames: while the module's
    bytes keep coming it is not silent); else the channel's own."""
    health = LineHealth(baud, times)
    reported = health.verdict
    why: ModemError | None = None
    probing = trio.Lock()  # one probe at a time

    async def probe() -> None:
        nonlocal why
        async with probing:
            sent = trio.current_time()
            if health.probed(sent, await _answers(channel, times.probe_bound)) is LineStep.SILENT:
                why = ModuleSilent(
                    f"the module did not answer an AT within {times.probe_bound:g} s")

    async with trio.open_nursery() as nursery:
        while channel.failure is None:
            waiting = channel.waiting
            counts = channel.line_counts if wire is None else wire
            step = health.sample(trio.current_time(), counts,
                                 None if waiting is None else
                                 Waiting(answers_promptly(waiting[0]), waiting[1]))
            if step is LineStep.SILENT and waiting is not None:
                reason = f"the module said nothing for {times.silent_after:g} s"
                channel.cut_short(reason)
                why = ModuleSilent(f"{reason} after {waiting[0].loggable}")
            elif step is LineStep.PROBE and not probing.locked():
                nursery.start_soon(probe)
            if health.verdict is not reported and channel.failure is None:
                reported = health.verdict
                _report(reported, why, on_verdict)
            await trio.sleep(TICK)
        nursery.cancel_scope.cancel()  # lost: the supervisor has taken over


def _report(verdict: LineVerdict, why: ModemError | None,
            on_verdict: Callable[[LineVerdict, ModemError | None], None]) -> None:
    if verdict is LineVerdict.SILENT:
        log.warning("module silent: new connections fail at once until it answers",
                    extra=kv(why=None if why is None else render(why),
                             hint="it is probed every second; if it stays silent, check its "
                                  "power supply and the serial line"))
        on_verdict(verdict, why)
    else:
        log.info("module answers again: new connections are taken")
        on_verdict(verdict, None)


async def _answers(channel: AtChannel, bound: float) -> bool:
    """Whether an ``AT`` in its turn gets ``OK`` within ``bound`` s of going out."""
    try:
        return (await channel.run(Command("AT", timeout=bound))).ok
    except ModemError:
        return False
