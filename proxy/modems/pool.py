"""The running modems: each its own ``Modem.open`` (driver, channel, supervisor,
URC routing) and, when emulating, its own emulator, side by side in one nursery.

``ModemPool.open(specs, open_member)`` brings every modem up at once and
yields once each has come up or failed its first bring-up.  With one modem
that failure fails the start, as it always did; with several the start
fails only when every modem failed (the first one's error is raised), and
a modem that did not come up is tried again in the background
(``start_retry`` seconds, doubling to ``start_retry_max``), taking
connections once it is up.  Afterwards each modem lives on its own: one's
recovery never touches another's line, because nothing is shared but the
pool's bookkeeping.  While they serve, the pool keeps per modem:

* its state changes (``changed``), so queued connections look again;
* whether it is registered (with several modems: ``module_info`` every
  ``registration_interval`` seconds while it is ready);
* its line's load (``LineMeter``): the busier direction's bytes per second
  over the line's rate, a smoothed share for placement's ties and the page;
* its open health (``placement.OpenHealth``) and counters.

``take_nowait`` / ``take`` hand out a client ID on the modem placement
chooses (``placement.choose``), as a ``PlacedId``; ``take`` is the shared
queue: it waits on every eligible ready modem at once (each ID pool is
FIFO, so arrival order holds) and takes the first ID freed on any.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any

import trio

from modem.core.errors import ModemError, ModuleNotReady
from modem.core.profile import TlsProfile
from modem.driver import AtResponse, Modem, ModuleState
from modem.nurseries import single_exception
from proxy.config.model import ModemSpec
from proxy.logging_setup import NOTICE, kv
from proxy.modems.line_meter import LineMeter
from proxy.modems.names import MODEM_NAME
from proxy.modems.placement import Candidate, OpenHealth, Verdict, choose

__all__ = ["REGISTRATION_INTERVAL", "ModemPool", "PlacedId", "PoolMember"]

log = logging.getLogger("proxy.modems")

REGISTRATION_INTERVAL = 30.0
START_RETRY = 5.0       # a modem that did not come up at start: first retry after this
START_RETRY_MAX = 60.0
LINE_SAMPLE_INTERVAL = 1.0

#: Opens one modem (its emulator first when emulating): yields (modem, emulator or None).
OpenMember = Callable[[ModemSpec, LineMeter], AbstractAsyncContextManager[tuple[Modem, Any]]]


class PoolMember:
    """One modem of the pool, with what placement and the status page need."""

    def __init__(self, spec: ModemSpec, order: int, line_bps: float) -> None:
        self.spec = spec
        self.name = spec.name
        self.order = order
        self.modem: Modem | None = None
        self.emulator: Any = None
        self.meter = LineMeter(line_bps)
        self.health = OpenHealth()
        self.registered: bool | None = None
        self.opened = 0
        self.open_failures: Counter[str] = Counter()
        self.retried_elsewhere = 0
        self.start_error: ModemError | None = None  # why it has not come up yet

    def candidate(self, now: float) -> Candidate:
        modem = self.modem
        ready = modem is not None and modem.state.value is ModuleState.READY
        free = modem.client_ids.free if modem is not None else 0
        in_use = len(modem.client_ids.in_use) if modem is not None else 0
        return Candidate(self.name, self.order, ready, self.registered,
                         self.health.failing(now), free, in_use, self.meter.share)


class PlacedId(int):
    """A client ID and the pool member it belongs to (it is the ID as an ``int``)."""

    member: PoolMember

    def __new__(cls, value: int, member: PoolMember) -> PlacedId:
        obj = super().__new__(cls, value)
        obj.member = member
        return obj


class ModemPool:
    """The modems behind the proxy; ``members`` in configuration order."""

    def __init__(self, specs: Sequence[ModemSpec], line_bps: Callable[[ModemSpec], float], *,
                 registration_interval: float = REGISTRATION_INTERVAL,
                 start_retry: float = START_RETRY, start_retry_max: float = START_RETRY_MAX
                 ) -> None:
        self.members = [PoolMember(spec, n, line_bps(spec)) for n, spec in enumerate(specs)]
        self.registration_interval = registration_interval
        self.start_retry = start_retry
        self.start_retry_max = start_retry_max
        self._change = trio.Event()
        self._closing = trio.Event()

    @classmethod
    @asynccontextmanager
    async def open(cls, specs: Sequence[ModemSpec], open_member: OpenMember,
                   line_bps: Callable[[ModemSpec], float], **options: float
                   ) -> AsyncIterator[ModemPool]:
        """Bring every modem up (concurrently); keep them until exit, then close them."""
        pool = cls(specs, line_bps, **options)
        with single_exception():
            async with trio.open_nursery() as nursery:
                async with trio.open_nursery() as starting:
                    for member in pool.members:
                        starting.start_soon(partial(nursery.start, pool._run_member, member,
                                                    open_member))
                if all(m.modem is None for m in pool.members):
                    error = pool.members[0].start_error
                    assert error is not None
                    raise error
                try:
                    yield pool
                finally:
                    pool._closing.set()

    @property
    def several(self) -> bool:
        return len(self.members) > 1

    def member(self, name: str) -> PoolMember:
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(name)

    def running_modems(self) -> dict[str, Modem]:
        """Each modem whose driver runs (it came up; it may be recovering now), by
        name, in configuration order."""
        return {m.name: m.modem for m in self.members if m.modem is not None}

    def checks_names(self, profile: TlsProfile) -> bool:
        """True when every running modem checks the server certificate's name on
        opens with ``profile`` (``Modem.name_checked``); False while none runs."""
        running = self.running_modems().values()
        return bool(running) and all(modem.name_checked(profile) for modem in running)

    def at_command(self, member: PoolMember) -> Callable[[str], Awaitable[AtResponse]]:
        """``member``'s ``Modem.at_command`` for its AT console; ``ModuleNotReady``
        while it has not come up."""
        async def run(text: str) -> AtResponse:
            if member.modem is None:
                raise ModuleNotReady("starting", member.start_error)
            return await member.modem.at_command(text)
        return run

    def eligible(self, names: Collection[str]) -> list[PoolMember]:
        return [m for m in self.members if not names or m.name in names]

    # -- each modem's life -----------------------------------------------------------

    async def _run_member(self, member: PoolMember, open_member: OpenMember, *,
                          task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                          ) -> None:
        """One modem's life; started once it is up or (several) failed its first try."""
        if not self.several:
            await self._serve_member(member, open_member, task_status)
            return
        MODEM_NAME.set(member.name)  # inherited by every task of this modem
        started = False
        wait = self.start_retry
        while True:
            try:
                await self._serve_member(member, open_member,
                                         trio.TASK_STATUS_IGNORED if started else task_status)
                return
            except ModemError as exc:
                if member.modem is not None:
                    raise  # not a start-up failure: a bug's place to show
                member.start_error = exc
                log.warning("modem did not come up; trying again", extra=kv(
                    error=str(exc), retry_in=f"{wait:g}s"))
            if not started:
                started = True
                task_status.started()
            await trio.sleep(wait)
            wait = min(wait * 2, self.start_retry_max)

    async def _serve_member(self, member: PoolMember, open_member: OpenMember,
                            task_status: trio.TaskStatus[None]) -> None:
        async with open_member(member.spec, member.meter) as (modem, emulator):
            member.modem, member.emulator = modem, emulator
            if member.start_error is not None:
                log.log(NOTICE, "modem came up", extra=kv(after=str(member.start_error)))
                member.start_error = None
                self._changed()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_state, member, modem)
                nursery.start_soon(self._sample_line, member)
                if self.several:
                    nursery.start_soon(self._watch_registration, member, modem)
                task_status.started()
                await self._closing.wait()
                nursery.cancel_scope.cancel()

    def _changed(self) -> None:
        self._change.set()
        self._change = trio.Event()

    async def _watch_state(self, member: PoolMember, modem: Modem) -> None:
        async for state in modem.state.eventual_values():
            if self.several and state is not ModuleState.STARTING:
                log.log(NOTICE, "modem state", extra=kv(state=state.value))
            self._changed()

    async def _sample_line(self, member: PoolMember) -> None:
        while True:
            await trio.sleep(LINE_SAMPLE_INTERVAL)
            member.meter.sample(trio.current_time())

    async def _watch_registration(self, member: PoolMember, modem: Modem) -> None:
        """Registration as ``module_info`` reports it; a change wakes the queue.  The
        bring-up waited for registration, so a modem that came up starts registered."""
        member.registered = True
        while True:
            await trio.sleep(self.registration_interval)
            await modem.state.wait_value(ModuleState.READY)
            try:
                info = await modem.module_info(max_age=self.registration_interval / 2)
            except ModemError:
                pass
            else:
                text = info.registration
                registered = text.startswith("registered") and "SMS only" not in text
                if registered != member.registered:
                    if member.registered is not None or not registered:
                        log.log(NOTICE, "modem registration", extra=kv(registration=text))
                    member.registered = registered
                    self._changed()

    # -- placement ---------------------------------------------------------------------

    def take_nowait(self, eligible: Collection[str] = (), exclude: Collection[str] = (), *,
                    ready_only: bool = False) -> PlacedId | Verdict:
        """An ID on the modem ``placement.choose`` picks now, or why there is none;
        ``ready_only``: only on a modem that takes new connections (a retry)."""
        now = trio.current_time()
        choice = choose([m.candidate(now) for m in self.members], eligible, exclude)
        if isinstance(choice, Verdict):
            return choice
        if ready_only and not choice.takes_new:
            return Verdict.NONE
        member = self.members[choice.order]
        assert member.modem is not None
        try:
            return PlacedId(member.modem.client_ids.acquire_nowait(), member)
        except trio.WouldBlock:  # connections queue for it already: they come first
            return Verdict.WAIT

    async def take(self, eligible: Collection[str] = ()) -> PlacedId:
        """An ID on an eligible modem, waiting (in arrival order) while all are full."""
        while True:
            got = self.take_nowait(eligible)
            if isinstance(got, PlacedId):
                return got
            now = trio.current_time()
            members = self.eligible(eligible)
            ready = [m for m in members if m.candidate(now).takes_new]
            placed = await self._first_free(ready or members, self._change)
            if placed is not None:
                return placed

    async def _first_free(self, members: list[PoolMember], change: trio.Event
                          ) -> PlacedId | None:
        """The first ID freed on any of ``members``; None when ``change`` fires first."""
        won: list[PlacedId] = []

        async def wait_on(member: PoolMember, scope: trio.CancelScope) -> None:
            assert member.modem is not None
            ids = member.modem.client_ids
            cid = await ids.acquire()
            if won:
                ids.release(cid)  # freed at the same moment as the winner's: pass it on
            else:
                won.append(PlacedId(cid, member))
                scope.cancel()

        async def wait_change(scope: trio.CancelScope) -> None:
            await change.wait()
            scope.cancel()

        async with trio.open_nursery() as nursery:
            for member in members:
                if member.modem is not None:
                    nursery.start_soon(wait_on, member, nursery.cancel_scope)
            nursery.start_soon(wait_change, nursery.cancel_scope)
        return won[0] if won else None
