"""The AT console's command path: one raw command line, run between the data commands.

The caller (the proxy's console) decides which commands are safe to run.
"""

from __future__ import annotations

from dataclasses import dataclass

from modem.core import events as ev
from modem.core.at_command import Command, Framing
from modem.core.errors import AtProtocolError, ModemError
from modem.link.channel import AtChannel

__all__ = ["AtResponse", "console_command", "final_text", "run_console_command",
           "split_outside_quotes"]


@dataclass(frozen=True)
class AtResponse:
    """A console command's full response: information lines and the final line."""

    lines: list[str]
    final: str


def final_text(final: ev.FinalResult | None) -> str:
    """The final result line as the module printed it (``ERROR`` when none came)."""
    match final:
        case ev.Ok():
            return "OK"
        case ev.CmeError(text=text):
            return f"+CME ERROR: {text}"
        case ev.SendOk():
            return "SEND OK"
        case ev.SendFail():
            return "SEND FAIL"
        case ev.Connect():
            return "CONNECT"
        case ev.NoCarrier():
            return "NO CARRIER"
        case _:
            return "ERROR"


def console_command(text: str, max_response_s: float) -> Command:
    """The ``Command`` for a console line; ``ValueError`` unless it is one AT command.

    Lines that start with the command's own ``+NAME`` (each one's, for a
    line of several: ``AT+CSQ;+CEREG?``) and lines without ``+`` are its
    response.
    """
    if not text.isascii() or any(c in text for c in "\r\n\x1a\x1b"):
        raise ValueError("an AT command is one line of printable ASCII")
    if not text[:2].upper() == "AT":
        raise ValueError("an AT command starts with AT")
    prefixes = tuple(dict.fromkeys(
        name for name in (_name(part) for part in split_outside_quotes(text[2:], ";"))
        if name.startswith("+")))
    return Command(text, info_prefixes=prefixes, framing=Framing.BARE_LINES, timeout=max_response_s)


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """``text`` split on ``separator`` where it stands outside double quotes:
    the commands of a line after ``AT`` (``;``), the fields of a command's
    arguments (``,``).  A quote opens or closes a string (AT strings have no
    escapes); pieces keep their spaces."""
    pieces = [""]
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            pieces.append("")
        else:
            pieces[-1] += char
    return pieces


def _name(command: str) -> str:
    return command.split("=", 1)[0].split("?", 1)[0].strip().upper()


async def run_console_command(channel: AtChannel, command: Command) -> AtResponse:
    """Run ``command`` in its turn on ``channel``; its lines and final line."""
    try:
        resp = await channel.run(command)
    except AtProtocolError as exc:  # pragma: no cover - run serialises commands
        raise ModemError(str(exc)) from exc
    return AtResponse(list(resp.lines), final_text(resp.final))
