"""``ChannelPlanner``: each life's channels, the refusals remembered, one log line each.

The supervisor asks ``plan()`` before every life; ``plan_channels``
(``modem.core.channel_plan``) decides from ``--channels``, the port's name
and the extra ports known, and ``ChannelRetry`` holds a module that refused
on one channel for a while.  A refusal is said once, as a warning with the
reason and when the module is asked again; a life planned on one channel
for a reason that is not a refusal (``auto`` on a port it cannot place) is
said once, at info, until the reason changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from modem.channels.book import ChannelBook
from modem.channels.refusal import ChannelsRefused
from modem.core.channel_plan import (
    ChannelKind,
    ChannelMode,
    ChannelPlan,
    ChannelRetry,
    plan_channels,
)
from modem.core.log_fields import kv
from modem.core.mux.errors import MuxStartFailed

__all__ = ["ChannelPlanner"]

log = logging.getLogger("modem.driver")


class ChannelPlanner:
    """Plans the channels of each life of one module (see the module docstring)."""

    def __init__(self, mode: ChannelMode, port_name: str | None, extra_ports: int,
                 book: ChannelBook, clock: Callable[[], float] = trio.current_time) -> None:
        self.mode = mode
        self.port_name = port_name
        self.extra_ports = extra_ports
        self.book = book
        self.retry = ChannelRetry()
        self._clock = clock
        self._said: str | None = None

    def plan(self) -> ChannelPlan:
        """The next life's plan (counted in the book)."""
        now = self._clock()
        held = self.retry.held(now)
        plan = plan_channels(self.mode, self.port_name, self.extra_ports, held)
        if plan.reason is not None and plan.reason != self._said and held is None:
            log.info("one AT channel", extra=kv(channels=self.mode.value, reason=plan.reason))
        self._said = plan.reason
        self.book.life_started(plan.kind, plan.reason)
        return plan

    def not_started(self, failure: ChannelsRefused | MuxStartFailed) -> None:
        """This life's channels did not start: refused (the next lives run on one
        channel), or the module went silent at the multiplexer's start, a lost life
        (the next tries again; ``ChannelRetry`` counts a few in a row as a refusal)."""
        if isinstance(failure, ChannelsRefused):
            self.refused(failure)
            return
        self.book.starts_lost += 1
        self.ended(ChannelKind.CMUX, 0.0, lost_channels=True)
        if self.retry.held(self._clock()) is None:
            log.warning("the module went silent at the multiplexer's start: trying again",
                        extra=kv(channels=self.mode.value, reason=str(failure)))

    def refused(self, refusal: ChannelsRefused) -> None:
        """The module refused this life's channels: the next lives run on one."""
        hold = self.retry.refused(self._clock(), str(refusal))
        self._said = str(refusal)
        log.warning("the module refused several AT channels: one channel for now", extra=kv(
            channels=self.mode.value, reason=str(refusal), retry_in_s=round(hold)))

    def ended(self, kind: ChannelKind, served_for: float, lost_channels: bool) -> None:
        """A life on ``kind`` ended after serving ``served_for`` s; ``lost_channels``:
        it lost its multiplexer (the line under it, DLC 0, a storm of bad frames)."""
        if kind is ChannelKind.SINGLE:
            return
        if not lost_channels:
            self.retry.served(served_for)
            return
        hold = self.retry.lost(self._clock(), served_for)
        if hold is not None:
            self._said = self.retry.held(self._clock())
            log.warning("the module keeps losing its AT channels: one channel for now",
                        extra=kv(channels=self.mode.value, retry_in_s=round(hold)))
