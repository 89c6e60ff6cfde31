"""Hypothesis properties of the sans-I/O AT protocol (``modem.core.protocol``).

(a) any split of a golden transcript's module output gives the same events
    as one feed (modulo the arbitrary split of transparent data,
    ``transcripts.expected_after_cuts``);
(b) random binary payloads survive ``+QSSLRECV`` and push framing exactly,
    with URCs around them;
(c) garbage and mutated transcripts never raise from ``receive_data``,
    every call returns after bounded work, and the buffers stay bounded.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modem.core import events as ev
from modem.core.errors import AtProtocolError
from modem.core.frames import FrameStyle
from modem.core.protocol import MAX_PUSH_PAYLOAD, AtConnection, Command, Framing
from tests.unit import transcripts as tr
from tests.unit.transcripts import (
    ALL,
    OK,
    QSSLRECV_1500,
    QSSLSEND_18,
    QSSLSTATE,
    Escape,
    Receive,
    Send,
    Write,
    coalesce,
    expected_after_cuts,
    play,
    push,
    urc,
)

FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def cuts_for(draw: st.DrawFn, data: bytes) -> list[int]:
    if len(data) < 2:
        return []
    return sorted(draw(st.sets(st.integers(1, len(data) - 1), max_size=len(data))))


def split(data: bytes, points: list[int]) -> list[bytes]:
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


# -- (a) any split gives the same events ----------------------------------------


@FAST
@given(st.data())
def test_any_split_of_a_transcript_gives_the_same_events(data: st.DataObject) -> None:
    t = data.draw(st.sampled_from(ALL), label="transcript")
    cuts = [data.draw(cuts_for(s.data), label="cuts")
            for s in t.steps if isinstance(s, Receive)]
    events, wrote = play(t, cuts)
    assert coalesce(events) == expected_after_cuts(t, cuts)
    assert wrote == t.host_bytes


# -- (b) payloads survive framing, URCs around them ----------------------------

URC_LINES = st.sampled_from([
    urc('+QSSLURC: "recv",4'),
    urc('+QSSLURC: "closed",2'),
    urc("+QSSLOPEN: 3,0"),
    urc('+QIURC: "pdpdeact",1'),
    urc("+CREG: 1"),
    b"\r\n\r\n",
])
URC_EVENT = {
    urc('+QSSLURC: "recv",4'): [ev.SslRecv(4)],
    urc('+QSSLURC: "closed",2'): [ev.SslClosed(2)],
    urc("+QSSLOPEN: 3,0"): [ev.SslOpened(3, 0)],
    urc('+QIURC: "pdpdeact",1'): [ev.PdpDeactivated(1)],
    urc("+CREG: 1"): [ev.UnknownUrc("+CREG: 1")],
    b"\r\n\r\n": [],
}
PAYLOAD = st.binary(min_size=0, max_size=1500)


def urcs(lines: list[bytes]) -> tuple[bytes, list[ev.Event]]:
    return b"".join(lines), [e for line in lines for e in URC_EVENT[line]]


@FAST
@given(payload=PAYLOAD, before=st.lists(URC_LINES, max_size=3),
       between=st.lists(URC_LINES, max_size=3), after=st.lists(URC_LINES, max_size=3),
       data=st.data())
def test_recv_payload_round_trips(payload: bytes, before: list[bytes], between: list[bytes],
                                  after: list[bytes], data: st.DataObject) -> None:
    b_bytes, b_events = urcs(before)
    m_bytes, m_events = urcs(between)
    a_bytes, a_events = urcs(after)
    if payload:
        reply = b"\r\n+QSSLRECV: %d\r\n" % len(payload) + payload + b"\r\n" + m_bytes + OK
    else:
        reply = b"\r\n+QSSLRECV: 0\r\n" + m_bytes + OK
    stream = b_bytes + reply + a_bytes
    conn = AtConnection()
    conn.send_command(QSSLRECV_1500)
    events: list[ev.Event] = []
    for piece in split(stream, data.draw(cuts_for(stream))):
        events += conn.receive_data(piece)
    assert events == [*b_events, ev.RecvPayload(payload), *m_events, ev.Ok(), *a_events]
    assert conn.command is None


@FAST
@given(payloads=st.lists(st.tuples(st.integers(0, 11), PAYLOAD), min_size=1, max_size=3),
       gaps=st.lists(st.lists(URC_LINES, max_size=2), min_size=4, max_size=4),
       trailing_crlf=st.booleans(), in_command=st.booleans(), data=st.data())
def test_push_payload_round_trips(payloads: list[tuple[int, bytes]], gaps: list[list[bytes]],
                                  trailing_crlf: bool, in_command: bool,
                                  data: st.DataObject) -> None:
    stream = b""
    expected: list[ev.Event] = []
    for (client_id, payload), gap in zip(payloads, gaps, strict=False):
        g_bytes, g_events = urcs(gap)
        one = push(client_id, payload)
        stream += g_bytes + (one if trailing_crlf else one[:-2])
        expected += [*g_events, ev.SslPushData(client_id, payload)]
    g_bytes, g_events = urcs(gaps[-1])
    stream += g_bytes
    expected += g_events
    # A module that writes extra blank lines after a frame without a trailer looks
    # like one that writes trailers: the style is given here, not learned.
    conn = AtConnection(push_style=FrameStyle.TRAILER if trailing_crlf else FrameStyle.BARE)
    if in_command:
        conn.send_command(QSSLSTATE)
        stream += OK
        expected.append(ev.Ok())
    # A frame's end is confirmed by the start of the unit after it (after its
    # own trailer, if the module writes one): with none, the last frame waits.
    unconfirmed = not g_bytes and not in_command
    if unconfirmed:
        expected.pop()
    events: list[ev.Event] = []
    for piece in split(stream, data.draw(cuts_for(stream))):
        events += conn.receive_data(piece)
    assert events == expected
    assert conn.awaiting_frame_end is unconfirmed


# -- (c) garbage never breaks it ---------------------------------------------------

MAX_LINE = 64


def check_bounded(conn: AtConnection, limit: int) -> None:
    assert len(conn._buf) <= conn.max_line + 1
    assert len(conn._payload) <= limit


def feed_all(conn: AtConnection, pieces: list[bytes], limit: int) -> list[ev.Event]:
    """Feed the pieces; no exception may escape, and each call's work is bounded:
    every event consumes at least one byte."""
    events: list[ev.Event] = []
    fed = 0
    for piece in pieces:
        events += conn.receive_data(piece)
        fed += len(piece)
        assert len(events) <= fed
        check_bounded(conn, limit)
    return events


STATE_NAMES = ["idle", "recv", "prompt", "info", "transparent", "leaving"]
STATES = st.sampled_from(STATE_NAMES)


def conn_in(state: str) -> AtConnection:
    conn = AtConnection(max_line=MAX_LINE)
    if state == "recv":
        conn.send_command(QSSLRECV_1500)
    elif state == "prompt":
        conn.send_command(QSSLSEND_18)
    elif state == "info":
        conn.send_command(Command("ATI", framing=Framing.BARE_LINES,
                                  info_prefixes=("+QSSLSTATE",)))
    elif state in ("transparent", "leaving"):
        conn.send_command(tr.QSSLOPEN_TRANSPARENT)
        conn.receive_data(b"\r\nCONNECT\r\n")
        if state == "leaving":
            conn.leave_transparent()
    return conn


# Bytes that make garbage interesting: framing pieces and headers with lengths.
TOKENS = st.sampled_from([
    b"\r", b"\n", b"\r\n", b"> ", b">", b"OK", b"\r\nOK\r\n", b"ERROR", b"SEND OK",
    b"+CME ERROR: ", b"CONNECT", b"NO CARRIER", b"\r\nNO CARRIER\r\n", b"+QSSLRECV: ",
    b'+QSSLURC: "recv",', b'+QSSLURC: "closed",', b"+QSSLOPEN: ", b'+QIURC: "pdpdeact",',
    b",", b"0", b"1", b"18", b"1500", b"4096", b"4097", b"99999999999999", b"\xb2",
    b"\x00", b"\x1a", b"\xff" * 70, b"x" * 65, b"RDY", b"AT\r",
])
# Well-framed lines with hostile contents reach the parsers behind the framing.
HEADS = [
    b"+CME ERROR: ", b"+CMS ERROR:", b"+QSSLRECV: ", b'+QSSLURC: "recv",', b'+QSSLURC: "recv",4,',
    b'+QSSLURC: "closed",', b"+QSSLOPEN: ", b"+QSSLOPEN: 1,", b'+QIURC: "pdpdeact",', b"+QIURC: ",
    b"CONNECT", b"CONNECT ", b"OK", b"> ", b"", b"ATI", b"AT+QSSLRECV=4,1500",
]
# "\xb2" and "\xb9" are superscript digits: str.isdigit() says yes, int() says no.
VALUES = [b"", b"0", b"4", b"18", b"-1", b"1500", b"1501", b"4096", b"4097", b"99999999999999",
          b"\xb2", b"\xb9", b"\xbc", b"\xb2\xb3", b"0,0", b" 3 , 7 ", b"\x00", b"\r", b"4,\xb2"]
LINES = st.lists(
    st.tuples(st.sampled_from(HEADS), st.one_of(st.sampled_from(VALUES), st.binary(max_size=6)))
    .map(lambda hv: b"\r\n" + hv[0] + hv[1] + b"\r\n"),
    max_size=30).map(b"".join)
GARBAGE = st.one_of(
    st.binary(max_size=3000),
    st.lists(st.one_of(TOKENS, st.binary(max_size=8)), max_size=200).map(b"".join),
    st.lists(st.one_of(LINES, TOKENS, st.binary(max_size=8)), max_size=20).map(b"".join),
)


@FAST
@given(state=STATES, garbage=GARBAGE, data=st.data())
def test_garbage_never_raises_and_stays_bounded(state: str, garbage: bytes,
                                                data: st.DataObject) -> None:
    conn = conn_in(state)
    pieces = split(garbage, data.draw(cuts_for(garbage)))
    feed_all(conn, pieces, max(QSSLRECV_1500.recv_limit or 0, MAX_PUSH_PAYLOAD))
    # Whatever happened, the host can always get back to a known state.
    conn.abort_command()
    if not conn.transparent:
        conn.send_command(Command("AT"))


@pytest.mark.parametrize("state", STATE_NAMES)
def test_every_hostile_line_in_every_state(state: str) -> None:
    for head in HEADS:
        for value in VALUES:
            conn = conn_in(state)
            line = b"\r\n" + head + value + b"\r\n"
            feed_all(conn, [line, b"\r\nOK\r\n"], MAX_PUSH_PAYLOAD)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, len(buf)))
        if kind == "flip" and at < len(buf):
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            buf[at:at] = draw(st.one_of(TOKENS, st.binary(min_size=1, max_size=8)))
        elif kind == "delete":
            del buf[at:at + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del buf[at:]
    return bytes(buf)


@FAST
@given(data=st.data())
def test_mutated_transcripts_never_raise_and_stay_bounded(data: st.DataObject) -> None:
    t = data.draw(st.sampled_from(ALL), label="transcript")
    conn = AtConnection(max_line=MAX_LINE)
    limit = max([MAX_PUSH_PAYLOAD] + [s.command.recv_limit or 0 for s in t.steps
                                      if isinstance(s, Send)])
    for step in t.steps:
        # The host follows the script where the protocol still allows it; what
        # it refuses, it refuses with AtProtocolError and nothing else.
        try:
            if isinstance(step, Send):
                if conn.command is not None:
                    conn.abort_command()
                if not conn.transparent:
                    conn.send_command(step.command)
            elif isinstance(step, Write):
                conn.send_payload(step.data)
            elif isinstance(step, Escape):
                conn.leave_transparent()
        except AtProtocolError:
            pass
        if isinstance(step, Receive):
            noisy = data.draw(mutated(step.data), label="module bytes")
            feed_all(conn, split(noisy, data.draw(cuts_for(noisy))), limit)
