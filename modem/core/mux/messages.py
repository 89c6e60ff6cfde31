"""The control channel's messages (27.010 5.4.6): what UIH frames on DLC 0 carry.

A message is ``type | length | value...`` (5.4.6.1).  The type octet is
bit 1 EA, bit 2 C/R (1: a command, 0: the response to one), bits 3-8 the
message kind; the length is EA-extended like a frame's, in as many octets
as it needs.  One frame may carry several messages, and a message never
spans frames (5.4.6.1).  The message's C/R bit is not the frame's: a
module's response to our MSC has message C/R 0 whatever the frame's is.

What the modules use (Quectel, SIMCom and Telit multiplexer notes, and the
Linux ``n_gsm`` and Zephyr ``modem_cmux`` drivers):

* MSC (5.4.6.3.7): a DLC's virtual V.24 signals, ``DLCI | signals [| break]``.
  The DLCI octet has EA and bit 2 set; the signals octet is ``V24`` below.
  From the host, RTC is DTR and RTR is RTS; from the module, RTC is DSR,
  RTR is CTS, IC is RI and DV is DCD.  FC set means "send me no frames on
  this DLC" (per-DLC flow control).
* FCon / FCoff (5.4.6.3.5-6): flow control for every DLC at once.
* CLD (5.4.6.3.3): close down: both sides go back to AT commands.
* Test (5.4.6.3.4): the value comes back unchanged in the response.
* PN (5.4.6.3.1): parameters of one DLC before it opens, N1 among them.
* NSC (5.4.6.3.8): the answer to a command type the receiver does not know;
  its value is that command's type octet.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "ControlMessage", "MessageType", "ModemStatus", "Parameters", "V24", "decode_messages",
    "encode_message",
]

_EA = 0x01
_CR = 0x02


class MessageType(enum.IntEnum):
    """The type octet of a command (C/R 1) with EA set; a response has 0x02 clear."""

    PN = 0x83
    PSC = 0x43
    CLD = 0xC3
    TEST = 0x23
    FCON = 0xA3
    FCOFF = 0x63
    MSC = 0xE3
    NSC = 0x13
    RPN = 0x93
    RLS = 0x53
    SNC = 0xD3


_KINDS = {int(t): t for t in MessageType}


class V24(enum.IntFlag):
    """The MSC signals octet (27.010 5.4.6.3.7), EA bit left out."""

    NONE = 0
    FC = 0x02  # flow control: the sender cannot take frames on this DLC
    RTC = 0x04  # ready to communicate: DTR from the host, DSR from the module
    RTR = 0x08  # ready to receive: RTS from the host, CTS from the module
    IC = 0x40  # incoming call: RI
    DV = 0x80  # data valid: DCD


@dataclass(frozen=True, slots=True)
class ControlMessage:
    """One message.  ``kind`` is the type octet with C/R set (``MessageType``
    or, for a kind we do not know, the raw octet)."""

    kind: MessageType | int
    command: bool
    value: bytes = field(default=b"")


def _length_octets(size: int) -> bytes:
    out = bytearray()
    while True:
        out.append((size & 0x7F) << 1)
        size >>= 7
        if not size:
            out[-1] |= _EA
            return bytes(out)


def encode_message(message: ControlMessage) -> bytes:
    """The bytes of ``message`` for the information field of a DLC 0 UIH frame."""
    kind = int(message.kind) | _EA
    kind = kind | _CR if message.command else kind & ~_CR
    return bytes((kind,)) + _length_octets(len(message.value)) + message.value


def decode_messages(info: bytes) -> tuple[list[ControlMessage], bool]:
    """The messages of one frame, and whether all of ``info`` made messages.

    A broken tail (a type octet without EA, a length past the end) is left
    out and reported by the False; what came before it is kept.
    """
    messages: list[ControlMessage] = []
    pos = 0
    while pos < len(info):
        octet = info[pos]
        if not octet & _EA:
            return messages, False
        size, shift, pos = 0, 0, pos + 1
        while True:
            if pos >= len(info) or shift > 14:
                return messages, False
            size |= (info[pos] >> 1) << shift
            shift += 7
            pos += 1
            if info[pos - 1] & _EA:
                break
        if pos + size > len(info):
            return messages, False
        kind = octet | _CR
        messages.append(ControlMessage(_KINDS.get(kind, kind), bool(octet & _CR),
                                       bytes(info[pos:pos + size])))
        pos += size
    return messages, True


@dataclass(frozen=True, slots=True)
class ModemStatus:
    """An MSC's value: the DLC, its V.24 signals and, if given, the break octet."""

    dlci: int
    signals: V24
    brk: int | None = None

    def encode(self) -> bytes:
        out = bytes((self.dlci << 2 | _CR | _EA, int(self.signals) | _EA))
        return out if self.brk is None else out + bytes((self.brk | _EA,))

    @classmethod
    def decode(cls, value: bytes) -> ModemStatus | None:
        """None when ``value`` is not an MSC value (fewer than two octets)."""
        if len(value) < 2 or not value[0] & _EA:
            return None
        signals = V24(value[1] & (V24.FC | V24.RTC | V24.RTR | V24.IC | V24.DV))
        return cls(value[0] >> 2, signals, value[2] if len(value) > 2 else None)


@dataclass(frozen=True, slots=True)
class Parameters:
    """A PN's value (27.010 5.4.6.3.1): the DLC and what it runs with.

    ``t1`` is in tens of milliseconds, ``n1`` the most information bytes in
    one frame, ``n2`` retransmissions, ``k`` the window (error recovery only).
    Frame type and convergence layer are always UIH and type 1 here.
    """

    dlci: int
    n1: int
    priority: int = 0
    t1: int = 10
    n2: int = 3
    k: int = 2

    def encode(self) -> bytes:
        return bytes((self.dlci & 0x3F, 0, self.priority & 0x3F, self.t1 & 0xFF,
                      self.n1 & 0xFF, self.n1 >> 8 & 0xFF, self.n2 & 0xFF, self.k & 0x07))

    @classmethod
    def decode(cls, value: bytes) -> Parameters | None:
        """None unless ``value`` is the eight octets of a PN."""
        if len(value) != 8:
            return None
        return cls(dlci=value[0] & 0x3F, n1=value[4] | value[5] << 8, priority=value[2] & 0x3F,
                   t1=value[3], n2=value[6], k=value[7] & 0x07)
