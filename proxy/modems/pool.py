"""The running modems: each its own ``Modem.open`` (driver, channel, supervisor,
URC routing) and, when emulating, its own emulator, side by side in one nursery.

``ModemPool.open(specs, open_member)`` brings every modem up at once and
yields once each has come up or failed its first bring-up.  The start fails
when no modem came up (the first one's error is raised: with one modem, its
own); a modem that did not come up while another did is tried again in the
background (``start_retry`` seconds, doubling to ``start_retry_max``),
taking connections once it is up.  Afterwards each modem lives on its own:
one's recovery never touches another's line, because nothing is shared but
the pool's bookkeeping.  While they serve, the pool keeps per modem:

* its state changes (``changed``), so queued connections look again;
* whether it is registered, while another modem could take its connections
  (``module_info`` every ``registration_interval`` seconds while it is ready);
* its line's busy time (``LineMeter``, from the driver's byte counts), whose
  recent share breaks placement's ties and is the page's ``line_busy``;
* its open health (``placement.OpenHealth``) and counters (``note_open``).

Every connection is placed, with one modem or several: ``place_nowait`` /
``place`` hand out a ``Placement`` (a client ID on the modem
``placement.choose`` picks) and are what ``Admission`` places connections
with; ``place`` is the shared queue: it waits on every eligible ready modem
at once (each ID pool is FIFO, so arrival order holds) and takes the first
ID freed on any.  ``place_elsewhere`` finds the retry of a failed open.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio

from modem.core.channel_plan import ChannelMode
from modem.core.errors import ModemError, ModuleNotReady, render
from modem.core.profile import TlsProfile
from modem.driver import AtResponse, Modem, ModuleState
from modem.nurseries import single_exception
from modem.sockets.transparent_channels import DedicatedChannels, LifeChannels
from proxy.config.model import Mapping, ModemSpec
from proxy.logging_setup import NOTICE, kv
from proxy.modems.line_meter import LineMeter
from proxy.modems.names import MODEM_NAME
from proxy.modems.placement import Candidate, OpenHealth, Verdict, choose

__all__ = ["REGISTRATION_INTERVAL", "ModemPool", "Placement", "PoolMember"]

log = logging.getLogger("proxy.modems")

REGISTRATION_INTERVAL = 30.0
START_RETRY = 5.0       # a modem that did not come up at start: first retry after this
START_RETRY_MAX = 60.0
LINE_SAMPLE_INTERVAL = 1.0

#: Opens one modem (its emulator first when emulating): yields (modem, emulator or None).
OpenMember = Callable[[ModemSpec], AbstractAsyncContextManager[tuple[Modem, Any]]]


class PoolMember:
    """One modem of the pool, with what placement and the status page need.

    ``name`` is its one name (``proxy.modems.names``): the status page's,
    the ``modem`` label's and its log lines' ``modem=``."""

    def __init__(self, spec: ModemSpec, order: int, line_baud: int) -> None:
        self.spec = spec
        self.name = spec.name
        self.order = order
        self.modem: Modem | None = None
        self.emulator: Any = None
        self.meter = LineMeter(line_baud)
        self.health = OpenHealth()
        self.registered: bool | None = None
        self.opened = 0
        self.open_failures: Counter[str] = Counter()
        self.retried_elsewhere = 0
        self.start_error: ModemError | None = None  # why it has not come up yet
        self.dedicated: DedicatedChannels | None = None
        """Channels its sockets may borrow for transparent mode (None: none to spare)."""

    def candidate(self, now: float) -> Candidate:
        modem = self.modem
        ready = modem is not None and modem.state.value is ModuleState.READY
        free = modem.client_ids.free if modem is not None else 0
        in_use = len(modem.client_ids.in_use) if modem is not None else 0
        return Candidate(self.name, self.order, ready, self.registered,
                         self.health.failing(now), free, in_use, self.meter.share)


@dataclass(frozen=True)
class Placement:
    """Where a connection opens: a client ID taken on one modem of the pool.

    Hand it straight to the opener (``placed_connection.PlacedOpener``):
    ``Modem.open_ssl_socket`` owns the ID from then on."""

    client_id: int
    member: PoolMember
    modem: Modem


def _names(mapping: Mapping | None) -> tuple[str, ...]:
    """The modems ``mapping`` may use (empty: every one)."""
    return () if mapping is None else mapping.modems


class ModemPool:
    """The modems behind the proxy; ``members`` in configuration order."""

    def __init__(self, specs: Sequence[ModemSpec], line_baud: Callable[[ModemSpec], int], *,
                 registration_interval: float = REGISTRATION_INTERVAL,
                 start_retry: float = START_RETRY, start_retry_max: float = START_RETRY_MAX
                 ) -> None:
        self.members = [PoolMember(spec, n, line_baud(spec)) for n, spec in enumerate(specs)]
        self.registration_interval = registration_interval
        self.start_retry = start_retry
        self.start_retry_max = start_retry_max
        self._change = trio.Event()
        self._closing = trio.Event()

    @classmethod
    @asynccontextmanager
    async def open(cls, specs: Sequence[ModemSpec], open_member: OpenMember,
                   line_baud: Callable[[ModemSpec], int], **options: float
                   ) -> AsyncIterator[ModemPool]:
        """Bring every modem up (concurrently); keep them until exit, then close them."""
        pool = cls(specs, line_baud, **options)
        with single_exception():
            async with trio.open_nursery() as nursery:
                await pool._start_all(nursery, open_member)
                try:
                    yield pool
                finally:
                    pool._closing.set()

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
            MODEM_NAME.set(member.name)  # the AT trace of the console's command names it
            if member.modem is None:
                raise ModuleNotReady(ModuleState.STARTING, member.start_error)
            return await member.modem.at_command(text)
        return run

    def eligible(self, names: Collection[str]) -> list[PoolMember]:
        return [m for m in self.members if not names or m.name in names]

    # -- each modem's life -----------------------------------------------------------

    async def _start_all(self, nursery: trio.Nursery, open_member: OpenMember) -> None:
        """Every modem's first bring-up, at once, each then served in ``nursery``.
        Raises the first modem's error when none came up; otherwise the ones that
        did not are tried again in the background."""
        async with trio.open_nursery() as starting:
            for member in self.members:
                starting.start_soon(self._first_start, nursery, member, open_member)
        missing = [m for m in self.members if m.modem is None]
        if len(missing) == len(self.members):
            error = self.members[0].start_error
            assert error is not None  # only a ModemError leaves a modem down at start
            raise error
        for member in missing:
            nursery.start_soon(self._retry_start, member, open_member)

    async def _first_start(self, nursery: trio.Nursery, member: PoolMember,
                           open_member: OpenMember) -> None:
        try:
            await nursery.start(self._serve_member, member, open_member)
        except ModemError as exc:
            member.start_error = exc

    async def _retry_start(self, member: PoolMember, open_member: OpenMember) -> None:
        """Bring up a modem that did not come up at start while others serve."""
        MODEM_NAME.set(member.name)  # this task's lines name its modem
        wait = self.start_retry
        while True:
            error = member.start_error
            log.warning("modem did not come up; trying again", extra=kv(
                error=render(error) if error is not None else None, retry_in_s=wait))
            await trio.sleep(wait)
            wait = min(wait * 2, self.start_retry_max)
            try:
                await self._serve_member(member, open_member)
                return
            except ModemError as exc:
                if member.modem is not None:
                    raise  # not a start-up failure: a bug's place to show
                member.start_error = exc

    async def _serve_member(self, member: PoolMember, open_member: OpenMember,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                            ) -> None:
        """One modem's life from its bring-up to the pool's close; started once up."""
        MODEM_NAME.set(member.name)  # inherited by every task of this modem
        opened_at = trio.current_time()
        async with open_member(member.spec) as (modem, emulator):
            member.modem, member.emulator = modem, emulator
            options = modem.options
            if options.channels is not ChannelMode.SINGLE and options.flow_control:
                member.dedicated = LifeChannels(lambda: modem.channels)
            member.meter.attach(modem.line_counts, opened_at, lambda: modem.line_baud)
            if member.start_error is not None:
                log.log(NOTICE, "modem came up", extra=kv(after=str(member.start_error)))
                member.start_error = None
                self._changed()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_state, member, modem)
                nursery.start_soon(self._sample_line, member)
                if len(self.members) > 1:  # it steers placement to another modem only
                    nursery.start_soon(self._watch_registration, member, modem)
                task_status.started()
                await self._closing.wait()
                nursery.cancel_scope.cancel()

    def _changed(self) -> None:
        self._change.set()
        self._change = trio.Event()

    async def _watch_state(self, member: PoolMember, modem: Modem) -> None:
        async for state in modem.state.eventual_values():
            # The only modem's state changes are in the driver's lines already.
            if len(self.members) > 1 and state is not ModuleState.STARTING:
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

    def free_now(self, mapping: Mapping | None) -> bool:
        """Whether a modem ``mapping`` may use has a client ID free now."""
        return any(m.modem is not None and m.modem.client_ids.free > 0
                   for m in self.eligible(_names(mapping)))

    def all_busy(self, mapping: Mapping | None) -> str:
        """What is full when a connection of ``mapping`` found no ID in time."""
        running = [(m, m.modem) for m in self.eligible(_names(mapping)) if m.modem is not None]
        capacity = sum(modem.client_ids.capacity for _, modem in running)
        names = ", ".join(m.name for m, _ in running)
        return f"all {capacity} client ids{f' of {names}' if names else ''} busy"

    def place_nowait(self, mapping: Mapping | None) -> Placement | None:
        """An ID on the modem ``placement.choose`` picks for ``mapping`` now, or None."""
        got = self._take_nowait(_names(mapping))
        return got if isinstance(got, Placement) else None

    def place_elsewhere(self, mapping: Mapping, failed: PoolMember) -> Placement | None:
        """For the retry of an open that failed on ``failed``: an ID now on another
        modem ``mapping`` may use that takes new connections, or None."""
        got = self._take_nowait(mapping.modems, exclude=(failed.name,), ready_only=True)
        return got if isinstance(got, Placement) else None

    async def place(self, mapping: Mapping | None) -> Placement:
        """An ID on a modem ``mapping`` may use, waiting (in arrival order) while all
        are full."""
        eligible = _names(mapping)
        while True:
            got = self._take_nowait(eligible)
            if isinstance(got, Placement):
                return got
            now = trio.current_time()
            members = self.eligible(eligible)
            ready = [m for m in members if m.candidate(now).takes_new]
            placed = await self._first_free(ready or members, self._change)
            if placed is not None:
                return placed

    def note_open(self, member: PoolMember, error: ModemError | None) -> None:
        """Count an open on ``member`` (``error`` None: it opened) for its health."""
        now = trio.current_time()
        if error is None:
            member.health.record(None, now)
            member.opened += 1
            return
        member.open_failures[type(error).__name__] += 1
        if member.health.record(error, now) and len(self.members) > 1:  # another is preferred
            log.warning("modem fails its opens: passed over for a while",
                        extra=kv(modem=member.name, error=render(error)))

    def _take_nowait(self, eligible: Collection[str], exclude: Collection[str] = (), *,
                     ready_only: bool = False) -> Placement | Verdict:
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
            return Placement(member.modem.client_ids.acquire_nowait(), member, member.modem)
        except trio.WouldBlock:  # connections queue for it already: they come first
            return Verdict.WAIT

    async def _first_free(self, members: list[PoolMember], change: trio.Event
                          ) -> Placement | None:
        """The first ID freed on any of ``members``; None when ``change`` fires first."""
        won: list[Placement] = []

        async def wait_on(member: PoolMember, modem: Modem, scope: trio.CancelScope) -> None:
            ids = modem.client_ids
            cid = await ids.acquire()
            if won:
                ids.release(cid)  # freed at the same moment as the winner's: pass it on
            else:
                won.append(Placement(cid, member, modem))
                scope.cancel()

        async def wait_change(scope: trio.CancelScope) -> None:
            await change.wait()
            scope.cancel()

        async with trio.open_nursery() as nursery:
            for member in members:
                if member.modem is not None:
                    nursery.start_soon(wait_on, member, member.modem, nursery.cancel_scope)
            nursery.start_soon(wait_change, nursery.cancel_scope)
        return won[0] if won else None
