"""``ModuleFactory``: one module of the pool, made from its ``ModemSpec``.

``open(spec)`` runs the module's emulator first with ``--emulate``, then the
driver on the port (``device_opener.PortOpener``, rediscovered before every
reopen when the path came from discovery), with the options the config and
the port ask for; it yields ``(Modem, emulator or None)`` while the driver
runs.  The config and the TLS profiles are read from the service at each
open, so a module opened after a reload gets the reloaded ones.
``ProxyService`` hands ``open`` and ``meter_baud`` to ``ModemPool.open``;
``abort_starting`` stops every driver at once, also during its first
bring-up (a second signal).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from typing import Any, Protocol

from modem.core.commands import DEFAULT_LINE_BAUD
from modem.core.profile import TlsProfile
from modem.driver import AccessMode, Modem, PdpSettings
from modem.options import ModemOptions
from proxy.config.build import Mapping, ProxyConfig
from proxy.config.model import ModemSpec
from proxy.logging_setup import kv
from proxy.modems.channel_ports import extra_at_ports
from proxy.modems.device_opener import PortOpener
from proxy.modems.port_discovery import describe_device, urc_port_for

__all__ = ["ModuleFactory", "Settings"]

log = logging.getLogger("proxy.service")


class Settings(Protocol):
    """What the factory reads of the service (``ProxyService``) at each open."""

    config: ProxyConfig
    profiles: dict[Mapping, TlsProfile]


class ModuleFactory:
    """Makes the pool's modules; see the module docstring.

    ``emulator_options`` and ``modem_options`` (tests, tools) add to what the
    config gives the emulator and the driver; ``rediscover_by_modem`` finds a
    module's port again by its name.
    """

    def __init__(self, settings: Settings, *,
                 emulator_options: dict[str, Any] | None = None,
                 modem_options: dict[str, Any] | None = None,
                 rediscover_by_modem: dict[str, Callable[[], str]] | None = None) -> None:
        self.settings = settings
        self.rediscover_by_modem = rediscover_by_modem or {}
        self._emulator_options = emulator_options or {}
        self._modem_options = modem_options or {}
        self._starting: list[Modem] = []  # every Modem from its first bring-up on

    def abort_starting(self, reason: str) -> None:
        """Abort every driver made so far: commands on the line would otherwise run
        to their end (seconds at a low baud; an upload during bring-up, minutes)."""
        for modem in self._starting:
            modem.abort(reason)

    @asynccontextmanager
    async def open(self, spec: ModemSpec) -> AsyncIterator[tuple[Modem, Any]]:
        """One module of the pool (``spec``), its emulator first when emulating."""
        async with AsyncExitStack() as stack:
            emulator: Any = None
            if self.settings.config.emulate:
                emulator = await stack.enter_async_context(self._emulator())
                device = emulator.device
            elif spec.device is not None:
                device = spec.device
            else:
                raise ValueError("ProxyService needs a device path unless emulating")
            modem = self._modem(spec, device, emulator)
            self._starting.append(modem)
            stack.callback(self._starting.remove, modem)
            yield await stack.enter_async_context(modem.running()), emulator

    def _emulator(self) -> Any:
        """The ``Emulator.running`` context of ``--emulate`` (imported only then)."""
        from modem.emulator import Emulator, EmulatorConfig

        config = self.settings.config
        options: dict[str, Any] = {"resolve": dict(config.resolve)}
        if config.emulate_baud is not None:
            options["baud"] = config.emulate_baud
        if config.emulate_latency_ms is not None:
            options["latency_ms"] = config.emulate_latency_ms
        options.update(self._emulator_options)
        return Emulator.running(EmulatorConfig(**options))

    def _modem(self, spec: ModemSpec, device: str, emulator: Any) -> Modem:
        config = self.settings.config
        baud = spec.baud or DEFAULT_LINE_BAUD
        open_stream = PortOpener(
            device, baudrate=baud, rtscts=config.rtscts,
            discover=None if config.emulate else self.rediscover_by_modem.get(spec.name))
        pdp = PdpSettings(context_id=config.pdp_context, apn=spec.apn,
                          username=config.apn_user, password=config.apn_password,
                          auth=config.apn_auth)
        options = replace(ModemOptions(
            trace_at=config.trace_at, trace_payload=config.trace_payload,
            urc_port=self._urc_port(device, spec.urc_port, emulator),
            line_baud=self.line_baud(spec), access_mode=AccessMode(config.access_mode),
            sim_pin=config.sim_pin, line_speed_auto=spec.baud is None,
            module_family=config.module_family, channels=config.channels,
            mux_n1=config.mux_n1, flow_control=config.rtscts, extra_ports=extra_at_ports(
                config.channels, device, emulator, baud, config.rtscts)),
            **self._modem_options)
        profiles = list(dict.fromkeys(self.settings.profiles.values()))
        return Modem(open_stream, pdp, profiles, options)

    def line_baud(self, spec: ModemSpec) -> int | None:
        """The line's rate: the emulator's pacing (``--emulate-baud``), else the module's
        ``baud`` (nominal on a USB port and on an unpaced emulator: ``line_meter``);
        None: auto, found at start."""
        config = self.settings.config
        return config.emulate_baud if config.emulate and config.emulate_baud else spec.baud

    def meter_baud(self, spec: ModemSpec) -> int:
        """The rate a line meter starts at (it follows a speed found at start)."""
        return self.line_baud(spec) or DEFAULT_LINE_BAUD

    @staticmethod
    def _urc_port(device: str, setting: str, emulator: Any) -> str | None:
        """The port bring-up routes URCs to: ``urc-port``, or found from ``device``
        (the emulator's port name with ``--emulate``); None leaves the module's."""
        port: str | None
        if setting != "auto":
            port, why = setting, "--urc-port"
        elif emulator is not None:
            port, why = emulator.config.port_name, "emulator"
        else:
            port, why = urc_port_for(describe_device(device))
        log.info("URC port for the AT port", extra=kv(
            device=device, urc_port=port or "left as is", reason=why))
        return port
