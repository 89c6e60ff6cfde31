"""Unit tests of the sans-I/O AT protocol (``modem.core.protocol``, ``modem.core.events``).

Golden transcripts (manual chapter 3 and real firmware framing) live in
``tests/unit/transcripts.py``; the hypothesis properties in
``test_protocol_properties.py``.
"""

from __future__ import annotations

import pytest

from modem.core import events as ev
from modem.core.errors import AtProtocolError
from modem.core.protocol import MAX_PUSH_PAYLOAD, AtConnection, Command, Framing, ReaderMode
from tests.unit import transcripts as tr
from tests.unit.transcripts import (
    ALL,
    MANUAL_DATA,
    OK,
    QFUPL,
    QFUPL_DATA,
    QIACT_QUERY,
    QSSLOPEN_TRANSPARENT,
    QSSLRECV_1500,
    QSSLSEND_18,
    QSSLSTATE,
    Receive,
    coalesce,
    expected_after_cuts,
    play,
    push,
    recv_reply,
    transparent_conn,
    urc,
)


def feed_bytewise(conn: AtConnection, data: bytes) -> list[ev.Event]:
    out: list[ev.Event] = []
    for i in range(len(data)):
        out += conn.receive_data(data[i:i + 1])
    return out


# -- golden transcripts ----------------------------------------------------------


@pytest.mark.parametrize("t", ALL, ids=[t.name for t in ALL])
def test_golden_transcript(t: tr.Transcript) -> None:
    conn = AtConnection()
    events, wrote = play(t, conn=conn)
    assert events == list(t.events)
    assert wrote == t.host_bytes
    # Every transcript ends with the channel idle and in command mode.
    assert conn.command is None
    assert not conn.transparent


@pytest.mark.parametrize("t", ALL, ids=[t.name for t in ALL])
def test_golden_transcript_byte_by_byte(t: tr.Transcript) -> None:
    cuts = [range(1, len(s.data)) for s in t.steps if isinstance(s, Receive)]
    events, _ = play(t, cuts)
    assert coalesce(events) == expected_after_cuts(t, cuts)


def test_manual_examples_are_all_there() -> None:
    sections = {t.name.split()[0] for t in tr.MANUAL}
    assert sections >= {"3.1.1", "3.1.2", "3.1.3", "3.2", "3.3.1", "3.3.2", "3.3.3",
                        "3.3.4", "3.4.1", "3.4.2", "3.4.3", "3.4.4", "3.5.1", "3.5.2",
                        "3.5.3"}


def test_command_bytes_end_with_cr_only() -> None:
    conn = AtConnection()
    assert conn.send_command(QSSLSTATE) == b"AT+QSSLSTATE\r"


def test_qfupl_connect_is_intermediate() -> None:
    conn = AtConnection()
    conn.send_command(QFUPL)
    assert conn.receive_data(b"\r\nCONNECT\r\n") == [ev.Connect()]
    assert conn.command is QFUPL
    assert not conn.transparent
    assert conn.send_payload(QFUPL_DATA) == QFUPL_DATA
    assert conn.receive_data(b"\r\n+QFUPL: 10,6c6f\r\n") == [ev.InfoLine("+QFUPL: 10,6c6f")]
    assert conn.command is QFUPL
    assert conn.receive_data(OK) == [ev.Ok()]
    assert conn.command is None


def test_cme_error_with_non_ascii_digit_is_verbose() -> None:
    # "²" passes str.isdigit() but not int(): a parser that trusted isdigit() would raise.
    conn = AtConnection()
    conn.send_command(QIACT_QUERY)
    assert conn.receive_data(b"\r\n+CME ERROR: \xb2\r\n") == [ev.CmeError(None, "\xb2")]


def test_cms_error_is_a_final_result() -> None:
    conn = AtConnection()
    conn.send_command(Command("AT+CMGS=1"))
    assert conn.receive_data(b"\r\n+CMS ERROR: 500\r\n") == [ev.CmeError(500, "500")]
    assert conn.command is None


def test_huge_numbers_are_not_parsed() -> None:
    conn = AtConnection(max_line=20_000)
    digits = b"9" * 5000  # int() refuses more than 4300 digits
    events = conn.receive_data(b"\r\n+QSSLOPEN: 1," + digits + b"\r\n"
                               + b"\r\n+QSSLURC: \"recv\"," + digits + b"\r\n")
    # No socket has that number: the line may be a push header a lost byte garbled.
    assert [type(e) for e in events] == [ev.UnknownUrc, ev.LineLost]
    conn = AtConnection(max_line=20_000)
    conn.send_command(Command("AT+CMEE=1"))
    assert conn.receive_data(b"\r\n+CME ERROR: " + digits + b"\r\n") == [
        ev.CmeError(None, digits.decode())]


