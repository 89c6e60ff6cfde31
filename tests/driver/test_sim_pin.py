"""The driver's bring-up against a SIM that wants its PIN (emulator options
``sim_pin``, ``sim_pin_tries``, ``sim="puk"``, ``sim_ready_delay``)."""

from __future__ import annotations

import functools
import logging

import pytest
import trio

from modem.bringup.steps import BringUpError, PdpSettings
from modem.core.errors import render
from modem.core.sim_pin import SimPin
from modem.driver import Modem
from modem.emulator import Emulator, EmulatorConfig, Fault
from modem.link.serial_stream import open_serial_stream
from modem.options import ModemOptions

PIN = "2468"


def modem_with(emulator: Emulator, pin: str | None, **options: float) -> Modem:
    return Modem(functools.partial(open_serial_stream, emulator.device),
                 PdpSettings(apn="internet"), (),
                 ModemOptions(registration_timeout=5, sim_pin=SimPin(pin) if pin else None,
                              trace_at=True, **options))


async def bring_up_error(config: EmulatorConfig, pin: str | None, **options: float
                         ) -> tuple[str, Emulator]:
    """The one line a failed first bring-up ends with."""
    async with Emulator.running(config) as emulator:
        with pytest.raises(BringUpError) as caught:
            async with modem_with(emulator, pin, **options).running():
                pass
    return render(caught.value), emulator


async def test_the_pin_is_entered_once_per_power_up_and_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    async with (Emulator.running(EmulatorConfig(sim_pin=PIN)) as emulator,
                modem_with(emulator, PIN).running() as modem):
        assert emulator.sim.state == "READY" and emulator.sim.pins_entered == 1
        await emulator.inject(Fault.restart())  # a power-up locks the SIM again
        with trio.fail_after(20):
            await modem.state.wait_value("recovering")
            await modem.state.wait_value("ready")
        assert emulator.sim.pins_entered == 2 and emulator.sim.pin_tries == 3
    assert 'AT+CPIN="****"' in caplog.text
    assert PIN not in caplog.text


async def test_a_wrong_pin_is_tried_once_and_the_line_counts_the_tries_left():
    line, emulator = await bring_up_error(EmulatorConfig(sim_pin=PIN), "1111")
    assert line == ("the SIM refused the PIN: 2 of 3 tries left; the proxy will not enter it "
                    "again: fix the PIN (SSL_PROXY_SIM_PIN or --sim-pin-file) and enter the "
                    'right one once by hand (AT+CPIN="<PIN>") before restarting')
    assert emulator.sim.pins_entered == 1


@pytest.mark.parametrize("pin", [PIN, "1111"], ids=["right pin", "wrong pin"])
async def test_a_restarted_service_enters_no_pin_while_a_wrong_try_is_counted(pin):
    """An earlier run (or a person) used a try: the next start does not gamble."""
    line, emulator = await bring_up_error(EmulatorConfig(sim_pin=PIN, sim_pin_tries=2), pin)
    assert line.startswith("the SIM wants its PIN and 2 of 3 tries are left: a wrong PIN was "
                           "tried, so the proxy will not enter one: check the PIN")
    assert emulator.sim.pins_entered == 0


@pytest.mark.parametrize(("config", "pin", "line"), [
    (EmulatorConfig(sim_pin=PIN), None,
     "the SIM wants its PIN: give the PIN in the SSL_PROXY_SIM_PIN environment variable or "
     "a file (--sim-pin-file, mode 600)"),
    (EmulatorConfig(sim="puk"), PIN,
     "the SIM is locked behind its PUK (10 PUK tries left): unlock it with its PUK in a "
     'phone or a terminal (AT+CPIN="<PUK>","<new PIN>"); the proxy never enters a PUK'),
    (EmulatorConfig(sim_ready_delay=30), None,
     "the SIM did not answer within 1 s of power-up (SIM busy): check that the SIM sits well "
     "in its holder, then restart the module"),
])
async def test_each_sim_state_has_its_own_line(config, pin, line):
    got, emulator = await bring_up_error(config, pin, sim_ready_timeout=1)
    assert got == line
    assert emulator.sim.pins_entered == 0


async def test_a_sim_busy_after_power_up_is_waited_for():
    config = EmulatorConfig(sim_pin=PIN, sim_ready_delay=1.5)
    async with (Emulator.running(config) as emulator,
                modem_with(emulator, PIN, sim_ready_timeout=10).running()):
        assert emulator.sim.state == "READY" and emulator.sim.pins_entered == 1
