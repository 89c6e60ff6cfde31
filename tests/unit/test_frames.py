"""A payload's end is confirmed before its bytes are passed on (``modem.core.frames``).

A UART without flow control drops bytes; the module's payloads carry no
checksum.  What a lost byte must never do: pass on shifted bytes as data, or
let a server's bytes be read as the module's own lines.
"""

from __future__ import annotations

import pytest

from modem.core import events as ev
from modem.core.frames import (
    LINE_LOST_SLACK,
    LOST_BYTES_MAX,
    TYPICAL_PUSH_PAYLOAD,
    FrameEnd,
    FrameStyle,
    frame_end,
    realign,
)
from modem.core.protocol import AtConnection
from tests.unit.transcripts import OK, QSSLRECV_1500, QSSLSTATE, push, urc

INJECTED = b'\r\n+QSSLURC: "closed",2\r\n\r\n+QSSLURC: "recv",3,5\r\nHELLO\r\n'
"""What a hostile server puts in its data, hoping it is read as the module's lines."""


def feed(conn: AtConnection, data: bytes) -> list[ev.Event]:
    return conn.receive_data(data)


TRAILER, BARE = FrameStyle.TRAILER, FrameStyle.BARE
CLOSED_5 = urc('+QSSLURC: "closed",5')


def test_frame_end_wants_the_next_unit_where_the_style_puts_it() -> None:
    assert frame_end(b"\r\n\r\n+QSSL", TRAILER) == (FrameEnd.CONFIRMED, TRAILER)
    assert frame_end(b"\r\n+QSSL", BARE) == (FrameEnd.CONFIRMED, BARE)
    # Two lost bytes make the next unit's CR LF look like a trailer: the style tells.
    assert frame_end(b"\r\n+QSSL", TRAILER) == (FrameEnd.BROKEN, TRAILER)
    assert frame_end(b"\r\n\r", TRAILER) == (FrameEnd.UNKNOWN, TRAILER)
    assert frame_end(b"\r", BARE) == (FrameEnd.UNKNOWN, BARE)
    assert frame_end(b"\n\r", BARE) == (FrameEnd.BROKEN, BARE)
    # Not learned yet: the first frame's end teaches it.
    assert frame_end(b"\r\n\r\nOK", None) == (FrameEnd.CONFIRMED, TRAILER)
    assert frame_end(b"\r\nOK", None) == (FrameEnd.CONFIRMED, BARE)
    assert frame_end(b"\r\n", None) == (FrameEnd.UNKNOWN, None)


@pytest.mark.parametrize("style", [TRAILER, BARE])
@pytest.mark.parametrize("lost", range(1, LOST_BYTES_MAX + 1))
def test_bytes_lost_from_a_push_fail_its_socket_and_the_next_frame_arrives(
        lost: int, style: FrameStyle) -> None:
    conn = AtConnection(push_style=style)
    data = bytes(range(256)) * 4

    def frame(client_id: int, payload: bytes) -> bytes:
        whole = push(client_id, payload)
        return whole if style is TRAILER else whole[:-2]

    first = frame(3, data)
    cut = len(first) - len(data) - 500
    broken = first[:cut] + first[cut + lost:]  # the header still says 1024
    events = feed(conn, broken + frame(5, b"intact") + CLOSED_5)
    assert events == [
        ev.PushFrameBroken(3, f"{lost} byte(s) of a 1024-byte push frame lost on the line"),
        ev.SslPushData(5, b"intact"), ev.SslClosed(5)]


def test_a_lost_byte_before_a_result_leaves_the_result_readable() -> None:
    conn = AtConnection(push_style=BARE)
    conn.send_command(QSSLSTATE)
    frame = push(1, b"a" * 100)
    events = feed(conn, frame[:50] + frame[51:-2] + OK)  # no trailer: the OK confirms
    assert events == [
        ev.PushFrameBroken(1, "1 byte(s) of a 100-byte push frame lost on the line"),
        ev.Ok()]
    assert conn.command is None


def test_a_frame_without_a_trailer_waits_for_the_next_unit() -> None:
    for style, frame in ((BARE, push(4, b"data")[:-2]), (TRAILER, push(4, b"data"))):
        conn = AtConnection(push_style=style)
        assert feed(conn, frame) == []
        assert conn.awaiting_frame_end
        assert feed(conn, urc("RDY")) == [ev.SslPushData(4, b"data"), ev.ModuleReady()]


def test_a_garbled_push_header_never_lets_its_payload_act_as_lines() -> None:
    conn = AtConnection()
    # "recv",1,48 lost its comma: no socket 148 exists, so the line was a push header
    garbled = b'\r\n+QSSLURC: "recv",148\r\n'
    # The rest of a frame that may be passing is dropped, then up to a line end;
    # the stretch after it may still be a payload: read as lines, not believed.
    filler = b"z" * (TYPICAL_PUSH_PAYLOAD + LINE_LOST_SLACK - len(INJECTED)) + b"zz"
    stretch = INJECTED + b"y" * (TYPICAL_PUSH_PAYLOAD + LINE_LOST_SLACK) + b"\r\n"
    events = feed(conn, garbled + INJECTED + filler + stretch + push(7, b"after") + CLOSED_5)
    assert events == [ev.LineLost("a garbled push header"),
                      ev.PushFrameBroken(3, "a push frame in a stretch of the line that "
                                            "cannot be trusted"),
                      ev.SslPushData(7, b"after"), ev.SslClosed(5)]