def test_prompt_split_from_its_space() -> None:
    conn = AtConnection()
    conn.send_command(QSSLSEND_18)
    assert conn.receive_data(b"\r\n>") == []
    assert conn.receive_data(b" ") == [ev.Prompt()]


def test_prompt_only_when_a_command_wants_one() -> None:
    conn = AtConnection()
    conn.send_command(QSSLSTATE)
    assert conn.receive_data(b"\r\n> \r\n" + OK) == [ev.UnknownUrc("> "), ev.Ok()]


# -- binary safety ---------------------------------------------------------------

HOSTILE = [
    b"\r\nOK\r\n",
    b"> ",
    b"\r\n> ",
    b'+QSSLURC: "recv",0',
    b'\r\n+QSSLURC: "recv",0,5\r\nabcde\r\n',
    b"\r\nSEND OK\r\n",
    b"\r\nERROR\r\n",
    b"\r\n+CME ERROR: 566\r\n",
    b"\r\nNO CARRIER\r\n",
    b"\r\n+QSSLRECV: 4\r\n",
    b"\r\nRDY\r\n",
    b"\x00",
    b"\x00" * 64,
    b"\x1a",
    b"\x1b",
    b"\r",
    b"\n",
    b"\n\r",
    b"a\rb\nc",
    bytes(range(256)),
    bytes(range(255, -1, -1)) * 5,  # 1280 bytes
    b"\r\n" * 750,  # 1500 bytes of line ends
]
HOSTILE_IDS = [repr(p[:24]) + f"..{len(p)}" for p in HOSTILE]


@pytest.mark.parametrize("payload", HOSTILE, ids=HOSTILE_IDS)
@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
def test_qsslrecv_payload_is_binary_safe(payload: bytes, bytewise: bool) -> None:
    conn = AtConnection()
    conn.send_command(QSSLRECV_1500)
    reply = recv_reply(payload) + urc('+QSSLURC: "recv",4')
    events = feed_bytewise(conn, reply) if bytewise else conn.receive_data(reply)
    assert events == [ev.RecvPayload(payload), ev.Ok(), ev.SslRecv(4)]


@pytest.mark.parametrize("payload", HOSTILE, ids=HOSTILE_IDS)
@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
def test_push_payload_is_binary_safe(payload: bytes, bytewise: bool) -> None:
    conn = AtConnection()
    conn.send_command(QSSLSTATE)
    stream = (urc('+QSSLURC: "closed",3') + push(4, payload) + push(5, payload)
              + b"\r\n" + tr.STATE_PUSH.encode() + b"\r\n" + OK)
    events = feed_bytewise(conn, stream) if bytewise else conn.receive_data(stream)
    assert events == [ev.SslClosed(3), ev.SslPushData(4, payload), ev.SslPushData(5, payload),
                      ev.InfoLine(tr.STATE_PUSH), ev.Ok()]


@pytest.mark.parametrize("payload", HOSTILE, ids=HOSTILE_IDS)
def test_send_payload_is_passed_through_untouched(payload: bytes) -> None:
    conn = AtConnection()
    conn.send_command(Command(f"AT+QSSLSEND=4,{len(payload)}", framing=Framing.PROMPT_PAYLOAD,
                              payload_len=len(payload)))
    assert conn.receive_data(b"\r\n> ") == [ev.Prompt()]
    assert conn.send_payload(payload) == payload
    assert conn.receive_data(b"\r\nSEND OK\r\n") == [ev.SendOk()]


def test_push_data_during_a_read_does_not_mix_with_it() -> None:
    conn = AtConnection()
    conn.send_command(QSSLRECV_1500)
    stream = (push(1, b"\r\nOK\r\n") + recv_reply(b"+QSSLRECV: 3\r\n") + push(2, b"> ")
              + urc('+QSSLURC: "closed",2'))
    assert conn.receive_data(stream) == [
        ev.SslPushData(1, b"\r\nOK\r\n"), ev.RecvPayload(b"+QSSLRECV: 3\r\n"), ev.Ok(),
        ev.SslPushData(2, b"> "), ev.SslClosed(2)]


def test_push_of_zero_bytes() -> None:
    conn = AtConnection()
    assert conn.receive_data(b'\r\n+QSSLURC: "recv",4,0\r\n' + urc("RDY")) == [
        ev.SslPushData(4, b""), ev.ModuleReady()]


