"""``ProxyService``: the modems, the listeners, the connections, the shutdown.

Life of ``run()``:

1. bind every listener (maps, ``--status``, ``--at-console``) first, so a
   port in use fails at once instead of after the modules' bring-up;
2. bring the modules up, one or several, as a ``ModemPool`` (each made by
   ``modems.module_factory``: its emulator first with ``--emulate``, then
   the driver);
3. serve: one accept loop per map, each connection in its own task
   (``connection.serve_connection``), placed on a module by the pool through
   ``Admission``, plus the status page and console;
4. on ``request_shutdown()`` (SIGINT/SIGTERM): stop accepting, drop
   connections still queued, give open ones ``grace`` seconds, then cancel
   the rest (each closes its module socket), stop the services and leave
   the pool (each ``Modem.open`` closes whatever socket is still open).
   ``stop_now()`` (a second signal) cancels everything at once.

Raises ``ListenError`` (bind failed) and the driver's ``ModemError`` kinds from the bring-up.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import trio

from modem import __version__
from modem.core.profile import TlsProfile
from modem.driver import Modem
from proxy.config.build import Endpoint, Mapping, ProxyConfig
from proxy.config.endpoint import ListenAddress
from proxy.config.model import ModemSpec
from proxy.config.modems import modem_specs
from proxy.config.trust import warn_unchecked_names
from proxy.connections.admission import Admission
from proxy.connections.connection import serve_connection
from proxy.connections.idle import IdlePolicy
from proxy.connections.registry import ConnectionState, MapTotals, Registry
from proxy.logging_setup import NOTICE, kv
from proxy.modems.line_meter import LineMeter
from proxy.modems.module_factory import ModuleFactory
from proxy.modems.placed_connection import PlacedOpener
from proxy.modems.pool import ModemPool, Placement
from proxy.modems.status import modems_status, module_status
from proxy.ops.at_console import serve_at_console
from proxy.ops.at_pty import AtPty
from proxy.ops.listeners import (
    MapListener,
    admits,
    bind,
    bind_map,
    bound_address,
    listening_line,
    peer_of,
    refuse,
)
from proxy.ops.metrics import ProxyMetrics
from proxy.ops.reload import ConfigSource, ListenerSet, reload_service
from proxy.ops.status_history import StatusHistory
from proxy.ops.status_page import serve_status
from proxy.ops.systemd_notify import SystemdNotifier
from proxy.ops.unix_listener import UnixSocketFile, open_unix_listener

log = logging.getLogger("proxy.service")


class ServiceState(enum.StrEnum):
    """The service's life, in order; the value is what the status shows."""

    STARTING = "starting"  # binding, bringing the module up
    SERVING = "serving"    # accepting connections
    STOPPING = "stopping"  # shutting down gracefully
    STOPPED = "stopped"


@dataclass
class _Bound:
    """The listeners ``run`` binds before the modules come up: each map's, and
    the services' (``status``, ``console``, ``console:<modem>``)."""

    maps: dict[Mapping, MapListener] = field(default_factory=dict)
    extra: dict[str, list[trio.SocketListener]] = field(default_factory=dict)

    async def aclose(self) -> None:
        for group in self.maps.values():
            await group.aclose()
        for listener in (one for group in self.extra.values() for one in group):
            await trio.aclose_forcefully(listener)


def _first_module(specs: tuple[ModemSpec, ...], device: str | None) -> tuple[ModemSpec, ...]:
    """``specs`` with the first module's port ``device`` when one is given."""
    if not device:
        return specs
    return (replace(specs[0], device=device), *specs[1:])


