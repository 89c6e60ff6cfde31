"""Running the service in a process: logging, the device, signals, errors.

``run(config, materials)`` is what ``ssl-proxy`` does after its flags are
valid.  It returns the exit status (0 after a graceful stop, 1 after a
second signal cut the shutdown short) or raises ``RuntimeFailure`` whose
``str()`` is the one line to print: no module found, device unusable, port
in use, bring-up failed (SIM, APN, network).  ``runtime_failures`` is that
boundary: every expected failure (an ``ExplainedError``: a ``ProxyError``, or
the modem layer's ``ModemError``) becomes ``RuntimeFailure`` there, and
nowhere else, worded by ``modem.core.errors.render``.

Signals: the first SIGINT/SIGTERM asks the service to shut down gracefully,
a second one stops it at once.  SIGHUP re-reads the config (``proxy.ops.reload``)
when ``run`` was given ``reread`` (the command line and file read again),
else it stops like SIGTERM.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import partial

import trio

from modem.core.errors import ExplainedError, render
from modem.core.profile import TlsProfile
from modem.nurseries import leaf_exceptions
from proxy.config.build import Mapping, ProxyConfig, TlsOptions
from proxy.config.certificates import TlsMaterial
from proxy.config.modems import with_discovered_modems
from proxy.config.profiles import build_profiles
from proxy.config.profiles import load_all_material as load_all_material
from proxy.modems.port_discovery import SerialPort, find_all_at_ports, find_at_port
from proxy.ops.reload import ConfigSource

from .errors import RuntimeFailure
from .logging_setup import NOTICE, kv, setup_logging
from .service import ProxyService

__all__ = ["RuntimeFailure", "load_all_material", "run", "run_until_signalled",
           "runtime_failures"]

log = logging.getLogger("proxy.runner")


@contextmanager
def runtime_failures() -> Iterator[None]:
    """Turn the first expected failure (also inside an exception group) into
    ``RuntimeFailure``; anything else (a bug, ``KeyboardInterrupt``) passes."""
    try:
        yield
    except BaseException as exc:
        for leaf in leaf_exceptions(exc):
            if isinstance(leaf, ExplainedError):
                raise RuntimeFailure(render(leaf)) from None
        raise


async def _watch_signals(service: ProxyService, reload: ConfigSource | None = None, *,
                         task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        task_status.started()
        count = 0
        async with trio.open_nursery() as reloads:
            async for signum in signals:
                if signum == signal.SIGHUP and reload is not None and count == 0:
                    log.log(NOTICE, "SIGHUP: reloading the config")
                    reloads.start_soon(service.reload, reload)
                    continue
                count = _stop(service, signum, count)


def _stop(service: ProxyService, signum: int, count: int) -> int:
    """The first stop signal stops gracefully, the next at once; the new count."""
    count += 1
    name = signal.Signals(signum).name
    if count == 1:
        log.log(NOTICE, f"{name}: shutting down (again to stop at once)")
        service.request_shutdown()
    else:
        log.warning(f"{name} again: stopping at once")
        service.stop_now()
    return count


async def run_until_signalled(service: ProxyService, reload: ConfigSource | None = None) -> int:
    """Run ``service`` with signal handling (SIGHUP reloads from ``reload``); the exit status."""
    async with trio.open_nursery() as nursery:
        await nursery.start(_watch_signals, service, reload)
        await service.run()
        nursery.cancel_scope.cancel()
    log.log(NOTICE, "stopped")
    return 1 if service.hard_stopped else 0


def run(config: ProxyConfig, materials: dict[TlsOptions, TlsMaterial],
        reread: Callable[[], ProxyConfig] | None = None) -> int:
    """Set up logging, find the device, run the service until signalled.

    ``reread`` reads the flags and the config file again (for SIGHUP)."""
    setup_logging(config.verbose, config.trace_at, log_format=config.log_format)
    for warning in config.file_warnings:
        log.warning(warning)
    for notice in config.notices:
        log.log(NOTICE, notice)
    with runtime_failures():
        device = None
        by_modem: dict[str, Callable[[], str]] = {}
        found: list[SerialPort] = []
        if not config.emulate and config.device is None and not config.modems:
            found = find_all_at_ports()
            # No --device: every module discovery finds, each named for its USB path.
            config, by_modem = with_discovered_modems(config, found)
            device = found[0].device
            log.info("using device", extra=kv(device=device, modules=len(found)))
        elif not config.emulate and config.device is None and _one_modem_without_device(config):
            # One [[modem]] table that names no device: found as --device would be.
            device = find_at_port()
            config = _with_device(config, device)
            log.info("using device", extra=kv(device=device, modem=config.modems[0].name))
        elif not config.emulate:
            device = config.device
            log.info("using device", extra=kv(device=device))
        # A discovered port is discovered again on every reopen (re-enumeration).
        service = ProxyService(config, build_profiles(config, materials), device,
                               rediscover=find_at_port if config.device is None else None,
                               rediscover_by_modem=by_modem)
        source = None if reread is None else partial(_reread_all, reread, found, device)
        return trio.run(run_until_signalled, service, source)


def _one_modem_without_device(config: ProxyConfig) -> bool:
    return len(config.modems) == 1 and not config.modems[0].device


def _with_device(config: ProxyConfig, device: str) -> ProxyConfig:
    """``config`` whose one ``[[modem]]`` without a device uses ``device``."""
    return replace(config, modems=(replace(config.modems[0], device=device),))


def _reread_all(reread: Callable[[], ProxyConfig], found: Sequence[SerialPort],
                device: str | None) -> tuple[ProxyConfig, dict[Mapping, TlsProfile]]:
    """The config read again (with the modules discovered at start, ``found``, or
    the device found for one ``[[modem]]`` without one), its certificate files
    checked, each map's profile."""
    config = reread()
    if found:
        config, _ = with_discovered_modems(config, found)
    elif device is not None and _one_modem_without_device(config):
        config = _with_device(config, device)
    return config, build_profiles(config, load_all_material(config))
