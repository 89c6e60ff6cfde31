"""``--at-console``: a line-based TCP service for AT commands.

Each line the client sends is one AT command line.  It goes through the
proxy's own command channel (``Modem.at_command``, queued between the data
commands), and the answer is the module's response lines and its final
result line, each ending in CR LF.  Commands that would break the proxy's
state (its sockets, contexts, files, the line's framing, data mode, the
PDP context) are refused with one line ``ERROR: <why>`` and never sent.  A
command the module cannot run now (it is recovering, it did not answer in
time) answers one line too: ``ERROR:`` and the error as
``modem.core.errors.render`` words it.

A line may hold several commands, ``AT+CSQ;+CEREG?``: it is sent only if
every one of them is allowed.  Basic (non-``+``) commands are allowed only
from a short list; they can be chained without separators, which a
deny-list could not follow.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Protocol

import trio

from modem.core.errors import ModemError, render
from modem.core.redaction import redact
from modem.link.console import split_outside_quotes
from proxy.logging_setup import kv
from proxy.ops.listeners import peer_of

log = logging.getLogger("proxy.at_console")

MAX_LINE = 512

# Extended commands refused, by name prefix (upper case, with the "+").
_REFUSED_EXTENDED: tuple[tuple[str, str], ...] = (
    ("+QSSL", "the proxy owns the module's SSL sockets and contexts"),
    ("+CFUN", "changes the module's function level (radio off, restart)"),
    ("+QPOWD", "powers the module down"),
    ("+QIDEACT", "would drop the PDP context the proxy's sockets use"),
    ("+QFUPL", "the proxy manages the module's certificate files"),
    ("+QFDEL", "the proxy manages the module's certificate files"),
    ("+QFOPEN", "file data transfer would take over the command channel"),
    ("+QFREAD", "file data transfer would take over the command channel"),
    ("+QFWRITE", "file data transfer would take over the command channel"),
    ("+QIOPEN", "opens module sockets outside the proxy's client id pool"),
    ("+QISEND", "waits for a data prompt the console cannot feed"),
    ("+CMGS", "waits for a data prompt the console cannot feed"),
    ("+CMGW", "waits for a data prompt the console cannot feed"),
    ("+IPR", "changes the serial line speed under the proxy"),
    ("+IFC", "changes the serial flow control under the proxy"),
    ("+ICF", "changes the serial character framing under the proxy"),
    ("+CMEE", "changes the error format the driver parses"),
    ("+QURCCFG", "would move URCs away from the proxy's port"),
    ("+QSCLK", "lets the module sleep and miss commands"),
)
# Refused only in their set form (queries and tests are fine).
_REFUSED_SET = {
    "+QIACT": "the proxy activates the PDP context itself",
    "+CGACT": "the proxy activates the PDP context itself",
    "+QICSGP": "the proxy configured the PDP context; change it with --apn",
}
# Basic commands (after AT): allowed forms, and reasons for well-known refusals.
_ALLOWED_BASIC = re.compile(r"^(?:I\d*|H0?|&V\d*|&W0?)$")
_BASIC_REASONS = {
    "E": "changes command echo, which the driver's framing relies on",
    "Z": "resets the module's settings the proxy configured",
    "&F": "resets the module's settings the proxy configured",
    "O": "enters data mode, which would take over the command channel",
    "D": "dials a data call, which would take over the command channel",
    "A": "answers a call into data mode, which would take over the command channel",
    "Q": "changes result codes, which the driver parses",
    "V": "changes result codes, which the driver parses",
    "X": "changes result codes, which the driver parses",
    "S": "changes S-registers (line framing, escape character)",
}


def _extended_name(piece: str) -> str:
    return re.split(r"[=?]", piece, maxsplit=1)[0].strip()


def _read_only_ssl(name: str, piece: str, args: str) -> bool:
    """SSL commands that only read: ``AT+QSSLSTATE[=<id>]``, the test forms
    (``=?``) and the ``AT+QSSLCFG="<setting>",<ctx>`` query (manual 2.1)."""
    if not name.startswith("+QSSL"):
        return False
    if args == "?" or name == "+QSSLSTATE":
        return True
    if name == "+QSSLCFG" and "=" in piece:
        return len(split_outside_quotes(args, ",")) == 2
    return False


def _transparent_switch(args: str) -> bool:
    """``AT+QISWTMD=<id>,<mode>`` with a mode other than 0 or 1.  Buffer (0) and
    push (1) are allowed: the driver reads each socket the way the module
    reports it (``modem.core.module_word``)."""
    fields = split_outside_quotes(args, ",")
    return args != "?" and (len(fields) != 2 or fields[1].strip() not in ("0", "1"))


def refusal(line: str) -> str | None:
    """Why ``line`` must not reach the module, or None when it may."""
    text = line.strip()
    if not text:
        return "empty line"
    if len(text) > MAX_LINE:
        return f"line longer than {MAX_LINE} characters"
    if not text.isascii() or not text.isprintable():
        return "only printable ASCII is allowed"
    if text == "+++":
        return "+++ leaves transparent mode, which the proxy never uses"
    upper = text.upper()
    if upper.startswith("A/"):
        return "A/ repeats the proxy's last command"
    if not upper.startswith("AT"):
        return "a command line starts with AT"
    pieces = split_outside_quotes(text[2:], ";")
    for n, raw in enumerate(pieces):
        piece = raw.strip()
        up = piece.upper()
        if n > 0 and up.startswith("AT"):
            return "chain commands as AT+CMD1;+CMD2 (one AT at the start)"
        if not piece:
            if n == 0 and len(pieces) == 1:
                continue  # plain "AT"
            return "empty command between ';'"
        if up.startswith("+"):
            name = _extended_name(up)
            args = up.partition("=")[2].strip()
            if _read_only_ssl(name, up, args):
                continue
            if name == "+QISWTMD" and _transparent_switch(args):
                return ("AT+QISWTMD refused: access mode 2 (transparent) would take over "
                        "the command channel; 0 and 1 are allowed")
            for prefix, why in _REFUSED_EXTENDED:
                if name.startswith(prefix):
                    return f"AT{name} refused: {why}"
            if name in _REFUSED_SET and "=" in up and args != "?":
                if name == "+QICSGP" and "," not in args:
                    continue  # AT+QICSGP=<id> reads the settings
                return f"AT{name}= refused: {_REFUSED_SET[name]}"
            continue
        if _ALLOWED_BASIC.match(up):
            continue
        head = "&F" if up.startswith("&F") else up[:1]
        reason = _BASIC_REASONS.get(head)
        if reason:
            return f"AT{up} refused: {reason}"
        return (f"AT{up} refused: only extended (+...) commands, ATI, ATH, AT&V and AT&W "
                "are allowed here")
    return None


def format_response(lines: Sequence[str], final: str) -> bytes:
    """The answer lines, CR LF each; an APN password never leaves the proxy."""
    return "".join(f"{redact(line)}\r\n" for line in [*lines, final]).encode(
        "ascii", "replace")


class ConsoleAnswer(Protocol):
    """What the console shows of a command's answer (``modem.driver.AtResponse``)."""

    @property
    def lines(self) -> Sequence[str]: ...

    @property
    def final(self) -> str: ...


