"""Events that ``AtConnection`` produces from the module's output.

Small frozen classes in the manner of h11's events.  Three families:

* final results, which end the command in flight (``Ok``, ``Error``,
  ``CmeError``, ``SendOk``, ``SendFail``, ``Connect``, ``NoCarrier``);
* things that belong to the command in flight (``InfoLine``, ``Echo``,
  ``Prompt``, ``RecvPayload``, and ``Connect`` where it is intermediate);
* unsolicited result codes (``Urc`` subclasses), which may arrive at any
  moment, also between a command and its final result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modem.core.errors import LINE_LOSS_HINT


class Event:
    """Base of every event."""

    __slots__ = ()


class FinalResult(Event):
    """A result code that ends the command in flight."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Ok(FinalResult):
    """``OK``."""


@dataclass(frozen=True, slots=True)
class Error(FinalResult):
    """A bare ``ERROR`` (details, if any, via ``AT+QIGETERROR``)."""


@dataclass(frozen=True, slots=True)
class CmeError(FinalResult):
    """``+CME ERROR: <n>``; ``code`` is None when the module gave a text."""

    code: int | None
    text: str


@dataclass(frozen=True, slots=True)
class SendOk(FinalResult):
    """``SEND OK``: the module took the payload of ``AT+QSSLSEND``."""


@dataclass(frozen=True, slots=True)
class SendFail(FinalResult):
    """``SEND FAIL``: the module's send buffer is full; nothing was taken."""


@dataclass(frozen=True, slots=True)
class Connect(FinalResult):
    """``CONNECT``: transparent mode entered, or (``AT+QFUPL``) ready for data.

    For commands whose payload follows ``CONNECT`` it is intermediate and
    the command stays in flight.
    """


@dataclass(frozen=True, slots=True)
class NoCarrier(FinalResult):
    """``NO CARRIER``."""


@dataclass(frozen=True, slots=True)
class InfoLine(Event):
    """An information line of the command in flight, e.g. ``+QIACT: 1,1,1,"10.0.0.2"``."""

    text: str


@dataclass(frozen=True, slots=True)
class Echo(Event):
    """The module echoing the command line (echo still on, ``ATE1``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Prompt(Event):
    """The ``> `` prompt of ``AT+QSSLSEND``: write the payload now."""


@dataclass(frozen=True, slots=True)
class RecvPayload(Event):
    """The data of ``+QSSLRECV: <n>`` (``b""`` when the buffer was empty)."""

    data: bytes = field(repr=False)  # user data: never in a log line


@dataclass(frozen=True, slots=True)
class TransparentData(Event):
    """Raw bytes received while the line is in transparent mode.

    Delivered as they arrive, so one stream may come in any number of pieces;
    ``NoCarrier`` (or, after ``+++``, ``Ok``) ends it.
    """

    data: bytes = field(repr=False)


LOST_BYTES_HINT = f"if it repeats, {LINE_LOSS_HINT}"


@dataclass(frozen=True, slots=True)
class ProtocolViolation(Event):
    """The module broke the framing: a line longer than the bound (discarded
    up to its end), a payload length out of range, an answer out of step
    (``answer_shape``).  Never raised; ``hint`` is what the log tells the user."""

    reason: str
    hint: str = field(default=LOST_BYTES_HINT, compare=False)


class Urc(Event):
    """An unsolicited result code."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class SslRecv(Urc):
    """``+QSSLURC: "recv",<id>``: data is waiting (a notification, not a count)."""

    client_id: int


@dataclass(frozen=True, slots=True)
class SslPushData(Urc):
    """``+QSSLURC: "recv",<id>,<len>`` CRLF data: direct push mode delivery."""

    client_id: int
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class PushFrameBroken(Urc):
    """A push frame for ``client_id`` did not line up (bytes lost on the line) or
    exceeded its bound: its data was dropped, so that socket's stream has a hole."""

    client_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class LineLost(Urc):
    """The reader lost its place in the module's output (a garbled push header,
    a frame whose end could not be found): a run of bytes was dropped, so any
    push-mode socket's stream, and the command in flight, may have a hole."""

    reason: str


@dataclass(frozen=True, slots=True)
class SslClosed(Urc):
    """``+QSSLURC: "closed",<id>``: the peer or the network closed the socket."""

    client_id: int


@dataclass(frozen=True, slots=True)
class SslOpened(Urc):
    """``+QSSLOPEN: <id>,<err>``: outcome of a buffer or push mode open."""

    client_id: int
    err: int


@dataclass(frozen=True, slots=True)
class PdpDeactivated(Urc):
    """``+QIURC: "pdpdeact",<ctx>``: the network dropped the PDP context."""

    context_id: int


@dataclass(frozen=True, slots=True)
class ModuleReady(Urc):
    """``RDY``: the module (re)started; every socket and setting is gone."""


@dataclass(frozen=True, slots=True)
class ModulePoweredDown(Urc):
    """``POWERED DOWN``."""


@dataclass(frozen=True, slots=True)
class UnknownUrc(Urc):
    """Any other unsolicited line; never an error."""

    text: str
