"""27.010 frames as the module reads and writes them (basic option, 5.2.6).

``F9 | address | control | length | information | FCS | F9``: the address
octet is EA (bit 1) | C/R (bit 2) | DLCI (bits 3-8); the control octet the
frame type with P/F (0x10); the length one octet (EA set, 0-127) or two
(EA clear in the first); the FCS the ones' complement of a CRC-8
(x^8 + x^2 + x + 1) over address, control and length, and over the
information too except in UIH frames (5.2.1.6, annex B).

The module is the responding station (5.2.1.2, 5.4.3.1): its responses
(UA, DM) carry C/R 1, its commands (UIH, and the DISC it never sends) C/R 0.

``FrameReader`` reads byte by byte, as firmware does: it hunts for a flag,
then takes the header, the information and the FCS; anything broken drops
the frame and it hunts again (a flag where one does not belong opens the
next frame).  It does not look back into a dropped frame.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

FLAG = 0xF9
POLL = 0x10
SABM, UA, DM, DISC, UIH, UI = 0x2F, 0x63, 0x0F, 0x43, 0xEF, 0x03
FRAME_TYPES = frozenset({SABM, UA, DM, DISC, UIH, UI})

# Control channel message types, command form (27.010 5.4.6.3); C/R is bit 2.
PN, PSC, CLD, TEST, FCON, FCOFF, MSC, NSC = 0x83, 0x43, 0xC3, 0x23, 0xA3, 0x63, 0xE3, 0x13
# MSC's signals octet (5.4.6.3.7).
FC, RTC, RTR, IC, DV = 0x02, 0x04, 0x08, 0x40, 0x80


def checksum(octets: bytes) -> int:
    """The FCS of ``octets``: annex B's CRC, shifted bit by bit, least significant first."""
    register = 0xFF
    for octet in octets:
        for bit in range(8):
            if (register ^ (octet >> bit)) & 1:
                register = (register >> 1) ^ 0xE0
            else:
                register >>= 1
    return 0xFF - register


def build(dlci: int, kind: int, info: bytes = b"", *, response: bool = False,
          final: bool = False) -> bytes:
    """One frame from the module: ``response`` for UA and DM (C/R 1)."""
    address = 0x01 | (0x02 if response else 0) | dlci << 2
    control = kind | (POLL if final else 0)
    n = len(info)
    length = bytes([n << 1 | 1]) if n <= 127 else bytes([(n & 0x7F) << 1, n >> 7])
    head = bytes([address, control]) + length
    fcs = checksum(head if kind == UIH else head + info)
    return b"\xf9" + head + info + bytes([fcs]) + b"\xf9"


def flag_fcs_size(dlci: int, most: int) -> int | None:
    """The largest size from 2 to ``most`` whose UIH frame from the module has the
    FCS 0xF9 (a lost information byte then goes unseen by the FCS); None if none."""
    for size in range(most, 1, -1):
        if build(dlci, UIH, bytes(size))[-2] == 0xF9:
            return size
    return None


def message(kind: int, value: bytes = b"", *, command: bool = False) -> bytes:
    """A control-channel message; ``kind`` in command form, cleared to a response."""
    octet = kind if command else kind & ~0x02
    n = len(value)
    length = bytes([n << 1 | 1]) if n <= 127 else bytes([(n & 0x7F) << 1, n >> 7 << 1 | 1])
    return bytes([octet]) + length + value


def messages(info: bytes) -> list[tuple[int, bool, bytes]] | None:
    """``(kind in command form, is a command, value)`` for each message, or None
    when ``info`` does not split into whole messages."""
    out = []
    rest = memoryview(info)
    while rest:
        octet = rest[0]
        if not octet & 1 or len(rest) < 2:
            return None
        n, used = rest[1] >> 1, 2
        if not rest[1] & 1:
            if len(rest) < 3 or not rest[2] & 1:
                return None  # a value over 16383 bytes: no module message is
            n, used = n | rest[2] >> 1 << 7, 3
        if len(rest) < used + n:
            return None
        out.append((octet | 0x02, bool(octet & 0x02), bytes(rest[used:used + n])))
        rest = rest[used + n:]
    return out


@dataclass(frozen=True)
class HostFrame:
    """A frame from the host; ``kind`` is the control octet without P/F."""

    dlci: int
    kind: int
    poll: bool
    info: bytes


class _Step(enum.Enum):
    HUNT = 1
    ADDRESS = 2
    CONTROL = 3
    LENGTH = 4
    LENGTH2 = 5
    INFO = 6
    FCS = 7
    CLOSE = 8


class FrameReader:
    """The host's frames from bytes in pieces; ``dropped`` counts broken ones."""

    def __init__(self, max_info: int) -> None:
        self.max_info = max_info
        self.dropped = 0
        self._step = _Step.HUNT
        self._head = bytearray()
        self._info = bytearray()
        self._size = 0
        self._fcs = 0

    def feed(self, data: bytes) -> list[HostFrame]:
        frames: list[HostFrame] = []
        i = 0
        while i < len(data):
            if self._step is _Step.INFO:  # the information in one slice
                take = min(self._size - len(self._info), len(data) - i)
                self._info += data[i:i + take]
                i += take
                if len(self._info) == self._size:
                    self._step = _Step.FCS
                continue
            frame = self._byte(data[i])
            if frame is not None:
                frames.append(frame)
            i += 1
        return frames

    def _drop(self, octet: int) -> None:
        self.dropped += 1
        self._step = _Step.ADDRESS if octet == FLAG else _Step.HUNT

    def _byte(self, octet: int) -> HostFrame | None:
        step = self._step
        if step is _Step.HUNT:
            if octet == FLAG:
                self._step = _Step.ADDRESS
        elif step is _Step.ADDRESS:
            if octet == FLAG:
                return None  # more flags: still between frames
            self._head[:] = bytes([octet])
            if octet & 1:
                self._step = _Step.CONTROL
            else:
                self._drop(octet)
        elif step is _Step.CONTROL:
            self._head.append(octet)
            if octet & ~POLL in FRAME_TYPES:
                self._step = _Step.LENGTH
            else:
                self._drop(octet)
        elif step is _Step.LENGTH or step is _Step.LENGTH2:
            self._length(octet)
        elif step is _Step.FCS:
            self._fcs, self._step = octet, _Step.CLOSE
        else:
            return self._close(octet)
        return None

    def _length(self, octet: int) -> None:
        self._head.append(octet)
        if self._step is _Step.LENGTH:
            self._size = octet >> 1
            if not octet & 1:
                self._step = _Step.LENGTH2
                return
        else:
            self._size |= octet << 7
        self._info.clear()
        if self._size > self.max_info:
            self._drop(octet)
        else:
            self._step = _Step.INFO if self._size else _Step.FCS

    def _close(self, octet: int) -> HostFrame | None:
        if octet != FLAG:
            self._drop(octet)
            return None
        self._step = _Step.ADDRESS  # this flag may open the next frame
        address, control = self._head[0], self._head[1]
        kind = control & ~POLL
        covered = bytes(self._head) if kind == UIH else bytes(self._head) + bytes(self._info)
        if checksum(covered) != self._fcs:
            self.dropped += 1
            return None
        return HostFrame(address >> 2, kind, bool(control & POLL), bytes(self._info))
