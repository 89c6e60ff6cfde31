"""The emulator as a module on a UART (``EmulatorConfig.uart``): a host at the
module's speed talks to it, a host at another speed exchanges garbage."""

from __future__ import annotations

import os
import termios
import tty

import pytest
import trio

from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.uart import garble

SPEED = 921600


def open_at(device: str, baud: int) -> trio.lowlevel.FdStream:
    """The pty's host end, raw, at ``baud`` (as a host's serial library sets it)."""
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    code = getattr(termios, f"B{baud}")
    attrs[4] = attrs[5] = code
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return trio.lowlevel.FdStream(fd)


async def heard_after_at(stream: trio.lowlevel.FdStream, within: float = 0.5) -> bytes:
    """What comes back for an ``AT`` (after a CR that ends any noise the module took)."""
    await stream.send_all(b"\rAT\r")
    heard = b""
    with trio.move_on_after(within):
        while True:
            heard += await stream.receive_some(4096)
    return heard


async def test_at_the_modules_speed_it_answers_at_another_only_garbage_crosses():
    async with Emulator.running(EmulatorConfig(baud=SPEED, uart=True)) as emulator:
        await emulator.wait_booted()
        wrong = open_at(emulator.device, 115200)
        heard = await heard_after_at(wrong)
        assert b"OK" not in heard
        assert emulator.module.line.bytes_in == 4  # it took four bytes of noise
        await wrong.aclose()
        right = open_at(emulator.device, SPEED)
        assert b"\r\nOK\r\n" in await heard_after_at(right)
        await right.aclose()


async def test_a_usb_port_ignores_the_speed():
    async with Emulator.running(EmulatorConfig(baud=SPEED)) as emulator:
        await emulator.wait_booted()
        stream = open_at(emulator.device, 9600)
        assert b"\r\nOK\r\n" in await heard_after_at(stream)
        await stream.aclose()


def test_noise_is_never_ascii_so_it_holds_no_answer_or_line_end():
    noise = garble(bytes(range(256)) + b"\r\nOK\r\n")
    assert all(byte >= 0x80 for byte in noise)


def test_a_uart_needs_its_speed():
    with pytest.raises(ValueError, match="needs its speed"):
        EmulatorConfig(uart=True)