class ProxyService:
    """The running proxy.  Make one, ``await run()``; stop it with ``request_shutdown``.

    ``device`` is the first module's serial device path (ignored with
    ``config.emulate``); ``rediscover`` (when the path came from discovery,
    not ``--device``) finds its port again before every reopen
    (``proxy.modems.device_opener``), as ``rediscover_by_modem`` does per
    module name.  After start, ``listen_addresses`` maps each ``Mapping`` to
    where it actually listens (useful with LPORT 0), ``status_address`` and
    ``console_address`` likewise; ``pool`` holds the modules and
    ``registry`` the connections.  ``modem`` and ``emulator`` are the first
    module's, for tests and tools that drive one.  ``linger`` (tests)
    overrides ``config.half_close_timeout``.
    """

    def __init__(self, config: ProxyConfig, profiles: dict[Mapping, TlsProfile],
                 device: str | None = None, *, linger: float | None = None,
                 emulator_options: dict[str, Any] | None = None,
                 modem_options: dict[str, Any] | None = None,
                 rediscover: Callable[[], str] | None = None,
                 rediscover_by_modem: dict[str, Callable[[], str]] | None = None,
                 pool_options: dict[str, float] | None = None) -> None:
        self.config = config
        self.profiles = profiles
        self.specs = _first_module(modem_specs(config), device)
        first = self.specs[0].name
        by_modem = {**({first: rediscover} if rediscover else {}), **(rediscover_by_modem or {})}
        self._pool_options = pool_options or {}  # ModemPool's keywords (tests scale them)
        self.pool: ModemPool | None = None
        self.console_addresses: dict[str, Endpoint] = {}  # per-modem consoles ([[modem]])
        self.linger = config.half_close_timeout if linger is None else linger
        self.modules = ModuleFactory(self, emulator_options=emulator_options,
                                     modem_options=modem_options,
                                     rediscover_by_modem=by_modem)
        self.registry = Registry()
        self.admission: Admission[Placement] | None = None
        self.listen_addresses: dict[Mapping, ListenAddress] = {}
        self.status_address: Endpoint | None = None
        self.console_address: Endpoint | None = None
        self.console_socket: UnixSocketFile | None = None  # --at-console unix:PATH
        self.at_pty: AtPty | None = None  # --at-pty
        self.state = ServiceState.STARTING
        self.hard_stopped = False
        self.started_at = 0.0
        self._shutdown = trio.Event()
        self._root_scope = trio.CancelScope()
        self._accept_scope = trio.CancelScope()
        self._services_scope = trio.CancelScope()
        self.listener_set = ListenerSet()  # the maps' listeners (proxy.ops.reload)
        self._reload_lock = trio.Lock()
        self.metrics = ProxyMetrics(self)
        self.history = StatusHistory(  # what the status page draws over time
            self, lambda: self.registry.connections.values(),
            lambda: 0 if self.admission is None else self.admission.queued)
        self.systemd = SystemdNotifier.from_environment()  # None unless under systemd

    @property
    def modem(self) -> Modem | None:
        """The first module's driver once it runs (the pool's first member's)."""
        return None if self.pool is None else self.pool.members[0].modem

    @property
    def emulator(self) -> Any:
        """The first module's emulator (``--emulate``), else None."""
        return None if self.pool is None else self.pool.members[0].emulator

    # -- control ----------------------------------------------------------------

    def request_shutdown(self) -> None:
        """Stop gracefully (first SIGINT/SIGTERM)."""
        self._shutdown.set()

    async def reload(self, source: ConfigSource) -> bool:
        """Re-read the config (SIGHUP) and apply it while serving (``proxy.ops.reload``)."""
        if self.state != ServiceState.SERVING:
            log.log(NOTICE, "reload ignored: the service is not serving",
                    extra=kv(state=self.state.value))
            return False
        async with self._reload_lock:
            return await reload_service(self, source, bind_map)

    def running_modems(self) -> dict[str, Modem]:
        """Each module whose driver runs, by name (``ModemPool.running_modems``)."""
        return {} if self.pool is None else self.pool.running_modems()

    def line_meters(self) -> dict[str, LineMeter]:
        """Each running module's line meter, by name."""
        if self.pool is None:
            return {}
        return {m.name: m.meter for m in self.pool.members if m.modem is not None}

    def checks_names(self, profile: TlsProfile) -> bool:
        """Whether the modules check the server's name with ``profile``."""
        return self.pool is not None and self.pool.checks_names(profile)

    def stop_now(self) -> None:
        """Stop at once (second signal): cancel everything."""
        self.hard_stopped = True
        self._root_scope.cancel()
        self.modules.abort_starting("stopping at once (second signal)")

    # -- running ------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[ProxyService] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """Bind, bring the modules up, serve until shut down.  Starts with ``self``."""
        bound = _Bound()
        try:
            await self._bind_all(bound)
            self._warn_exposed()
            with self._root_scope:
                async with trio.open_nursery() as root:
                    root.start_soon(self._watch_shutdown)
                    async with ModemPool.open(self.specs, self.modules.open,
                                              self.modules.meter_baud,
                                              **self._pool_options) as pool:
                        self.pool = pool
                        await self._serve(pool, bound, task_status)
                    root.cancel_scope.cancel()
        finally:
            try:
                if self.at_pty is not None:
                    await self.at_pty.aclose()
                await bound.aclose()
                if self.console_socket is not None:
                    self.console_socket.remove()
            finally:
                self.state = ServiceState.STOPPED  # only once its files are gone

    async def _bind_all(self, bound: _Bound) -> None:
        """Every listener into ``bound``, before the modules come up, so that a
        port in use fails at once (``ListenError``)."""
        config = self.config
        for mapping in config.maps:
            bound.maps[mapping] = await bind_map(mapping)
            self.listen_addresses[mapping] = bound.maps[mapping].address
        if config.status is not None:
            bound.extra["status"] = await bind(config.status, "--status")
            self.status_address = bound_address(bound.extra["status"])
        if config.at_console is not None:
            bound.extra["console"] = await bind(config.at_console, "--at-console")
            self.console_address = bound_address(bound.extra["console"])
        if config.at_console_unix is not None:
            console, self.console_socket = await open_unix_listener(
                config.at_console_unix, "--at-console")
            bound.extra["console"] = [console]
        if config.at_pty is not None:
            self.at_pty = AtPty.open(config.at_pty)
        for spec in config.modems:
            if spec.at_console is not None:
                key = f"console:{spec.name}"
                bound.extra[key] = await bind(spec.at_console, f"[[modem]] {spec.name} at-console")
                self.console_addresses[spec.name] = bound_address(bound.extra[key])

    async def _serve(self, pool: ModemPool, bound: _Bound,
                     task_status: trio.TaskStatus[ProxyService]) -> None:
        """The serving phase: accept loops and services until they are stopped."""
        config = self.config
        warn_unchecked_names(config.maps, self.profiles, pool.checks_names)
        admission = self.admission = Admission(
            pool, config.max_connections, config.queue_timeout, queue_max=config.queue_max,
            map_limits={m: m.max_connections for m in config.maps
                        if m.max_connections is not None})
        async with trio.open_nursery() as work:
            work.start_soon(self._accept_all, bound.maps, pool, admission, work)
            work.start_soon(self._serve_extras, bound.extra, pool)
            self.state = ServiceState.SERVING
            self.started_at = trio.current_time()
            for mapping, address in self.listen_addresses.items():
                log.log(NOTICE, listening_line(mapping, address))
            if self.status_address is not None:
                log.log(NOTICE, f"status page on http://{self.status_address}/"
                        " (/status.json, /metrics)")
            if self.console_address is not None:
                log.log(NOTICE, f"AT console on {self.console_address}")
            task_status.started(self)

    def _warn_exposed(self) -> None:
        for mapping, address in self.listen_addresses.items():
            if not mapping.listen.is_loopback and mapping.allow is None:
                log.warning("listener reachable from other hosts; an allow list limits "
                            "who may connect", extra=kv(listen=str(address),
                                                        remote=str(mapping.remote)))
        for what, endpoint in (("--status", self.config.status),
                               ("--at-console", self.config.at_console)):
            if endpoint is not None and not endpoint.is_loopback:
                log.warning(f"{what} reachable from other hosts", extra=kv(listen=str(endpoint)))
        if self.config.trace_payload:
            log.warning("the AT trace shows the first bytes of every payload "
                        "(--trace-payload): keep this log private, it may hold credentials")
        if any(m.tls.insecure for m in self.config.maps):
            log.warning("server certificates are not verified (--insecure)",
                        extra=kv(maps=", ".join(str(m.remote) for m in self.config.maps
                                                if m.tls.insecure)))

    async def _accept_all(self, listeners: dict[Mapping, MapListener],
                          pool: ModemPool, admission: Admission[Placement],
                          work: trio.Nursery) -> None:
        async def handle(mapping: Mapping, stream: trio.SocketStream) -> None:
            await self._handle(mapping, pool, admission, stream)

        with self._accept_scope:
            await self.listener_set.serve(listeners, handle, work)

    async def _serve_extras(self, extra: dict[str, list[trio.SocketListener]],
                            pool: ModemPool) -> None:
        """The status page, the AT consoles (the top-level one reaches the first
        module), the AT pty and systemd's notifications, until cancelled."""
        console_command = pool.at_command(pool.members[0])
        with self._services_scope:
            async with trio.open_nursery() as nursery:
                if "status" in extra:
                    nursery.start_soon(partial(serve_status, extra["status"],
                                               self.status_snapshot,
                                               metrics=self.metrics.scrape))
                    nursery.start_soon(self.history.run, self.started_at)
                if "console" in extra:
                    nursery.start_soon(serve_at_console, extra["console"], console_command)
                for member in pool.members:
                    key = f"console:{member.name}"
                    if key in extra:
                        nursery.start_soon(serve_at_console, extra[key], pool.at_command(member))
                if self.at_pty is not None:
                    nursery.start_soon(self.at_pty.serve, console_command)
                if self.systemd is not None:
                    shown = next(iter(pool.running_modems().values()))
                    nursery.start_soon(self.systemd.serve, shown,
                                       lambda: pool.running_modems().values())

    async def _handle(self, mapping: Mapping, pool: ModemPool, admission: Admission[Placement],
                      stream: trio.SocketStream) -> None:
        if self.state != ServiceState.SERVING:
            await trio.aclose_forcefully(stream)
            return
        peer = peer_of(stream)
        listen = str(self.listen_addresses.get(mapping, mapping.listen))
        if not admits(mapping, peer):
            self.registry.refuse(mapping)
            log.info("refused: not in the allow list", extra=kv(listen=listen, peer=peer.name))
            await refuse(stream)
            return
        record = self.registry.add(mapping, listen, peer.name)
        log.info("accepted", extra=kv(conn=record.number, listen=listen,
                                      remote=str(mapping.remote), peer=peer.name))
        reason = "error"
        try:
            reason = await serve_connection(
                stream, record, opener=PlacedOpener(pool, record),
                profile=self.profiles[mapping], admission=admission, registry=self.registry,
                half_close_timeout=self.linger,
                idle=IdlePolicy(mapping.idle_reclaim, mapping.idle_timeout,
                                mapping.idle_release))
        except Exception:
            log.exception("connection failed unexpectedly", extra=kv(conn=record.number))
        finally:
            self.registry.remove(record, reason)

    async def _watch_shutdown(self) -> None:
        await self._shutdown.wait()
        if self.systemd is not None:
            self.systemd.stopping()
        if self.state != ServiceState.SERVING:
            log.log(NOTICE, "stopping during start-up")
            self._root_scope.cancel()
            return
        self.state = ServiceState.STOPPING
        registry = self.registry
        log.log(NOTICE, "shutting down", extra=kv(open=len(registry), grace=self.config.grace))
        self._accept_scope.cancel()
        for record in list(registry.connections.values()):
            # Waiting for a socket, or idle without one: nothing to finish.
            if record.state in (ConnectionState.QUEUED, ConnectionState.RELEASED):
                record.cancel_scope.cancel()
        with trio.move_on_after(self.config.grace):
            await registry.wait_empty()
        if len(registry):
            log.log(NOTICE, "grace period over, closing connections", extra=kv(open=len(registry)))
            for record in list(registry.connections.values()):
                record.cancel_scope.cancel()
            await registry.wait_empty()
        self._services_scope.cancel()

    # -- status -------------------------------------------------------------------

    async def status_snapshot(self) -> dict[str, Any]:
        """What ``--status`` shows (JSON-able)."""
        # Every modem asked at once; ``module`` is the first one up (as with one modem).
        first, modems = await modems_status(self.pool, module_status)
        module = {"error": "not started"} if first is None else first
        snapshot = self.registry.snapshot()
        admission = self.admission
        return {
            "service": {
                "version": __version__,
                "state": self.state.value,
                "uptime_s": round(trio.current_time() - self.started_at, 3),
                "max_connections": self.config.max_connections,
                "busy": admission.busy if admission is not None else 0,
                "queue_timeout_s": self.config.queue_timeout,
                "queued": admission.queued if admission is not None else 0,
                "queue_max": self.config.queue_max,
            },
            "module": module,
            "modems": modems,
            "maps": [
                {
                    "listen": str(self.listen_addresses.get(m, m.listen)),
                    "remote": str(m.remote),
                    "tls_version": self.profiles[m].version,
                    "seclevel": self.profiles[m].seclevel,
                    "sni": self.profiles[m].sni,
                    "name_checked": self.checks_names(self.profiles[m]),
                    "allow": None if m.allow is None else m.allow.entries,
                    "refused": self.registry.map_totals.get(m, MapTotals()).refused,
                }
                for m in self.config.maps
            ],
            **snapshot,
            "connections": self.history.with_rates(self.registry.connections.values()),
            "history": self.history.as_dict(),
        }
