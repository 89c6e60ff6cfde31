"""Keep the module clock right (manual 1.4): read the sources, apply ``decide_clock``.

When the host's time is not trusted and the network's is, ``AT+CTZU=3``
makes the module follow the network's time by itself (EC2x AT manual,
``AT+CTZU``: 3 "update LOCAL time to RTC").

``sync_clock`` runs at bring-up and ``keep_clock`` again every
``CLOCK_CHECK_INTERVAL`` (daily; hourly while no trustworthy time was
found) for as long as the module serves.  The host clock is a function
argument (``time.time`` by default), so tests give a wrong one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import trio

from modem.core import commands
from modem.core.at_command import Command
from modem.core.clock_policy import ClockDecision, ClockSource, decide_clock
from modem.core.errors import ModemError, render
from modem.core.log_fields import kv
from modem.link.channel import AtChannel
from modem.link.response_errors import expect_ok

log = logging.getLogger("modem.bringup")

CLOCK_CHECK_INTERVAL = 24 * 3600.0
CLOCK_RETRY_INTERVAL = 3600.0
#: AT+QLTS mode 1: the current UTC derived from the last network time
#: (mode 0 is the time of that last synchronisation, stale by design).
QLTS_MODE = 1

HostClock = Callable[[], float]


async def _read(channel: AtChannel, cmd: Command,
                parse: Callable[[str], datetime | None]) -> datetime | None:
    resp = await channel.run(cmd)
    if not (resp.ok and resp.lines):
        return None
    try:
        when = parse(resp.lines[0])
    except ValueError:
        return None
    return when.astimezone(UTC) if when is not None else None


def _shown(when: datetime | None) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds") if when else "none"


async def sync_clock(channel: AtChannel, host_clock: HostClock) -> ClockDecision:
    """Read the module's and the network's time, decide, set; one log line."""
    module = await _read(channel, commands.cclk_query(), commands.parse_cclk)
    network = await _read(channel, commands.qlts(QLTS_MODE),
                          lambda line: commands.parse_qlts(line, QLTS_MODE))
    host = datetime.fromtimestamp(host_clock(), UTC)
    decision = decide_clock(host, module, network)
    if decision.set_to is not None:
        await expect_ok(channel, commands.cclk_set(decision.set_to.astimezone(UTC)))
    if decision.source is ClockSource.NETWORK:
        await follow_network_time(channel)
    rejected_host = decision.set_to is not None and decision.source is ClockSource.NETWORK
    level = logging.WARNING if rejected_host or not decision.trusted else logging.INFO
    log.log(level, "module clock set" if decision.set_to else "module clock left alone",
            extra=kv(source=decision.source.value if decision.set_to else None,
                     host=_shown(host), module=_shown(module), network=_shown(network),
                     reason=decision.reason,
                     hint=None if decision.trusted else
                     "verified opens fail with 566 until the host clock is set (NTP) "
                     "or the network sends its time; see --ignore-local-time"))
    return decision


async def follow_network_time(channel: AtChannel) -> None:
    """``AT+CTZU=3`` when the host's time cannot be trusted: the module then sets
    its own clock from each network time it gets, also between our checks and
    after a power cut.  Firmware without mode 3 answers ERROR: nothing lost."""
    resp = await channel.run(commands.ctzu_query())
    try:
        if resp.ok and resp.lines and commands.parse_ctzu(resp.lines[0]) == 3:
            return
    except ValueError:
        pass
    resp = await channel.run(commands.ctzu(3))
    log.info("module clock follows the network time (AT+CTZU=3)", extra=kv(ok=resp.ok))


async def keep_clock(channel: AtChannel, host_clock: HostClock, first: ClockDecision,
                     interval: float = CLOCK_CHECK_INTERVAL,
                     retry: float = CLOCK_RETRY_INTERVAL,
                     decided: Callable[[ClockDecision], None] = lambda _: None) -> None:
    """Check the clock again every ``interval`` s (``retry`` while untrusted);
    a failed check is retried, and ends the task once the channel has broken.
    ``decided`` is told each decision (the status page shows the latest)."""
    decision = first
    while True:
        await trio.sleep(interval if decision.trusted else min(retry, interval))
        try:
            decision = await sync_clock(channel, host_clock)
        except ModemError as exc:
            if channel.failure is not None:
                return  # the life is over; the next bring-up checks the clock
            log.warning("module clock check failed, retrying later", extra=kv(error=render(exc)))
            decision = ClockDecision(None, ClockSource.NONE, str(exc), trusted=False)
        decided(decision)
