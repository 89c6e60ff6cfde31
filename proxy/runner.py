"""Running the service in a process: logging, the device, signals, errors.

``run(config, materials)`` is what ``ssl-proxy`` does after its flags are
valid.  It returns the exit status (0 after a graceful stop, 1 after a
second signal cut the shutdown short) or raises ``RuntimeFailure`` whose
``str()`` is the one line to print: no module found, device unusable, port
in use, bring-up failed (SIM, APN, network).  ``runtime_failures`` is that
boundary: every expected failure (a ``ProxyError``, or the modem layer's
``ModemError``) becomes ``RuntimeFailure`` there, and nowhere else.

Signals: the first SIGINT/SIGTERM asks the service to shut down gracefully,
a second one stops it at once.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import trio

from modem.bringup import BringUpError
from modem.errors import DeviceError, ModemError

from .certificates import TlsMaterial
from .config import ProxyConfig, TlsOptions
from .config_modems import with_discovered_modems
from .errors import ProxyError, RuntimeFailure
from .logging_setup import NOTICE, kv, setup_logging
from .port_discovery import find_all_at_ports, find_at_port
from .profiles import build_profiles
from .profiles import load_all_material as load_all_material
from .service import ProxyService

__all__ = ["RuntimeFailure", "explain", "load_all_material", "run", "run_until_signalled",
           "runtime_failures"]

log = logging.getLogger("proxy.runner")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(_leaves(inner))
        return out
    return [exc]


def explain(exc: BaseException) -> str | None:
    """The one-line message for an expected runtime failure, else None."""
    if isinstance(exc, ProxyError | DeviceError | BringUpError):
        return str(exc)
    if isinstance(exc, ModemError):
        text = str(exc) or type(exc).__name__
        return f"module: {text}"
    return None


@contextmanager
def runtime_failures() -> Iterator[None]:
    """Turn the first expected failure (also inside an exception group) into
    ``RuntimeFailure``; anything else (a bug, ``KeyboardInterrupt``) passes."""
    try:
        yield
    except BaseException as exc:
        for leaf in _leaves(exc):
            message = explain(leaf)
            if message is not None:
                raise RuntimeFailure(message) from None
        raise


async def _watch_signals(service: ProxyService, *,
                         task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        task_status.started()
        count = 0
        async for signum in signals:
            count += 1
            name = signal.Signals(signum).name
            if count == 1:
                log.log(NOTICE, f"{name}: shutting down (again to stop at once)")
                service.request_shutdown()
            else:
                log.warning(f"{name} again: stopping at once")
                service.stop_now()


async def run_until_signalled(service: ProxyService) -> int:
    """Run ``service`` with signal handling; the exit status."""
    async with trio.open_nursery() as nursery:
        await nursery.start(_watch_signals, service)
        await service.run()
        nursery.cancel_scope.cancel()
    log.log(NOTICE, "stopped")
    return 1 if service.hard_stopped else 0


def run(config: ProxyConfig, materials: dict[TlsOptions, TlsMaterial]) -> int:
    """Set up logging, find the device, run the service until signalled."""
    setup_logging(config.verbose, config.trace_at)
    with runtime_failures():
        device = None
        by_modem: dict[str, Callable[[], str]] = {}
        if not config.emulate and config.device is None and not config.modems:
            found = find_all_at_ports()
            # Several modules and no --device: use them all, each found again by
            # its USB path.
            config, by_modem = with_discovered_modems(config, found)
            device = found[0].device
            log.info("using device", extra=kv(device=device, modules=len(found)))
        elif not config.emulate:
            device = config.device
            log.info("using device", extra=kv(device=device))
        # A discovered port is discovered again on every reopen (re-enumeration).
        service = ProxyService(config, build_profiles(config, materials), device,
                               rediscover=find_at_port if config.device is None else None,
                               rediscover_by_modem=by_modem)
        return trio.run(run_until_signalled, service)
