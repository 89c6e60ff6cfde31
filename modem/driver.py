"""``Modem``: the Trio driver that owns the module and its SSL sockets.

Tasks, all in the nursery ``Modem.open`` owns:

* the *supervisor* opens the serial stream, starts the channel's reader,
  runs the bring-up (``modem.bringup``), then waits for the channel to
  break (device gone, ``RDY``, module silent).  It then fails every socket
  with that reason and starts over, reopening the device when it returns;
* the *PDP keeper* reactivates the PDP context after
  ``+QIURC: "pdpdeact"`` (whose sockets have failed by then).

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

import trio
from trio_util import AsyncValue

from . import commands
from . import events as ev
from .bringup import (
    BringUpError,
    PdpSettings,
    activate_pdp,
    check_sim,
    close_stale_sockets,
    configure_contexts,
    configure_line,
    error_of,
    identify,
    pdp_address,
    set_clock,
    upload_files,
    wait_registered,
)
from .channel import AtChannel
from .client_ids import ClientIdPool
from .errors import (
    AtProtocolError,
    DeviceError,
    ModemError,
    ModuleLost,
    ModuleTimeout,
    OperationTimeout,
    PdpContextBrokeDown,
    SocketIdentityUsed,
    error_for_code,
)
from .nurseries import single_exception
from .profile import TlsProfile
from .protocol import Command, Framing
from .ssl_socket import SslSocket, close_client_id

__all__ = ["AtResponse", "Modem", "ModuleInfo", "PdpSettings"]

log = logging.getLogger("modem.driver")

OPEN_NETWORK_TIME = 150  # manual 2.1.2: 150 s plus the negotiate time
READY_TIMEOUT = 90.0
REOPEN_BACKOFF_MAX = 10.0
BRINGUP_BACKOFF_MAX = 30.0
CLOSE_ALL_BOUND = 10.0  # seconds to close every socket on exit
RESTART_STREAK = 8
RESTART_MIN_INTERVAL = 600.0


@dataclass(frozen=True)
class ModuleInfo:
    manufacturer: str
    model: str
    revision: str
    signal_dbm: int | None
    registration: str
    address: str | None


@dataclass(frozen=True)
class AtResponse:
    """A console command's full response: information lines and the final line."""

    lines: list[str]
    final: str


def _final_text(final: ev.FinalResult | None) -> str:
    match final:
        case ev.Ok():
            return "OK"
        case ev.CmeError(text=text):
            return f"+CME ERROR: {text}"
        case ev.SendOk():
            return "SEND OK"
        case ev.SendFail():
            return "SEND FAIL"
        case ev.Connect():
            return "CONNECT"
        case ev.NoCarrier():
            return "NO CARRIER"
        case _:
            return "ERROR"


