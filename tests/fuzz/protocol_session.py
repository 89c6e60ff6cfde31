"""A fuzzing target for the sans-I/O protocol layer: one session, driven by bytes.

``run_session(data)`` decodes ``data`` into a program of host operations
(send a command from the golden transcripts, write a payload, abort, leave
transparent mode) and module output (raw bytes, a golden transcript's module
bytes cut at any place, the same with mutations, framing tokens), runs it
on an ``AtConnection`` and feeds every information line and error to the
typed parsers of ``modem.core.commands`` and ``modem.core.errors``.  The contract it
checks (``SessionViolation`` when broken):

* host operations raise nothing but ``AtProtocolError``;
* ``receive_data`` never raises, and its work is bounded: no more events
  than bytes fed, the line buffer within ``max_line``, a payload within
  the largest length the commands allow;
* parsers raise nothing but ``ValueError``; error mapping never raises;
* the host can always get back to a known state (abort, then ``AT``).

The same decoder serves hypothesis (``tests/reliability/test_fuzz_protocol.py``)
and atheris (``python -m tests.fuzz``), so a crash found by one replays in
the other from its bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from modem.core import commands
from modem.core import events as ev
from modem.core.errors import AtProtocolError, error_for_code, error_for_text
from modem.core.protocol import MAX_PUSH_PAYLOAD, AtConnection, Command
from tests.unit.transcripts import ALL, Send, Write

MAX_LINE = 256
TRANSCRIPT_BYTES = [t.module_bytes for t in ALL]
COMMANDS: list[Command] = list(dict.fromkeys(
    s.command for t in ALL for s in t.steps if isinstance(s, Send))) + [
    commands.qsslrecv(3, 1500), commands.qsslsend(3, 1460), commands.qsslstate(),
    commands.at(), commands.csq(), commands.cclk_query(),
]
PAYLOADS = [s.data for t in ALL for s in t.steps if isinstance(s, Write)] or [b"x"]
PAYLOAD_LIMIT = max([MAX_PUSH_PAYLOAD] + [c.recv_limit or 0 for c in COMMANDS])
TOKENS = [
    b"\r", b"\n", b"\r\n", b"> ", b"OK", b"\r\nOK\r\n", b"ERROR", b"\r\nSEND OK\r\n",
    b"\r\nSEND FAIL\r\n", b"+CME ERROR: ", b"\r\nCONNECT\r\n", b"\r\nNO CARRIER\r\n",
    b"+QSSLRECV: ", b'+QSSLURC: "recv",', b'+QSSLURC: "closed",', b"+QSSLOPEN: ",
    b'+QIURC: "pdpdeact",', b",", b"0", b"4", b"1500", b"4097", b"99999999999999", b"\xb2",
    b"\x00", b"\x1a", b"RDY", b"AT\r", b"+++", b"\r\nPOWERED DOWN\r\n",
]

PARSERS: dict[str, Callable[[str], object]] = {
    "+CPIN": commands.parse_cpin,
    "+CREG": commands.parse_registration,
    "+CGREG": commands.parse_registration,
    "+CEREG": commands.parse_registration,
    "+CSQ": commands.parse_csq,
    "+CCLK": commands.parse_cclk,
    "+QLTS": commands.parse_qlts,
    "+QICSGP": commands.parse_qicsgp,
    "+QIACT": commands.parse_qiact,
    "+QIGETERROR": commands.parse_qigeterror,
    "+QIDNSCFG": commands.parse_qidnscfg,
    "+QFUPL": commands.parse_qfupl,
    "+QFLST": commands.parse_qflst,
    "+QSSLCFG": commands.parse_qsslcfg,
    "+QSSLSTATE": commands.parse_qsslstate,
}


class SessionViolation(AssertionError):
    """The protocol layer broke its contract (the fuzzers' crash)."""


class FuzzInput:
    """Reads small integers and byte strings off the fuzz input; zeros when it runs out."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def u16(self) -> int:
        return self.byte() << 8 | self.byte()

    def take(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def pick(self, seq):
        return seq[self.byte() % len(seq)]


def mutate(data: bytes, r: FuzzInput, tokens: list[bytes] = TOKENS) -> bytes:
    """``data`` with one to four bit flips, inserted ``tokens`` or bytes, cuts."""
    buf = bytearray(data)
    for _ in range(1 + r.byte() % 4):
        kind, at = r.byte() % 5, r.u16() % (len(buf) + 1)
        if kind == 0 and at < len(buf):
            buf[at] ^= 1 << (r.byte() % 8)
        elif kind == 1:
            buf[at:at] = r.pick(tokens)
        elif kind == 2:
            buf[at:at] = r.take(1 + r.byte() % 8)
        elif kind == 3:
            del buf[at:at + 1 + r.byte() % 8]
        else:
            del buf[at:]
    return bytes(buf)


class Session:
    """One ``AtConnection`` and the checks around every call."""

    def __init__(self) -> None:
        self.conn = AtConnection(max_line=MAX_LINE)
        self.fed = 0
        self.events = 0

    def host(self, op: Callable[[], object]) -> None:
        try:
            op()
        except AtProtocolError:
            pass
        except Exception as exc:
            raise SessionViolation(f"host operation raised {exc!r}") from exc

    def receive(self, data: bytes) -> None:
        conn = self.conn
        try:
            events = conn.receive_data(data)
        except Exception as exc:
            raise SessionViolation(f"receive_data({data[:80]!r}) raised {exc!r}") from exc
        self.fed += len(data)
        self.events += len(events)
        if self.events > self.fed:
            raise SessionViolation(f"{self.events} events from {self.fed} bytes")
        if len(conn._buf) > conn.max_line + 1:
            raise SessionViolation(f"line buffer grew to {len(conn._buf)} bytes")
        if len(conn._payload) > PAYLOAD_LIMIT:
            raise SessionViolation(f"payload buffer grew to {len(conn._payload)} bytes")
        for event in events:
            self.parse(event)

    def parse(self, event: ev.Event) -> None:
        try:
            if isinstance(event, ev.InfoLine | ev.UnknownUrc):
                head = event.text.split(":", 1)[0].strip().upper()
                parser = PARSERS.get(head)
                if parser is not None:
                    try:
                        parser(event.text)
                    except ValueError:
                        pass
            elif isinstance(event, ev.CmeError):
                if event.code is not None:
                    error_for_code(event.code, "fuzz")
                error_for_text(event.text, "fuzz")
        except Exception as exc:
            raise SessionViolation(f"parsing {event!r} raised {exc!r}") from exc

    def recover(self) -> None:
        """Abort whatever is in flight; ``AT`` must then be accepted."""
        conn = self.conn
        conn.abort_command()
        if conn.transparent:
            self.host(conn.leave_transparent)
            self.receive(b"\r\nOK\r\n")
            conn.abort_command()
        if conn.transparent:
            return  # still draining transparent data: legitimately no commands yet
        try:
            conn.send_command(Command("AT"))
        except Exception as exc:
            raise SessionViolation(f"cannot send AT after abort: {exc!r}") from exc


def run_session(data: bytes) -> None:
    """Run the program encoded in ``data``; ``SessionViolation`` if the contract breaks."""
    r = FuzzInput(data)
    s = Session()
    conn = s.conn
    while r.left:
        op = r.byte() % 9
        if op == 0:
            cmd = r.pick(COMMANDS)
            s.host(lambda cmd=cmd: conn.send_command(cmd))
        elif op == 1:
            payload = r.pick(PAYLOADS) if r.byte() % 2 else r.take(r.u16() % 1600)
            s.host(lambda p=payload: conn.send_payload(p))
        elif op == 2:
            conn.abort_command()
        elif op == 3:
            s.host(conn.leave_transparent)
        elif op == 4:
            s.receive(r.take(r.u16() % 600))
        elif op == 5:
            t = r.pick(TRANSCRIPT_BYTES)
            a, b = sorted((r.u16() % (len(t) + 1), r.u16() % (len(t) + 1)))
            s.receive(t[a:b] if r.byte() % 4 else t)
        elif op == 6:
            s.receive(mutate(r.pick(TRANSCRIPT_BYTES), r))
        elif op == 7:
            s.receive(b"".join(r.pick(TOKENS) for _ in range(r.byte() % 16)))
        else:
            s.recover()
    s.recover()


__all__ = ["FuzzInput", "SessionViolation", "mutate", "run_session"]