# -- host misuse ------------------------------------------------------------------


def test_second_command_in_flight_is_refused() -> None:
    conn = AtConnection()
    conn.send_command(QSSLSTATE)
    with pytest.raises(AtProtocolError, match="in flight") as info:
        conn.send_command(QIACT_QUERY)
    assert info.value.side == "host"
    assert conn.command is QSSLSTATE
    assert conn.receive_data(OK) == [ev.Ok()]
    conn.send_command(QIACT_QUERY)


def test_payload_before_the_prompt_is_refused() -> None:
    conn = AtConnection()
    conn.send_command(QSSLSEND_18)
    with pytest.raises(AtProtocolError):
        conn.send_payload(MANUAL_DATA)
    assert conn.receive_data(b"\r\n> ") == [ev.Prompt()]
    assert conn.send_payload(MANUAL_DATA) == MANUAL_DATA
    with pytest.raises(AtProtocolError):  # one prompt, one payload
        conn.send_payload(MANUAL_DATA)


@pytest.mark.parametrize("cmd", [None, QSSLSTATE, QSSLRECV_1500, QFUPL],
                         ids=["idle", "no payload", "recv", "qfupl before connect"])
def test_payload_nobody_asked_for_is_refused(cmd: Command | None) -> None:
    conn = AtConnection()
    if cmd is not None:
        conn.send_command(cmd)
    with pytest.raises(AtProtocolError):
        conn.send_payload(b"0123456789")


@pytest.mark.parametrize("size", [0, 17, 19, 1460])
def test_wrong_payload_length_is_refused(size: int) -> None:
    conn = AtConnection()
    conn.send_command(QSSLSEND_18)
    conn.receive_data(b"\r\n> ")
    with pytest.raises(AtProtocolError, match="18 bytes"):
        conn.send_payload(b"x" * size)
    # The prompt still stands: the right payload goes through.
    assert conn.send_payload(MANUAL_DATA) == MANUAL_DATA


@pytest.mark.parametrize(
    ("framing", "payload_len", "recv_limit"),
    [
        (Framing.LINES, None, None),
        (Framing.BARE_LINES, None, None),
        (Framing.PROMPT_PAYLOAD, 18, None),
        (Framing.PROMPT_PAYLOAD, None, None),  # Ctrl-Z ends the payload
        (Framing.CONNECT_PAYLOAD, 10, None),
        (Framing.RECV_PAYLOAD, None, 1500),
        (Framing.DATA_MODE, None, None),
    ],
)
def test_every_framing_takes_its_own_data(framing: Framing, payload_len: int | None,
                                          recv_limit: int | None) -> None:
    cmd = Command("AT+X", framing=framing, payload_len=payload_len, recv_limit=recv_limit)
    assert (cmd.framing, cmd.payload_len, cmd.recv_limit) == (framing, payload_len, recv_limit)


