"""Transparent-mode data up to its end marker (sans-I/O; manual 1.3).

After the ``CONNECT`` of a data-mode command every byte is data until the
module writes ``\\r\\nNO CARRIER\\r\\n`` (the connection dropped) or, once the
host sent ``+++``, the escape's ``\\r\\nOK\\r\\n``.
"""

from __future__ import annotations

from modem.core import events as ev

__all__ = ["TransparentScanner"]

_NO_CARRIER_TAIL = b"\r\nNO CARRIER\r\n"
_ESCAPED_TAIL = b"\r\nOK\r\n"


class TransparentScanner:
    """Hands out transparent data and finds where it ends."""

    def __init__(self) -> None:
        self._seen = b""  # the last (up to 2) bytes given out: they may begin a marker

    def reset(self) -> None:
        self._seen = b""

    def take(self, buf: bytearray, leaving: bool, out: list[ev.Event]) -> bool:
        """Give out the data in ``buf`` up to ``NO CARRIER`` (or, ``leaving``:
        after ``+++``, the escape's ``OK``); True when transparent mode ended and
        the rest of ``buf`` is command mode again.

        Data goes out as soon as it arrives, except a tail that may be the
        start of an end marker: while leaving any such tail is held back;
        otherwise only a tail of at least ``\\r\\nN`` is, because holding back
        a plain CR LF would stall every line-based protocol.  A CR or CR LF
        already given out still counts for an end marker that completes
        later, so ``NO CARRIER`` is never missed; those 1-2 bytes then stay in
        the data.
        """
        tails = (_NO_CARRIER_TAIL, _ESCAPED_TAIL) if leaving else (_NO_CARRIER_TAIL,)
        seen = self._seen
        window = seen + buf
        found: tuple[int, bytes] | None = None
        for tail in tails:
            at = window.find(tail)
            if at >= 0 and (found is None or at < found[0]):
                found = (at, tail)
        if found is not None:
            at, tail = found
            cut = at - len(seen)
            if cut > 0:
                out.append(ev.TransparentData(bytes(buf[:cut])))
            del buf[: cut + len(tail)]
            self._seen = b""
            out.append(ev.NoCarrier() if tail is _NO_CARRIER_TAIL else ev.Ok())
            return True
        hold = 0
        for tail in tails:
            for k in range(len(tail) - 1, 0 if leaving else 2, -1):
                if window.endswith(tail[:k]):
                    hold = max(hold, min(k, len(buf)))
                    break
        give = len(buf) - hold
        if give:
            data = bytes(buf[:give])
            del buf[:give]
            self._seen = (seen + data)[-2:]
            out.append(ev.TransparentData(data))
        return False
