"""Where a length-prefixed payload ends, and what to do when it does not line up (sans-I/O).

The module announces a payload's length and then writes it raw: the push
frame ``+QSSLURC: "recv",<id>,<len>`` CR LF and len bytes (manual 2.2.1),
the read answer ``+QSSLRECV: <n>`` CR LF and n bytes (manual 2.1.4).  Nothing
in the bytes says where they end, and a UART without flow control drops
bytes under load (at_device#85); the module adds no checksum.  So a
payload's end is *confirmed* before its bytes are handed out: the next unit
the module writes must start exactly where the length says.

Every unit the module writes in V1 framing starts with CR LF (a result, a
URC, the ``> `` prompt).  Some firmware also ends a payload with a CR LF of
its own (``FrameStyle.TRAILER``): the read answer always does (its ``OK``
follows as ``\\r\\n\\r\\nOK``), and so do BG96 push frames (FreeRTOS's BG96
driver, ``cellular_bg96.c``, skips "the \\r\\n after the data stream").  The
manual shows push frames without one (``FrameStyle.BARE``).  Which style a
module writes is learned from its first push frame (``frame_end``); a frame
confirmed by the wrong style would hide exactly two lost bytes, which is why
the style is not guessed per frame.  Guess: a module writes all its push
frames in one style.  If it did not, frames would look broken and their
sockets fail visibly (a reset); shifted bytes are never passed on.

When a frame does not line up, ``realign`` looks for the unit that really
follows: if up to ``LOST_BYTES_MAX`` payload bytes were lost, what was read
as the payload's last bytes is the start of that unit.  It is searched
nearest first, so bytes a server put in its payload (which lie *before* the
true end) are never taken for the module's.  When nothing lines up, the
line's position is lost: the caller drops as many bytes as the longest push
frame seen so far may still have to pass (``LINE_LOST_SLACK`` beyond it) and
resynchronises at a line end.

What this cannot catch (written down, not guessed away): a lost byte in a
push header's *length* that makes the frame end early exactly where the
server's data holds the bytes the style expects; the rest of that frame is
then read as lines.  Hardware flow control (``--rtscts``) or a USB port,
where bytes are not lost, closes that gap.
"""

from __future__ import annotations

import enum

__all__ = ["LINE_LOST_SLACK", "LOST_BYTES_MAX", "MAX_PUSH_PAYLOAD", "MAX_REFUSED_PAYLOAD",
           "TYPICAL_PUSH_PAYLOAD", "FrameEnd", "FrameStyle", "frame_end", "realign"]

MAX_PUSH_PAYLOAD = 4096
"""Bound on the payload of one ``+QSSLURC: "recv",<id>,<len>`` (push mode).

Manual 2.2.1 gives no range for ``<currentrecvlength>``; one ``AT+QSSLRECV``
reads at most ``modem.core.limits.MAX_RECV`` bytes and a push carries at most
one receive buffer's worth, so this leaves room and still bounds the buffer.
"""

MAX_REFUSED_PAYLOAD = 65536
"""An announced payload above its bound but at most this long is read and
dropped (its socket fails); a longer announcement is taken as garbled."""

TYPICAL_PUSH_PAYLOAD = 1500
"""What a push frame is taken to carry at most before a longer one was seen:
one ``AT+QSSLRECV``'s worth (``limits.MAX_RECV``); the emulator pushes that."""

LINE_LOST_SLACK = 64
"""Bytes dropped beyond the longest frame seen once the line's position is lost
(a header line and trailer): the rest of a frame that may still be passing.
The longer the drop, the more of the module's other output it swallows."""

LOST_BYTES_MAX = 8
"""How many lost payload bytes ``realign`` looks back for."""

CRLF = b"\r\n"

_UNIT_STARTS = (b"+", b"OK\r", b"ERROR", b"SEND OK", b"SEND FAIL", b"> ", b"RDY",
                b"CONNECT", b"NO CARRIER", b"POWERED DOWN")
"""How the text of a unit the module writes may begin, after its leading CR LF."""


class FrameStyle(enum.Enum):
    """How a module ends a payload."""

    TRAILER = "trailer"   # its own CR LF, then the next unit's CR LF
    BARE = "bare"         # nothing: the next unit's CR LF follows the data


class FrameEnd(enum.Enum):
    """What the bytes after a payload say about its end."""

    CONFIRMED = "confirmed"   # the next unit starts where the length said
    BROKEN = "broken"         # it does not
    UNKNOWN = "unknown"       # too few bytes yet


def _plausible(text: bytes) -> bool | None:
    """Whether ``text`` begins a unit's text; None while too few bytes came to tell."""
    for start in _UNIT_STARTS:
        if text.startswith(start):
            return True
        if len(text) < len(start) and start.startswith(text):
            return None
    return False


def _prefix(after: bytes | bytearray, expected: bytes) -> FrameEnd:
    head = bytes(after[:len(expected)])
    if head == expected:
        return FrameEnd.CONFIRMED
    return FrameEnd.UNKNOWN if expected.startswith(head) else FrameEnd.BROKEN


def frame_end(after: bytes | bytearray, style: FrameStyle | None
              ) -> tuple[FrameEnd, FrameStyle | None]:
    """Judge the bytes that follow a payload, and the style they show.

    ``TRAILER``: CR LF CR LF (the trailer, then the next unit's).  ``BARE``:
    CR LF and then anything (extra blank lines are tolerated).  ``None`` (not
    learned yet): CR LF CR LF is a trailer, CR LF and text is bare.  Only the
    payload's own two bytes are consumed by the caller.
    """
    verdict = _prefix(after, CRLF)
    if verdict is not FrameEnd.CONFIRMED:
        return verdict, style
    if style is FrameStyle.BARE:
        return FrameEnd.CONFIRMED, style
    if style is FrameStyle.TRAILER:
        return _prefix(after, CRLF + CRLF), style
    if len(after) < 3 or after[2:3] == b"\r" and len(after) < 4:
        return FrameEnd.UNKNOWN, None
    learned = FrameStyle.TRAILER if after[2:4] == CRLF else FrameStyle.BARE
    return FrameEnd.CONFIRMED, learned


def _boundary(true_after: bytes, style: FrameStyle | None) -> bool | None:
    """Whether ``true_after`` (what follows a payload's true end) is a frame end
    followed by a unit; None while more bytes are needed."""
    styles = [style] if style is not None else [FrameStyle.TRAILER, FrameStyle.BARE]
    waiting = False
    for one in styles:
        head = CRLF + CRLF if one is FrameStyle.TRAILER else CRLF
        verdict = _prefix(true_after, head)
        if verdict is FrameEnd.UNKNOWN:
            waiting = True
            continue
        if verdict is FrameEnd.BROKEN:
            continue
        text = true_after[len(head):]
        plausible = _plausible(text.lstrip(b"\r\n")) if text else None
        if plausible:
            return True
        waiting = waiting or plausible is None
    return None if waiting else False


def realign(payload: bytes, after: bytes | bytearray, style: FrameStyle | None
            ) -> int | None | bool:
    """The number of bytes ``k`` (1..``LOST_BYTES_MAX``) the payload was short:
    its last ``k`` bytes begin the frame's true end.  ``False`` when no such end
    is there (the position is lost); ``None`` while more bytes are needed."""
    for k in range(1, min(LOST_BYTES_MAX, len(payload)) + 1):
        found = _boundary(bytes(payload[-k:]) + bytes(after[:40]), style)
        if found is None:
            return None  # the nearest candidate cannot be judged yet: wait for it
        if found:
            return k
    return False
