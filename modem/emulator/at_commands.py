"""The command processor: reads command lines, echoes, dispatches, answers.

One command at a time on each AT port, as on a real one (``run(port)`` is
one port's loop).  Lines end with CR (a LF after it is ignored); with echo
on the line comes back as typed plus CR before anything else.  Lines not
starting with ``AT`` are ignored.  ``latency_ms`` delays the first response
byte: the module's processing time, which its ports share (``Module.processor``):
a command that arrives while another port's is being processed waits for
it, then takes its own.

Several commands on one line, ``AT+CSQ;+CEREG?`` (V.25ter, what Quectel's
manuals call concatenated commands): each one's information lines in order
and one ``OK`` at the end; the first that fails ends the line with its error
and the rest are not run (as the Telit LE910C AT manual, 2.2, states it for
V.25ter command lines; Quectel's EC2x manual shows the form without the rule).
"""


from __future__ import annotations

import re

import trio

from . import at_cmux, at_files, at_general, at_pdp, at_ssl
from .at_port import AtPort
from .faults import FaultState, inject, random_fault
from .fields import ParamError
from .manual import INVALID_PARAMETER
from .module import Module
from .pacing import sleep_until_exactly
from .registry import CommandSpec, CommandTable
from .request import Form, Request
from .responses import ERROR, OK

_EXTENDED = re.compile(r"^(\+[A-Za-z]+)(=\?|\?|=.*)?$", re.S)
_BASIC = re.compile(r"^(&?[A-Za-z])(\d*)$")
_OK_BASICS = {"Z", "V", "Q", "X", "&F", "&W", "&C", "&V", "S"}

#: Every extended command the module knows, by name.
HANDLERS: dict[str, CommandSpec] = dict(
    CommandTable(at_general.COMMANDS, at_pdp.COMMANDS, at_files.COMMANDS, at_ssl.COMMANDS,
                 at_cmux.COMMANDS)
)
#: Commands whose failures set the AT+QIGETERROR code (TCP/IP and SSL).
_IP_COMMANDS = ("+QI", "+QSSL")


def parse_extended(body: str, port: AtPort) -> Request | None:
    """``+NAME[=?|?|=ARGS]`` (``body`` follows ``AT``) as a Request; None if not one."""
    m = _EXTENDED.match(body)
    if not m:
        return None
    suffix = m[2] or ""
    if suffix in ("?", "=?"):
        return Request(m[1].upper(), Form(suffix), port)
    if suffix:
        return Request(m[1].upper(), Form.WRITE, port, suffix[1:])
    return Request(m[1].upper(), Form.EXECUTE, port)


def _split_commands(body: str) -> list[str]:
    """``+CSQ;+CEREG?`` -> ``["+CSQ", "+CEREG?"]``: split on ``;`` outside quotes."""
    parts, current, quoted = [], "", False
    for char in body:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return [part.strip() for part in parts]


class CommandProcessor:
    """Serves the AT ports of one ``Module``: ``run(port)`` is one port's loop."""

    def __init__(self, module: Module, faults: FaultState) -> None:
        self.module = module
        self.faults = faults

    async def run(self, port: AtPort) -> None:
        module, line = self.module, port.line
        while True:
            raw = await line.read_line()
            if port.echo:
                await line.write(raw + b"\r")
            text = raw.decode("latin-1").strip()
            if text[:2].upper() != "AT":
                continue
            if module.config.latency_ms:
                await self._turnaround(line.input_done_at)
            reply = await self.execute(text[2:], port)
            if reply:
                await line.write(reply)
            rate = self.faults.random_rate
            if rate and self.faults.rng.random() < rate:
                await inject(module, self.faults, random_fault(module, self.faults))

    async def _turnaround(self, arrived: float) -> None:
        """The module's processing time, from the command's last byte on the line
        (the echo within it), after any other port's command in processing."""
        processor = self.module.processor
        queued = processor.locked()
        async with processor:
            start = trio.current_time() if queued else arrived
            await sleep_until_exactly(start + self.module.config.latency_ms / 1000)

    async def execute(self, body: str, port: AtPort) -> bytes | None:
        """Run one command (``body`` follows ``AT``) from ``port``; returns what to answer."""
        if not body:
            return OK
        parts = _split_commands(body)
        if len(parts) > 1:
            return await self.chained(parts, port)
        request = parse_extended(body, port)
        if request is not None:
            return await self.extended(request)
        m = _BASIC.match(body)
        if m:
            return await self.basic(m[1].upper(), m[2], port)
        return ERROR

    async def chained(self, parts: list[str], port: AtPort) -> bytes | None:
        """``AT<a>;<b>...``: the answers' lines, one final ``OK``; stop at a failure."""
        out = b""
        for part in parts:
            reply = await self.execute(part, port)
            if reply is None or not reply.endswith(OK):
                return out + reply if reply is not None else (out or None)
            out += reply[: -len(OK)]
        return out + OK

    async def extended(self, request: Request) -> bytes | None:
        spec = HANDLERS.get(request.name)
        if spec is None or request.name in self.module.config.absent_commands:
            return ERROR
        if self.module.pending_faults.take_unanswered(request.name):
            return None
        sets_ip_error = request.name.startswith(_IP_COMMANDS)
        try:
            reply = await spec.answer(self.module, request)
        except ParamError:
            if sets_ip_error:
                self.module.last_error = INVALID_PARAMETER
            return ERROR
        if sets_ip_error and request.name != "+QIGETERROR" and reply == OK:
            self.module.last_error = 0
        return reply

    async def basic(self, letter: str, arg: str, port: AtPort) -> bytes | None:
        if letter == "E" and arg in ("", "0", "1"):
            port.echo = arg == "1"
            return OK
        if letter == "I" and arg in ("", "0"):
            return at_general.ati(self.module)
        if letter == "O" and arg in ("", "0"):
            return await at_ssl.ato(self.module, port)
        if letter == "&D" and arg in ("", "0", "1", "2"):
            port.dtr_mode = int(arg or 0)
            return OK
        if letter in _OK_BASICS:
            return OK
        return ERROR
