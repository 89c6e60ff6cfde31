"""The status page's ``module`` section (``module_status``) and its ``modems``
list: one entry per modem of the pool.

Each entry: ``name``, ``device``, ``state``, ``ids_in_use`` (the client IDs
its sockets hold), ``signal_dbm`` and ``registration`` (the module's answer,
or the last one), ``line_busy`` (the busier direction's share of the serial
line over the last seconds, 0..1: ``line_meter``, the metrics' measure),
``last_error``; where placement chooses between several modems also
``failing`` (passed over for failing opens), ``opened``, ``open_failures``
(by kind) and ``retried_elsewhere`` (opens that failed here and were tried
on another); a single module's are the service's counters.  The modules are
asked concurrently, so the page answers within one module's time limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from modem.core.clock_policy import ClockDecision
from modem.core.errors import ModemError, render
from modem.core.module_state import ModuleState
from modem.driver import Modem, ModuleInfo
from proxy.modems.names import MODEM_NAME
from proxy.modems.pool import ModemPool, PoolMember

__all__ = ["MODULE_INFO_TIMEOUT", "module_status", "modems_status"]

MODULE_INFO_TIMEOUT = 0.8  # the page answers within 1 s, however slow the module

ModuleStatus = Callable[[Modem], Awaitable[dict[str, Any]]]


async def modems_status(pool: ModemPool | None, module_status: ModuleStatus
                        ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The first running modem's ``module_status`` with its ``name`` (the page's
    ``module`` section) and the ``modems`` list, every modem asked at once."""
    if pool is None:
        return None, []
    out: list[dict[str, Any]] = [{} for _ in pool.members]
    modules: list[dict[str, Any] | None] = [None for _ in pool.members]

    async def one(index: int, member: PoolMember) -> None:
        MODEM_NAME.set(member.name)  # the AT trace of its questions names it
        if member.modem is not None:
            modules[index] = {"name": member.name, **await module_status(member.modem)}
        out[index] = _member_status(member, modules[index], placing=len(pool.members) > 1)

    async with trio.open_nursery() as nursery:
        for index, member in enumerate(pool.members):
            nursery.start_soon(one, index, member)
    return next((m for m in modules if m is not None), None), out


def _member_status(member: PoolMember, module: dict[str, Any] | None, *, placing: bool
                   ) -> dict[str, Any]:
    modem = member.modem
    entry: dict[str, Any] = {"name": member.name, "device": member.spec.device}
    if member.emulator is not None:
        entry["device"] = member.emulator.device
    if modem is None or module is None:
        error = member.start_error
        return {**entry, "state": "starting",
                "last_error": None if error is None else render(error)}
    now = trio.current_time()
    member.meter.sample(now)  # the busy share up to this request, as a scrape has it
    entry.update(
        state=module["state"],
        ids_in_use=sorted(modem.client_ids.in_use),
        signal_dbm=module.get("signal_dbm"),
        registration=module.get("registration"),
        line_busy=round(member.meter.share, 3),
        last_error=module["last_error"],
        channels=module["channels"],
    )
    if placing:
        entry.update(failing=member.health.failing(now), opened=member.opened,
                     open_failures=dict(sorted(member.open_failures.items())),
                     retried_elsewhere=member.retried_elsewhere)
    return entry


async def module_status(modem: Modem) -> dict[str, Any]:
    """The status page's module section, within ``MODULE_INFO_TIMEOUT``.

    Always the ``state``, ``last_error`` (why the module was last lost,
    ``None`` if never), ``family`` (``modem.core.families``), ``access_mode``
    (the mode new sockets open in: the module's word over the option),
    ``module_word`` (``modem.core.module_word``: its push support and the URC
    port the host guessed, the module named and URCs go to), ``channels``
    (``ChannelBook.report``: the AT channels, which sockets each carries, their
    traffic, FCS errors, fallbacks) and
    ``clock`` (the latest decision about the module clock: its ``source``,
    ``reason``, ``set_to`` and ``trusted``; None before the first bring-up).
    The module's info is asked only while it is ready and shown if it
    answers in time; otherwise the last answer is shown with ``info_age_s``,
    and ``error`` says why it is not fresh (or missing).
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
    module["last_error"] = None if last_error is None else render(last_error)
    module["urcs"] = modem.urc_health.report()  # lost URCs made up for by polling
    module["integrity"] = modem.integrity.report()  # what the URC router dropped, and why
    module["family"] = modem.family.value
    module["access_mode"] = modem.access_mode.value
    module["module_word"] = modem.module_word.report()  # push support, the URC port
    module["clock"] = _clock_fields(modem.clock_decision)
    module["channels"] = modem.channel_book.report()  # kind, DLCs, traffic, fallbacks
    return module


def _clock_fields(decision: ClockDecision | None) -> dict[str, Any] | None:
    """The module clock's latest decision: where its time came from and why."""
    if decision is None:
        return None
    set_to = decision.set_to
    return {"source": decision.source.value, "reason": decision.reason,
            "set_to": None if set_to is None else set_to.isoformat(timespec="seconds"),
            "trusted": decision.trusted}


def _info_fields(info: ModuleInfo) -> dict[str, Any]:
    return {
        "manufacturer": info.manufacturer,
        "model": info.model,
        "revision": info.revision,
        "signal_dbm": info.signal_dbm,
        "registration": info.registration,
        "address": info.address,
        "ssl_settings": list(info.ssl_settings),
    }
