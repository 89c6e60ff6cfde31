"""``Modem``: the Trio driver that owns the module and its SSL sockets.

``Modem`` is the facade; the work is done by:

* ``modem.supervisor``: the module's lives (open the device, bring the
  module up, serve, start over when it is lost) and the PDP keeper;
* ``modem.socket_table``: the client-ID pool, the opens waiting for their
  URC, the sockets, and the IDs whose close the module did not confirm;
* ``modem.restart_policy``: when a run of failing opens calls for a restart;
* ``modem.console``: the AT console's command path.

Callers (``open_ssl_socket``, ``SslSocket`` methods, ``at_command``) run
their commands through the channel's FIFO lock, so the line is shared
fairly and no command waits on a timer it does not need.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypedDict, Unpack

import trio
from trio_util import AsyncValue

from . import commands
from .bringup import BringUpError, PdpSettings, pdp_address
from .client_ids import ClientIdPool
from .clock_sync import CLOCK_CHECK_INTERVAL, HostClock
from .console import AtResponse, console_command, run_console_command
from .errors import (
    ModemError,
    ModuleTimeout,
    SocketIdentityUsed,
    error_for_code,
)
from .module_state import ModuleState
from .nurseries import single_exception
from .profile import TlsProfile
from .push_flow import DEFAULT_PUSH_LIMIT, AccessMode, PushInbox
from .response_errors import error_of
from .restart_policy import RESTART_MIN_INTERVAL, RESTART_STREAK, RestartPolicy
from .socket_table import OpenEnd, SocketTable
from .ssl_socket import SEND_STALL_TIMEOUT, SslSocket, close_client_id
from .supervisor import REOPEN_BACKOFF_MAX, Supervisor
from .urc_watch import UrcHealth, UrcPolling

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

OPEN_NETWORK_TIME = 150  # manual 2.1.2: 150 s plus the negotiate time
READY_TIMEOUT = 90.0
CLOSE_ALL_BOUND = 10.0  # seconds to close every socket on exit


@dataclass(frozen=True)
class ModuleInfo:
    manufacturer: str
    model: str
    revision: str
    signal_dbm: int | None
    registration: str
    address: str | None


class ModemOptions(TypedDict, total=False):
    """``Modem.open``'s keywords beyond the device, PDP and profiles (see ``Modem``)."""

    trace_at: bool
    registration_timeout: float
    ready_timeout: float
    command_timeout_cap: float
    send_stall_timeout: float
    urc_port: str | None
    reopen_backoff_max: float
    urc_polling: UrcPolling | None
    line_baud: int | None
    host_clock: HostClock
    clock_check_interval: float
    access_mode: AccessMode
    push_limit: int


