"""From a failed response to the manual's typed error, next to the channel it reads.

``error_of`` maps a response that did not end in ``OK``: ``+CME ERROR: <n>``
maps directly (the 550-574 codes of chapter 5), a bare ``ERROR`` asks
``AT+QIGETERROR`` for the last SSL error (manual chapter 5).
``expect_ok`` runs a command and raises that error unless it ends in ``OK``.
"""

from __future__ import annotations

import logging

from modem.core import commands
from modem.core import events as ev
from modem.core.at_command import Command
from modem.core.errors import CommandError, ModemError, error_for_code, error_for_text
from modem.core.log_fields import kv
from modem.link.answers import Response
from modem.link.channel import AtChannel

__all__ = ["error_of", "expect_ok"]

log = logging.getLogger("modem.channel")


async def expect_ok(channel: AtChannel, command: Command,
                    payload: bytes | None = None) -> Response:
    """Run ``command`` (with ``payload`` at its prompt); raise the typed error
    unless it ends with ``OK``."""
    resp = await channel.run(command, payload)
    if not resp.ok:
        raise await error_of(channel, resp, command.loggable)
    return resp


async def error_of(channel: AtChannel, resp: Response, what: str) -> ModemError:
    """The exception for ``resp``, a response that did not end in ``OK``.

    ``what`` names the operation in the message.  The channel's own failure
    wins when it broke meanwhile; a result that explains nothing is a
    ``CommandError``.
    """
    final = resp.final
    if isinstance(final, ev.CmeError):
        if final.code is not None:
            return error_for_code(final.code, what)
        return error_for_text(final.text, what)
    if isinstance(final, ev.Error) and channel.failure is None:
        try:
            q = await channel.run(commands.qigeterror())
            if q.ok and q.lines:
                code, _text = commands.parse_qigeterror(q.lines[0])
                if code:
                    return error_for_code(code, what)
        except (ModemError, ValueError) as exc:
            log.debug("AT+QIGETERROR failed", extra=kv(error=str(exc)))
    if channel.failure is not None:
        return channel.failure
    if isinstance(final, ev.Error):
        return CommandError(what)  # a bare ERROR and no code to explain it
    return CommandError(what, f"unexpected {type(final).__name__}" if final else "no result")
