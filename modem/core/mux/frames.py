"""3GPP TS 27.010 basic-option frames: building them and finding them in a byte stream.

A frame (27.010 5.2.1, basic option 5.2.6)::

    F9 | address | control | length (1 or 2 octets) | information | FCS | F9

* address (5.2.1.2): bit 1 EA (always 1: one address octet), bit 2 C/R,
  bits 3-8 the DLCI (0 the control channel, 1-63 the data link connections);
* control (5.2.1.3): the frame type, with the P/F bit (0x10);
* length (5.2.1.5): bit 1 EA; with EA set one octet carries 7 bits of length
  (0-127), with EA clear a second octet carries 8 more (up to 32767);
* FCS (5.2.1.6, annex B): CRC-8 with the polynomial x^8 + x^2 + x + 1 sent
  bit-reversed (0xE0), starting from 0xFF, sent as its ones' complement;
  over address, control and length for UIH frames, over the information
  too for every other type.

The basic option has no transparency: 0xF9 may stand in the information.
The length, not the next flag, says where a frame ends, and the closing
flag is checked where the length puts it.

A UIH frame's FCS covers only its header, so one whose FCS happens to be
0xF9 (a few sizes on each DLC: ``fcs_is_flag``) still ends where its
length says after losing one information byte: its old FCS is read as its
last byte, its closing flag as FCS, the next frame's opening flag as its
closing one.  The receiver would take it with its bytes shifted.  So no
such frame is sent (``sendable_size`` cuts data around those sizes), and a
received UIH frame with FCS 0xF9 whose last byte is 0xF9 (what that loss
looks like) is dropped and counted as a bad frame: a hole the layer above
sees (a reset), never shifted bytes; a good frame dropped so is rare (those
sizes, and a last byte of 0xF9).

``FrameDecoder`` never raises on input.  Whatever does not make a frame
(bytes before a flag, an address without its EA bit, an unknown control
octet, a length over the bound, a missing closing flag, a wrong FCS) is
counted in ``MuxCounters`` and skipped: after a frame whose closing flag
stands where its length says, scanning goes on at that flag; after any
other broken frame, at the byte after its opening flag, so a frame that
followed a false start is still found.  A run of flags is one flag (so
DLCI 62 with C/R 0, address 0xF9, cannot be received: nobody uses it), and
a closing flag may open the next frame, as some implementations send.
Noise right after a frame can so look like the start of another and hold
the real next frame until enough bytes arrive to refute it; ``flush``,
called when the line has been quiet, settles that at once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "FLAG", "MAX_DLCI", "MAX_LENGTH", "PF", "Frame", "FrameDecoder", "FrameType", "MuxCounters",
    "encode_frame", "fcs", "fcs_is_flag", "sendable_size",
]

FLAG = 0xF9
EA = 0x01
CR = 0x02
PF = 0x10
MAX_DLCI = 63
MAX_LENGTH = 0x7FFF
"""The most information a basic-option frame can carry (two length octets)."""

_FCS_POLYNOMIAL = 0xE0  # x^8 + x^2 + x + 1, bit-reversed (27.010 annex B)


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _FCS_POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def fcs(data: bytes | bytearray | memoryview) -> int:
    """The frame check sequence over ``data`` (27.010 5.2.1.6)."""
    crc = 0xFF
    for byte in data:
        crc = _CRC_TABLE[crc ^ byte]
    return 0xFF - crc


class FrameType(enum.IntEnum):
    """The control octet without its P/F bit (27.010 5.2.1.3)."""

    SABM = 0x2F  # set asynchronous balanced mode: open a DLC
    UA = 0x63  # unnumbered acknowledgement
    DM = 0x0F  # disconnected mode: refused, or not open
    DISC = 0x43  # disconnect: close a DLC (DLC 0: the whole multiplexer)
    UIH = 0xEF  # unnumbered information with header check: data
    UI = 0x03  # unnumbered information: data, FCS over the information too


_TYPES = {int(t): t for t in FrameType}


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as it was on the line.

    ``cr`` is the address's C/R bit as sent; ``pf`` the P/F bit.  Which side
    sends what C/R is the connection's business (``modem.core.mux.connection``).
    """

    dlci: int
    kind: FrameType
    cr: bool = False
    pf: bool = False
    info: bytes = field(default=b"", repr=False)


def encode_frame(frame: Frame) -> bytes:
    """The bytes of ``frame``, opening and closing flag included.

    ``ValueError`` for a DLCI outside 0-63 or more than ``MAX_LENGTH`` bytes.
    """
    if not 0 <= frame.dlci <= MAX_DLCI:
        raise ValueError(f"DLCI {frame.dlci} is not in 0-{MAX_DLCI}")
    size = len(frame.info)
    if size > MAX_LENGTH:
        raise ValueError(f"{size} bytes do not fit a frame (at most {MAX_LENGTH})")
    header = _header(frame.dlci, frame.kind, frame.cr, frame.pf, size)
    checked = header if frame.kind is FrameType.UIH else header + frame.info
    return bytes((FLAG,)) + header + frame.info + bytes((fcs(checked), FLAG))


def _header(dlci: int, kind: FrameType, cr: bool, pf: bool, size: int) -> bytes:
    address = dlci << 2 | (CR if cr else 0) | EA
    control = kind | (PF if pf else 0)
    length = bytes((size << 1 | EA,)) if size < 0x80 else bytes(((size << 1) & 0xFE, size >> 7))
    return bytes((address, control)) + length


