"""Whether to enter the SIM's PIN, and the one line to show when not (sans-I/O).

A SIM locks itself behind its PUK after three wrong PINs, and a service that
restarts and enters the same wrong PIN each time burns them all.  So the PIN
is entered only while no failed try is counted: ``AT+QPINC="SC"`` must say
all ``PIN_TRIES`` are left.  A wrong PIN is never entered a second time by
us, across restarts of the service too (the SIM keeps the count).  Every
other answer stops the bring-up with a line that says what to do.

What ``AT+CPIN?`` answers (27.007 8.3; public logs): ``+CPIN: READY``,
``+CPIN: SIM PIN``, ``+CPIN: SIM PUK`` (``PH-SIM PIN`` and others for
network-locked devices); ``+CME ERROR: 10`` without a SIM; and, for a few
seconds after power-up, ``+CME ERROR: 14`` (SIM busy) or no ``+CPIN:`` line
at all (u-blox/ubxlib#287 "SIM busy" right after start; TinyGSM waits up to
10 s for an answer to ``AT+CPIN?``, RT-Thread's ec200x driver retries it ten
times a second apart).  ``decide`` is a pure function of those answers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from modem.core.commands import PinCounters, check_pin

__all__ = ["ENV_VAR", "PIN_TRIES", "PinStep", "SimPin", "SimVerdict", "decide", "refused"]

PIN_TRIES = 3
"""PIN tries of a SIM with no failed try (27.007; ``+QPINC: "SC",3,10``)."""

ENV_VAR = "SSL_PROXY_SIM_PIN"
"""Where the proxy reads the PIN from, besides ``--sim-pin-file``."""

_SECRET_HINT = (f"give the PIN in the {ENV_VAR} environment variable or a file "
                "(--sim-pin-file, mode 600)")


class SimPin:
    """The SIM's PIN: a secret.  Its ``repr`` and ``str`` never show it."""

    __slots__ = ("_digits",)

    def __init__(self, digits: str) -> None:
        self._digits = check_pin(digits)

    @property
    def digits(self) -> str:
        """The PIN itself, for ``AT+CPIN`` only."""
        return self._digits

    def __repr__(self) -> str:
        return "SimPin(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SimPin) and other._digits == self._digits

    def __hash__(self) -> int:
        return hash(self._digits)


class PinStep(enum.Enum):
    """What bring-up does about the SIM."""

    READY = "ready"
    """Nothing: the SIM is unlocked."""
    ENTER = "enter"
    """Enter the PIN, once."""
    STOP = "stop"
    """Stop the bring-up with ``SimVerdict.message`` and ``hint``."""


@dataclass(frozen=True)
class SimVerdict:
    step: PinStep
    message: str = ""
    hint: str = ""


def decide(state: str, counters: PinCounters | None, have_pin: bool) -> SimVerdict:
    """What to do about a SIM whose ``AT+CPIN?`` said ``state`` (``READY``,
    ``SIM PIN``...), with ``AT+QPINC="SC"``'s ``counters`` (None: not read or
    not answered) and a PIN given or not."""
    if state == "READY":
        return SimVerdict(PinStep.READY)
    puk_left = f" ({counters.puk} PUK tries left)" if counters is not None else ""
    if state == "SIM PUK":
        return SimVerdict(
            PinStep.STOP, f"the SIM is locked behind its PUK{puk_left}",
            "unlock it with its PUK in a phone or a terminal "
            '(AT+CPIN="<PUK>","<new PIN>"); the proxy never enters a PUK')
    if state != "SIM PIN":
        return SimVerdict(PinStep.STOP, f"the SIM wants {state}, not a PIN the proxy can give",
                          "unlock it in a phone or a terminal, or use another SIM")
    if not have_pin:
        return SimVerdict(PinStep.STOP, "the SIM wants its PIN", _SECRET_HINT)
    if counters is None:
        return SimVerdict(
            PinStep.STOP, "the SIM wants its PIN, and the module does not say how many tries "
            "are left (AT+QPINC): the proxy enters a PIN only while none has failed",
            'enter it once by hand (AT+CPIN="<PIN>") and restart, or remove the PIN lock '
            '(AT+CLCK="SC",0,"<PIN>")')
    if counters.pin >= PIN_TRIES:
        return SimVerdict(PinStep.ENTER)
    if counters.pin == 0:
        return SimVerdict(PinStep.STOP, f"the SIM has no PIN tries left{puk_left}",
                          "unlock it with its PUK in a phone or a terminal")
    return SimVerdict(
        PinStep.STOP, f"the SIM wants its PIN and {counters.pin} of {PIN_TRIES} tries are "
        "left: a wrong PIN was tried, so the proxy will not enter one",
        'check the PIN; enter the right one once by hand (AT+CPIN="<PIN>"), which resets '
        "the count, then restart")


def refused(counters: PinCounters | None) -> SimVerdict:
    """The line for a PIN the SIM just refused (``counters``: read after it)."""
    left = (f": {counters.pin} of {PIN_TRIES} tries left" if counters is not None
            else "")
    return SimVerdict(
        PinStep.STOP, f"the SIM refused the PIN{left}; the proxy will not enter it again",
        f"fix the PIN ({ENV_VAR} or --sim-pin-file) and enter the right one once by hand "
        '(AT+CPIN="<PIN>") before restarting')
