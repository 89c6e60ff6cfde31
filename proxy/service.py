"""``ProxyService``: the modem, the listeners, the connections, the shutdown.

Life of ``run()``:

1. bind every listener (maps, ``--status``, ``--at-console``) first, so a
   port in use fails at once instead of after the module's bring-up;
2. start the emulator (``--emulate``) and bring the module up
   (``Modem.open``);
3. serve: one accept loop per map, each connection in its own task
   (``connection.serve_connection``), plus the status page and console;
4. on ``request_shutdown()`` (SIGINT/SIGTERM): stop accepting, drop
   connections still queued, give open ones ``grace`` seconds, then cancel
   the rest (each closes its module socket), stop the services and leave
   ``Modem.open`` (which closes whatever socket is still open).
   ``stop_now()`` (a second signal) cancels everything at once.

Exceptions out of ``run()``: ``ListenError`` (bind failed) and the
driver's ``ModemError`` subclasses from the bring-up.
"""

from __future__ import annotations

import enum
import errno
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

import trio

from modem import __version__
from modem.driver import AccessMode, Modem, ModuleInfo, ModuleState, PdpSettings
from modem.errors import ModemError
from modem.profile import TlsProfile

from .admission import Admission
from .at_console import serve_at_console
from .config import Endpoint, Mapping, ProxyConfig
from .connection import HALF_CLOSE_LINGER, serve_connection
from .device_opener import PortOpener
from .errors import ListenError as ListenError  # its home before proxy.errors
from .logging_setup import NOTICE, kv
from .port_discovery import describe_device, urc_port_for
from .registry import ConnectionState, Registry
from .status import serve_status

log = logging.getLogger("proxy.service")

MODULE_INFO_TIMEOUT = 0.8  # the page answers within 1 s, however slow the module


class ServiceState(enum.StrEnum):
    """The service's life, in order; the value is what the status shows."""

    STARTING = "starting"  # binding, bringing the module up
    SERVING = "serving"    # accepting connections
    STOPPING = "stopping"  # shutting down gracefully
    STOPPED = "stopped"


async def bind(endpoint: Endpoint, what: str) -> list[trio.SocketListener]:
    """Listening sockets for ``endpoint``; ``ListenError`` with advice if it cannot."""
    try:
        return await trio.open_tcp_listeners(endpoint.port, host=endpoint.host)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            advice = "another program uses that port; choose another one or stop it"
        elif exc.errno == errno.EACCES:
            advice = "ports below 1024 need privileges; choose a port above 1023"
        elif exc.errno == errno.EADDRNOTAVAIL:
            advice = "that address is not one of this host's; use 127.0.0.1 or 0.0.0.0"
        else:
            advice = exc.strerror or str(exc)
        raise ListenError(f"cannot listen on {endpoint} for {what}: {advice}") from None


def _bound_address(listeners: list[trio.SocketListener]) -> Endpoint:
    host, port = listeners[0].socket.getsockname()[:2]
    return Endpoint(host, port)


