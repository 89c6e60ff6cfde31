"""The driver's bring-up against a module without a SIM, or not registered (emulator options)."""

from __future__ import annotations

import functools

import pytest

from modem.bringup.steps import BringUpError, PdpSettings
from modem.core.errors import render
from modem.driver import Modem
from modem.emulator import Emulator, EmulatorConfig
from modem.link.serial_stream import open_serial_stream
from modem.options import ModemOptions


@pytest.mark.parametrize(("options", "message"), [
    ({"sim": "absent"}, "SIM not usable (SIM not inserted): insert a SIM card (power the "
                        "module off first)"),
    ({"registration": 3}, "not registered on the network (registration denied) after 0.5 s: "
                          "check the antenna, the SIM's subscription and the coverage"),
])
async def test_bring_up_names_the_missing_step(options, message):
    async with Emulator.running(EmulatorConfig(**options)) as emulator:
        open_stream = functools.partial(open_serial_stream, emulator.device)
        with pytest.raises(BringUpError) as caught:
            async with Modem.open(
                open_stream,
                pdp=PdpSettings(apn="internet"),
                options=ModemOptions(registration_timeout=0.5),
            ):
                pass
    assert render(caught.value) == message


def test_the_emulator_refuses_an_unknown_sim_state():
    with pytest.raises(ValueError, match="sim must be one of ready, absent"):
        EmulatorConfig(sim="locked")
