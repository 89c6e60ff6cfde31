"""Sans-I/O AT protocol for Quectel modules, in the manner of h11.

``AtConnection`` turns the bytes a module writes into ``modem.core.events`` and
the host's ``Command`` objects (``modem.core.at_command``, re-exported) into
bytes.  No I/O: the driver feeds ``receive_data`` and writes what
``send_command`` / ``send_payload`` return.

Framing it understands (manual 2.1, 2.2 and what real firmware does):

* lines end with CR LF; empty lines are skipped; command echo (``ATE1``)
  comes back as the command text ending in CR and is reported as ``Echo``;
* the ``AT+QSSLSEND`` prompt is ``> `` with no line end;
* ``+QSSLRECV: <n>`` CR LF is followed by exactly n raw bytes, and the
  push-mode URC ``+QSSLURC: "recv",<id>,<len>`` CR LF by len raw bytes; the
  payload may hold anything, ``\\r\\nOK\\r\\n`` and ``> `` included, and its
  end is confirmed by the CR LF that follows (``modem.core.frames``), and a
  header one lost byte garbled is caught (``modem.core.push_headers``);
* URCs may arrive at any moment, also between a command and its result;
* after the ``CONNECT`` of a ``Framing.DATA_MODE`` command every byte is
  ``TransparentData`` until its end marker (``transparent_data``).

Every buffer is bounded: a line longer than ``max_line`` becomes a
``ProtocolViolation`` event and is discarded up to its end.  An announced
payload is never read as lines, also when it is refused.
"""

from __future__ import annotations

import re

from modem.core import events as ev
from modem.core import push_headers
from modem.core.answer_shape import FINAL_RESULTS as _FINALS
from modem.core.answer_shape import AnswerProgress
from modem.core.at_command import Command, Framing
from modem.core.errors import AtProtocolError
from modem.core.frames import (
    LINE_LOST_SLACK,
    MAX_PUSH_PAYLOAD,
    MAX_REFUSED_PAYLOAD,
    TYPICAL_PUSH_PAYLOAD,
    FrameEnd,
    FrameStyle,
    frame_end,
    realign,
)
from modem.core.limits import CLIENT_IDS
from modem.core.reader_mode import ReaderMode
from modem.core.transparent_data import TransparentScanner
from modem.core.urc_lines import known_urc

__all__ = ["MAX_PUSH_PAYLOAD", "AtConnection", "Command", "Framing", "ReaderMode"]


# Numbers are ASCII digits only (``str.isdigit`` accepts "²", which ``int``
# rejects) and short, so ``int`` never meets its 4300-digit limit.
_NUM = r"([0-9]{1,12})"
_CME = re.compile(r"^\+CM[ES] ERROR:\s*(.*)$")
_CME_CODE = re.compile(r"[0-9]{1,12}")
_SSLURC_HEAD = "+QSSLURC:"
_SSLURC = re.compile(rf'^\+QSSLURC:\s*"(\w+)"\s*,\s*{_NUM}(?:\s*,\s*{_NUM})?\s*$')
_RECV_HEAD = re.compile(rf"^\+QSSLRECV:\s*{_NUM}\s*$")

_PAYLOAD_MODES = (ReaderMode.RECV_PAYLOAD, ReaderMode.PUSH_PAYLOAD)
_TRANSPARENT_MODES = (ReaderMode.TRANSPARENT, ReaderMode.LEAVING_TRANSPARENT)