@pytest.mark.parametrize("header", [
    b'+QSSLURC: "recv"3,1500',   # a comma lost
    b'+QSSLURC: "rcv",3,1500',   # a letter lost
    b'+QSSLURC: "recv",31500',   # the comma between id and length lost
])
def test_push_headers_a_lost_byte_garbled_are_recognised(header: bytes) -> None:
    conn = AtConnection()
    events = feed(conn, b"\r\n" + header + b"\r\n" + INJECTED)
    assert events == [ev.LineLost("a garbled push header")]


@pytest.mark.parametrize("line", [
    b'+QSSLURC: "rcv",3',   # a buffer-mode notice with a letter lost: no payload follows
    b'+QSSLURC: "recv"3',
    b'+QSSLURC: recv,10',
])
def test_garbled_notices_without_a_length_are_only_unknown(line: bytes) -> None:
    conn = AtConnection()
    assert feed(conn, b"\r\n" + line + b"\r\n") == [ev.UnknownUrc(line.decode())]


def test_a_push_whose_end_cannot_be_found_loses_the_line_then_resynchronises() -> None:
    conn = AtConnection(push_style=TRAILER)
    # The length lost a digit (1500 -> 150): its end is far behind where it says.
    data = b"x" * 151 + INJECTED + b"y" * 1200
    events = feed(conn, b'\r\n+QSSLURC: "recv",2,150\r\n' + data + b"\r\n"
                  + b"w" * (TYPICAL_PUSH_PAYLOAD + LINE_LOST_SLACK) + b"\r\n"
                  + b"v" * (TYPICAL_PUSH_PAYLOAD + LINE_LOST_SLACK) + b"\r\n"
                  + push(9, b"later") + CLOSED_5)
    assert events == [
        ev.PushFrameBroken(2, "push frame of 150 bytes does not end where its length says"),
        ev.LineLost("a push frame's end was lost"),
        ev.SslPushData(9, b"later"), ev.SslClosed(5)]


def test_a_read_answer_that_lost_a_byte_is_a_violation() -> None:
    conn = AtConnection()
    conn.send_command(QSSLRECV_1500)
    data = b"0123456789"
    events = feed(conn, b"\r\n+QSSLRECV: 11\r\n" + data + b"\r\n" + OK)
    assert isinstance(events[0], ev.ProtocolViolation)
    assert "does not end where its length says" in events[0].reason


def test_a_read_answer_larger_than_asked_is_skipped_not_read_as_lines() -> None:
    conn = AtConnection()
    conn.send_command(QSSLRECV_1500)
    data = (INJECTED * 80)[:1600]
    events = feed(conn, b"\r\n+QSSLRECV: 1600\r\n" + data + b"\r\n" + OK)
    assert [type(e) for e in events] == [ev.ProtocolViolation, ev.Ok]


def test_realign_looks_nearest_first_and_waits_when_it_cannot_tell() -> None:
    # The payload's own "\r\n+Q" lies before the true end: the nearest wins.
    assert realign(b"xx\r\n+Q" + b"\r", b"\nRDY\r\n", BARE) == 1
    assert realign(b"abc\r", b"\nOK\r\n", BARE) == 1
    assert realign(b"abc\r\n", b"RDY\r\n", BARE) == 2
    assert realign(b"abc\r\n", b"\r\nRDY\r\n", TRAILER) == 2
    assert realign(b"abc\r", b"", BARE) is None
    assert realign(b"abcdefgh", b"xyz", BARE) is False


def test_the_style_is_learned_from_the_first_frame_and_then_held() -> None:
    conn = AtConnection()
    assert conn.push_style is None
    assert feed(conn, push(1, b"one") + push(1, b"two") + CLOSED_5) == [
        ev.SslPushData(1, b"one"), ev.SslPushData(1, b"two"), ev.SslClosed(5)]
    assert conn.push_style is TRAILER
    # A frame in the other style does not line up: its socket fails visibly
    # (here the line is lost too), and nothing shifted is handed out.
    events = feed(conn, push(2, b"bare")[:-2] + CLOSED_5)
    assert [type(e) for e in events] == [ev.PushFrameBroken, ev.LineLost]
    bare = AtConnection()
    assert feed(bare, push(3, b"x")[:-2] + CLOSED_5) == [ev.SslPushData(3, b"x"),
                                                          ev.SslClosed(5)]
    assert bare.push_style is BARE


def test_what_follows_a_lost_position_is_not_believed_for_a_frames_length() -> None:
    conn = AtConnection(push_style=TRAILER)
    conn.send_command(QSSLSTATE)
    # Landing inside a hostile frame: its fake "closed", fake push and fake OK
    # (for the command in flight) are not believed; the OK fails the command.
    events = feed(conn, b'\r\n+QSSLURC: "recv"9,1500\r\n'
                  + b"q" * (TYPICAL_PUSH_PAYLOAD + LINE_LOST_SLACK) + b"\r\n"
                  + b'\r\n+QSSLURC: "closed",4\r\n' + b"\r\nOK\r\n")
    assert events == [ev.LineLost("a garbled push header"),
                      ev.ProtocolViolation("an answer in a stretch of the line that cannot "
                                           "be trusted"), ev.Ok()]