def fcs_is_flag(dlci: int, cr: bool, size: int) -> bool:
    """Whether a UIH frame (P/F clear) of ``size`` bytes on ``dlci`` has the FCS 0xF9."""
    return fcs(_header(dlci, FrameType.UIH, cr, False, size)) == FLAG


def sendable_size(dlci: int, cr: bool, size: int) -> int:
    """The largest size up to ``size`` whose UIH frame's FCS is not 0xF9 (see
    the module docstring); ``size`` itself when every smaller one has it too."""
    for candidate in range(size, 0, -1):
        if not fcs_is_flag(dlci, cr, candidate):
            return candidate
    return size


@dataclass
class MuxCounters:
    """What the multiplexer skipped or refused, by kind; never an exception.

    The decoder counts framing (``frames`` good ones; ``garbage_bytes``
    outside any frame; ``bad_frames`` with a broken address, control octet
    or closing flag, or that may have lost an information byte; ``bad_fcs``;
    ``too_long``: a length over the bound);
    the connection counts the rest (``unknown_dlc``: a frame for a DLC that
    is not open; ``bad_messages``: control-channel messages that do not
    parse; ``unexpected``: frames that make no sense in the state they came
    in, such as a UA nobody asked for); the session counts our MSCs it sent
    again for want of an answer (``status_resent``) and those never answered
    (``status_unanswered``).
    """

    frames: int = 0
    garbage_bytes: int = 0
    bad_frames: int = 0
    bad_fcs: int = 0
    too_long: int = 0
    unknown_dlc: int = 0
    bad_messages: int = 0
    unexpected: int = 0
    status_resent: int = 0
    status_unanswered: int = 0

    @property
    def dropped(self) -> int:
        """What the decoder dropped: bytes outside frames and broken frames."""
        return self.garbage_bytes + self.bad_frames + self.bad_fcs + self.too_long

    @property
    def problems(self) -> int:
        """Everything counted except good frames."""
        return self.dropped + self.unknown_dlc + self.bad_messages + self.unexpected


class FrameDecoder:
    """Finds frames in bytes fed in pieces of any size.

    ``max_info`` bounds the information field: a frame that announces more
    is counted as ``too_long`` and skipped, so the buffer never holds more
    than ``max_info`` plus seven bytes of one frame.
    """

    def __init__(self, max_info: int = MAX_LENGTH, counters: MuxCounters | None = None) -> None:
        if not 0 < max_info <= MAX_LENGTH:
            raise ValueError(f"max_info must be 1-{MAX_LENGTH}, not {max_info}")
        self.max_info = max_info
        self.counters = counters if counters is not None else MuxCounters()
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes held for a frame not complete yet."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray) -> list[Frame]:
        """The frames that ``data`` completes, in order."""
        self._buf += data
        frames: list[Frame] = []
        while (frame := self._next()) is not None:
            if isinstance(frame, Frame):
                frames.append(frame)
        return frames

    def flush(self) -> list[Frame]:
        """The line went quiet: give up on the frame being collected.

        Everything held is stale then, so each false start in it is counted
        and skipped, and the frames found in the held bytes are returned.
        A false start (noise that looks like a header) would otherwise hold
        the next real frame until enough bytes arrive to refute it.  Call it
        only after a quiet spell longer than a frame takes on the line.
        """
        frames: list[Frame] = []
        while len(self._buf) > 1:
            self._skip_flag(self._buf, "bad_frames")
            frames += self.feed(b"")
        return frames

    def _next(self) -> Frame | bool | None:
        """One step: a frame, True when something was skipped, None for "need more"."""
        buf = self._buf
        start = buf.find(FLAG)
        if start < 0:
            self.counters.garbage_bytes += len(buf)
            buf.clear()
            return None
        if start:
            self.counters.garbage_bytes += start
            del buf[:start]
        flags = 1
        while flags < len(buf) and buf[flags] == FLAG:
            flags += 1
        del buf[: flags - 1]  # keep one flag
        if len(buf) < 4:
            return None
        return self._parse(buf)

    def _parse(self, buf: bytearray) -> Frame | bool | None:
        address, control, first = buf[1], buf[2], buf[3]
        kind = _TYPES.get(control & ~PF)
        if not address & EA or kind is None:
            return self._skip_flag(buf, "bad_frames")
        if first & EA:
            size, header = first >> 1, 4
        elif len(buf) < 5:
            return None
        else:
            size, header = first >> 1 | buf[4] << 7, 5
        if size > self.max_info:
            return self._skip_flag(buf, "too_long")
        end = header + size  # the FCS octet; the closing flag follows it
        if len(buf) < end + 2:
            return None
        if buf[end + 1] != FLAG:
            return self._skip_flag(buf, "bad_frames")
        checked = buf[1:header] if kind is FrameType.UIH else buf[1:end]
        if fcs(checked) != buf[end]:
            self.counters.bad_fcs += 1
            del buf[: end + 1]  # the closing flag may open the next frame
            return True
        if kind is FrameType.UIH and buf[end] == FLAG and size and buf[end - 1] == FLAG:
            # Maybe a frame that lost an information byte (module docstring).
            self.counters.bad_frames += 1
            del buf[:end]  # its FCS and closing flag: flags to scan on from
            return True
        frame = Frame(address >> 2, kind, bool(address & CR), bool(control & PF),
                      bytes(buf[header:end]))
        del buf[: end + 1]
        self.counters.frames += 1
        return frame

    def _skip_flag(self, buf: bytearray, counter: str) -> bool:
        """A false start: count it and look again from the byte after its flag."""
        setattr(self.counters, counter, getattr(self.counters, counter) + 1)
        del buf[:1]
        return True