class _OpenWaiter:
    __slots__ = ("done", "err")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.err: int | None = None


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
    ) -> None:
        self._open_stream = open_stream
        self.pdp = pdp
        self.profiles = list(profiles)
        self._trace = trace_at
        self._registration_timeout = registration_timeout
        self._ready_timeout = ready_timeout
        self.client_ids = ClientIdPool()
        self.state = AsyncValue("starting")  # starting, ready, recovering, closed
        self.identity = commands.ModuleIdentity("", "", None)
        self.address: str | None = None
        self.restarts = 0
        self._channel: AtChannel | None = None
        self._contexts: dict[TlsProfile, int] = {}
        self._sockets: dict[int, SslSocket] = {}
        self._opening: dict[int, _OpenWaiter] = {}
        self._pdp_lost = trio.Event()
        self._streak: tuple[int, int, frozenset[str]] = (0, 0, frozenset())
        self._last_forced_restart = -RESTART_MIN_INTERVAL
        self._info_cache: tuple[float, ModuleInfo] | None = None
        self._nursery: trio.Nursery | None = None  # the current module life's tasks
        self._unclosed: set[int] = set()  # IDs whose close the module did not confirm
        self._unclosed_wakeup = trio.Event()

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        open_stream: Callable[[], Awaitable[trio.abc.Stream]],
        *,
        pdp: PdpSettings | None = None,
        profiles: Sequence[TlsProfile] = (),
        trace_at: bool = False,
        registration_timeout: float = 120.0,
        ready_timeout: float = READY_TIMEOUT,
    ) -> AsyncIterator[Modem]:
        """Open the device, bring the module up, and keep it up until exit.

        Raises the bring-up's error (a ``ModemError`` with a one-line
        message) when the first bring-up fails.  Later failures are
        recovered from in the background.
        """
        modem = cls(open_stream, pdp or PdpSettings(), profiles, trace_at=trace_at,
                    registration_timeout=registration_timeout, ready_timeout=ready_timeout)
        with single_exception():
            async with trio.open_nursery() as nursery:
                await nursery.start(modem._supervise)
                try:
                    yield modem
                finally:
                    with trio.CancelScope(shield=True):
                        await modem._close_all_sockets(CLOSE_ALL_BOUND)
                    modem.state.value = "closed"
                    nursery.cancel_scope.cancel()

    # -- supervision ----------------------------------------------------------

    async def _supervise(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        first = True
        backoff = 0.5
        while True:
            try:
                stream = await self._open_stream()
            except DeviceError as exc:
                if first:
                    raise
                log.warning("serial device unavailable, retrying in %.1f s: %s", backoff, exc)
                await trio.sleep(backoff)
                backoff = min(backoff * 2, REOPEN_BACKOFF_MAX)
                continue
            failure, served = await self._run_generation(stream, task_status if first else None)
            first = False
            self.state.value = "recovering"
            self._fail_everything(failure)
            if served:
                backoff = 0.5
                log.warning("module lost, recovering: %s", failure)
            else:
                # The module answers but cannot be brought up (no SIM, no
                # network...): retry, slower and slower, without spinning.
                log.warning("bring-up failed, retrying in %.1f s: %s", backoff, failure)
                await trio.sleep(backoff)
                backoff = min(backoff * 2, BRINGUP_BACKOFF_MAX)

    async def _run_generation(
        self, stream: trio.abc.Stream, task_status,
    ) -> tuple[ModemError, bool]:
        """One life of the module: bring-up, serve; why it ended, and whether it served."""
        channel = AtChannel(stream, self._on_urc, trace=self._trace)
        self._channel = None
        failure: ModemError
        brought_up = False
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(channel.read_loop)
                try:
                    await self._bring_up(channel)
                except ModemError as exc:
                    failure = channel.failure or exc
                    channel.fail(failure)
                else:
                    brought_up = True
                    self._channel = channel
                    self._nursery = nursery
                    self.state.value = "ready"
                    if task_status is not None:
                        task_status.started()
                    nursery.start_soon(self._keep_pdp, channel)
                    nursery.start_soon(self._close_unconfirmed, channel)
                    await channel.broken.wait()
                    self.state.value = "recovering"
                    self._channel = None
                    failure = channel.failure or ModuleLost("channel broke")
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()
        if not brought_up and task_status is not None:
            raise failure
        return failure, brought_up

    async def _bring_up(self, channel: AtChannel) -> None:
        """Bring the module up; start over when it restarts (RDY) meanwhile."""
        for _ in range(3):
            # A module opened right after power-up prints RDY while we sync:
            # count restarts from the first OK on.
            await channel.sync()
            restarts = channel.restarts_seen
            await self._bring_up_once(channel)
            if channel.restarts_seen == restarts:
                channel.restart_is_fatal = True
                return
            log.info("module restarted during bring-up; starting over")
        raise BringUpError("module keeps restarting during bring-up: check its power supply")

    async def _bring_up_once(self, channel: AtChannel) -> None:
        await configure_line(channel)
        self.identity = await identify(channel)
        await check_sim(channel)
        registration = await wait_registered(channel, self._registration_timeout)
        await set_clock(channel)
        self.address = await activate_pdp(channel, self.pdp)
        await close_stale_sockets(channel)
        self._release_unconfirmed()
        contents = []
        for profile in self.profiles:
            contents.extend(c for c in profile.files().values() if c not in contents)
        files = await upload_files(channel, contents)
        self._contexts = await configure_contexts(channel, self.profiles, files)
        self._pdp_lost = trio.Event()
        log.info("module ready model=%s revision=%s network=%s address=%s contexts=%d",
                 self.identity.model, self.identity.revision, registration, self.address,
                 len(self._contexts))

    async def _keep_pdp(self, channel: AtChannel) -> None:
        """After ``pdpdeact``, reactivate the context for new sockets."""
        while True:
            await self._pdp_lost.wait()
            self._pdp_lost = trio.Event()
            self.state.value = "recovering"
            backoff = 1.0
            while True:
                try:
                    self.address = await activate_pdp(channel, self.pdp)
                    break
                except ModemError as exc:
                    if channel.failure is not None:
                        return
                    log.warning("PDP context reactivation failed, retrying in %.0f s: %s",
                                backoff, exc)
                    await trio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
            log.info("PDP context reactivated address=%s", self.address)
            self.state.value = "ready"

    def _fail_everything(self, failure: ModemError, open_err: int | None = None) -> None:
        """Fail every socket with ``failure`` and end every pending open
        (with ``open_err`` as its outcome when given)."""
        for sock in list(self._sockets.values()):
            sock.fail(failure)
        for waiter in self._opening.values():
            if open_err is not None:
                waiter.err = open_err
            waiter.done.set()

    def _on_urc(self, urc: ev.Urc) -> None:
        match urc:
            case ev.SslRecv(client_id=cid):
                sock = self._sockets.get(cid)
                if sock is not None:
                    sock.notify_recv()
            case ev.SslClosed(client_id=cid):
                sock = self._sockets.get(cid)
                if sock is not None:
                    sock.notify_closed()
                waiter = self._opening.get(cid)
                if waiter is not None and waiter.err is None:
                    waiter.err = 567
                    waiter.done.set()
            case ev.SslOpened(client_id=cid, err=err):
                waiter = self._opening.get(cid)
                if waiter is not None:
                    waiter.err = err
                    waiter.done.set()
            case ev.PdpDeactivated(context_id=ctx) if ctx == self.pdp.context_id:
                log.warning("network dropped PDP context %d", ctx)
                failure = PdpContextBrokeDown(command=f"PDP context {ctx}")
                self._fail_everything(failure, open_err=failure.code)
                self._pdp_lost.set()
            case ev.UnknownUrc(text=text):
                log.debug("unsolicited line=%r", text)
            case _:
                log.debug("unhandled urc=%r", urc)

    # -- sockets --------------------------------------------------------------

    async def _ready_channel(self) -> AtChannel:
        with trio.move_on_after(self._ready_timeout):
            await self.state.wait_value(lambda v: v in ("ready", "closed"))
        channel = self._channel
        if self.state.value != "ready" or channel is None or channel.failure is not None:
            raise ModuleLost(f"module not ready (state {self.state.value})")
        return channel

    async def open_ssl_socket(
        self, client_id: int, host: str, port: int, profile: TlsProfile,
    ) -> SslSocket:
        """Open a TLS socket to ``host:port`` on ``client_id`` (buffer mode).

        The caller acquired ``client_id`` from ``client_ids``; the socket
        returns it on ``aclose``, and this method returns it itself when the
        open fails.  Raises the manual's typed error (e.g. ``DnsParseFailed``,
        ``SocketConnectionFailed``), ``ModuleLost`` or ``OperationTimeout``.
        """
        try:
            ctx = self._contexts_for(profile)
            return await self._open(client_id, host, port, profile, ctx)
        except BaseException:
            self._release(client_id)
            raise

    def _contexts_for(self, profile: TlsProfile) -> int:
        try:
            return self._contexts[profile]
        except KeyError:
            raise ValueError(f"{profile!r} was not given to Modem.open") from None

    async def _open(
        self, client_id: int, host: str, port: int, profile: TlsProfile, ctx: int,
    ) -> SslSocket:
        channel = await self._ready_channel()
        sock = SslSocket(channel, client_id, host, port, error_of=error_of,
                         on_close=self._socket_closed)
        cmd = commands.qsslopen(self.pdp.context_id, ctx, client_id, host, port, 0,
                                profile.negotiate_timeout)
        for attempt in (1, 2):
            waiter = _OpenWaiter()
            self._opening[client_id] = waiter
            self._sockets[client_id] = sock
            opened = False
            try:
                resp = await channel.run(cmd)
                if not resp.ok:
                    exc = await error_of(channel, resp, f"open {host}:{port}")
                    if isinstance(exc, SocketIdentityUsed) and attempt == 1:
                        # Left over from a socket whose close timed out: close, retry.
                        await close_client_id(channel, client_id, 0)
                        continue
                    raise exc
                with trio.move_on_after(OPEN_NETWORK_TIME + profile.negotiate_timeout):
                    await waiter.done.wait()
                if channel.failure is not None:
                    raise channel.failure
                if waiter.err is None:
                    raise OperationTimeout(command=f"open {host}:{port}")
                if waiter.err != 0:
                    raise error_for_code(waiter.err, f"open {host}:{port}")
                opened = True
                self._note_open_result(None, host, port)
                return sock
            except ModemError as exc:
                code = getattr(exc, "code", None)
                if isinstance(code, int):
                    self._note_open_result(code, host, port)
                raise
            finally:
                self._opening.pop(client_id, None)
                if not opened:
                    self._sockets.pop(client_id, None)
                    with trio.CancelScope(shield=True):
                        await close_client_id(channel, client_id, 0)
        raise AssertionError("unreachable")

    def _note_open_result(self, code: int | None, host: str, port: int) -> None:
        """Restart the module after a run of identical open failures across
        destinations, a state real modules only leave by a restart."""
        if code is None or code == 570:
            self._streak = (0, 0, frozenset())
            return
        last, count, dests = self._streak
        dests = dests | {f"{host}:{port}"} if code == last else frozenset({f"{host}:{port}"})
        count = count + 1 if code == last else 1
        self._streak = (code, count, dests)
        now = time.monotonic()
        if (count >= RESTART_STREAK and len(dests) >= 2
                and now - self._last_forced_restart >= RESTART_MIN_INTERVAL):
            self._last_forced_restart = now
            self._streak = (0, 0, frozenset())
            log.warning("%d opens in a row failed with error %d: restarting the module",
                        count, code)
            channel = self._channel
            if channel is not None and self._nursery is not None:
                self._nursery.start_soon(self._restart_module, channel)

    async def _restart_module(self, channel: AtChannel) -> None:
        """``AT+CFUN=1,1``; the supervisor brings the module up again after RDY."""
        self.restarts += 1
        self.state.value = "recovering"
        try:
            with trio.move_on_after(20):
                await channel.run(commands.cfun(1, reset=True))
        except ModemError as exc:
            log.warning("module restart command failed: %s", exc)
        with trio.move_on_after(60):
            await channel.broken.wait()
            return
        channel.fail(ModuleLost("module did not restart after AT+CFUN=1,1"))

    def _socket_closed(self, sock: SslSocket, closed: bool) -> None:
        cid = sock.client_id
        if self._sockets.get(cid) is sock:
            del self._sockets[cid]
        channel = self._channel
        if closed or channel is None or channel.failure is not None:
            # Closed, or the module life it belonged to is over: the next
            # bring-up closes whatever the module still holds.
            self._release(cid)
            return
        # The module did not confirm the close (it was silent): keep the ID
        # out of the pool until a later close is answered.
        log.warning("socket %d not confirmed closed; retrying the close later", cid)
        self._unclosed.add(cid)
        self._unclosed_wakeup.set()

    async def _close_unconfirmed(self, channel: AtChannel) -> None:
        """Close IDs whose ``AT+QSSLCLOSE`` went unanswered, then free them."""
        while True:
            await self._unclosed_wakeup.wait()
            self._unclosed_wakeup = trio.Event()
            for cid in sorted(self._unclosed):
                if await close_client_id(channel, cid, 0):
                    self._unclosed.discard(cid)
                    self._release(cid)
            if self._unclosed:
                await trio.sleep(1.0)
                self._unclosed_wakeup.set()

    def _release_unconfirmed(self) -> None:
        """After a bring-up closed every stale socket, unconfirmed IDs are free."""
        for cid in self._unclosed:
            self._release(cid)
        self._unclosed.clear()

    def _release(self, client_id: int) -> None:
        try:
            self.client_ids.release(client_id)
        except ValueError:
            pass

    async def _close_all_sockets(self, bound: float) -> None:
        """Close every open socket; a module that stops answering meanwhile gets
        its channel broken after ``bound`` seconds, which ends the closes at once
        (each command is shielded and would otherwise wait out its own time)."""

        async def watchdog() -> None:
            await trio.sleep(bound)
            channel = self._channel
            if channel is not None:
                channel.fail(ModuleLost("module did not answer while shutting down"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watchdog)
            for sock in list(self._sockets.values()):
                await sock.aclose()
            nursery.cancel_scope.cancel()

    # -- shared access ----------------------------------------------------------

    async def at_command(self, text: str, max_response_s: float = 30.0) -> AtResponse:
        """Run a raw AT command between the data commands (the AT console).

        The caller decides which commands are safe.  Lines that start with the
        command's own ``+NAME`` and lines without ``+`` are its response.
        """
        if not text.isascii() or any(c in text for c in "\r\n\x1a\x1b"):
            raise ValueError("an AT command is one line of printable ASCII")
        if not text[:2].upper() == "AT":
            raise ValueError("an AT command starts with AT")
        name = text[2:].split("=", 1)[0].split("?", 1)[0].strip()
        prefixes = (name.upper(),) if name.startswith("+") else ()
        cmd = Command(
            text, info_prefixes=prefixes, framing=Framing.BARE_LINES, timeout=max_response_s)
        channel = await self._ready_channel()
        try:
            resp = await channel.run(cmd)
        except AtProtocolError as exc:  # pragma: no cover - run serialises commands
            raise ModemError(str(exc)) from exc
        return AtResponse(list(resp.lines), _final_text(resp.final))

    async def module_info(self, max_age: float = 5.0) -> ModuleInfo:
        """Model, signal, registration and address (cached for ``max_age`` s)."""
        now = time.monotonic()
        if self._info_cache is not None and now - self._info_cache[0] < max_age:
            return self._info_cache[1]
        channel = await self._ready_channel()
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
            self.address = await pdp_address(channel, self.pdp.context_id)
        except ModemError:
            pass
        info = ModuleInfo(self.identity.manufacturer, self.identity.model,
                          self.identity.revision or "", dbm, registration, self.address)
        self._info_cache = (now, info)
        return info

    @property
    def open_sockets(self) -> dict[int, SslSocket]:
        return dict(self._sockets)


__all__ += ["BringUpError", "ModuleTimeout"]
