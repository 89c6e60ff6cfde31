"""Bring-up's SIM step: wait for the SIM, and enter its PIN when that is safe.

``check_sim`` asks ``AT+CPIN?`` until the SIM answers (it says nothing
useful for a few seconds after power-up), then follows
``modem.core.sim_pin.decide``: a locked SIM gets its PIN once, only while
``AT+QPINC="SC"`` counts no failed try; anything else stops the bring-up
with one ``BringUpError`` line that says what to do.  The PIN never reaches
a log: ``AT+CPIN``'s ``log_text`` hides it.
"""

from __future__ import annotations

import logging

import trio

from modem.bringup.steps import BringUpError
from modem.core import commands
from modem.core.errors import CmeError, ModemError
from modem.core.log_fields import kv
from modem.core.sim_pin import PinStep, SimPin, decide, refused
from modem.link.answers import Response
from modem.link.channel import AtChannel
from modem.link.response_errors import error_of

log = logging.getLogger("modem.bringup")

SIM_READY_WITHIN = 20.0
"""Seconds a SIM may take to answer after power-up (or after its PIN)."""
SIM_POLL = 1.0
"""Seconds between two ``AT+CPIN?`` while the SIM is busy."""

NOT_INSERTED = 10  # 27.007 +CME ERROR codes
_STATE_OF_CODE = {11: "SIM PIN", 12: "SIM PUK"}
_BUSY_CODES = frozenset({14})  # SIM busy
_NOT_YET = {"NOT READY": "+CPIN: NOT READY", "BUSY": "SIM busy"}  # state: how it is shown


async def check_sim(channel: AtChannel, pin: SimPin | None,
                    within: float = SIM_READY_WITHIN) -> bool:
    """Make the SIM ready, entering ``pin`` once if it is safe (then True);
    ``BringUpError`` if it cannot be."""
    state = await sim_state(channel, within)
    counters = await pin_counters(channel) if state != "READY" else None
    verdict = decide(state, counters, pin is not None)
    if verdict.step is PinStep.READY:
        return False
    if verdict.step is PinStep.STOP or pin is None or counters is None:
        raise BringUpError(verdict.message, hint=verdict.hint)
    log.info("entering the SIM PIN", extra=kv(pin_tries_left=counters.pin))
    resp = await channel.run(commands.cpin_enter(pin.digits))
    if not resp.ok:
        verdict = refused(await pin_counters(channel))
        raise BringUpError(verdict.message, hint=verdict.hint)
    state = await sim_state(channel, within, after="its PIN")
    if state != "READY":
        raise BringUpError(f"the SIM took its PIN but says {state}",
                           hint="restart the module; if it stays so, check the SIM in a phone")
    log.info("SIM unlocked with its PIN")
    return True


async def sim_state(channel: AtChannel, within: float, after: str = "power-up") -> str:
    """``AT+CPIN?``'s state (``READY``, ``SIM PIN``...), asked every ``SIM_POLL``
    s while the SIM is busy, for at most ``within`` s."""
    last = "no answer"
    with trio.move_on_after(within):
        while True:
            try:
                resp = await channel.run(commands.cpin_query())
            except ModemError as exc:
                if channel.failure is not None:
                    raise
                last = str(exc)
            else:
                state = await _state_of(channel, resp)
                if state is not None and state not in _NOT_YET:
                    return state
                last = _NOT_YET.get(state or "", last)
            await trio.sleep(SIM_POLL)
    raise BringUpError(f"the SIM did not answer within {within:g} s of {after} ({last})",
                       hint="check that the SIM sits well in its holder, then restart the "
                            "module")


async def _state_of(channel: AtChannel, resp: Response) -> str | None:
    """The SIM state one answer gives (``BUSY`` while it is busy; None when it
    names none); ``BringUpError`` for a SIM that cannot be used."""
    if resp.ok:
        for line in resp.lines:
            try:
                return commands.parse_cpin(line).upper()
            except ValueError:
                continue
        return None
    failure = await error_of(channel, resp, "AT+CPIN?")
    if isinstance(failure, CmeError) and failure.code in _BUSY_CODES:
        return "BUSY"
    if isinstance(failure, CmeError) and failure.code in _STATE_OF_CODE:
        return _STATE_OF_CODE[failure.code]
    if isinstance(failure, CmeError) and failure.code == NOT_INSERTED:
        raise BringUpError(f"SIM not usable ({failure.meaning})",
                           hint="insert a SIM card (power the module off first)")
    if isinstance(failure, CmeError):
        raise BringUpError(f"SIM not usable ({failure.meaning})",
                           hint="check the SIM in a phone, or replace it")
    return None


async def pin_counters(channel: AtChannel) -> commands.PinCounters | None:
    """``AT+QPINC="SC"``'s tries left, or None when the module does not say."""
    try:
        resp = await channel.run(commands.qpinc())
    except ModemError:
        if channel.failure is not None:
            raise
        return None
    for line in resp.lines if resp.ok else []:
        try:
            return commands.parse_qpinc(line)
        except ValueError:
            continue
    return None