class Modem:
    """The module, its command channel, and its SSL sockets.  Use ``Modem.open``."""

    def __init__(
        self,
        open_stream: Callable[[], Awaitable[trio.abc.Stream]],
        pdp: PdpSettings,
        profiles: Sequence[TlsProfile],
        *,
        trace_at: bool = False,
        registration_timeout: float = 120.0,
        ready_timeout: float = READY_TIMEOUT,
        command_timeout_cap: float = math.inf,
        send_stall_timeout: float = SEND_STALL_TIMEOUT,
        urc_port: str | None = None,
        reopen_backoff_max: float = REOPEN_BACKOFF_MAX,
        urc_polling: UrcPolling | None = None,
        line_baud: int | None = None,
        host_clock: HostClock = time.time,
        clock_check_interval: float = CLOCK_CHECK_INTERVAL,
        access_mode: AccessMode = AccessMode.BUFFER,
        push_limit: int = DEFAULT_PUSH_LIMIT,
    ) -> None:
        """The keywords (``ModemOptions``; production defaults, tests scale them):

        ``command_timeout_cap`` bounds every command's response time (see
        ``AtChannel``); ``send_stall_timeout`` how long a chunk may wait for
        room in the module's send buffer; ``reopen_backoff_max`` the wait
        between reopens of a missing device.  ``urc_port`` (one of
        ``commands.URC_PORTS``) is the AT port ``open_stream`` opens:
        bring-up routes URCs there (None: leave the module's setting as it
        is).  ``urc_polling``: how lost URCs are made up for
        (``modem.urc_watch``).  ``line_baud`` (the serial line's rate) sizes
        the certificate uploads' wait; ``host_clock`` (seconds since the
        epoch) is the host time the module clock may be set from, checked
        again every ``clock_check_interval`` s (``modem.clock_policy``).
        ``access_mode`` is the mode sockets open in (manual 1.3); in push
        mode a socket whose reader has more than ``push_limit`` bytes
        pushed and not taken switches to buffer mode until it catches up
        (``modem.push_flow``: the contract and the memory bound).
        """
        if urc_port is not None and urc_port not in commands.URC_PORTS:
            raise ValueError(f"urc_port must be one of {commands.URC_PORTS}, got {urc_port!r}")
        self.pdp = pdp
        self.profiles = list(profiles)
        self._ready_timeout = ready_timeout
        self._table = SocketTable(health=UrcHealth(urc_polling))
        self._supervisor = Supervisor(
            open_stream, pdp, profiles, self._table, trace_at=trace_at,
            registration_timeout=registration_timeout,
            command_timeout_cap=command_timeout_cap, urc_port=urc_port,
            reopen_backoff_max=reopen_backoff_max, line_baud=line_baud,
            host_clock=host_clock, clock_check_interval=clock_check_interval)
        self._restart_policy = RestartPolicy()
        self._send_stall_timeout = send_stall_timeout
        self._info_cache: tuple[float, ModuleInfo] | None = None
        self._access_mode = AccessMode(access_mode)
        PushInbox(push_limit)  # checks the limit now, not at the first open
        self._push_limit = push_limit
        self._nursery: trio.Nursery | None = None

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        open_stream: Callable[[], Awaitable[trio.abc.Stream]],
        *,
        pdp: PdpSettings | None = None,
        profiles: Sequence[TlsProfile] = (),
        **options: Unpack[ModemOptions],
    ) -> AsyncIterator[Modem]:
        """Open the device, bring the module up, and keep it up until exit.

        Raises the bring-up's error (a ``ModemError`` with a one-line
        message) when the first bring-up fails.  Later failures are
        recovered from in the background: meanwhile ``open_ssl_socket``,
        ``at_command`` and ``module_info`` fail at once with
        ``ModuleNotReady`` (no wait), and work again once the module is
        back.  ``open_stream`` is called again for every reopen (so it may
        discover the device anew).  ``options`` are ``Modem``'s keywords
        (``ModemOptions``).
        """
        modem = cls(open_stream, pdp or PdpSettings(), profiles, **options)
        with single_exception():
            async with trio.open_nursery() as nursery:
                await nursery.start(modem._supervisor.run)
                modem._nursery = nursery
                try:
                    yield modem
                finally:
                    with trio.CancelScope(shield=True):
                        await modem._supervisor.close_all_sockets(CLOSE_ALL_BOUND)
                    modem.state.value = ModuleState.CLOSED
                    nursery.cancel_scope.cancel()

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
    def urc_health(self) -> UrcHealth:
        """What the driver learned of the module's URCs and the recoveries it
        made by polling; ``urc_health.report()`` is for the status page."""
        return self._table.health

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
        returns it on ``aclose``, and this method returns it itself when the
        open fails.  Raises the manual's typed error (e.g. ``DnsParseFailed``,
        ``SocketConnectionFailed``), ``ModuleLost`` (``ModuleNotReady``, at
        once, while the module is recovering) or ``OperationTimeout``.
        """
        try:
            ctx = self._context_for(profile)
            return await self._open(client_id, host, port, profile, ctx)
        except BaseException:
            self._table.release(client_id)
            raise

    def _context_for(self, profile: TlsProfile) -> int:
        try:
            return self._supervisor.contexts[profile]
        except KeyError:
            raise ValueError(f"{profile!r} was not given to Modem.open") from None

    async def _open(
        self, client_id: int, host: str, port: int, profile: TlsProfile, ctx: int,
    ) -> SslSocket:
        """``AT+QSSLOPEN`` and its ``+QSSLOPEN`` URC (manual 2.1.2)."""
        channel = await self._supervisor.ready_channel(self._ready_timeout)
        mode = self._access_mode
        if self._table.health.urcs == "missing":
            mode = AccessMode.BUFFER  # push data goes where the URCs go: not to us
        sock = SslSocket(channel, client_id, host, port, error_of=error_of,
                         on_close=self._socket_closed,
                         send_stall_timeout=self._send_stall_timeout,
                         health=self._table.health, access_mode=mode,
                         push_limit=self._push_limit, start_task=self._start_task)
        cmd = commands.qsslopen(self.pdp.context_id, ctx, client_id, host, port,
                                mode.code, profile.negotiate_timeout)
        what = f"open {host}:{port}"
        for attempt in (1, 2):
            waiter = self._table.begin_open(sock)
            end = OpenEnd.FAILED
            try:
                resp = await channel.run(cmd)
                if not resp.ok:
                    exc = await error_of(channel, resp, what)
                    if isinstance(exc, SocketIdentityUsed) and attempt == 1:
                        # Left over from a socket whose close timed out: close, retry.
                        await close_client_id(channel, client_id, 0)
                        continue
                    raise exc
                err = await self._table.wait_open(
                    channel, waiter, client_id, OPEN_NETWORK_TIME + profile.negotiate_timeout,
                    what)
                if err != 0:
                    raise error_for_code(err, what)
                if sock.push is not None and not waiter.done.is_set():
                    # Opened without its URC: pushes would not reach this port either.
                    await sock.stay_in_buffer_mode()
                end = OpenEnd.CONNECTED
                self._note_open_result(None, host, port)
                return sock
            except ModemError as exc:
                code = getattr(exc, "code", None)
                if isinstance(code, int):
                    self._note_open_result(code, host, port)
                raise
            finally:
                self._table.end_open(sock, end)
                if end is OpenEnd.FAILED:
                    with trio.CancelScope(shield=True):
                        await close_client_id(channel, client_id, 0)
        raise AssertionError("unreachable")

    def _note_open_result(self, code: int | None, host: str, port: int) -> None:
        """Restart the module after a run of identical open failures across
        destinations, a state real modules only leave by a restart."""
        restart = self._restart_policy.record(code, f"{host}:{port}", time.monotonic())
        if restart is not None:
            log.warning("%d opens in a row failed with error %d: restarting the module",
                        restart.count, restart.code)
            self._supervisor.request_restart()

    def _start_task(self, task: Callable[[], Awaitable[None]]) -> None:
        """Run a socket's mode switch in the nursery ``Modem.open`` owns."""
        if self._nursery is not None:
            self._nursery.start_soon(task)

    def _socket_closed(self, sock: SslSocket, closed: bool) -> None:
        self._table.socket_closed(sock, closed, self._supervisor.channel)

    # -- shared access ----------------------------------------------------------

    async def at_command(self, text: str, max_response_s: float = 30.0) -> AtResponse:
        """Run a raw AT command between the data commands (the AT console).

        The caller decides which commands are safe.  Lines that start with the
        command's own ``+NAME`` and lines without ``+`` are its response.
        ``ModuleNotReady`` at once while the module is recovering.
        """
        cmd = console_command(text, max_response_s)
        channel = await self._supervisor.ready_channel(self._ready_timeout)
        return await run_console_command(channel, cmd)

    async def module_info(self, max_age: float = 5.0) -> ModuleInfo:
        """Model, signal, registration and address (cached for ``max_age`` s).

        ``ModuleNotReady`` at once while the module is recovering (the last
        answer stays in ``cached_module_info``).
        """
        now = time.monotonic()
        if self._info_cache is not None and now - self._info_cache[0] < max_age:
            return self._info_cache[1]
        channel = await self._supervisor.ready_channel(self._ready_timeout)
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
                          dbm, registration, self.address)
        self._info_cache = (now, info)
        return info
