"""A payload the module may still be waiting for, and how to give it one.

After ``AT+QSSLSEND=<id>,<len>`` (and ``AT+QFUPL``) the module answers ``>``
and then takes the next ``<len>`` bytes as data, whatever they are, with no
time limit and no way out (manual 2.1.3: "input data until the data length
is equal to <sendlen>"; an ESP-AT user reports the same for its raw send:
espressif/esp-at#1027). When the channel breaks or gives up between writing
such a command and writing its whole payload (a garbled line, a timeout),
the module may sit in that state: every ``AT`` of a resync or of the next
bring-up becomes payload bytes, and the module seems dead for good.

So the channel remembers what it may owe (``OwedPayload``), and writes it
before anything else when it talks to the module again (``settle``):

* the prompt came and the payload was not started: the payload itself,
  exactly what the module waits for, so the server gets the client's own
  bytes;
* the prompt did not come (lost in a garbled stretch, or the module
  refused): the payload itself if, read as command lines, it can run
  nothing (no line of it starts with ``AT`` or ``A/``), else NUL bytes of
  its length: the server then gets NULs in place of the client's chunk
  before the connection is cut (its client is reset), the price of never
  letting a client's bytes run as a command on a module that was not
  waiting;
* the payload was written but no answer came (cut off part way, or dropped
  by a module that was silent meanwhile: how much it took is unknown): NUL
  bytes of its length, enough to complete it; what is left over ends as a
  command-line fragment, which the next ``AT``'s CR ends and the module
  ignores.

A guess, written down: a module that prompted keeps waiting for the payload
(it has no documented timeout); one with a timeout only makes the settling
unnecessary. The socket it was for fails anyway (its client is reset).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from modem.core.log_fields import kv

__all__ = ["SETTLE_WAIT", "OwedPayload"]

log = logging.getLogger("modem.channel")

SETTLE_WAIT = 0.5
"""Seconds for the module's answer to a completed payload to come and go by."""


class OwedPayload:
    """What the module may still take as payload (see the module docstring)."""

    def __init__(self) -> None:
        self._owed = b""

    def command_written(self, payload: bytes) -> None:
        """A command that prompts for ``payload`` is on the line; whether the module
        prompted is not known yet."""
        self._owed = payload if _inert(payload) else bytes(len(payload))

    def prompted(self, payload: bytes) -> None:
        """The module's prompt came: it waits for exactly ``payload``."""
        self._owed = payload

    def payload_starting(self, length: int) -> None:
        """The payload is being written: until its answer comes, how much the module
        took is unknown."""
        self._owed = bytes(length)

    def clear(self) -> None:
        """A command got its final result in step: the module waits for no payload."""
        self._owed = b""

    def carry_over(self, earlier: OwedPayload) -> None:
        """A new channel on the same module owes what the last one did."""
        self._owed = earlier._owed

    async def settle(self, write: Callable[[bytes], Awaitable[None]]) -> None:
        """Write what may be owed (with ``write``), then let the module's answer pass.
        It stays owed until a command is answered (``clear``): a module still silent
        may have dropped it, and then gets it again at the next try."""
        if not self._owed:
            return
        log.info("the module may still wait for a payload: completing it", extra=kv(
            bytes=len(self._owed)))
        await write(self._owed)
        await trio.sleep(SETTLE_WAIT)


def _inert(payload: bytes) -> bool:
    """Whether ``payload`` read as command-line text can run nothing: no piece between
    CRs and LFs starts with ``AT`` or ``A/`` (repeat the last command), in any case,
    once the blanks the module skips are stripped."""
    pieces = payload.replace(b"\n", b"\r").split(b"\r")
    return not any(piece.lstrip()[:2].upper() in (b"AT", b"A/") for piece in pieces)
