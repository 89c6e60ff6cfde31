"""``Modem``: the Trio driver that owns the module and its SSL sockets.

``Modem`` is the facade; the work is done by:

* ``modem.supervisor``: the module's lives (open the device, bring the
  module up, serve, start over when it is lost) and the PDP keeper;
* ``modem.sockets.socket_table``: the client-ID pool, the opens waiting for their
  URC, the sockets, and the IDs whose close the module did not confirm;
* ``modem.core.restart_policy``: when a run of failing opens calls for a restart;
* ``modem.options``: ``ModemOptions``, the options ``open`` takes as keywords;
* ``modem.link.console``: the AT console's command path.

Callers (``open_ssl_socket``, ``SslSocket`` methods, ``at_command``) run
their commands through the channel's FIFO lock, so the line is shared
fairly and no command waits on a timer it does not need.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import trio
from trio_util import AsyncValue

from modem.bringup.contexts import apply_profiles
from modem.bringup.steps import BringUpError, PdpSettings, configure_host_checks, pdp_address
from modem.core import commands
from modem.core import events as ev
from modem.core.at_command import Command
from modem.core.channel_plan import ChannelKind
from modem.core.clock_policy import ClockDecision
from modem.core.errors import (
    CmeError,
    ModemError,
    ModuleLost,
    ModuleTimeout,
    OpenPdpContextFailed,
)
from modem.core.families import TRAITS, Family
from modem.core.line_counts import LineCounts
from modem.core.line_integrity import LineIntegrity
from modem.core.log_fields import kv
from modem.core.module_state import ModuleState
from modem.core.module_word import ModuleWord
from modem.core.profile import TlsProfile
from modem.core.push_flow import AccessMode
from modem.core.push_headers import push_allowed
from modem.core.restart_policy import RESTART_MIN_INTERVAL, RESTART_STREAK, RestartPolicy
from modem.core.urc_watch import UrcHealth
from modem.link.console import AtResponse, console_command, run_console_command
from modem.link.response_errors import error_of
from modem.sockets.client_ids import ClientIdPool
from modem.sockets.open_sequence import OpenRequest, open_socket
from modem.sockets.socket_table import SocketTable
from modem.sockets.ssl_socket import SslSocket

from .channels import ChannelBook, ChannelSet, SocketLink
from .nurseries import single_exception
from .options import ModemOptions
from .supervisor import Supervisor

__all__ = [
    "CLOSE_ALL_BOUND",
    "RESTART_MIN_INTERVAL",
    "RESTART_STREAK",
    "AccessMode",
    "AtResponse",
    "BringUpError",
    "Modem",
    "ModemOptions",
    "ModuleInfo",
    "ModuleState",
    "ModuleTimeout",
    "PdpSettings",
]

log = logging.getLogger("modem.driver")

CLOSE_ALL_BOUND = 10.0  # seconds to close every socket on exit


@dataclass(frozen=True)
class ModuleInfo:
    manufacturer: str
    model: str
    revision: str
    signal_dbm: int | None
    registration: str
    address: str | None
    ssl_settings: tuple[str, ...] = ()  # the AT+QSSLCFG settings this firmware offers


class Modem:
    """The module, its command channel, and its SSL sockets.  Use ``Modem.open``."""

    def __init__(
        self,
        open_stream: Callable[[], Awaitable[trio.abc.Stream]],
        pdp: PdpSettings,
        profiles: Sequence[TlsProfile],
        options: ModemOptions | None = None,
    ) -> None:
        """``options``: how it runs (``ModemOptions``; its defaults when None)."""
        self.options = options or ModemOptions()
        self.pdp = pdp
        self.profiles = list(profiles)
        self._table = SocketTable(health=UrcHealth(self.options.urc_polling),
                                  word=ModuleWord(self.options.urc_port))
        self._supervisor = Supervisor(open_stream, pdp, profiles, self._table, self.options)
        self._restart_policy = RestartPolicy()
        self._info_cache: tuple[float, ModuleInfo] | None = None
        self._send_fails_closed = 0  # SEND FAIL retries of the sockets already closed
        self._nursery: trio.Nursery | None = None

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        open_stream: Callable[[], Awaitable[trio.abc.Stream]],
        *,
        pdp: PdpSettings | None = None,
        profiles: Sequence[TlsProfile] = (),
        options: ModemOptions | None = None,
    ) -> AsyncIterator[Modem]:
        """Open the device, bring the module up, and keep it up until exit.

        Raises the bring-up's error (a ``ModemError`` with a one-line
        message) when the first bring-up fails.  Later failures are
        recovered from in the background: meanwhile ``open_ssl_socket``,
        ``at_command`` and ``module_info`` fail at once with
        ``ModuleNotReady`` (no wait), and work again once the module is
        back.  ``open_stream`` is called again for every reopen (so it may
        discover the device anew).  ``options``: ``ModemOptions`` (None: the defaults).
        """
        modem = cls(open_stream, pdp or PdpSettings(), profiles, options)
        async with modem.running():
            yield modem

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Modem]:
        """``open`` for a ``Modem`` made by hand (its owner holds it already
        during the first bring-up, e.g. to ``abort`` it)."""
        supervising = trio.CancelScope()
        with single_exception():
            async with trio.open_nursery() as nursery:
                await nursery.start(self._supervise, supervising)
                # From now on only this block ends the supervisor (and with it the
                # reader): the sockets' shielded closes, in our caller's tasks and
                # below, need their answers read even when everything is cancelled.
                supervising.shield = True
                self._nursery = nursery
                try:
                    yield self
                finally:
                    with trio.CancelScope(shield=True):
                        await self._close_all_sockets(CLOSE_ALL_BOUND)
                    self.state.value = ModuleState.CLOSED
                    supervising.cancel()
                    nursery.cancel_scope.cancel()

    async def _supervise(self, scope: trio.CancelScope,
                         task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with scope:
            await self._supervisor.run(task_status=task_status)

    # -- what the module is ------------------------------------------------------

    @property
    def state(self) -> AsyncValue[ModuleState]:
        """The module's state: ``state.value`` is a ``ModuleState``, a ``str``
        whose value the status page shows."""
        return self._supervisor.state

    @property
    def identity(self) -> commands.ModuleIdentity:
        return self._supervisor.identity

    @property
    def address(self) -> str | None:
        """The PDP context's IP address, as last seen."""
        return self._supervisor.address

    @property
    def ssl_settings(self) -> tuple[str, ...]:
        """The ``AT+QSSLCFG`` settings this firmware offers (its ``=?`` answer,
        read at bring-up; empty before it)."""
        return self._supervisor.ssl_settings

    def name_checked(self, profile: TlsProfile) -> bool:
        """True when the module checks the server certificate's name on opens
        with ``profile`` (its ``check_host``, and firmware that offers the
        setting: ``commands.HOST_CHECK_SETTINGS``)."""
        return profile in self._supervisor.name_checked

    @property
    def clock_decision(self) -> ClockDecision | None:
        """What was last decided about the module clock (``modem.core.clock_policy``);
        None before the first bring-up set it."""
        return self._supervisor.clock

    @property
    def access_mode(self) -> AccessMode:
        """The mode new sockets open in: ``options.access_mode``, or buffer while
        no socket URC reaches this port (pushed data goes where URCs go), on a
        family without documented push mode (``modem.core.families``), on a module
        that refused push mode (``module_word``), and in a life whose socket URCs come
        spread over channels (``ChannelSet.urcs_spread``)."""
        channels = self._supervisor.channels
        if (self._table.health.urcs == "missing" or not TRAITS[self.family].push
                or self._table.word.push_refused
                or channels is not None and channels.urcs_spread):
            return AccessMode.BUFFER
        return self.options.access_mode

    @property
    def family(self) -> Family:
        """The module's family: ``options.module_family``, else found from ``ATI``."""
        return self._supervisor.family

    @property
    def last_error(self) -> ModemError | None:
        """Why the module was last lost, or could not be reopened or brought up
        again; kept after it is back (``None`` if it never was)."""
        return self._supervisor.last_failure

    def cached_module_info(self) -> tuple[ModuleInfo, float] | None:
        """The last ``module_info`` answer and its age in seconds, without
        asking the module (``None`` before the first answer)."""
        if self._info_cache is None:
            return None
        taken, info = self._info_cache
        return info, time.monotonic() - taken

    @property
    def restarts(self) -> int:
        """Restarts the driver asked of the module (``AT+CFUN=1,1``)."""
        return self._supervisor.restarts

    @property
    def recoveries(self) -> int:
        """Times the module was brought up again after it was lost."""
        return self._supervisor.recoveries

    @property
    def pdp_reactivations(self) -> int:
        """PDP contexts reactivated after the network dropped them (``pdpdeact``)."""
        return self._supervisor.pdp_reactivations

    @property
    def send_fail_retries(self) -> int:
        """Chunks sent again after ``SEND FAIL`` (module send buffer full), all sockets."""
        return self._send_fails_closed + sum(s.send_fails for s in self._table.sockets.values())

    @property
    def line_counts(self) -> LineCounts:
        """Bytes over the serial line each way since ``open`` (all module lives)."""
        return self._supervisor.line_counts

    @property
    def line_baud(self) -> int | None:
        """The serial line's rate: the one found (``line_speed_auto``), else as given
        to ``open`` (None: unknown)."""
        return self._supervisor.line_baud

    async def answers(self, within: float) -> bool:
        """Whether the module answers ``AT`` with ``OK`` within ``within`` s now
        (waiting for the line included): the health a watchdog wants.  False
        between lives and while the channel is broken."""
        channel = self._supervisor.channel
        if channel is None or channel.failure is not None:
            await trio.lowlevel.checkpoint()
            return False
        with trio.move_on_after(within):
            try:
                return (await channel.run(Command("AT", timeout=within))).ok
            except ModemError:
                return False
        return False

    @property
    def urc_health(self) -> UrcHealth:
        """What the driver learned of the module's URCs and the recoveries it
        made by polling; ``urc_health.report()`` is for the status page."""
        return self._table.health

    @property
    def module_word(self) -> ModuleWord:
        """What the module reported of its push support and AT port."""
        return self._table.word

    @property
    def integrity(self) -> LineIntegrity:
        """What the URC router dropped or could not vouch for, counted, and the
        push frame style as the live channel learned it."""
        integrity = self._table.integrity
        channel = self._supervisor.channel
        if channel is not None and channel.push_style is not None:
            integrity.push_style = channel.push_style
        return integrity

    @property
    def channel_book(self) -> ChannelBook:
        """The AT channels: the current life's and their traffic across lives
        (``book.report()`` is the status page's ``channels`` section)."""
        return self._supervisor.channel_book

    @property
    def channels(self) -> ChannelSet | None:
        """The serving life's AT channels (None between lives).  A socket that
        needs a channel of its own takes one with ``channels.borrow_dedicated()``
        and gives it back with ``channels.give_back(channel)``."""
        return self._supervisor.channels

    @property
    def client_ids(self) -> ClientIdPool:
        """The client IDs: acquire one before ``open_ssl_socket``."""
        return self._table.client_ids

    @property
    def open_sockets(self) -> dict[int, SslSocket]:
        return self._table.sockets

    # -- sockets ---------------------------------------------------------------

    async def open_ssl_socket(
        self, client_id: int, host: str, port: int, profile: TlsProfile,
    ) -> SslSocket:
        """Open a TLS socket to ``host:port`` on ``client_id`` (in ``access_mode``).

        The caller acquired ``client_id`` from ``client_ids``; the socket
        returns it on ``aclose``, and when the open fails it goes back once
        the module confirmed its close (``modem.sockets.open_sequence``).
        Raises the manual's typed error (e.g. ``DnsParseFailed``,
        ``SocketConnectionFailed``), ``ModuleLost`` (``ModuleNotReady``, at
        once, while the module is recovering) or ``OperationTimeout``.
        """
        try:
            ctx = self._context_for(profile)
            channel = await self._supervisor.ready_channel(self.options.ready_timeout)
            channels = self._supervisor.channels
            assert channels is not None  # a ready channel is a serving life's
        except BaseException:
            self._table.release(client_id)
            raise
        mode = self.access_mode
        if mode is AccessMode.PUSH and not push_allowed(
                client_id, framed=channels.kind is ChannelKind.CMUX):
            mode = AccessMode.BUFFER  # its push headers cannot be told from another's
        request = OpenRequest(client_id, host, port, self.pdp.context_id, ctx,
                              profile.negotiate_timeout, mode)
        link = channels.assign(client_id)
        try:
            sock = await open_socket(self._table, channel, request,
                                     partial(self._new_socket, link, request))
        except BaseException as exc:
            channels.release(client_id)
            if isinstance(exc, OpenPdpContextFailed) and self.state.value is ModuleState.READY:
                # The context is down and no pdpdeact came (a lost URC): as if it had.
                self._supervisor.on_urc(ev.PdpDeactivated(self.pdp.context_id))
            if isinstance(exc, CmeError) and exc.code is not None:  # streaks are by code
                self._note_open_result(exc.code, host, port)
            raise
        self._note_open_result(None, host, port)
        return sock

    def _context_for(self, profile: TlsProfile) -> int:
        try:
            return self._supervisor.contexts[profile]
        except KeyError:
            raise ValueError(f"{profile!r} was not given to Modem.open") from None

    def _new_socket(self, link: SocketLink, request: OpenRequest, mode: AccessMode
                    ) -> SslSocket:
        return SslSocket(link.send, request.client_id, request.host, request.port,
                         error_of=error_of, on_close=self._socket_closed,
                         send_stall_timeout=self.options.send_stall_timeout,
                         health=self._table.health, access_mode=mode,
                         push_limit=self.options.push_limit, start_task=self._start_task,
                         # Under push mode every receive side runs on the URC channel,
                         # IDs 1, 10, 11 (buffer mode) too: no read waits behind sends.
                         push_channel=link.pushes if self.access_mode is AccessMode.PUSH
                         else None, control_channel=link.control)

    def _note_open_result(self, code: int | None, host: str, port: int) -> None:
        """Restart the module after a run of identical open failures across
        destinations, a state real modules only leave by a restart."""
        restart = self._restart_policy.record(code, f"{host}:{port}", time.monotonic())
        if restart is not None:
            log.warning("opens in a row failed with one error: restarting the module",
                        extra=kv(opens=restart.count, error=restart.code,
                                 hint="if it keeps happening, check the SIM's data plan and "
                                      "the APN (ssl-proxy doctor)"))
            self._supervisor.request_restart()

    def _start_task(self, task: Callable[[], Awaitable[None]]) -> None:
        """Run a socket's mode switch in the nursery ``Modem.open`` owns."""
        if self._nursery is not None:
            self._nursery.start_soon(task)

    def _socket_closed(self, sock: SslSocket, closed: bool) -> None:
        self._send_fails_closed += sock.send_fails
        channels = self._supervisor.channels
        if channels is not None:
            channels.release(sock.client_id)
        self._table.socket_closed(sock, closed, self._supervisor.channel)

    async def update_profiles(self, profiles: Sequence[TlsProfile]) -> None:
        """Serve ``profiles`` from now on (a config reload): new files are
        uploaded and new SSL contexts configured at once; open sockets and
        the contexts of profiles that stay are untouched (``modem.bringup.contexts``).
        Raises the failing step's ``ModemError`` and then changes nothing."""
        supervisor = self._supervisor
        channel = supervisor.channel
        if channel is not None and self.state.value is ModuleState.READY:
            supervisor.contexts = await apply_profiles(channel, supervisor.contexts, profiles,
                                                       supervisor.line_baud)
            # A context keeps what an earlier run set: the new ones get theirs too.
            supervisor.name_checked = await configure_host_checks(
                channel, supervisor.contexts, supervisor.ssl_settings)
        supervisor.profiles = self.profiles = list(profiles)

    async def _close_all_sockets(self, bound: float) -> None:
        """Close every socket, breaking the channels when that takes over ``bound`` s."""

        def give_up() -> None:
            channels = self._supervisor.channels
            if channels is not None:
                channels.fail(ModuleLost("module did not answer while shutting down"))

        await self._table.close_all(bound, give_up)

    def abort(self, reason: str) -> None:
        """Stop at once: break the channel, so the command on the line and every
        queued one fail now instead of running to their end (a command on the
        wire is otherwise finished even when its caller is cancelled, which at
        a slow baud takes seconds).  The module's sockets are left open; the
        next bring-up closes them (``close_stale_sockets``).  Also during a
        bring-up (an upload at a low baud takes minutes)."""
        self._supervisor.abort(ModuleLost(reason))

    # -- shared access ----------------------------------------------------------

    async def at_command(self, text: str, max_response_s: float = 30.0) -> AtResponse:
        """Run a raw AT command between the data commands (the AT console).

        The caller decides which commands are safe.  Lines that start with the
        command's own ``+NAME`` and lines without ``+`` are its response.
        ``ModuleNotReady`` at once while the module is recovering.
        """
        cmd = console_command(text, max_response_s)
        channel = await self._supervisor.ready_channel(self.options.ready_timeout)
        return await run_console_command(channel, cmd)

    async def module_info(self, max_age: float = 5.0) -> ModuleInfo:
        """Model, signal, registration and address (cached for ``max_age`` s).

        ``ModuleNotReady`` at once while the module is recovering (the last
        answer stays in ``cached_module_info``).
        """
        now = time.monotonic()
        if self._info_cache is not None and now - self._info_cache[0] < max_age:
            return self._info_cache[1]
        channel = await self._supervisor.ready_channel(self.options.ready_timeout)
        dbm = None
        registration = "unknown"
        resp = await channel.run(commands.csq())
        if resp.ok and resp.lines:
            try:
                dbm = commands.parse_csq(resp.lines[0]).dbm
            except ValueError:
                pass
        resp = await channel.run(commands.cereg_query())
        if resp.ok and resp.lines:
            try:
                registration = commands.parse_registration(resp.lines[0]).describe()
            except ValueError:
                pass
        try:
            self._supervisor.address = await pdp_address(channel, self.pdp.context_id)
        except ModemError:
            pass
        identity = self.identity
        info = ModuleInfo(identity.manufacturer, identity.model, identity.revision or "",
                          dbm, registration, self.address, self.ssl_settings)
        self._info_cache = (now, info)
        return info
