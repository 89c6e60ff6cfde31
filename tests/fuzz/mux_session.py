"""A fuzzing target for the sans-I/O multiplexer: one ``MuxConnection``, driven by bytes.

``run_mux_session(data)`` decodes ``data`` into a program of host operations
(start, open, close, send, MSC, Test, PN, close down) and module output (raw
bytes; well-formed module frames and control messages; those frames cut
anywhere, mutated, or glued to golden frames from other implementations),
runs it on a ``MuxConnection`` and checks the contract (``SessionViolation``
when broken):

* host operations raise nothing but ``MuxUsageError``;
* ``receive_data`` never raises, its work is bounded (no more events than
  bytes fed plus one close per DLC), and the decoder holds at most one
  frame (``receive_limit`` plus seven bytes);
* the answers it queues are bounded by what was fed;
* data arrives only for DLCs the host opened, and a well-formed data frame
  fed whole on an open DLC arrives unchanged;
* ``resync`` (the line went quiet) leaves no half frame held, and from an
  idle or closed multiplexer a fresh start works: the host can always get back.

Shared by hypothesis (``tests/reliability/test_fuzz_mux.py``) and atheris
(``python -m tests.fuzz --target mux``), so a crash replays from its bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from modem.core.mux import (
    V24,
    ControlMessage,
    Frame,
    FrameType,
    MessageType,
    ModemStatus,
    MuxConnection,
    MuxState,
    Parameters,
    encode_frame,
    encode_message,
)
from modem.core.mux import events as ev
from modem.core.mux.errors import MuxUsageError
from tests.fuzz.protocol_session import FuzzInput, SessionViolation, mutate
from tests.unit.mux.vectors import ALL

N1 = 64
GOLDEN = [raw for raw, _ in ALL.values()]
KINDS = list(FrameType)
MESSAGES = list(MessageType)
TOKENS = [b"\xf9", b"\xf9\xf9", b"\x01", b"\xef", b"\xff", b"\x00", b"\r\nOK\r\n", b"\x7f\xff"]


def _module_frame(r: FuzzInput) -> bytes:
    """A well-formed frame the module might send (random DLC, type, P/F, info)."""
    kind = KINDS[r.byte() % len(KINDS)]
    dlci = r.byte() % 8
    if dlci == 0 and kind in (FrameType.UIH, FrameType.UI):
        message = ControlMessage(MESSAGES[r.byte() % len(MESSAGES)], bool(r.byte() & 1),
                                 r.take(r.byte() % 10))
        info = encode_message(message)
    else:
        info = r.take(r.byte() % (N1 + 8)) if kind in (FrameType.UIH, FrameType.UI) else b""
    return encode_frame(Frame(dlci, kind, cr=kind in (FrameType.UA, FrameType.DM),
                              pf=bool(r.byte() & 1), info=info))


class MuxSession:
    """One connection and the checks around every call."""

    def __init__(self) -> None:
        self.conn = MuxConnection(n1=N1)
        self.opened: set[int] = set()

    def host(self, op: Callable[[], bytes]) -> None:
        try:
            op()
        except MuxUsageError:
            pass
        except Exception as exc:
            raise SessionViolation(f"host operation raised {exc!r}") from exc

    def receive(self, data: bytes) -> list[ev.MuxEvent]:
        conn = self.conn
        was_open = set(conn.open_dlcs())
        try:
            events = conn.receive_data(data)
        except Exception as exc:
            raise SessionViolation(f"receive_data({data[:60]!r}) raised {exc!r}") from exc
        if len(events) > len(data) + 64:
            raise SessionViolation(f"{len(events)} events from {len(data)} bytes")
        if conn._decoder.buffered > N1 + 7:
            raise SessionViolation(f"decoder holds {conn._decoder.buffered} bytes")
        if len(conn._outbox) > 16 * (len(data) + 16):
            raise SessionViolation(f"{len(conn._outbox)} bytes of answers queued")
        for event in events:
            if isinstance(event, ev.DataReceived) and event.dlci not in self.opened | was_open:
                raise SessionViolation(f"data for DLC {event.dlci}, which was never opened")
        conn.data_to_send()
        return events

    def recover(self) -> None:
        """A quiet line settles any half frame; from idle or closed a start works."""
        conn = self.conn
        try:
            conn.resync()
        except Exception as exc:
            raise SessionViolation(f"resync raised {exc!r}") from exc
        if conn.holding:
            raise SessionViolation("a half frame is still held after resync")
        if conn.state not in (MuxState.IDLE, MuxState.CLOSED):
            return
        try:
            conn.start()
        except Exception as exc:
            raise SessionViolation(f"cannot start from {conn.state}: {exc!r}") from exc


def _data_round(s: MuxSession, r: FuzzInput) -> None:
    """A well-formed data frame on an open DLC arrives unchanged."""
    open_now = s.conn.open_dlcs()
    if not open_now:
        return
    dlci = open_now[r.byte() % len(open_now)]
    payload = r.take(r.byte() % N1) or b"x"
    pending = s.conn._decoder.buffered > 1  # a broken frame may swallow this one first
    events = s.receive(encode_frame(Frame(dlci, FrameType.UIH, info=payload)))
    if not pending and ev.DataReceived(dlci, payload) not in events:
        raise SessionViolation(f"{len(payload)} bytes on DLC {dlci} did not arrive: {events}")


def _host_op(s: MuxSession, r: FuzzInput, op: int) -> None:
    conn, dlci = s.conn, 1 + r.byte() % 7
    if op == 0:
        s.host(conn.start)
    elif op == 1:
        s.host(lambda: conn.open(dlci))
        s.opened.add(dlci)
    elif op == 2:
        s.host(lambda: conn.close(dlci))
    elif op == 3:
        s.host(lambda: conn.send(dlci, r.take(r.byte())))
    elif op == 4:
        s.host(lambda: conn.send_status(dlci, V24(r.byte() & 0xCE)))
    elif op == 5:
        s.host(lambda: conn.send_test(r.take(r.byte() % 80)))
    elif op == 6:
        s.host(lambda: conn.negotiate(Parameters(dlci, n1=1 + r.byte() * 100)))
    else:
        s.host(conn.close_down)


def run_mux_session(data: bytes) -> None:
    """Run the program encoded in ``data``; ``SessionViolation`` if the contract breaks."""
    r = FuzzInput(data)
    s = MuxSession()
    while r.left:
        op = r.byte() % 16
        if op < 8:
            _host_op(s, r, op)
        elif op == 8:
            s.receive(r.take(r.byte() * 2))
        elif op in (9, 10):
            frame = _module_frame(r)
            cut = r.byte() % (len(frame) + 1) if op == 10 else len(frame)
            s.receive(frame[:cut])
            s.receive(frame[cut:])
        elif op == 11:
            s.receive(mutate(_module_frame(r), r, TOKENS))
        elif op == 12:
            s.receive(r.pick(GOLDEN) + mutate(r.pick(GOLDEN), r, TOKENS))
        elif op == 13:
            value = ModemStatus(1 + r.byte() % 7, V24(r.byte() & 0xCE)).encode()
            s.receive(encode_frame(Frame(0, FrameType.UIH, info=encode_message(
                ControlMessage(MessageType.MSC, True, value)))))
        elif op == 14:
            _data_round(s, r)
        else:
            s.recover()
    s.recover()


__all__ = ["run_mux_session"]
