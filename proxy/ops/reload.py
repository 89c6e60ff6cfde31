"""Reload on SIGHUP: the config file read again and laid over the running proxy.

As stunnel and nginx do: ``kill -HUP`` re-reads the config file (with the
command-line flags laid over it, as at start) and

* adds the maps that are new (their ports and socket files are bound first:
  a port in use fails the reload, nothing changes);
* removes the maps that are gone: their listener closes (a Unix map's
  socket file is removed); connections still queued for a module socket
  are closed, open ones run to their end;
* changes a map whose listen address stays (remote, TLS settings, allow
  list): the listener stays bound, new connections get the new settings,
  open ones keep the old;
* uploads the certificate files again when their content changed, and
  configures an SSL context for the new settings (``Modem.update_profiles``),
  before any new connection needs them;
* keeps the old config, whole, when the new one is invalid (one log line).

Settings the running service cannot change (the device, the baud rate, the
APN, the listeners of ``--status``/``--at-console``, logging...) are logged as
``needs a restart`` and keep their running values.  ``plan_reload`` is the
pure diff; ``ListenerSet`` owns the maps' listeners and their accept loops;
``reload_service`` does the steps in order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, replace
from functools import partial
from typing import Protocol

import trio

from modem.core.errors import ModemError, render
from modem.core.profile import TlsProfile
from modem.driver import Modem
from proxy.config.endpoint import Endpoint, ListenAddress
from proxy.config.model import Mapping, ProxyConfig
from proxy.config.settings import SETTINGS
from proxy.config.trust import warn_unchecked_names
from proxy.connections.registry import ConnectionState, Registry
from proxy.errors import ProxyError
from proxy.logging_setup import NOTICE, kv
from proxy.ops.listeners import MapListener, listening_line

log = logging.getLogger("proxy.reload")

LIVE_SETTINGS = SETTINGS.reloadable_fields() | {"file_warnings", "notices"}
"""``ProxyConfig`` fields a reload applies (the settings table's reloadable
ones); every other one needs a restart (``file_warnings`` and ``notices`` are
not settings: what reading the file found)."""

ConfigSource = Callable[[], tuple[ProxyConfig, dict[Mapping, TlsProfile]]]
"""Reads the config again: the validated config and each map's profile
(raises ``ProxyError`` when the file or a certificate is bad)."""

Handler = Callable[[Mapping, trio.SocketStream], Awaitable[None]]
MapKey = ListenAddress | Mapping


def map_key(mapping: Mapping) -> MapKey:
    """What identifies a map across reloads: its listen address (or socket file), or,
    with port 0 (any free port, a new one each time it is bound), the whole map."""
    if isinstance(mapping.listen, Endpoint) and not mapping.listen.port:
        return mapping
    return mapping.listen


Bind = Callable[[Mapping], Awaitable[MapListener]]
"""Binds a new map's listener (``proxy.ops.listeners.bind_map``)."""


