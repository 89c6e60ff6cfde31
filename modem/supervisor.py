"""The supervisor: keeps the module up for the ``Modem`` that owns it.

One *life* of the module: open the serial stream, its AT channels (``modem.channels``:
one, the DLCs of the 07.10 multiplexer, or the module's USB AT ports, each with its
reader), run the bring-up (``modem.bringup.steps``) on the control channel, then serve
until a channel breaks (device gone, ``RDY``, module silent, multiplexer lost). The
supervisor then fails every socket with that reason and starts the next life, reopening
the device when it returns (backing off while it is missing, and slower while the module
answers but cannot be brought up).

While a life serves, helpers run in its nursery: the *PDP keeper* reactivates the PDP
context (``AT+QIACT``, manual 3.1.2) after ``+QIURC: "pdpdeact"`` (the context's sockets
have failed by then), the socket table retries the closes the module did not confirm, and
the health probe (``modem.link.health``) says when the module falls silent. Either holds
new sockets (``Hold``): the state is RECOVERING until it lets go, so opens fail at once
with ``ModuleNotReady`` meanwhile.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import trio
from trio_util import AsyncValue

from modem.bringup.clock_sync import keep_clock
from modem.bringup.sim import check_sim
from modem.bringup.steps import (
    BringUpError,
    PdpSettings,
    activate_pdp,
    close_stale_sockets,
    configure_contexts,
    configure_host_checks,
    configure_line,
    identify,
    quiet_sockets,
    read_ssl_settings,
    route_urcs,
    set_clock,
    upload_files,
    wait_registered,
)
from modem.channels import (
    AtSettings,
    ChannelBook,
    ChannelOptions,
    ChannelPlanner,
    ChannelSet,
    ChannelsRefused,
    open_channels,
)
from modem.core import commands
from modem.core import events as ev
from modem.core.clock_policy import ClockDecision
from modem.core.errors import (
    DeviceError,
    ModemError,
    ModuleLost,
    ModuleNotReady,
    PdpContextBrokeDown,
    render,
)
from modem.core.families import TRAITS, Family, family_of
from modem.core.line_counts import LineCounts
from modem.core.line_health import LineVerdict
from modem.core.log_fields import kv
from modem.core.module_state import ModuleState
from modem.core.mux.errors import MuxStartFailed
from modem.core.profile import TlsProfile
from modem.core.stream_errors import is_line_noise
from modem.link.answers import NoAnswer, RdyMeans, describe
from modem.link.channel import AtChannel
from modem.link.frame_probe import confirm_quiet_frames
from modem.link.health import watch_line
from modem.link.line_speed import set_known_speed, speed_after_no_answer
from modem.link.owed_payload import OwedPayload
from modem.options import ModemOptions
from modem.sockets.socket_table import SocketTable

__all__ = ["BRINGUP_BACKOFF_MAX", "Supervisor"]

log = logging.getLogger("modem.driver")

FIRST_BACKOFF = 0.5
BRINGUP_BACKOFF_MAX = 30.0
PDP_BACKOFF_MAX = 30.0
BRING_UP_TRIES = 3
RESTART_COMMAND_BOUND = 20.0  # seconds AT+CFUN=1,1 may take to answer
RESTART_RDY_BOUND = 60.0  # seconds the module may take to print RDY after it


class Hold(enum.Enum):
    """Why a serving life takes no new sockets for now (``state`` RECOVERING)."""

    PDP = "pdp"
    """The PDP context dropped; the keeper reactivates it."""
    SILENT = "silent"
    """The module answers nothing (``modem.link.health``)."""


class LifeEnd(enum.Enum):
    """How one life of the module ended."""

    SERVED = "served"
    """It was brought up and served, then lost."""
    NOT_BROUGHT_UP = "not brought up"
    """It answered, but its bring-up failed (no SIM, no network...)."""


class Supervisor:
    """Brings the module up, keeps it up, and starts over when it is lost.

    ``state``, ``identity``, ``address``, ``contexts`` and ``restarts`` describe the
    current life; ``channel`` is its control channel while it serves.  ``recoveries``
    counts the lives brought up after a lost one, ``pdp_reactivations`` the PDP contexts
    reactivated after ``pdpdeact``, ``line_counts`` the bytes over the line (all lives).
    ``last_failure`` is the latest reason the module was lost or could not be reopened or
    brought up again (kept after recovery, for the status page).  ``options`` are its
    ``Modem``'s (``modem.options``).
    """

    def __init__(
        self,
        open_stream: Callable[[], Awaitable[trio.abc.Stream]],
        pdp: PdpSettings,
        profiles: Sequence[TlsProfile],
        table: SocketTable,
        options: ModemOptions,
    ) -> None:
        self._open_stream = open_stream
        self._options = options
        self.last_failure: ModemError | None = None
        self.clock: ClockDecision | None = None  # bring-up's decision, then the daily check's
        self.line_speed: int | None = None  # the speed it answers at (line_speed_auto)
        self.family = options.module_family or Family.UNKNOWN  # known from the first bring-up
        self.pdp = pdp
        self.profiles = list(profiles)
        self._table = table
        self.state: AsyncValue[ModuleState] = AsyncValue(ModuleState.STARTING)
        self.identity = commands.ModuleIdentity("", "", None)
        self.address: str | None = None
        self.contexts: dict[TlsProfile, int] = {}
        self.ssl_settings: tuple[str, ...] = ()  # what AT+QSSLCFG=? lists
        self.name_checked: frozenset[TlsProfile] = frozenset()
        self.restarts = 0
        self.recoveries = 0
        self.pdp_reactivations = 0
        self.line_counts = LineCounts()
        self.channel_book = ChannelBook(mode=options.channels)
        self.planner = ChannelPlanner(options.channels, options.urc_port,
                                      len(options.extra_ports), self.channel_book)
        self.channel: AtChannel | None = None  # the control channel while serving
        self.channels: ChannelSet | None = None  # every channel while serving
        self._life: ChannelSet | None = None  # also while it is brought up
        self._owed: dict[str, OwedPayload] = {}  # what the last life's channels may owe
        self._silent: set[str] = set()  # channels the health probe finds silent
        self._nursery: trio.Nursery | None = None  # the serving life's tasks
        self._pdp_lost = trio.Event()
        self._holds: set[Hold] = set()

    # -- lives -----------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the module up until cancelled.  ``started`` once the first
        bring-up succeeded; the first missing device or failed bring-up raises."""
        first = True
        first_backoff = min(FIRST_BACKOFF, self._options.reopen_backoff_max)
        backoff = first_backoff
        while True:
            try:
                stream = await self._open_stream()
            except DeviceError as exc:
                if first:
                    raise
                self.last_failure = exc
                log.warning("serial device unavailable, retrying", extra=kv(
                    retry_in_s=round(backoff, 1), error=render(exc)))
                await trio.sleep(backoff)
                backoff = min(backoff * 2, self._options.reopen_backoff_max)
                continue
            failure, end = await self._live(stream, task_status if first else None)
            first = False
            self.last_failure = failure
            self.state.value = ModuleState.RECOVERING
            self._table.fail_all(failure)
            if end is LifeEnd.SERVED:
                backoff = first_backoff
                log.warning("module lost, recovering", extra=kv(error=render(failure)))
            else:
                # The module answers but cannot be brought up (no SIM, no
                # network...): retry, slower and slower, without spinning.  Bytes
                # lost on the line are no such state: the next try comes soon.
                wait = first_backoff if is_line_noise(failure) else backoff
                log.warning("bring-up failed, retrying", extra=kv(retry_in_s=round(wait, 1),
                                                                  error=render(failure)))
                await trio.sleep(wait)
                if wait == backoff:
                    backoff = min(backoff * 2, BRINGUP_BACKOFF_MAX)

    async def _live(
        self, stream: trio.abc.Stream, task_status: trio.TaskStatus[None] | None,
    ) -> tuple[ModemError, LifeEnd]:
        """One life of the module: bring-up, serve; why it ended, and how.

        With ``task_status`` (the first life) a failed bring-up raises.  When
        the module does not answer ``AT``, other line speeds are tried
        (``modem.link.line_speed``): with ``line_speed_auto`` the one it
        answers at is used from then on, else the failure names it.
        """
        try:
            await set_known_speed(stream, self.line_speed)
            failure, end = await self._on_line(stream, task_status)
            # Refused (said): now on one channel.  A multiplexer start left unanswered
            # is a lost life: tried again until the planner holds one channel.
            while isinstance(failure, ChannelsRefused | MuxStartFailed):
                failure, end = await self._on_line(stream, task_status)
            if isinstance(failure, NoAnswer):
                options = self._options
                found, other = await speed_after_no_answer(
                    stream, failure, options.line_speeds, auto=options.line_speed_auto)
                if other is None:
                    self.line_speed = found or self.line_speed
                    failure, end = await self._on_line(stream, task_status)
                else:
                    failure = other
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()
        if end is LifeEnd.NOT_BROUGHT_UP and task_status is not None:
            raise failure
        return failure, end

    async def _on_line(
        self, stream: trio.abc.Stream, task_status: trio.TaskStatus[None] | None,
    ) -> tuple[ModemError, LifeEnd]:
        """The life's channels on ``stream`` (``modem.channels``): bring-up on the
        control channel, serve until one breaks; why, and how it ended."""
        options = self._options
        # The frame style is the firmware's: it outlives a life; after a lost
        # framing the new life's first stretch of lines is not believed.
        plan = self.planner.plan()
        settings = AtSettings(options.trace_at, options.trace_payload,
                              options.command_timeout_cap, self._table.integrity.push_style,
                              distrustful=is_line_noise(self.last_failure))
        channels = ChannelSet(plan.kind, self.channel_book, self.on_urc, settings,
                              plan.reason, carried=self._owed)  # payloads it may still await
        self.channel = None
        self._life = channels
        failure: ModemError
        end = LifeEnd.NOT_BROUGHT_UP
        try:
            async with open_channels(channels, stream, plan, ChannelOptions(
                    options.urc_port or "line", options.extra_ports, options.sync_attempts,
                    self.line_baud, options.mux_n1, start_delay=options.mux_start_delay,
                    line_counts=self.line_counts)):
                failure, end = await self._serve(channels, task_status)
        except (ChannelsRefused, MuxStartFailed) as exc:
            self.planner.not_started(exc)
            failure = exc
        except ModemError as exc:  # the first AT under cmux, a line lost while setting up
            failure = channels.failure or exc
        finally:
            self._owed = channels.owed()
            # Every channel breaks with the life: nobody waits on one whose reader
            # is gone (a transparent session on a lent DLC).
            channels.fail(channels.failure or ModuleLost("the module's life ended"))
            channels.ended()
        return failure, end

    async def _serve(self, channels: ChannelSet, task_status: trio.TaskStatus[None] | None,
                     ) -> tuple[ModemError, LifeEnd]:
        """Bring the module up on ``channels.control``, then serve until a channel breaks."""
        control = channels.control
        try:
            await self._bring_up(control)
        except ModemError as exc:
            failure = channels.failure or exc
            channels.fail(failure)
            return failure, LifeEnd.NOT_BROUGHT_UP
        self.channel, self.channels = control, channels
        channels.served()
        self._holds.clear()
        self._silent.clear()
        self.state.value = ModuleState.READY
        if task_status is not None:
            task_status.started()
        else:
            self.recoveries += 1
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._start_helpers(nursery, channels)
            await channels.broken.wait()
            nursery.cancel_scope.cancel()
        self._table.integrity.push_style = channels.push_style
        failure = channels.failure or ModuleLost("channel broke")
        self.planner.ended(channels.kind, trio.current_time() - started,
                           lost_channels=channels.mux_lost)
        self.last_failure = failure
        self.state.value = ModuleState.RECOVERING
        self.channel = self.channels = None
        return failure, LifeEnd.SERVED

    def _start_helpers(self, nursery: trio.Nursery, channels: ChannelSet) -> None:
        """The serving life's helpers (see the module docstring); the health probe
        and the frame probe watch every channel."""
        options = self._options
        nursery.start_soon(self._keep_pdp, channels.control)
        wire = self.line_counts if channels.mux is not None else None  # DLCs share it
        for channel in channels.channels:
            verdict = partial(self._line_verdict, channel.name)
            nursery.start_soon(partial(watch_line, channel.at, self.line_baud,
                                       options.line_health, verdict, wire))
            nursery.start_soon(confirm_quiet_frames, channel.at)
        nursery.start_soon(self._table.close_unconfirmed, channels.control)
        if self.clock is not None:
            nursery.start_soon(partial(
                keep_clock, channels.control, options.host_clock, self.clock,
                options.clock_check_interval, decided=self._clock_decided))

    @property
    def line_baud(self) -> int | None:
        """The line's speed: the one found (``line_speed_auto``), else the option."""
        return self.line_speed or self._options.line_baud

    async def _bring_up(self, channel: AtChannel) -> None:
        """Bring the module up; start over when it restarts (RDY) meanwhile."""
        for _ in range(BRING_UP_TRIES):
            # RDY while we sync (a module just powered up): count restarts from the first OK.
            await channel.sync(self._options.sync_attempts)
            if is_line_noise(self.last_failure):
                await quiet_sockets(channel)
            restarts = channel.restarts_seen
            await self._bring_up_once(channel)
            if channel.restarts_seen == restarts:
                channel.rdy_means = RdyMeans.SOCKETS_LOST
                return
            log.info("module restarted during bring-up; starting over")
        raise BringUpError("module keeps restarting during bring-up",
                           hint="check its power supply")

    async def _bring_up_once(self, channel: AtChannel) -> None:
        await configure_line(channel)
        # First, so a module still pushing for an earlier life's sockets falls quiet.
        await close_stale_sockets(channel)
        await route_urcs(channel, self._table.word.urc_port())  # the module's word, else ours
        self.identity = await identify(channel)
        self._know_family()
        await check_sim(channel, self._options.sim_pin, self._options.sim_ready_timeout)
        registration = await wait_registered(channel, self._options.registration_timeout)
        self.clock = await set_clock(channel, self._options.host_clock)
        self.address = await activate_pdp(channel, self.pdp)
        self._table.release_unconfirmed()
        contents: list[bytes] = []
        for profile in self.profiles:
            contents.extend(c for c in profile.files().values() if c not in contents)
        files = await upload_files(channel, contents, self.line_baud)
        self.contexts = await configure_contexts(channel, self.profiles, files)
        self.ssl_settings = await read_ssl_settings(channel)
        self.name_checked = await configure_host_checks(channel, self.contexts,
                                                        self.ssl_settings)
        self._pdp_lost = trio.Event()
        log.info("module ready", extra=kv(
            model=self.identity.model, revision=self.identity.revision, network=registration,
            address=self.address, contexts=len(self.contexts)))

    def _know_family(self) -> None:
        """The module's family (``modem.core.families``): the option, else from ``ATI``."""
        identity = self.identity
        found = family_of(identity.model, identity.revision)
        self.family = self._options.module_family or found
        rearm = TRAITS[self.family].rearm
        if rearm is not None:
            self._table.health.assume_rearm(rearm)
        log.info("module family", extra=kv(
            family=self.family, model=identity.model,
            given=self._options.module_family is not None, push=TRAITS[self.family].push))

    # -- while serving -----------------------------------------------------------

    def _clock_decided(self, decision: ClockDecision) -> None:
        self.clock = decision

    async def _keep_pdp(self, channel: AtChannel) -> None:
        """After ``pdpdeact``, reactivate the context for new sockets."""
        while True:
            await self._pdp_lost.wait()
            self._pdp_lost = trio.Event()
            self._hold(Hold.PDP)
            backoff = 1.0
            while True:
                try:
                    self.address = await activate_pdp(channel, self.pdp)
                    break
                except ModemError as exc:
                    if channel.failure is not None:
                        return
                    self.last_failure = exc
                    log.warning("PDP context reactivation failed, retrying", extra=kv(
                        retry_in_s=round(backoff, 1), error=render(exc)))
                    await trio.sleep(backoff)
                    backoff = min(backoff * 2, PDP_BACKOFF_MAX)
            log.info("PDP context reactivated", extra=kv(address=self.address))
            self.pdp_reactivations += 1
            self._release(Hold.PDP)

    def _hold(self, hold: Hold) -> None:
        self._holds.add(hold)
        if self.state.value is ModuleState.READY:
            self.state.value = ModuleState.RECOVERING

    def _release(self, hold: Hold) -> None:
        """Take new sockets again once nothing else holds them (in a serving life)."""
        self._holds.discard(hold)
        channel = self.channel
        if (not self._holds and self.state.value is ModuleState.RECOVERING
                and channel is not None and channel.failure is None):
            self.state.value = ModuleState.READY

    def _line_verdict(self, channel: str, verdict: LineVerdict, failure: ModemError | None
                      ) -> None:
        """The health probe's word on ``channel`` (``modem.link.health``)."""
        if verdict is LineVerdict.SILENT:
            self.last_failure = failure
            self._silent.add(channel)
            self._hold(Hold.SILENT)
        else:
            self._silent.discard(channel)
            if not self._silent:
                self._release(Hold.SILENT)

    def on_urc(self, urc: ev.Urc) -> None:
        """Every channel's URCs (and what stands for a lost one), routed."""
        if self._table.route(urc):
            return
        match urc:
            case ev.PdpDeactivated(context_id=ctx) if ctx == self.pdp.context_id:
                log.info("network dropped the PDP context; reactivating it", extra=kv(context=ctx))
                failure = PdpContextBrokeDown(command=f"PDP context {ctx}")
                self.last_failure = failure
                self._table.fail_all(failure, open_err=failure.code)
                self._pdp_lost.set()
            case ev.UnknownUrc():
                log.debug("unsolicited line", extra=kv(line=describe(urc)))
            case _:
                log.debug("unhandled URC", extra=kv(urc=repr(urc)))

    async def ready_channel(self, within: float) -> AtChannel:
        """The serving channel.

        While the module is recovering this fails at once with
        ``ModuleNotReady`` (naming the state and ``last_failure``) instead of
        waiting for the recovery, which may take minutes; only while the
        module is first brought up (``STARTING``) does it wait, up to
        ``within`` s.  ``ModuleLost`` when the module is not ready then.
        """
        with trio.move_on_after(within):
            await self.state.wait_value(lambda v: v is not ModuleState.STARTING)
        state = self.state.value
        channel = self.channel
        if state is ModuleState.RECOVERING:
            raise ModuleNotReady(state, self.last_failure)
        broken = None if self.channels is None else self.channels.failure
        if state is ModuleState.READY and channel is not None and broken is not None:
            raise ModuleNotReady(ModuleState.RECOVERING, broken)
        if state is not ModuleState.READY or channel is None:
            raise ModuleLost(f"module not ready (state {state})")
        return channel

    def abort(self, failure: ModemError) -> None:
        """Break the current life's channel, also during its bring-up: the
        command on the line and every queued one fail with ``failure`` now."""
        if self._life is not None:
            self._life.fail(failure)

    def request_restart(self) -> None:
        """Restart the module (``AT+CFUN=1,1``) in the background, if it serves."""
        channel = self.channel
        if channel is not None and self._nursery is not None:
            self._nursery.start_soon(self._restart_module, channel)

    async def _restart_module(self, channel: AtChannel) -> None:
        """``AT+CFUN=1,1``; the next life brings the module up again after RDY."""
        self.restarts += 1
        self.last_failure = ModuleLost("restarting the module (AT+CFUN=1,1) after failed opens")
        self.state.value = ModuleState.RECOVERING
        try:
            with trio.move_on_after(RESTART_COMMAND_BOUND):
                await channel.run(commands.cfun(1, reset=True))
        except ModemError as exc:
            log.warning("module restart command failed", extra=kv(error=render(exc)))
        with trio.move_on_after(RESTART_RDY_BOUND):
            await channel.broken.wait()
            return
        channel.fail(ModuleLost("module did not restart after AT+CFUN=1,1"))

