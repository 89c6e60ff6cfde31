"""Sans-I/O AT protocol for Quectel modules, in the manner of h11.

``AtConnection`` turns the bytes a module writes into ``modem.core.events`` and
the host's ``Command`` objects into bytes; ``Command`` and its ``Framing``
live in ``modem.core.at_command`` and are re-exported here.  It does no I/O and imports no
Trio or pyserial: the driver feeds it with ``receive_data`` and writes what
``send_command`` / ``send_payload`` return.

Framing it understands (manual 2.1, 2.2 and what real firmware does):

* lines end with CR LF; empty lines are skipped; command echo (``ATE1``)
  comes back as the command text ending in CR and is reported as ``Echo``;
* the ``AT+QSSLSEND`` prompt is ``> `` with no line end;
* ``+QSSLRECV: <n>`` CR LF is followed by exactly n raw bytes, and the
  push-mode URC ``+QSSLURC: "recv",<id>,<len>`` CR LF by len raw bytes; the
  payload may hold anything, ``\\r\\nOK\\r\\n`` and ``> `` included;
* URCs may arrive at any moment, also between a command and its result;
* after the ``CONNECT`` of a ``Framing.DATA_MODE`` command every byte is
  ``TransparentData`` until ``\\r\\nNO CARRIER\\r\\n`` or, once the host sent
  ``+++`` (``leave_transparent``), the escape's ``\\r\\nOK\\r\\n``.

Every buffer is bounded: a line longer than ``max_line`` becomes a
``ProtocolViolation`` event and is discarded up to its end.
"""

from __future__ import annotations

import enum
import re

from modem.core import events as ev
from modem.core.at_command import Command, Framing
from modem.core.errors import AtProtocolError

__all__ = ["MAX_PUSH_PAYLOAD", "AtConnection", "Command", "Framing", "ReaderMode"]

MAX_PUSH_PAYLOAD = 4096
"""Bound on the payload of one ``+QSSLURC: "recv",<id>,<len>`` (push mode).

Manual 2.2.1 gives no range for ``<currentrecvlength>``; one ``AT+QSSLRECV``
reads at most ``modem.core.limits.MAX_RECV`` bytes and a push carries at most one
receive buffer's worth, so this leaves room and still bounds the buffer.
"""


_FINALS: dict[str, ev.FinalResult] = {
    "OK": ev.Ok(),
    "ERROR": ev.Error(),
    "SEND OK": ev.SendOk(),
    "SEND FAIL": ev.SendFail(),
    "NO CARRIER": ev.NoCarrier(),
}

# Numbers are ASCII digits only (``str.isdigit`` accepts "²", which ``int``
# rejects) and short, so ``int`` never meets its 4300-digit limit.
_NUM = r"([0-9]{1,12})"
_CME = re.compile(r"^\+CM[ES] ERROR:\s*(.*)$")
_CME_CODE = re.compile(r"[0-9]{1,12}")
_SSLURC_HEAD = "+QSSLURC:"
_SSLURC = re.compile(rf'^\+QSSLURC:\s*"(\w+)"\s*,\s*{_NUM}(?:\s*,\s*{_NUM})?\s*$')
_SSLOPEN = re.compile(rf"^\+QSSLOPEN:\s*{_NUM}\s*,\s*(-?[0-9]{{1,12}})\s*$")
_QIURC = re.compile(rf'^\+QIURC:\s*"(\w+)"\s*(?:,\s*{_NUM})?')
_RECV_HEAD = re.compile(rf"^\+QSSLRECV:\s*{_NUM}\s*$")
# What ends transparent mode: the module dropping the connection, and (only
# after the host sent ``+++``) the OK of the escape.
_NO_CARRIER_TAIL = b"\r\nNO CARRIER\r\n"
_ESCAPED_TAIL = b"\r\nOK\r\n"


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

    TRANSPARENT = "transparent"
    """Raw data after ``CONNECT``, up to ``\\r\\nNO CARRIER\\r\\n``."""

    LEAVING_TRANSPARENT = "leaving transparent"
    """Raw data after the host sent ``+++``, up to ``NO CARRIER`` or the
    escape's ``\\r\\nOK\\r\\n`` (manual 1.3)."""


_PAYLOAD_MODES = (ReaderMode.RECV_PAYLOAD, ReaderMode.PUSH_PAYLOAD)
_TRANSPARENT_MODES = (ReaderMode.TRANSPARENT, ReaderMode.LEAVING_TRANSPARENT)


