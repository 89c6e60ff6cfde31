"""The emulated module's SIM card: its PIN, its tries left, its PUK lock.

Like a real SIM it outlives the module's restarts: the tries left are kept
on the card, and each power-up locks it again until the PIN is entered
(``power_up``).  27.007 8.3: three wrong PINs lock the SIM behind its PUK;
a right PIN resets the count.  For ``ready_delay`` seconds after power-up
it is busy (``AT+CPIN?`` answers ``+CME ERROR: 14``), as real SIMs are for
a few seconds (u-blox/ubxlib#287; TinyGSM and RT-Thread's drivers wait up
to 10 s for it).
"""

from __future__ import annotations

import math

import trio

from .config import EmulatorConfig

PIN_TRIES = 3
PUK_TRIES = 10


class SimCard:
    """``state`` is what ``AT+CPIN?`` reports: ``READY``, ``SIM PIN`` or ``SIM PUK``
    (``absent``: no card at all)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.absent = config.sim == "absent"
        self.pin = config.sim_pin
        self.pin_tries = config.sim_pin_tries
        self.puk_tries = PUK_TRIES
        self.puk_locked = config.sim == "puk" or self.pin_tries == 0
        self.ready_delay = config.sim_ready_delay
        self.unlocked = False
        self.busy_until = -math.inf
        self.pins_entered = 0  # AT+CPIN writes seen, right or wrong (for tests)

    def power_up(self) -> None:
        """A new power-on: locked again if it has a PIN; busy for ``ready_delay``."""
        self.unlocked = self.pin is None
        self.busy_until = trio.current_time() + self.ready_delay

    @property
    def busy(self) -> bool:
        return trio.current_time() < self.busy_until

    @property
    def state(self) -> str:
        if self.puk_locked:
            return "SIM PUK"
        return "READY" if self.unlocked else "SIM PIN"

    def enter(self, pin: str) -> bool:
        """``AT+CPIN="<pin>"`` while it wants its PIN: right (unlocked, count
        reset) or wrong (one try less; the last one locks it behind the PUK)."""
        self.pins_entered += 1
        if pin == self.pin:
            self.pin_tries = PIN_TRIES
            self.unlocked = True
            return True
        self.pin_tries -= 1
        if self.pin_tries <= 0:
            self.pin_tries = 0
            self.puk_locked = True
        return False
