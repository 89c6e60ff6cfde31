"""A UART line: what crosses it is garbage unless both ends run at one speed.

A module's UART keeps the speed ``AT+IPR`` stored; a host that opens the
port at another speed samples every bit at the wrong time, so both
directions turn into noise (framing errors, wrong bytes) and the module
answers nothing it understood.  USB AT ports ignore the speed altogether,
which is why this is ``EmulatorConfig.uart`` and not the default.

The host's speed is read where the host set it: a pseudo-terminal's
settings are shared by both sides, and ``tcgetattr`` on the master gives
the slave's (Linux).  The noise is deterministic and never ASCII (every
byte has its top bit set), so it holds no ``OK``, no line end, no command.
"""

from __future__ import annotations

import termios

import trio

__all__ = ["UartLine", "garble", "host_speed"]

#: termios speed code -> bits per second (``B115200`` -> 115200).
_SPEEDS = {getattr(termios, name): int(name[1:]) for name in dir(termios)
           if name.startswith("B") and name[1:].isdigit()}


def host_speed(fd: int) -> int | None:
    """The speed the host set on the pty (its output speed), or None if unknown."""
    try:
        code = termios.tcgetattr(fd)[5]
    except termios.error:
        return None
    return _SPEEDS.get(code)


def garble(data: bytes) -> bytes:
    """What ``data`` looks like at the wrong speed: one non-ASCII byte for each."""
    return bytes(0x80 | ((byte * 37 + 11) & 0x7F) for byte in data)


class UartLine(trio.abc.Stream):
    """``stream`` (the pty master, descriptor ``fd``) as a UART at ``baud``."""

    def __init__(self, stream: trio.abc.Stream, fd: int, baud: int) -> None:
        self._stream = stream
        self._fd = fd
        self.baud = baud

    @property
    def matched(self) -> bool:
        """Whether the host runs at the module's speed now."""
        return host_speed(self._fd) == self.baud

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data if self.matched else garble(bytes(data)))

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self._stream.receive_some(max_bytes)
        return data if not data or self.matched else garble(bytes(data))

    async def aclose(self) -> None:
        await self._stream.aclose()