class ProxyService:
    """The running proxy.  Make one, ``await run()``; stop it with ``request_shutdown``.

    ``device`` is the serial device path (ignored with ``config.emulate``);
    ``rediscover`` (when the path came from discovery, not ``--device``)
    finds the port again before every reopen (``proxy.device_opener``).
    After start, ``listen_addresses`` maps each ``Mapping`` to where it
    actually listens (useful with LPORT 0), ``status_address`` and
    ``console_address`` likewise; ``modem``, ``registry`` and (emulating)
    ``emulator`` are there for the status page and for tests.
    """

    def __init__(self, config: ProxyConfig, profiles: dict[Mapping, TlsProfile],
                 device: str | None = None, *, linger: float = HALF_CLOSE_LINGER,
                 emulator_options: dict[str, Any] | None = None,
                 modem_options: dict[str, Any] | None = None,
                 rediscover: Callable[[], str] | None = None) -> None:
        self.config = config
        self.profiles = profiles
        self.device = device
        self.rediscover = rediscover
        self.linger = linger
        self._emulator_options = emulator_options or {}
        self._modem_options = modem_options or {}
        self.registry = Registry()
        self.modem: Modem | None = None
        self.emulator: Any = None
        self.admission: Admission | None = None
        self.listen_addresses: dict[Mapping, Endpoint] = {}
        self.status_address: Endpoint | None = None
        self.console_address: Endpoint | None = None
        self.state = ServiceState.STARTING
        self.hard_stopped = False
        self.started_at = 0.0
        self._shutdown = trio.Event()
        self._root_scope = trio.CancelScope()
        self._accept_scope = trio.CancelScope()
        self._services_scope = trio.CancelScope()

    # -- control ----------------------------------------------------------------

    def request_shutdown(self) -> None:
        """Stop gracefully (first SIGINT/SIGTERM)."""
        self._shutdown.set()

    def stop_now(self) -> None:
        """Stop at once (second signal): cancel everything."""
        self.hard_stopped = True
        self._root_scope.cancel()

    # -- running ------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[ProxyService] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """Bind, bring the module up, serve until shut down.  Starts with ``self``."""
        config = self.config
        listeners: dict[Mapping, list[trio.SocketListener]] = {}
        extra: dict[str, list[trio.SocketListener]] = {}
        try:
            for mapping in config.maps:
                listeners[mapping] = await bind(mapping.listen, f"--map {mapping}")
                self.listen_addresses[mapping] = _bound_address(listeners[mapping])
            if config.status is not None:
                extra["status"] = await bind(config.status, "--status")
                self.status_address = _bound_address(extra["status"])
            if config.at_console is not None:
                extra["console"] = await bind(config.at_console, "--at-console")
                self.console_address = _bound_address(extra["console"])
        except BaseException:
            for group in [*listeners.values(), *extra.values()]:
                for listener in group:
                    await trio.aclose_forcefully(listener)
            raise
        self._warn_exposed()
        try:
            with self._root_scope:
                async with trio.open_nursery() as root:
                    root.start_soon(self._watch_shutdown)
                    async with self._module() as modem:
                        self.modem = modem
                        self.admission = Admission(modem.client_ids, config.max_connections,
                                                   config.queue_timeout)
                        async with trio.open_nursery() as work:
                            work.start_soon(self._accept_all, listeners, modem,
                                            self.admission, work)
                            work.start_soon(self._serve_extras, extra, modem)
                            self.state = ServiceState.SERVING
                            self.started_at = trio.current_time()
                            for mapping, address in self.listen_addresses.items():
                                log.log(NOTICE, f"listening on {address} -> {mapping.remote}")
                            task_status.started(self)
                    root.cancel_scope.cancel()
        finally:
            self.state = ServiceState.STOPPED
            for group in [*listeners.values(), *extra.values()]:
                for listener in group:
                    await trio.aclose_forcefully(listener)

    def _warn_exposed(self) -> None:
        for mapping, address in self.listen_addresses.items():
            if not mapping.listen.is_loopback:
                log.warning("listener reachable from other hosts",
                            extra=kv(listen=str(address), remote=str(mapping.remote)))
        for what, endpoint in (("--status", self.config.status),
                               ("--at-console", self.config.at_console)):
            if endpoint is not None and not endpoint.is_loopback:
                log.warning(f"{what} reachable from other hosts", extra=kv(listen=str(endpoint)))
        if any(m.tls.insecure for m in self.config.maps):
            log.warning("server certificates are not verified (--insecure)",
                        extra=kv(maps=", ".join(str(m.remote) for m in self.config.maps
                                                if m.tls.insecure)))

    @asynccontextmanager
    async def _module(self) -> AsyncIterator[Modem]:
        config = self.config
        async with AsyncExitStack() as stack:
            if config.emulate:
                from modem.emulator import Emulator, EmulatorConfig

                options: dict[str, Any] = {"resolve": dict(config.resolve)}
                if config.emulate_baud is not None:
                    options["baud"] = config.emulate_baud
                if config.emulate_latency_ms is not None:
                    options["latency_ms"] = config.emulate_latency_ms
                options.update(self._emulator_options)
                self.emulator = await stack.enter_async_context(
                    Emulator.running(EmulatorConfig(**options)))
                device = self.emulator.device
            else:
                device = self.device
            if device is None:
                raise ValueError("ProxyService needs a device path unless emulating")
            open_stream = PortOpener(device, baudrate=config.baud, rtscts=config.rtscts,
                                     discover=None if config.emulate else self.rediscover)
            pdp = PdpSettings(context_id=config.pdp_context, apn=config.apn,
                              username=config.apn_user, password=config.apn_password,
                              auth=config.apn_auth)
            profiles = list(dict.fromkeys(self.profiles.values()))
            line_baud = config.emulate_baud if config.emulate and config.emulate_baud \
                else config.baud
            modem_options = {"urc_port": self._urc_port(device), "line_baud": line_baud,
                             "access_mode": AccessMode(config.access_mode),
                             **self._modem_options}
            modem = await stack.enter_async_context(Modem.open(
                open_stream, pdp=pdp, profiles=profiles, trace_at=config.trace_at,
                **modem_options))
            yield modem

    def _urc_port(self, device: str) -> str | None:
        """The port bring-up routes URCs to: ``--urc-port``, or found from ``device``
        (the emulator's port name with ``--emulate``); None leaves the module's."""
        setting = self.config.urc_port
        port: str | None
        if setting != "auto":
            port, why = setting, "--urc-port"
        elif self.emulator is not None:
            port, why = self.emulator.config.port_name, "emulator"
        else:
            port, why = urc_port_for(describe_device(device))
        log.info("URC port for the AT port", extra=kv(
            device=device, urc_port=port or "left as is", reason=why))
        return port

    async def _accept_all(self, listeners: dict[Mapping, list[trio.SocketListener]],
                          modem: Modem, admission: Admission, work: trio.Nursery) -> None:
        with self._accept_scope:
            async with trio.open_nursery() as nursery:
                for mapping, group in listeners.items():
                    nursery.start_soon(partial(
                        trio.serve_listeners, partial(self._handle, mapping, modem, admission),
                        group, handler_nursery=work))

    async def _serve_extras(self, extra: dict[str, list[trio.SocketListener]],
                            modem: Modem) -> None:
        with self._services_scope:
            async with trio.open_nursery() as nursery:
                if "status" in extra:
                    nursery.start_soon(serve_status, extra["status"], self.status_snapshot)
                if "console" in extra:
                    nursery.start_soon(serve_at_console, extra["console"], modem.at_command)

    async def _handle(self, mapping: Mapping, modem: Modem, admission: Admission,
                      stream: trio.SocketStream) -> None:
        if self.state != ServiceState.SERVING:
            await trio.aclose_forcefully(stream)
            return
        try:
            host, port = stream.socket.getpeername()[:2]
            peer = str(Endpoint(host, port))
        except OSError:
            peer = "?"
        listen = str(self.listen_addresses.get(mapping, mapping.listen))
        record = self.registry.add(mapping, listen, peer)
        log.info("accepted", extra=kv(conn=record.number, listen=listen,
                                      remote=str(mapping.remote), peer=peer))
        try:
            await serve_connection(stream, record, modem=modem,
                                   profile=self.profiles[mapping], admission=admission,
                                   registry=self.registry, linger=self.linger)
        except Exception:
            log.exception("connection failed unexpectedly", extra=kv(conn=record.number))
        finally:
            self.registry.remove(record)

    async def _watch_shutdown(self) -> None:
        await self._shutdown.wait()
        if self.state != ServiceState.SERVING:
            log.log(NOTICE, "stopping during start-up")
            self._root_scope.cancel()
            return
        self.state = ServiceState.STOPPING
        registry = self.registry
        log.log(NOTICE, "shutting down", extra=kv(open=len(registry), grace=self.config.grace))
        self._accept_scope.cancel()
        for record in list(registry.connections.values()):
            if record.state == ConnectionState.QUEUED:
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
        modem = self.modem
        module = {"error": "not started"} if modem is None else await _module_status(modem)
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
            },
            "module": module,
            "maps": [
                {
                    "listen": str(self.listen_addresses.get(m, m.listen)),
                    "remote": str(m.remote),
                    "tls_version": self.profiles[m].version,
                    "seclevel": self.profiles[m].seclevel,
                    "sni": self.profiles[m].sni,
                }
                for m in self.config.maps
            ],
            **snapshot,
        }


