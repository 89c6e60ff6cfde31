"""The command processor: reads command lines, echoes, dispatches, answers.

One command at a time, as on a real AT port.  Lines end with CR (a LF after
it is ignored); with echo on the line comes back as typed plus CR before
anything else.  Lines not starting with ``AT`` are ignored.  One command per
line (no ``;`` chaining).  ``latency_ms`` delays the first response byte.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from . import at_files, at_general, at_pdp, at_ssl
from .fields import ParamError, split_fields
from .responses import ERROR, OK

if TYPE_CHECKING:
    from .module import Module

_EXTENDED = re.compile(r"^(\+[A-Za-z]+)(=\?|\?|=.*)?$", re.S)
_BASIC = re.compile(r"^(&?[A-Za-z])(\d*)$")
_OK_BASICS = {"Z", "V", "Q", "X", "&F", "&W", "&D", "&C", "&V", "S"}


@dataclass(frozen=True)
class Request:
    """One parsed command: ``kind`` is exec, query (``?``), test (``=?``) or set (``=...``)."""

    name: str
    kind: str
    args: str = ""

    @property
    def fields(self) -> list[str | int | None]:
        return split_fields(self.args)


Handler = Callable[["CommandProcessor", Request], Awaitable[bytes | None]]

HANDLERS: dict[str, Handler] = {
    **at_general.HANDLERS,
    **at_pdp.HANDLERS,
    **at_files.HANDLERS,
    **at_ssl.HANDLERS,
}
#: Commands whose failures set the AT+QIGETERROR code (TCP/IP and SSL).
_IP_COMMANDS = ("+QI", "+QSSL")


class CommandProcessor:
    """Serves the AT command channel of one ``Module``."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.line = module.line

    async def run(self) -> None:
        module = self.module
        while True:
            raw = await self.line.read_line()
            if module.echo:
                await self.line.write(raw + b"\r")
            text = raw.decode("latin-1").strip()
            if text[:2].upper() != "AT":
                continue
            if module.config.latency_ms:
                await trio.sleep(module.config.latency_ms / 1000)
            reply = await self.execute(text[2:])
            if reply:
                await self.line.write(reply)
            rate = module.faults.random_rate
            if rate and module.faults.rng.random() < rate:
                await module.apply_fault(module.random_fault())

    async def execute(self, body: str) -> bytes | None:
        """Run one command (``body`` follows ``AT``); returns what to answer."""
        if not body:
            return OK
        m = _EXTENDED.match(body)
        if m:
            name = m[1].upper()
            suffix = m[2] or ""
            if suffix == "?":
                req = Request(name, "query")
            elif suffix == "=?":
                req = Request(name, "test")
            elif suffix:
                req = Request(name, "set", suffix[1:])
            else:
                req = Request(name, "exec")
            handler = HANDLERS.get(name)
            if handler is None:
                return ERROR
            try:
                reply = await handler(self, req)
                if name.startswith(_IP_COMMANDS) and name != "+QIGETERROR" and reply == OK:
                    self.module.last_error = 0
                return reply
            except ParamError:
                if name.startswith(_IP_COMMANDS):
                    self.module.last_error = 552
                return ERROR
        m = _BASIC.match(body)
        if m:
            return await self.basic(m[1].upper(), m[2])
        return ERROR

    async def basic(self, letter: str, arg: str) -> bytes | None:
        if letter == "E" and arg in ("", "0", "1"):
            self.module.echo = arg == "1"
            return OK
        if letter == "I" and arg in ("", "0"):
            return await at_general.ati(self, Request("I", "exec"))
        if letter == "O" and arg in ("", "0"):
            return await at_ssl.ato(self, Request("O", "exec"))
        if letter in _OK_BASICS:
            return OK
        return ERROR
