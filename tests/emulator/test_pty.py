"""The pty as a host sees it: pyserial with exclusive=True, close and reopen."""

from __future__ import annotations

import pytest
import serial
import trio

from modem.emulator import Emulator, EmulatorConfig

from .conftest import BOOT_DONE, Host


def _talk(device: str) -> bytes:
    with serial.Serial(device, 115200, timeout=5, exclusive=True) as port:
        port.write(b"ATE0\rAT+CSQ\r")
        return port.read_until(b"+CSQ: 20,99\r\n\r\nOK\r\n")


def _second_exclusive_open_fails(device: str) -> None:
    with serial.Serial(device, exclusive=True), pytest.raises(serial.SerialException):
        serial.Serial(device, exclusive=True)


async def test_pyserial_exclusive_open_close_reopen() -> None:
    async with Emulator.running(EmulatorConfig()) as emu:
        await emu.wait_booted()
        first = await trio.to_thread.run_sync(_talk, emu.device)
        assert first.endswith(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
        second = await trio.to_thread.run_sync(_talk, emu.device)
        assert second.endswith(b"\r\nOK\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
        await trio.to_thread.run_sync(_second_exclusive_open_fails, emu.device)


async def test_module_keeps_serving_after_the_host_closed_the_port() -> None:
    async with Emulator.running(EmulatorConfig()) as emu:
        host = Host.open(emu.device)
        await host.read_until(BOOT_DONE)
        await host.aclose()
        host = Host.open(emu.device)
        try:
            await host.send("AT\r")
            await host.expect(b"AT\r\r\nOK\r\n")
        finally:
            await host.aclose()
