"""A module whose UART keeps another speed (emulator ``uart``): bring-up finds
the speed it answers at, and says so, or (``line_speed_auto``) uses it."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import trio

from modem.core.errors import render
from modem.driver import Modem, PdpSettings
from modem.emulator import Emulator, EmulatorConfig
from modem.link.answers import NoAnswer
from modem.link.line_speed import LineSpeedMismatch, find_speed
from modem.link.serial_stream import open_serial_stream
from modem.options import ModemOptions

MODULE_SPEED = 921600


def at_115200(emulator: Emulator, **options: Any) -> Modem:
    return Modem(functools.partial(open_serial_stream, emulator.device, baudrate=115200),
                 PdpSettings(apn="internet"), (),
                 ModemOptions(registration_timeout=5, sync_attempts=3, **options))


async def test_a_module_at_another_speed_is_named_with_the_flag_to_give():
    async with Emulator.running(EmulatorConfig(baud=MODULE_SPEED, uart=True)) as emulator:
        with pytest.raises(LineSpeedMismatch) as caught:
            async with at_115200(emulator).running():
                pass
    assert render(caught.value) == (
        "the module does not answer at 115200 baud but does at 921600 baud (the speed its "
        "AT+IPR keeps): give --baud 921600 (or --baud auto to find it at every start)")


async def test_auto_uses_the_speed_the_module_answers_at_also_after_a_reopen(caplog):
    async with Emulator.running(EmulatorConfig(baud=MODULE_SPEED, uart=True)) as emulator:
        modem = at_115200(emulator, line_speed_auto=True)
        async with modem.running():
            assert modem.line_baud == MODULE_SPEED
            assert (await modem.at_command("AT")).final == "OK"
            modem.abort("the device went away")  # the next life reopens at 115200 ...
            with trio.fail_after(20):
                await modem.state.wait_value("recovering")
                await modem.state.wait_value("ready")  # ... and sets the speed it found
            assert (await modem.at_command("AT")).final == "OK"
            assert modem.recoveries == 1
    found = [r for r in caplog.records if r.getMessage().startswith("module answers at another")
             and r.kv_fields["baud"] == 921600]
    assert len(found) == 1, "the reopened port was not set to the speed found"


async def test_silence_at_every_speed_stays_no_answer():
    async with Emulator.running(EmulatorConfig(baud=MODULE_SPEED, uart=True,
                                               faults=("silence:60",))) as emulator:
        with pytest.raises(NoAnswer, match=r"nor at 921600, 460800, 230400, 3000000, 57600, 9600"):
            async with at_115200(emulator, line_speed_auto=True).running():
                pass


async def test_on_a_usb_port_the_speed_is_never_blamed():
    """A module that answers late also answers at a "wrong" speed on a port that
    ignores the speed: that is no mismatch."""
    async with Emulator.running(EmulatorConfig(baud=MODULE_SPEED)) as emulator:
        await emulator.wait_booted()
        stream = await open_serial_stream(emulator.device, baudrate=115200)
        async with stream:
            assert await find_speed(stream, 115200) == 115200