@dataclass(frozen=True)
class ReloadPlan:
    """What a reload changes, by ``map_key``."""

    config: ProxyConfig  # the new config with the restart-only settings kept
    added: tuple[Mapping, ...]
    removed: tuple[Mapping, ...]
    changed: tuple[tuple[Mapping, Mapping], ...]  # (old, new)
    needs_restart: tuple[str, ...]  # setting names, as the flags spell them

    @property
    def maps_change(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def plan_reload(old: ProxyConfig, new: ProxyConfig) -> ReloadPlan:
    """The difference between the running ``old`` config and a freshly read ``new``."""
    keep = {f.name: getattr(old, f.name) for f in fields(ProxyConfig)
            if f.name not in LIVE_SETTINGS}
    restart = tuple(SETTINGS.name_of_field(name) for name, value in keep.items()
                    if getattr(new, name) != value)
    old_maps = {map_key(m): m for m in old.maps}
    new_maps = {map_key(m): m for m in new.maps}
    return ReloadPlan(
        config=replace(new, **keep),
        added=tuple(m for ep, m in new_maps.items() if ep not in old_maps),
        removed=tuple(m for ep, m in old_maps.items() if ep not in new_maps),
        changed=tuple((old_maps[ep], m) for ep, m in new_maps.items()
                      if ep in old_maps and old_maps[ep] != m),
        needs_restart=restart,
    )


class ListenerSet:
    """The maps' listeners and their accept loops, keyed by ``map_key``.

    ``serve`` runs them until cancelled; each accepted stream goes to
    ``handler`` with the map in force for its address *at accept time*, so a
    changed map takes effect without closing its listener.  ``add`` and
    ``remove`` change the set while it serves.  Closes every listener it holds
    (and removes a Unix map's socket file) when its loops end.
    """

    def __init__(self) -> None:
        self.mappings: dict[MapKey, Mapping] = {}
        self._scopes: dict[MapKey, trio.CancelScope] = {}
        self._nursery: trio.Nursery | None = None
        self._handler: Handler | None = None
        self._handler_nursery: trio.Nursery | None = None

    async def serve(self, listeners: dict[Mapping, MapListener],
                    handler: Handler, handler_nursery: trio.Nursery) -> None:
        self._handler = handler
        self._handler_nursery = handler_nursery
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for mapping, group in listeners.items():
                    self.add(mapping, group)
        finally:
            self._nursery = None

    def add(self, mapping: Mapping, group: MapListener) -> None:
        """Serve ``mapping`` on ``group`` (bound); closes ``group`` if serving is over."""
        if self._nursery is None:
            for listener in group.listeners:
                listener.socket.close()
            if group.socket_file is not None:
                group.socket_file.remove()
            return
        key = map_key(mapping)
        self.mappings[key] = mapping
        self._scopes[key] = scope = trio.CancelScope()
        self._nursery.start_soon(self._accept, key, group, scope)

    def replace(self, mapping: Mapping) -> None:
        """``mapping`` serves the listener of the map with the same ``map_key``."""
        self.mappings[map_key(mapping)] = mapping

    def remove(self, mapping: Mapping) -> None:
        key = map_key(mapping)
        self.mappings.pop(key, None)
        scope = self._scopes.pop(key, None)
        if scope is not None:
            scope.cancel()

    async def _accept(self, key: MapKey, group: MapListener,
                      scope: trio.CancelScope) -> None:
        try:
            with scope:
                await trio.serve_listeners(partial(self._dispatch, key), group.listeners,
                                           handler_nursery=self._handler_nursery)
        finally:
            await group.aclose()

    async def _dispatch(self, key: MapKey, stream: trio.SocketStream) -> None:
        mapping = self.mappings.get(key)
        if mapping is None or self._handler is None:  # removed between accept and now
            await trio.aclose_forcefully(stream)
            return
        await self._handler(mapping, stream)


class Reloadable(Protocol):
    """What a reload changes of the running service (``ProxyService``)."""

    config: ProxyConfig
    profiles: dict[Mapping, TlsProfile]
    listen_addresses: dict[Mapping, ListenAddress]
    registry: Registry
    listener_set: ListenerSet

    def running_modems(self) -> dict[str, Modem]:
        """Each module whose driver runs, by name: each gets the new files."""
        ...

    def checks_names(self, profile: TlsProfile) -> bool:
        """Whether the modules check the server's name with ``profile``."""
        ...


async def reload_service(service: Reloadable, source: ConfigSource, bind: Bind) -> bool:
    """One reload of ``service`` (see the module docstring); True when applied.

    ``bind`` binds a new map's listener (``listeners.bind_map``).  Never raises for a
    bad config, a port in use or a module that refuses the new files: it logs
    one line and the running config stays whole.
    """
    modems = list(service.running_modems().values())
    try:
        config, profiles = source()
    except ProxyError as exc:
        log.error("reload failed, keeping the running config", extra=kv(error=render(exc)))
        return False
    plan = plan_reload(service.config, config)
    for warning in config.file_warnings:
        log.warning(warning)
    if plan.needs_restart:
        log.warning("reload: changed settings need a restart; keeping their running values",
                    extra=kv(settings=", ".join(plan.needs_restart)))
    added: dict[Mapping, MapListener] = {}
    try:
        for mapping in plan.added:
            added[mapping] = await bind(mapping)
        wanted = list(dict.fromkeys(profiles[m] for m in plan.config.maps))
        for modem in modems:
            if set(wanted) != set(modem.profiles):
                await modem.update_profiles(wanted)
    except BaseException as exc:  # cancelled too: the new listeners must not leak
        for group in added.values():
            await group.aclose()
        if not isinstance(exc, ProxyError | ModemError):
            raise
        log.error("reload failed, keeping the running config", extra=kv(error=render(exc)))
        return False
    _apply(service, plan, profiles, added)
    if modems:
        warn_unchecked_names([*plan.added, *(new for _, new in plan.changed)], profiles,
                             service.checks_names)
    log.log(NOTICE, "reloaded", extra=kv(
        added=len(plan.added), removed=len(plan.removed), changed=len(plan.changed),
        maps=len(plan.config.maps)))
    return True


def _apply(service: Reloadable, plan: ReloadPlan, profiles: dict[Mapping, TlsProfile],
           added: dict[Mapping, MapListener]) -> None:
    """Swap the new maps in; nothing here can fail."""
    listeners = service.listener_set
    served = set(profiles[m] for m in plan.config.maps)
    removed = set(plan.removed)
    for mapping in plan.removed:
        listeners.remove(mapping)
        service.listen_addresses.pop(mapping, None)
        log.log(NOTICE, f"no longer listening on {mapping.listen} -> {mapping.remote}")
    for old, new in plan.changed:
        listeners.replace(new)
        address = service.listen_addresses.pop(old, old.listen)
        service.listen_addresses[new] = address
        log.log(NOTICE, f"map changed on {address}: now -> {new.remote}")
    for mapping, group in added.items():
        service.listen_addresses[mapping] = group.address
        listeners.add(mapping, group)
        log.log(NOTICE, listening_line(mapping, group.address))
    # Queued connections of a removed map, or whose TLS settings (files
    # included) are no longer served, are closed; the others go on as accepted.
    for record in list(service.registry.connections.values()):
        if record.state is ConnectionState.QUEUED and (
                record.mapping in removed or service.profiles.get(record.mapping) not in served):
            record.cancel_scope.cancel()
    # Open connections of old maps keep their profile; the rest is dropped.
    in_use = {record.mapping for record in service.registry.connections.values()}
    service.profiles = {m: p for m, p in {**service.profiles, **profiles}.items()
                        if m in plan.config.maps or m in in_use}
    service.config = plan.config