AtCommand = Callable[[str], Awaitable[ConsoleAnswer]]


async def _run_line(line: str, at_command: AtCommand, peer: str) -> bytes:
    why = refusal(line)
    if why is not None:
        log.info("at console refused",
                 extra=kv(peer=peer, command=redact(line)[:80], reason=why))
        return f"ERROR: {why}\r\n".encode("ascii", "replace")
    log.info("at console", extra=kv(peer=peer, command=redact(line)))
    try:
        resp = await at_command(line.strip())
    except (ModemError, ValueError) as exc:  # ValueError: not one AT command line
        return f"ERROR: {render(exc)}\r\n".encode("ascii", "replace")
    return format_response(resp.lines, resp.final)


async def answer_line(line: str, at_command: AtCommand, peer: str) -> bytes:
    """One command line's whole answer (or its refusal), ``line<CR><LF>`` each."""
    return await _run_line(line, at_command, peer)


async def handle_console(stream: trio.abc.Stream, at_command: AtCommand, peer: str = "") -> None:
    """Answer command lines on ``stream`` until the client closes it."""
    buffer = b""
    discarding = False  # inside a line that was too long, up to its end
    try:
        while True:
            chunk = await stream.receive_some(4096)
            if not chunk:
                return
            buffer += chunk
            while True:
                match = re.search(rb"\r\n|\r|\n", buffer)
                if match is None:
                    break
                raw, buffer = buffer[:match.start()], buffer[match.end():]
                if discarding:
                    discarding = False
                    continue
                line = raw.decode("latin-1")
                if not line.strip():
                    continue
                await stream.send_all(await _run_line(line, at_command, peer))
            if len(buffer) > MAX_LINE:
                buffer = b""
                if not discarding:
                    discarding = True
                    await stream.send_all(
                        f"ERROR: line longer than {MAX_LINE} characters\r\n".encode("ascii"))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        await trio.aclose_forcefully(stream)


async def _handle(stream: trio.SocketStream, at_command: AtCommand) -> None:
    """One console client; a bug in serving it ends that client, not the proxy."""
    peer = peer_of(stream).name
    try:
        await handle_console(stream, at_command, peer)
    except Exception:
        log.exception("at console failed unexpectedly", extra=kv(peer=peer))


async def serve_at_console(listeners: Sequence[trio.SocketListener], at_command: AtCommand, *,
                           task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the console on ``listeners`` until cancelled."""
    await trio.serve_listeners(partial(_handle, at_command=at_command), list(listeners),
                               task_status=task_status)
