"""Errors that end a socket's stream because it can no longer be shown complete.

Each is a ``StreamHole``: some of the bytes the server sent may be missing
(or out of place), so the stream must not go on and must not end cleanly;
the proxy resets the client (docs/reliability.md, "The rule").  They are the
modem layer's errors like the others (``modem.core.errors``); this module
keeps their family together.
"""

from __future__ import annotations

from modem.core.errors import LINE_LOSS_HINT, AtProtocolError, ModemError, ModuleLost

__all__ = ["BufferedDataUnreadable", "EndUnconfirmed", "LineFramingLost", "LineSyncLost",
           "PushDataLost", "PushOrderUnknown", "StreamHole", "TransparentEndUnproven",
           "is_line_noise"]

class StreamHole(ModemError):
    """The socket's stream may have a hole: it ends, and its client is reset."""


class PushDataLost(StreamHole):
    """A push frame for this socket did not line up (bytes lost on the line) or
    exceeded its bound: its data was dropped (``modem.core.frames``)."""

    hint = LINE_LOSS_HINT

    def __init__(self, client_id: int, reason: str) -> None:
        super().__init__(f"socket {client_id}: pushed data lost: {reason}")
        self.client_id = client_id


class LineSyncLost(StreamHole):
    """The reader lost its place in the module's output: any push-mode socket's
    data in the bytes it dropped is gone."""

    hint = LINE_LOSS_HINT

    def __init__(self, client_id: int, reason: str) -> None:
        super().__init__(f"socket {client_id}: the serial line lost its place ({reason})")
        self.client_id = client_id


class EndUnconfirmed(StreamHole):
    """The peer closed, and the module refused the read that would have shown
    its buffer empty (``AT+QSSLRECV`` answered an error, not ``+QSSLRECV: 0``),
    or, for a push-mode socket whose "closed" URC was lost on a busy line, the
    switch to buffer mode that would have shown it."""

    WORDS = "closed by the peer, and whether everything was read is unknown"
    """What every such message says (a log reader can look for it)."""

    def __init__(self, client_id: int, detail: str) -> None:
        super().__init__(f"socket {client_id}: {self.WORDS} ({detail})")
        self.client_id = client_id


class PushOrderUnknown(StreamHole):
    """While it pushed, the module said data waits in its buffer, and pushed data
    was already handed out: kept data (older, firmware that keeps its buffer on
    the switch back to push) or a switch to buffer mode on the AT console
    (newer), and ``AT+QSSLSTATE`` did not say which: the order cannot be known."""

    hint = "the module kept data in its buffer while it pushed (firmware that keeps its " \
           "buffer on the switch back to push: later sockets stay in buffer mode once they " \
           "fall behind), or AT+QISWTMD was sent on the AT console"

    def __init__(self, client_id: int) -> None:
        super().__init__(f"socket {client_id}: buffered and pushed data arrived in an "
                         "order that cannot be restored")
        self.client_id = client_id


class BufferedDataUnreadable(StreamHole):
    """A push-mode socket's module said data waits in its buffer
    (``+QSSLURC: "recv",<id>``) and then refused to hand it over."""

    hint = "the module holds data it will not hand over in push mode: use --access-mode buffer"

    def __init__(self, client_id: int) -> None:
        super().__init__(f"socket {client_id}: the module announced buffered data and refused "
                         "to hand it over")
        self.client_id = client_id


class TransparentEndUnproven(StreamHole):
    """A transparent-mode session ended in a way that cannot be shown clean: an
    end marker (``NO CARRIER``, the escape's ``OK``) while the module still
    held the socket in data mode (a server's bytes looked like the marker), a
    second marker on the line, an escape nobody answered (the ``+++`` may have
    gone to the server as data)."""

    hint = ("a server's data looked like the end of transparent mode; maps that carry "
            "such data can stay out of it (transparent = never)")

    def __init__(self, client_id: int, detail: str) -> None:
        super().__init__(f"socket {client_id}: transparent mode ended unproven ({detail})")
        self.client_id = client_id


class LineFramingLost(ModuleLost):
    """The reader lost its place in the module's output (a garbled push header, a
    frame whose end could not be found): what follows may be a server's data
    read as the module's answers.  The line starts over as after a lost module:
    every socket fails, the module is brought up again, and its bring-up closes
    the sockets it still holds (docs/reliability.md)."""

    hint = LINE_LOSS_HINT

    def __init__(self, reason: str) -> None:
        super().__init__(f"the module's output lost its framing ({reason}); starting over")


def is_line_noise(failure: ModemError | None) -> bool:
    """Whether ``failure`` came from bytes lost on the line (the framing broke), not from
    a state of the module: the next life retries soon and, until its reader finds its
    place, believes no answer it cannot place."""
    return isinstance(failure, LineFramingLost) or (
        isinstance(failure, AtProtocolError) and failure.side == "module")
