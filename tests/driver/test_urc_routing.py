"""Bring-up routes URCs to the port the driver owns (``AT+QURCCFG="urcport"``).

The emulator plays one named AT port; a module whose URC port is another
one writes no ``+QSSLOPEN`` / ``+QSSLURC`` on our line, so without the
bring-up step every open would wait out its 150 s.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from modem.core.profile import TlsProfile
from modem.driver import Modem
from modem.emulator import Emulator, EmulatorConfig
from modem.options import ModemOptions
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import log_fields, receive_exactly

OPEN_BOUND = 20  # seconds; an open whose URC never came would take 150 s


@asynccontextmanager
async def module_and_driver(
    profile: TlsProfile, urc_port: str | None, *, port_name: str, factory_urc_port: str,
    absent: frozenset[str] = frozenset(),
) -> AsyncIterator[tuple[Emulator, Modem]]:
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, port_name=port_name,
                            absent_commands=absent)
    async with Emulator.running(config) as emu:
        emu.routing.urc_port = factory_urc_port  # as an earlier user left the NVM
        async with modem_on(emu.device, profile, urc_port=urc_port) as modem:
            yield emu, modem


async def echo_once(modem: Modem, port: int, profile: TlsProfile) -> bytes:
    with trio.fail_after(OPEN_BOUND):
        sock = await open_socket(modem, port, profile)
        try:
            await sock.send_all(b"over the routed port")
            return await receive_exactly(sock, 20)
        finally:
            await sock.aclose()


def urc_port_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The fields of the bring-up's "URC port" lines."""
    return [log_fields(r) for r in caplog.records if r.getMessage() == "URC port"]


@pytest.mark.parametrize(("port_name", "factory"), [("usbat", "usbmodem"), ("uart1", "usbat")])
async def test_bring_up_routes_urcs_to_our_port(profile, echo_server, caplog, port_name, factory):
    caplog.set_level(logging.INFO, logger="modem.bringup")
    async with module_and_driver(profile, port_name, port_name=port_name,
                                 factory_urc_port=factory) as (emu, modem):
        assert emu.urc_port == port_name
        assert await echo_once(modem, echo_server.port, profile) == b"over the routed port"
    assert urc_port_lines(caplog) == [{"found": factory, "set": port_name, "reason": "bring-up"}]


async def test_without_a_urc_port_the_setting_is_left_alone(profile, caplog):
    caplog.set_level(logging.INFO, logger="modem.bringup")
    async with module_and_driver(profile, None, port_name="usbat",
                                 factory_urc_port="usbmodem") as (emu, _):
        assert emu.urc_port == "usbmodem"  # opens would now wait 150 s for their URC
    assert urc_port_lines(caplog) == [{"found": "usbmodem", "set": "unchanged", "want": None,
                                       "reason": "bring-up"}]


async def test_firmware_without_qurccfg_is_tolerated(profile, echo_server, caplog):
    caplog.set_level(logging.INFO, logger="modem.bringup")
    async with module_and_driver(profile, "usbat", port_name="usbat", factory_urc_port="usbat",
                                 absent=frozenset({"+QURCCFG"})) as (_, modem):
        assert await echo_once(modem, echo_server.port, profile) == b"over the routed port"
    assert "URC port unknown (AT+QURCCFG not supported)" in caplog.text


async def test_an_unknown_urc_port_is_refused_before_anything_opens(profile):
    async def never_opened() -> trio.abc.Stream:
        raise AssertionError("the device was opened")

    with pytest.raises(ValueError, match="urc_port must be one of"):
        async with Modem.open(never_opened, options=ModemOptions(urc_port="usb2")):
            pass
