"""``ReaderMode``: how ``AtConnection`` reads the module's next bytes (sans-I/O)."""

from __future__ import annotations

import enum

__all__ = ["ReaderMode"]


class ReaderMode(enum.Enum):
    """What ``AtConnection`` does with the next bytes from the module."""

    LINES = "lines"
    """Lines ending in CR LF (result codes, information, echo, URCs) and the
    ``> `` prompt of a ``Framing.PROMPT_PAYLOAD`` command."""

    DISCARDING = "discarding"
    """The rest of a line longer than ``max_line``, dropped up to its CR LF."""

    RECV_PAYLOAD = "recv payload"
    """The n raw bytes announced by ``+QSSLRECV: <n>`` (manual 2.1.4)."""

    PUSH_PAYLOAD = "push payload"
    """The len raw bytes announced by ``+QSSLURC: "recv",<id>,<len>``
    (direct push mode, manual 2.2.1)."""

    FRAME_END = "frame end"
    """After a payload: the next two bytes must be CR LF, or the payload did
    not end where its length said (``modem.core.frames``)."""

    SKIPPING = "skipping"
    """A bounded run of bytes dropped: the rest of a payload nobody will use
    (a read given up, a push over its bound), or of a frame whose end was lost."""

    TRANSPARENT = "transparent"
    """Raw data after ``CONNECT``, up to ``\\r\\nNO CARRIER\\r\\n``."""

    LEAVING_TRANSPARENT = "leaving transparent"
    """Raw data after the host sent ``+++``, up to ``NO CARRIER`` or the
    escape's ``\\r\\nOK\\r\\n`` (manual 1.3)."""
