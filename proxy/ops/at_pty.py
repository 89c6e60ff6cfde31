"""``--at-pty PATH``: the AT console as a serial port, for tools that open a modem device.

minicom, picocom and pyserial scripts open a tty; this gives them one: a
pseudo-terminal whose slave side is linked at ``PATH`` (like
``/dev/ttyUSB2``), and behind it the same console as ``--at-console``
(``proxy.ops.at_console``): each command line goes through the proxy's own
command channel, between the data commands, under the same refusal rules.

What it does like a module's AT port (so scripts written for one work):

* echo: characters are echoed as they arrive, as a module does after
  power-up (``ATE1``, its default; public EG21 logs show every command
  echoed before its answer: forums.quectel.com/t/eg916q-gl-cannot-read-iccid-
  using-at-crsm/34559); ``ATE0`` / ``ATE1`` on a line of their
  own switch the echo *of this pty* and answer ``OK`` (the module's own
  echo stays off: the driver needs it so);
* answers in the module's verbose form: each line as ``<CR><LF>text<CR><LF>``;
* backspace (``BS``, ``DEL``) removes the last character of the line;
* any baud rate or framing the tool sets is accepted (a pty has no line).

The pty stays open while the proxy runs; tools may open and close it at
will (we hold a slave descriptor ourselves, so the master never sees a
hang-up; the trick modem/emulator/pty_port.py uses too).  A stale link at
``PATH`` (left by a killed proxy) is replaced; anything else there is an
error.  The link is removed at exit if it still points to our pty.
"""

from __future__ import annotations

import logging
import os
import tty
from pathlib import Path

import trio

from proxy.errors import ListenError
from proxy.logging_setup import NOTICE, kv
from proxy.ops.at_console import MAX_LINE, AtCommand, answer_line

log = logging.getLogger("proxy.at_pty")

_BACKSPACE = (0x08, 0x7F)
_LOCAL_ECHO = {"ATE0": False, "ATE": False, "ATE1": True}


def verbose_form(answer: bytes) -> bytes:
    """The console's ``line<CR><LF>`` answer in the module's V1 form, each line
    framed as ``<CR><LF>line<CR><LF>``."""
    lines = [line for line in answer.split(b"\r\n") if line]
    return b"".join(b"\r\n" + line + b"\r\n" for line in lines)


class AtPty:
    """The pty and its link.  ``AtPty.open(path)``, then ``serve``; ``aclose`` at exit."""

    def __init__(self, path: Path, master: int, slave: int) -> None:
        self.path = path
        self.device = os.ttyname(slave)
        self._slave = slave
        self._stream = trio.lowlevel.FdStream(master)
        self.echo = True

    @classmethod
    def open(cls, path: str | Path) -> AtPty:
        """Make the pty and link it at ``path``; ``ListenError`` with advice if it cannot."""
        path = Path(path)
        if path.exists() and not path.is_symlink():
            raise ListenError(f"cannot make --at-pty {path}: something other than a link is "
                              "there; remove it or choose another path")
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        pty = cls(path, master, slave)
        try:
            temporary = path.with_name(f".{path.name}.{os.getpid()}")
            os.symlink(pty.device, temporary)
            os.replace(temporary, path)  # atomic: a stale link is replaced
        except OSError as exc:
            os.close(slave)
            os.close(master)
            raise ListenError(f"cannot make --at-pty {path}: {exc.strerror}; choose a "
                              "directory this user may write to") from None
        log.log(NOTICE, f"AT console on {path}", extra=kv(device=pty.device))
        return pty

    async def serve(self, at_command: AtCommand) -> None:
        """Answer command lines until cancelled."""
        peer = f"pty {self.path}"
        line = bytearray()
        too_long = False
        while True:
            chunk = await self._stream.receive_some(4096)
            for byte in chunk:
                if self.echo:
                    await self._stream.send_all(bytes([byte]))
                if byte in (0x0D, 0x0A):
                    if line and not too_long:
                        await self._answer(line.decode("latin-1"), at_command, peer)
                    line.clear()
                    too_long = False
                elif byte in _BACKSPACE:
                    if line:
                        del line[-1]
                elif not too_long:
                    line.append(byte)
                    if len(line) > MAX_LINE:
                        too_long = True
                        line.clear()
                        await self._stream.send_all(verbose_form(
                            f"ERROR: line longer than {MAX_LINE} characters\r\n".encode()))

    async def _answer(self, text: str, at_command: AtCommand, peer: str) -> None:
        command = text.strip()
        if not command:
            return
        local = _LOCAL_ECHO.get(command.upper())
        if local is not None:
            self.echo = local
            await self._stream.send_all(b"\r\nOK\r\n")
            return
        await self._stream.send_all(verbose_form(await answer_line(command, at_command, peer)))

    async def aclose(self) -> None:
        """Close the pty; remove the link if it is still ours."""
        try:
            if os.readlink(self.path) == self.device:
                self.path.unlink()
        except OSError:
            pass
        await self._stream.aclose()
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1
