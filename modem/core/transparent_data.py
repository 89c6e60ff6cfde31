"""Transparent-mode data up to its end marker (sans-I/O; manual 1.3).

After the ``CONNECT`` of a data-mode command every byte is data until the
module writes ``\\r\\nNO CARRIER\\r\\n`` (the connection dropped) or, once the
host sent ``+++``, the escape's ``\\r\\nOK\\r\\n``.

A byte is handed out only once it cannot be the start of an end marker: a
tail that may begin one (a lone CR, a CR LF, ``\\r\\nNO CAR``...) waits in the
buffer until the next bytes tell, so no byte is ever given out as data and
later found to be part of ``NO CARRIER``.  A line-based peer whose last
message ends in CR LF would then stall on a quiet line: the driver proves
the tail is data (``release``) when the module still holds the socket
connected after the tail arrived (``modem.sockets.transparent_session``).
"""

from __future__ import annotations

from modem.core import events as ev

__all__ = ["ESCAPED_TAIL", "NO_CARRIER_TAIL", "TransparentScanner"]

NO_CARRIER_TAIL = b"\r\nNO CARRIER\r\n"
ESCAPED_TAIL = b"\r\nOK\r\n"


class TransparentScanner:
    """Hands out transparent data and finds where it ends; holds back what may
    begin an end marker."""

    def __init__(self) -> None:
        self.held = 0
        """Bytes at the end of the buffer held back as a possible end marker."""

    def reset(self) -> None:
        self.held = 0

    def take(self, buf: bytearray, leaving: bool, out: list[ev.Event]) -> bool:
        """Give out the data in ``buf`` up to ``NO CARRIER`` (or, ``leaving``:
        after ``+++``, the escape's ``OK``); True when transparent mode ended and
        the rest of ``buf`` is command mode again.  A tail that may begin a
        marker stays in ``buf`` (``held``)."""
        tails = (NO_CARRIER_TAIL, ESCAPED_TAIL) if leaving else (NO_CARRIER_TAIL,)
        found: tuple[int, bytes] | None = None
        for tail in tails:
            at = buf.find(tail)
            if at >= 0 and (found is None or at < found[0]):
                found = (at, tail)
        if found is not None:
            at, tail = found
            if at:
                out.append(ev.TransparentData(bytes(buf[:at])))
            del buf[: at + len(tail)]
            self.held = 0
            out.append(ev.NoCarrier() if tail is NO_CARRIER_TAIL else ev.Ok())
            return True
        hold = 0
        for tail in tails:
            for k in range(min(len(tail) - 1, len(buf)), 0, -1):
                if buf.endswith(tail[:k]):
                    hold = max(hold, k)
                    break
        give = len(buf) - hold
        if give:
            out.append(ev.TransparentData(bytes(buf[:give])))
            del buf[:give]
        self.held = hold
        return False

    def release(self, buf: bytearray, out: list[ev.Event]) -> None:
        """The held tail is data after all (the caller proved it): give it out.
        Those bytes no longer count towards a marker."""
        if self.held:
            out.append(ev.TransparentData(bytes(buf[: self.held])))
            del buf[: self.held]
            self.held = 0
