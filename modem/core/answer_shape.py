"""Whether a final result can end the answer of the command in flight (sans-I/O).

On one AT channel the module answers commands in the order it read them, so
a final result that cannot end this command's own answer is an earlier
command's, late (one the host gave up on after its timeout, or one answered
twice by a resync that took a late ``OK`` for its own): the line is out of
step.  Taken as this command's answer it misattributes what follows:

* ``OK`` for an ``AT+QSSLRECV`` with no ``+QSSLRECV: <n>`` line read like an
  empty buffer; after the peer closed, a clean end of stream over a hole.
  The same happens when a dropped multiplexer frame held the ``+QSSLRECV``
  line and the start of its data (a buffer-mode socket's read is where its
  losses must show);
* ``OK`` (or ``SEND OK``) before the prompt of ``AT+QSSLSEND`` ended it as
  refused while the module went on to prompt: the payload was never written,
  the module took the next command's text as that socket's data.

Both were found by the 30-minute soaks on CMUX (docs/reliability.md).  The
parser reports such a result as a ``ProtocolViolation`` before it, so the
channel fails the command and resynchronises instead of believing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from modem.core import events as ev
from modem.core.at_command import Command, Framing

__all__ = ["FINAL_RESULTS", "AnswerProgress"]

FINAL_RESULTS: dict[str, ev.FinalResult] = {
    "OK": ev.Ok(),
    "ERROR": ev.Error(),
    "SEND OK": ev.SendOk(),
    "SEND FAIL": ev.SendFail(),
    "NO CARRIER": ev.NoCarrier(),
}
"""The lines that end a command's answer (``+CME ERROR`` and ``CONNECT`` aside)."""

_PROMPTED = (Framing.PROMPT_PAYLOAD, Framing.CONNECT_PAYLOAD)
OUT_OF_STEP_HINT = ("the module answered a command late (busy, or silent a while) or a "
                    "frame of its answer was lost: the command failed and the line was "
                    "resynchronised; nothing was taken for an answer it was not")


@dataclass
class AnswerProgress:
    """What the answer of the command in flight has shown so far."""

    prompted: bool = False
    """The ``> `` prompt (or ``AT+QFUPL``'s ``CONNECT``) came."""
    recv_head: bool = False
    """The ``+QSSLRECV: <n>`` line came."""

    def out_of_step(self, command: Command, final: ev.FinalResult, text: str
                    ) -> ev.ProtocolViolation | None:
        """Why ``final`` (the line ``text``) cannot end ``command``'s own answer; None
        when it can.  Before the prompt only a refusal can; a read's ``OK`` needs its
        ``+QSSLRECV`` line."""
        why = self._why(command, final, text)
        return None if why is None else ev.ProtocolViolation(why, OUT_OF_STEP_HINT)

    def _why(self, command: Command, final: ev.FinalResult, text: str) -> str | None:
        refusal = isinstance(final, ev.Error | ev.CmeError)
        if command.framing in _PROMPTED and not self.prompted and not refusal:
            return (f"{text} before the prompt of {command.loggable}: "
                    "an earlier command's answer, late")
        if command.framing is Framing.RECV_PAYLOAD and isinstance(final, ev.Ok) \
                and not self.recv_head:
            return (f"OK with no +QSSLRECV line for {command.loggable}: "
                    "an earlier command's answer, or the read's lost its head")
        return None