class AtConnection:
    """The host's side of one AT command channel.

    One command is in flight at a time (AT is half duplex): ``command``, or
    ``None`` when the channel is idle.  URCs are produced whether or not a
    command is in flight.  ``reader_mode``: how the next bytes will be read.
    """

    def __init__(self, *, max_line: int = 4096, push_style: FrameStyle | None = None,
                 distrustful: bool = False) -> None:
        """``push_style``: how this module ends push frames, when known; ``distrustful``:
        the line's place was lost before (``_lose_line``): its next lines are not believed."""
        self.max_line = max_line
        self.push_style = push_style
        """How this module ends a push frame; learned from its first one (``frames``)."""
        self._buf = bytearray()
        self._mode = ReaderMode.LINES
        # RECV_PAYLOAD, PUSH_PAYLOAD: bytes due, bytes collected, whose (a push).
        self._payload_left = 0
        self._payload = bytearray()
        self._push_id = 0
        self._refused = False  # the push being read exceeds its bound: dropped, not delivered
        self._longest_push = TYPICAL_PUSH_PAYLOAD  # bounds a drop once the line is lost
        # Bytes of lines after a lost position that may be a payload.
        self._distrust = TYPICAL_PUSH_PAYLOAD + LINE_LOST_SLACK if distrustful else 0
        # FRAME_END: the payload waiting for its end to be confirmed, and whose.
        self._frame = b""
        self._frame_is_push = False
        # SKIPPING: bytes still to drop, and whether to drop up to a line end after.
        self._skip_left = 0
        self._skip_to_line_end = False
        self._scanner = TransparentScanner()  # TRANSPARENT, LEAVING_TRANSPARENT
        self._command: Command | None = None
        self._payload_requested = False  # a prompt or CONNECT came: the module waits
        self._progress = AnswerProgress()  # what the command's answer showed so far

    # -- host side ---------------------------------------------------------

    @property
    def command(self) -> Command | None:
        return self._command

    @property
    def reader_mode(self) -> ReaderMode:
        return self._mode

    @property
    def transparent(self) -> bool:
        """The line carries raw data, also after ``leave_transparent`` until the
        module's ``OK`` or ``NO CARRIER`` (what it sent before ``+++`` is data)."""
        return self._mode in _TRANSPARENT_MODES

    def send_command(self, command: Command) -> bytes:
        """Bytes to write for ``command``; it is in flight until its final result.

        The text must be printable ASCII (a CR or LF in it would end the line
        early); anything else raises ``AtProtocolError`` and sends nothing.
        """
        if self._command is not None:
            raise AtProtocolError(
                f"cannot send {command.loggable!r}: {self._command.loggable!r} is in flight")
        if self.transparent:
            raise AtProtocolError("cannot send a command in transparent mode; leave it first")
        if not (command.text.isascii() and command.text.isprintable()):
            raise AtProtocolError(f"{command.loggable!r} is not printable ASCII")
        data = command.encode()
        self._command = command
        self._payload_requested = False
        self._progress = AnswerProgress()
        return data

    def send_payload(self, data: bytes) -> bytes:
        """Bytes to write after ``Prompt`` (or ``AT+QFUPL``'s ``CONNECT``)."""
        cmd = self._command
        if cmd is None or not self._payload_requested:
            raise AtProtocolError("no command is waiting for a payload")
        if cmd.payload_len is not None and len(data) != cmd.payload_len:
            raise AtProtocolError(
                f"{cmd.loggable} wants {cmd.payload_len} bytes, not {len(data)}")
        self._payload_requested = False
        return bytes(data)

    def abort_command(self) -> None:
        """Forget the command in flight (the host gave up on it after its timeout).

        A ``+QSSLRECV`` payload being collected is dropped, and so are its bytes
        still to come (a server's data, never read as lines); late lines of that
        command come as URCs, so resynchronise before trusting the line.  A push
        payload is kept.  Aborting ``leave_transparent``'s ``+++``: command mode."""
        if self._mode is ReaderMode.LEAVING_TRANSPARENT:
            self._mode = ReaderMode.LINES
            self._scanner.reset()
        elif self._mode is ReaderMode.RECV_PAYLOAD:
            self._skip(self._payload_left, to_line_end=False)
            self._payload_left = 0
            self._payload.clear()
        elif self._mode is ReaderMode.FRAME_END and not self._frame_is_push:
            self._frame = b""
            self._mode = ReaderMode.LINES
        self._command = None
        self._payload_requested = False

    @property
    def transparent_tail_held(self) -> int:
        """Bytes held back as a possible end marker (``transparent_data``)."""
        return self._scanner.held if self.transparent else 0

    def release_transparent_tail(self) -> list[ev.Event]:
        """The held tail is data (the caller proved it): ``TransparentData``."""
        out: list[ev.Event] = []
        self._scanner.release(self._buf, out)
        return out

    def leave_transparent(self) -> bytes:
        """``+++`` (the caller keeps the guard time of silence either side); the
        module's ``OK`` (manual 1.3) ends the pseudo-command this puts in flight."""
        if self._mode is ReaderMode.LEAVING_TRANSPARENT:
            raise AtProtocolError("already leaving transparent mode")
        if self._mode is not ReaderMode.TRANSPARENT:
            raise AtProtocolError("not in transparent mode")
        self._command = Command("+++", timeout=3.0)
        self._mode = ReaderMode.LEAVING_TRANSPARENT
        return b"+++"

    # -- module side -------------------------------------------------------

    def receive_data(self, data: bytes | bytearray) -> list[ev.Event]:
        """Feed bytes from the module; returns the events they complete."""
        self._buf += data
        out: list[ev.Event] = []
        while self._buf:
            mode = self._mode
            if mode in _TRANSPARENT_MODES:
                more = self._take_transparent(out)
            elif mode in _PAYLOAD_MODES:
                more = self._take_payload(out)
            elif mode is ReaderMode.FRAME_END:
                more = self._take_frame_end(out)
            elif mode is ReaderMode.SKIPPING:
                more = self._take_skipped()
            elif mode is ReaderMode.DISCARDING:
                more = self._skip_long_line()
            else:
                more = self._take_line(out)
            if not more:
                break
        return out

    def _take_line(self, out: list[ev.Event]) -> bool:
        """Read one line (or the prompt); False when it is not complete yet."""
        buf = self._buf
        # Skip blank lines and stray line ends between results.
        i = 0
        n = len(buf)
        while i < n and buf[i] in (13, 10):
            i += 1
        if i == n:
            # Keep a lone CR: it may be the start of a CR LF.
            del buf[: n - 1 if buf[-1] == 13 else n]
            return False
        if i:
            del buf[:i]
        cmd = self._command
        if (cmd is not None and cmd.framing is Framing.PROMPT_PAYLOAD
                and not self._payload_requested and buf[0] == 0x3E and not self._distrust):
            if len(buf) < 2:
                return False
            if buf[1] == 0x20:
                del buf[:2]
                self._payload_requested = self._progress.prompted = True
                out.append(ev.Prompt())
                return True
        end = buf.find(b"\r\n")
        if end < 0:
            # A trailing CR may be the first half of the line's CR LF.
            if len(buf) - buf.endswith(b"\r") > self.max_line:
                out.append(ev.ProtocolViolation(f"line longer than {self.max_line} bytes"))
                self._mode = ReaderMode.DISCARDING
                keep = 1 if buf.endswith(b"\r") else 0
                del buf[: len(buf) - keep]
            return False
        if end > self.max_line:
            out.append(ev.ProtocolViolation(f"line longer than {self.max_line} bytes"))
            del buf[: end + 2]
            return True
        line = bytes(buf[:end]).strip(b"\r\n")
        del buf[: end + 2]
        if self._distrust:
            self._distrust = max(0, self._distrust - end - 2)
            self._untrusted_line(line.decode("latin-1"), out)
        else:
            self._line(line.decode("latin-1"), out)
        return True

    def _untrusted_line(self, text: str, out: list[ev.Event]) -> None:
        """A line of the stretch after a lost position (``_lose_line``): it may be
        a server's data.  A push header fails its socket (its payload is not
        consumed, and is distrusted too); an answer fails the command in flight;
        nothing else is believed."""
        m = _SSLURC.match(text)
        if m is not None and m.group(1) == "recv" and m.group(3) is not None:
            if int(m.group(2)) < CLIENT_IDS:
                out.append(ev.PushFrameBroken(int(m.group(2)), "a push frame in a stretch of "
                                              "the line that cannot be trusted"))
            # max, not a sum: a module that keeps pushing is trusted one frame later.
            self._distrust = max(self._distrust, int(m.group(3)) + 2)
        elif self._command is not None and (text in _FINALS or _CME.match(text)):
            out.append(ev.ProtocolViolation("an answer in a stretch of the line that cannot "
                                            "be trusted"))
            self._line(text, out)

    def _skip_long_line(self) -> bool:
        """Drop bytes up to the CR LF that ends an over-long line."""
        buf = self._buf
        end = buf.find(b"\r\n")
        if end < 0:
            keep = 1 if buf.endswith(b"\r") else 0
            del buf[: len(buf) - keep]
            return False
        del buf[: end + 2]
        self._mode = ReaderMode.LINES
        return True

    def _take_transparent(self, out: list[ev.Event]) -> bool:
        """Transparent data (``transparent_data``); True once it ended."""
        if not self._scanner.take(self._buf, self._mode is ReaderMode.LEAVING_TRANSPARENT, out):
            return False
        self._mode = ReaderMode.LINES
        self._command = None
        return True

    def _take_payload(self, out: list[ev.Event]) -> bool:
        """Collect the announced payload; False while bytes are still due.  A
        complete payload waits for its end to be confirmed (``FRAME_END``)."""
        buf = self._buf
        take = min(self._payload_left, len(buf))
        self._payload += buf[:take]
        del buf[:take]
        self._payload_left -= take
        if self._payload_left:
            return False
        self._frame = bytes(self._payload)
        self._payload.clear()
        self._frame_is_push = self._mode is ReaderMode.PUSH_PAYLOAD
        self._mode = ReaderMode.FRAME_END
        return True

    @property
    def awaiting_frame_end(self) -> bool:
        """A push frame is in and waits for the module's next unit to confirm its
        end: a caller may make the module write one (any command's answer)."""
        return self._mode is ReaderMode.FRAME_END and self._frame_is_push

    def _take_frame_end(self, out: list[ev.Event]) -> bool:
        """Hand out a payload once its end is confirmed (``frames``); False while
        the deciding bytes are still due."""
        style = self.push_style if self._frame_is_push else FrameStyle.TRAILER
        verdict, learned = frame_end(self._buf, style)
        if verdict is FrameEnd.UNKNOWN:
            return False
        data, self._frame = self._frame, b""
        if verdict is FrameEnd.CONFIRMED:
            if self._frame_is_push:
                self.push_style = learned
            del self._buf[:2]
            self._mode = ReaderMode.LINES
            if not self._frame_is_push:
                out.append(ev.RecvPayload(data))
            elif self._refused:
                out.append(ev.PushFrameBroken(
                    self._push_id, f"push frame of {len(data)} bytes exceeds the bound"))
            else:
                out.append(ev.SslPushData(self._push_id, data))
            return True
        if not self._frame_is_push:
            out.append(ev.ProtocolViolation(
                f"+QSSLRECV payload of {len(data)} bytes does not end where its length says"))
            self._mode = ReaderMode.DISCARDING
            return True
        return self._realign_push(data, out)

    def _realign_push(self, data: bytes, out: list[ev.Event]) -> bool:
        """A push frame that does not line up: its socket's stream has a hole;
        the next unit, or else the line's position, is found (``frames.realign``)."""
        lost = realign(data, self._buf, self.push_style)
        if lost is None:
            self._frame = data  # more bytes needed to tell
            return False
        if lost is False:
            out.append(ev.PushFrameBroken(
                self._push_id, f"push frame of {len(data)} bytes does not end where its "
                "length says"))
            self._lose_line(out, "a push frame's end was lost")
            return True
        self._buf[:0] = data[-lost:]
        self._mode = ReaderMode.LINES
        out.append(ev.PushFrameBroken(
            self._push_id, f"{lost} byte(s) of a {len(data)}-byte push frame lost on the line"))
        return True

    def _lose_line(self, out: list[ev.Event], reason: str) -> None:
        """The line's position is lost: drop the rest of a frame that may be
        passing, then resynchronise at a line end (``LineLost``)."""
        out.append(ev.LineLost(reason))
        self._skip(self._longest_push + LINE_LOST_SLACK, to_line_end=True)
        # Where that lands may be inside a frame that followed: its rest, at most
        # the longest frame, is read as lines but not believed.
        self._distrust = self._longest_push + LINE_LOST_SLACK

    def _skip(self, count: int, *, to_line_end: bool) -> None:
        self._skip_left = count
        self._skip_to_line_end = to_line_end
        self._mode = ReaderMode.SKIPPING if count else (
            ReaderMode.DISCARDING if to_line_end else ReaderMode.LINES)

    def _take_skipped(self) -> bool:
        """Drop bytes of a ``SKIPPING`` run; False while some are due."""
        take = min(self._skip_left, len(self._buf))
        del self._buf[:take]
        self._skip_left -= take
        if self._skip_left:
            return False
        self._mode = ReaderMode.DISCARDING if self._skip_to_line_end else ReaderMode.LINES
        return True

    def _line(self, text: str, out: list[ev.Event]) -> None:
        cmd = self._command
        if cmd is not None:
            final = _FINALS.get(text)
            if final is None:
                m = _CME.match(text)
                if m:
                    detail = m.group(1).strip()
                    numeric = _CME_CODE.fullmatch(detail) is not None
                    final = ev.CmeError(int(detail) if numeric else None, detail)
                elif text == "CONNECT" or text.startswith("CONNECT "):
                    final = ev.Connect()
                    if cmd.framing is Framing.CONNECT_PAYLOAD:
                        self._payload_requested = self._progress.prompted = True
                        out.append(final)
                        return
                    if cmd.framing is Framing.DATA_MODE:
                        self._mode = ReaderMode.TRANSPARENT
                        self._scanner.reset()
            if final is not None:
                stray = self._progress.out_of_step(cmd, final, text)
                if stray is not None:
                    out.append(stray)
                self._command = None
                self._payload_requested = False
                out.append(final)
                return
            if text == cmd.text or text.upper() == cmd.text.upper():
                out.append(ev.Echo(text))
                return
            limit = cmd.recv_limit
            if cmd.framing is Framing.RECV_PAYLOAD and limit is not None:
                m = _RECV_HEAD.match(text)
                if m:
                    self._progress.recv_head = True
                    n = int(m.group(1))
                    if n > limit:
                        # Its bytes follow all the same: dropped, never read as lines.
                        out.append(ev.ProtocolViolation(
                            f"+QSSLRECV: {n} exceeds the {limit} bytes asked for"))
                        self._skip(min(n, MAX_REFUSED_PAYLOAD), to_line_end=n > MAX_REFUSED_PAYLOAD)
                    elif n == 0:
                        out.append(ev.RecvPayload(b""))
                    else:
                        self._payload_left = n
                        self._mode = ReaderMode.RECV_PAYLOAD
                    return
        if text.startswith(_SSLURC_HEAD):
            self._ssl_urc(text, out)
            return
        if push_headers.garbled(text, parsed=False):
            self._lose_line(out, "a garbled push header")
            return
        urc = known_urc(text)
        if urc is not None:
            out.append(urc)
            return
        if cmd is not None and (
            any(text.startswith(p) and text[len(p):len(p) + 1] in (":", "")
                for p in cmd.info_prefixes)
            or (cmd.framing is Framing.BARE_LINES and not text.startswith("+"))
        ):
            out.append(ev.InfoLine(text))
            return
        out.append(ev.UnknownUrc(text))

    def _ssl_urc(self, text: str, out: list[ev.Event]) -> None:
        """A ``+QSSLURC:`` line (manual 2.2): ``"recv",<id>`` (data waiting),
        ``"recv",<id>,<len>`` (the next len bytes are pushed data) or
        ``"closed",<id>``; anything else is an ``UnknownUrc``."""
        m = _SSLURC.match(text)
        parsed = m is not None and int(m.group(2)) < CLIENT_IDS and not (
            m.group(3) and m.group(1) != "recv")
        if push_headers.garbled(text, parsed=parsed):
            # A push header a lost byte garbled: its payload follows, unmarked.
            self._lose_line(out, "a garbled push header")
            return
        if m is None or not parsed:
            out.append(ev.UnknownUrc(text))
            return
        kind, client_id, length = m.group(1), int(m.group(2)), m.group(3)
        if kind == "recv" and length is not None:
            self._push_header(client_id, int(length), out)
        elif kind == "recv":
            out.append(ev.SslRecv(client_id))
        elif kind == "closed":
            out.append(ev.SslClosed(client_id))
        else:
            out.append(ev.UnknownUrc(text))

    def _push_header(self, client_id: int, length: int, out: list[ev.Event]) -> None:
        """``+QSSLURC: "recv",<id>,<len>``: the next len bytes are pushed data.

        One over ``MAX_PUSH_PAYLOAD`` is read and dropped (``PushFrameBroken``),
        never taken for lines; over ``MAX_REFUSED_PAYLOAD`` it cannot be real."""
        if length > MAX_REFUSED_PAYLOAD:
            out.append(ev.PushFrameBroken(client_id, f"push header announces {length} bytes"))
            self._lose_line(out, "a push header with an impossible length")
        else:
            self._payload_left = length
            self._push_id = client_id
            self._refused = length > MAX_PUSH_PAYLOAD
            if not self._refused:
                self._longest_push = max(self._longest_push, length)
            self._mode = ReaderMode.PUSH_PAYLOAD
            if not length:
                self._take_payload(out)  # nothing to collect: its end is due at once