@pytest.mark.parametrize(
    ("framing", "payload_len", "recv_limit", "message"),
    [
        (Framing.LINES, 5, None, "payload_len does not go with Framing.LINES"),
        (Framing.BARE_LINES, 5, None, "payload_len does not go with Framing.BARE_LINES"),
        (Framing.DATA_MODE, 5, None, "payload_len does not go with Framing.DATA_MODE"),
        (Framing.RECV_PAYLOAD, 5, 10, "payload_len does not go with Framing.RECV_PAYLOAD"),
        (Framing.PROMPT_PAYLOAD, -1, None, "payload_len must not be negative, got -1"),
        (Framing.CONNECT_PAYLOAD, None, None, "Framing.CONNECT_PAYLOAD needs a payload_len"),
        (Framing.LINES, None, 10, "recv_limit does not go with Framing.LINES"),
        (Framing.PROMPT_PAYLOAD, 18, 10, "recv_limit does not go with Framing.PROMPT_PAYLOAD"),
        (Framing.DATA_MODE, None, 10, "recv_limit does not go with Framing.DATA_MODE"),
        (Framing.RECV_PAYLOAD, None, None, "Framing.RECV_PAYLOAD needs a recv_limit"),
        (Framing.RECV_PAYLOAD, None, 0, "recv_limit must be at least 1, got 0"),
    ],
)
def test_impossible_commands_cannot_be_built(framing: Framing, payload_len: int | None,
                                             recv_limit: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Command("AT+X", framing=framing, payload_len=payload_len, recv_limit=recv_limit)


@pytest.mark.parametrize("text", ["AT+X=\"\r\"", "AT\nAT", "AT+QSSLCFG=\"caf\u00e9\"", "AT\x1a"])
def test_command_text_must_be_printable_ascii(text: str) -> None:
    conn = AtConnection()
    with pytest.raises(AtProtocolError):
        conn.send_command(Command(text))
    assert conn.command is None  # nothing left in flight
    assert conn.send_command(Command("AT")) == b"AT\r"


def test_transparent_mode_refuses_commands_and_double_escape() -> None:
    conn = AtConnection()
    with pytest.raises(AtProtocolError):
        conn.leave_transparent()
    conn = transparent_conn()
    with pytest.raises(AtProtocolError):
        conn.send_command(QSSLSTATE)
    conn.leave_transparent()
    with pytest.raises(AtProtocolError):
        conn.leave_transparent()
    with pytest.raises(AtProtocolError):
        conn.send_command(QSSLSTATE)


def test_abort_then_late_lines_are_urcs() -> None:
    conn = AtConnection()
    conn.send_command(QSSLSTATE)
    conn.abort_command()
    assert conn.command is None
    assert conn.receive_data(urc(tr.STATE_BUFFER) + OK) == [
        ev.UnknownUrc(tr.STATE_BUFFER), ev.UnknownUrc("OK")]
    conn.send_command(QIACT_QUERY)
    assert conn.receive_data(OK) == [ev.Ok()]


def test_abort_during_a_read_drops_its_payload() -> None:
    conn = AtConnection()
    conn.send_command(QSSLRECV_1500)
    assert conn.receive_data(b"\r\n+QSSLRECV: 18\r\nTest data") == []
    conn.abort_command()
    # The rest of the payload is a server's data: dropped, never read as lines.
    assert conn.receive_data(b"\r\nRDY\r\n+Q" + b"\r\n" + OK + urc("RDY")) == [
        ev.UnknownUrc("OK"), ev.ModuleReady()]


def test_abort_keeps_a_push_payload_being_collected() -> None:
    conn = AtConnection()
    conn.send_command(QSSLSTATE)
    stream = push(4, b"\r\nOK\r\n+QSSLURC: \"closed\",4\r\n")
    assert conn.receive_data(stream[:30]) == []
    conn.abort_command()
    assert conn.receive_data(stream[30:] + urc("RDY")) == [
        ev.SslPushData(4, b"\r\nOK\r\n+QSSLURC: \"closed\",4\r\n"), ev.ModuleReady()]


def test_abort_of_the_escape_returns_to_command_mode() -> None:
    conn = transparent_conn()
    conn.leave_transparent()
    conn.abort_command()
    assert not conn.transparent
    assert conn.send_command(Command("AT")) == b"AT\r"
    assert conn.receive_data(OK) == [ev.Ok()]


# -- bounds -----------------------------------------------------------------------


def test_endless_line_gives_one_violation_and_bounded_memory() -> None:
    conn = AtConnection(max_line=256)
    conn.send_command(QSSLSTATE)
    events = conn.receive_data(b"\r\n+QSSLSTATE: " + b"x" * 300)
    assert [type(e) for e in events] == [ev.ProtocolViolation]
    for i in range(200):
        junk = (b"\xff\r" * 500) if i % 2 else (b"y" * 1000)
        assert conn.receive_data(junk) == []
        assert len(conn._buf) <= conn.max_line + 1
    # The line ends; the next one parses normally.
    assert conn.receive_data(b"\r\n" + OK) == [ev.Ok()]
    assert conn.command is None


def test_long_line_ending_in_the_same_chunk() -> None:
    conn = AtConnection(max_line=64)
    events = conn.receive_data(urc("z" * 65) + urc('+QSSLURC: "recv",4'))
    assert [type(e) for e in events] == [ev.ProtocolViolation, ev.SslRecv]


@pytest.mark.parametrize("cut", range(0, 72))
def test_line_of_exactly_max_line_is_accepted_however_split(cut: int) -> None:
    conn = AtConnection(max_line=64)
    line = b"+QIND: " + b"q" * (64 - 7)
    stream = b"\r\n" + line + b"\r\n"
    events = conn.receive_data(stream[:cut]) + conn.receive_data(stream[cut:])
    assert events == [ev.UnknownUrc(line.decode())]


@pytest.mark.parametrize("cut", range(0, 72))
def test_line_one_longer_than_max_line_is_a_violation_however_split(cut: int) -> None:
    conn = AtConnection(max_line=64)
    stream = b"\r\n" + b"q" * 65 + b"\r\n" + urc("RDY")
    events = conn.receive_data(stream[:cut]) + conn.receive_data(stream[cut:])
    assert [type(e) for e in events] == [ev.ProtocolViolation, ev.ModuleReady]


def test_recv_longer_than_asked_is_a_violation() -> None:
    conn = AtConnection()
    conn.send_command(Command("AT+QSSLRECV=4,10", framing=Framing.RECV_PAYLOAD, recv_limit=10))
    events = conn.receive_data(b"\r\n+QSSLRECV: 11\r\n")
    assert [type(e) for e in events] == [ev.ProtocolViolation]
    assert "11" in events[0].reason


def test_push_longer_than_the_bound_is_read_and_refused() -> None:
    conn = AtConnection()
    n = MAX_PUSH_PAYLOAD + 1
    payload = (b'\r\n+QSSLURC: "closed",2\r\n' * n)[:n]  # never read as lines
    events = conn.receive_data(b'\r\n+QSSLURC: "recv",4,%d\r\n' % n + payload + b"\r\n"
                               + urc("RDY"))
    assert events == [ev.PushFrameBroken(4, f"push frame of {n} bytes exceeds the bound"),
                      ev.ModuleReady()]


def test_memory_during_a_payload_is_one_payload() -> None:
    conn = AtConnection()
    conn.send_command(QSSLRECV_1500)
    data = bytes(range(256)) * 5 + b"\r\nOK\r\n" * 36  # 1496 bytes
    stream = recv_reply(data)
    for i in range(0, len(stream), 7):
        conn.receive_data(stream[i:i + 7])
        assert len(conn._buf) <= conn.max_line + 1
        assert len(conn._payload) <= len(data)
    assert conn.command is None


# -- the reader's mode ------------------------------------------------------------


def test_reader_mode_follows_each_framing() -> None:
    conn = AtConnection(max_line=32)
    assert conn.reader_mode is ReaderMode.LINES
    conn.send_command(QSSLRECV_1500)
    conn.receive_data(b"\r\n+QSSLRECV: 4\r\nab")
    assert conn.reader_mode is ReaderMode.RECV_PAYLOAD
    assert conn.receive_data(b"cd") == []
    assert conn.reader_mode is ReaderMode.FRAME_END
    assert conn.receive_data(b"\r\n") == []  # the read answer's end is CR LF, then its OK
    assert conn.receive_data(OK) == [ev.RecvPayload(b"abcd"), ev.Ok()]
    assert conn.reader_mode is ReaderMode.LINES

    conn.receive_data(b'\r\n+QSSLURC: "recv",3,2\r\nx')
    assert conn.reader_mode is ReaderMode.PUSH_PAYLOAD
    assert conn.receive_data(b"y") == []
    assert conn.reader_mode is ReaderMode.FRAME_END and conn.awaiting_frame_end
    assert conn.receive_data(b"\r\n") == []  # a trailer, or the next unit's start?
    assert conn.receive_data(b"\r\nRDY\r\n") == [ev.SslPushData(3, b"xy"), ev.ModuleReady()]
    assert conn.reader_mode is ReaderMode.LINES

    assert conn.receive_data(b"z" * 33) == [ev.ProtocolViolation("line longer than 32 bytes")]
    assert conn.reader_mode is ReaderMode.DISCARDING
    assert conn.receive_data(b"zz\r\nRDY\r\n") == [ev.ModuleReady()]
    assert conn.reader_mode is ReaderMode.LINES

    conn.send_command(QSSLOPEN_TRANSPARENT)
    conn.receive_data(b"\r\nCONNECT\r\n")
    assert conn.reader_mode is ReaderMode.TRANSPARENT and conn.transparent
    conn.leave_transparent()
    assert conn.reader_mode is ReaderMode.LEAVING_TRANSPARENT and conn.transparent
    assert conn.receive_data(OK) == [ev.Ok()]
    assert conn.reader_mode is ReaderMode.LINES and not conn.transparent


@pytest.mark.parametrize(
    "line",
    [
        '+QSSLURC: "recv"',  # no client id
        '+QSSLURC: "recv",x',
        '+QSSLURC: recv,1',  # unquoted kind
        '+QSSLURC: "opened",1',  # a kind the manual does not list
    ],
)
def test_odd_qsslurc_lines_are_unknown_urcs(line: str) -> None:
    conn = AtConnection()
    conn.send_command(Command("AT+QSSLSTATE", info_prefixes=("+QSSLURC",)))
    assert conn.receive_data(f"\r\n{line}\r\n".encode()) == [ev.UnknownUrc(line)]
    assert conn.reader_mode is ReaderMode.LINES