class AtConnection:
    """The host's side of one AT command channel.

    One command is in flight at a time (AT is half duplex).  ``command`` is
    that command, or ``None`` when the channel is idle.  URCs are produced
    whether or not a command is in flight.  ``reader_mode`` says how the
    next bytes from the module will be read.
    """

    def __init__(self, *, max_line: int = 4096) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._mode = ReaderMode.LINES
        # RECV_PAYLOAD and PUSH_PAYLOAD: bytes still due, bytes collected and,
        # for a push, whose they are.
        self._payload_left = 0
        self._payload = bytearray()
        self._push_id = 0
        # TRANSPARENT and LEAVING_TRANSPARENT: the last (up to 2) bytes
        # already given out, which may begin an end marker.
        self._seen = b""
        self._command: Command | None = None
        # The command's prompt or intermediate CONNECT came: the module
        # waits for the host's payload.
        self._payload_requested = False

    # -- host side ---------------------------------------------------------

    @property
    def command(self) -> Command | None:
        return self._command

    @property
    def reader_mode(self) -> ReaderMode:
        return self._mode

    @property
    def transparent(self) -> bool:
        """True while the line carries raw transparent-mode data.

        It stays True after ``leave_transparent`` until the module's ``OK``
        (or ``NO CARRIER``): bytes the module sent before it saw ``+++`` are
        still data.
        """
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

        A ``+QSSLRECV`` payload being collected is dropped; late lines of that
        command will be reported as URCs, so resynchronise before trusting
        the line.  A push-mode payload is no part of any command and is kept.
        Aborting the ``+++`` of ``leave_transparent`` treats the line as back
        in command mode.
        """
        if self._mode is ReaderMode.LEAVING_TRANSPARENT:
            self._mode = ReaderMode.LINES
            self._seen = b""
        elif self._mode is ReaderMode.RECV_PAYLOAD:
            self._mode = ReaderMode.LINES
            self._payload_left = 0
            self._payload.clear()
        self._command = None
        self._payload_requested = False

    def leave_transparent(self) -> bytes:
        """The escape sequence ``+++``; the caller keeps 1 s of silence either side.

        The module answers ``OK`` (manual 1.3), which ends the pseudo-command
        this puts in flight.
        """
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
                and not self._payload_requested and buf[0] == 0x3E):
            if len(buf) < 2:
                return False
            if buf[1] == 0x20:
                del buf[:2]
                self._payload_requested = True
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
        self._line(line.decode("latin-1"), out)
        return True

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
        """Give out transparent data up to ``NO CARRIER`` (or the escape's ``OK``).

        Returns True when transparent mode ended and the rest of the buffer is
        command mode again.  Data goes out as soon as it arrives, except a
        tail that may be the start of an end marker: while leaving (``+++``
        sent) any such tail is held back; otherwise only a tail of at least
        ``\\r\\nN`` is, because holding back a plain CR LF would stall every
        line-based protocol.  A CR or CR LF already given out still counts
        for an end marker that completes later, so ``NO CARRIER`` is never
        missed; those 1-2 bytes then stay in the data.
        """
        buf = self._buf
        leaving = self._mode is ReaderMode.LEAVING_TRANSPARENT
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
            self._mode = ReaderMode.LINES
            self._seen = b""
            self._command = None
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

    def _take_payload(self, out: list[ev.Event]) -> bool:
        """Collect the announced payload; False while bytes are still due."""
        buf = self._buf
        take = min(self._payload_left, len(buf))
        self._payload += buf[:take]
        del buf[:take]
        self._payload_left -= take
        if self._payload_left:
            return False
        data = bytes(self._payload)
        self._payload.clear()
        if self._mode is ReaderMode.PUSH_PAYLOAD:
            out.append(ev.SslPushData(self._push_id, data))
        else:
            out.append(ev.RecvPayload(data))
        self._mode = ReaderMode.LINES
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
                        self._payload_requested = True
                        out.append(final)
                        return
                    if cmd.framing is Framing.DATA_MODE:
                        self._mode = ReaderMode.TRANSPARENT
                        self._seen = b""
            if final is not None:
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
                    n = int(m.group(1))
                    if n > limit:
                        out.append(ev.ProtocolViolation(
                            f"+QSSLRECV: {n} exceeds the {limit} bytes asked for"))
                    elif n == 0:
                        out.append(ev.RecvPayload(b""))
                    else:
                        self._payload_left = n
                        self._mode = ReaderMode.RECV_PAYLOAD
                    return
        if text.startswith(_SSLURC_HEAD):
            self._ssl_urc(text, out)
            return
        urc = _urc(text)
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
        if m is None:
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
        """``+QSSLURC: "recv",<id>,<len>``: the next len bytes are pushed data."""
        if length > MAX_PUSH_PAYLOAD:
            out.append(ev.ProtocolViolation(f"push payload of {length} bytes exceeds the bound"))
        elif length == 0:
            out.append(ev.SslPushData(client_id, b""))
        else:
            self._payload_left = length
            self._push_id = client_id
            self._mode = ReaderMode.PUSH_PAYLOAD


def _urc(text: str) -> ev.Event | None:
    """The event of a URC other than ``+QSSLURC``, or None when it is no known URC."""
    if text.startswith("+QSSLOPEN:"):
        m = _SSLOPEN.match(text)
        return ev.SslOpened(int(m.group(1)), int(m.group(2))) if m else None
    if text.startswith("+QIURC:"):
        m = _QIURC.match(text)
        if m and m.group(1) == "pdpdeact" and m.group(2) is not None:
            return ev.PdpDeactivated(int(m.group(2)))
        return ev.UnknownUrc(text)
    if text == "RDY":
        return ev.ModuleReady()
    if text == "POWERED DOWN":
        return ev.ModulePoweredDown()
    return None
