"""Which push headers one lost byte can forge, and how to tell (sans-I/O).

A push frame's header is ``+QSSLURC: "recv",<id>,<len>`` (manual 2.2.1).  A
UART without flow control may drop any one of its bytes.  Most losses make a
line no valid header looks like; those are *garbled* (``garbled``), and the
payload that follows, unmarked, must not be read as lines.  Two kinds of loss
make a line that does look valid:

* a lost digit of a two-digit ID: ``"recv",11,n`` reads ``"recv",1,n`` and
  ``"recv",10,n`` reads ``"recv",1,n`` or ``"recv",0,n``; the frame then lines
  up and its bytes would go to another socket;
* a lost comma: ``"recv",1,1`` reads ``"recv",11``, the short URC that only
  says data waits, and the one payload byte that follows is read as a line.
  Other lost commas make an ID over 11 (``"recv",2,5`` reads ``"recv",25``)
  or a number with a leading zero (``"recv",0,5`` reads ``"recv",05``),
  which the module never writes: garbled too.

So IDs 1, 10 and 11 are not opened in push mode (``BUFFER_ONLY_IDS``): in
buffer mode the read command names the socket, and a push header that names
one of them, or a lost comma's ``"recv",1x``, can be no real push.  Under the
07.10 multiplexer no byte is lost unseen (``push_allowed``): a DLC frame that
lost one no longer ends where its length says and is dropped, which fails
every push socket (``modem.core.mux.frames``; the sizes whose FCS is 0xF9
are never sent and dropped when their last byte is 0xF9), so there these IDs
push too.

A lost digit of the *length* is caught where the frame ends (``frames``).
"""

from __future__ import annotations

import re

__all__ = ["BUFFER_ONLY_IDS", "garbled", "push_allowed"]

BUFFER_ONLY_IDS = frozenset({1, 10, 11})
"""Socket IDs not opened in push mode on a line that can lose a byte unseen: one
lost byte turns a push header of 10 or 11 into one of 0 or 1, and one of 1 into
the short URC of 10 or 11."""


def push_allowed(client_id: int, *, framed: bool) -> bool:
    """Whether ``client_id`` may be opened in push mode; ``framed``: every byte
    of the module's output comes in a frame whose loss is seen (CMUX's DLCs)."""
    return framed or client_id not in BUFFER_ONLY_IDS


_HEAD = '+QSSLURC: "recv",'
_NUMBERS = r"\s*[0-9]+\s*,\s*[0-9]+\s*$"
# The header's name with any one byte lost (the whole name is "+QSSLURC:" checks).
_NAME_SHORT = re.compile(
    "^(?:" + "|".join(re.escape(_HEAD[:i] + _HEAD[i + 1:]) for i in range(len(_HEAD)))
    + ")" + _NUMBERS)
# A "+QSSLURC:" line that did not parse, or named no possible socket: a lost
# comma, quote or digit: two commas, "recv" then numbers, "recv" and an ID over 11
# (a notice that lost a quote, ``"recv,10``, stays a notice: no payload follows).
_SSLURC_SHORT = re.compile(
    r',.*,|recv.*[0-9]\s*,\s*[0-9]|recv"\s*,\s*[0-9]{2,}|recv\W*,\s*[0-9]{3,}')
_LEADING_ZERO = re.compile(r",\s*0[0-9]")


def garbled(text: str, *, parsed: bool) -> bool:
    """Whether ``text``, a line of the module's output, is a push header that lost
    a byte.  ``parsed``: it parsed as a ``+QSSLURC:`` of a possible socket."""
    if parsed:
        return bool(_LEADING_ZERO.search(text))
    if text.startswith(_HEAD[:9]):
        return bool(_SSLURC_SHORT.search(text))
    return bool(_NAME_SHORT.match(text))