async def _module_status(modem: Modem) -> dict[str, Any]:
    """The status page's module section, within ``MODULE_INFO_TIMEOUT``.

    Always the ``state`` and ``last_error`` (why the module was last lost,
    ``None`` if never).  The module's info is asked only while it is ready
    and shown if it answers in time; otherwise the last answer is shown with
    ``info_age_s``, and ``error`` says why it is not fresh (or missing).
    """
    state = modem.state.value
    last_error = modem.last_error
    module: dict[str, Any] = {}
    if state is ModuleState.READY:
        module["error"] = f"the module did not answer within {MODULE_INFO_TIMEOUT} s"
        with trio.move_on_after(MODULE_INFO_TIMEOUT):
            try:
                info = await modem.module_info()
            except ModemError as exc:
                module["error"] = str(exc)
            else:
                module = _info_fields(info)
    else:
        module["error"] = f"module info not asked: the module is {state}"
    if "error" in module:
        cached = modem.cached_module_info()
        if cached is not None:
            module.update(_info_fields(cached[0]), info_age_s=round(cached[1], 1))
    module["state"] = state.value
    module["last_error"] = None if last_error is None else str(last_error)
    module["urcs"] = modem.urc_health.report()  # lost URCs made up for by polling
    return module


def _info_fields(info: ModuleInfo) -> dict[str, Any]:
    return {
        "manufacturer": info.manufacturer,
        "model": info.model,
        "revision": info.revision,
        "signal_dbm": info.signal_dbm,
        "registration": info.registration,
        "address": info.address,
    }
