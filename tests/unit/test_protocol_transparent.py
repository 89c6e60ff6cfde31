"""Unit tests of the protocol core in transparent mode (``modem.core.transparent_data``).

Data passes at once except a tail that may begin ``NO CARRIER`` (or, leaving,
the escape's ``OK``): it waits for the next bytes, or for the driver's proof
that it is data (``release_transparent_tail``), and is never handed out and
then taken back.  The escape returns to command mode wherever the line is cut."""

from __future__ import annotations

import pytest

from modem.core import events as ev
from modem.core.protocol import Command, Framing
from tests.unit import transcripts as tr
from tests.unit.transcripts import OK, QSSLSTATE, coalesce, transparent_conn, urc


def test_transparent_data_is_delivered_at_once() -> None:
    conn = transparent_conn()
    assert conn.receive_data(b"+PONG") == [ev.TransparentData(b"+PONG")]
    assert conn.receive_data(b"\r\nOK\r\nmore") == [ev.TransparentData(b"\r\nOK\r\nmore")]
    assert conn._buf == b""
    assert conn.transparent_tail_held == 0


@pytest.mark.parametrize("tail", [b"\r", b"\r\n", b"\r\nN", b"\r\nNO CARRIER", b"\r\nNO CARRIER\r"])
def test_a_tail_that_may_begin_no_carrier_is_held_back(tail: bytes) -> None:
    conn = transparent_conn()
    assert conn.receive_data(b"+PONG" + tail) == [ev.TransparentData(b"+PONG")]
    assert conn.transparent_tail_held == len(tail)
    assert conn.receive_data(b"x") == [ev.TransparentData(tail + b"x")]
    assert conn.transparent_tail_held == 0


def test_a_held_tail_released_as_data_no_longer_counts_for_the_marker() -> None:
    # A line-based peer (redis, SMTP) waits for this CR LF: the driver proves it is
    # data (the socket is still connected) and releases it.
    conn = transparent_conn()
    assert conn.receive_data(b"+PONG\r\n") == [ev.TransparentData(b"+PONG")]
    assert conn.release_transparent_tail() == [ev.TransparentData(b"\r\n")]
    assert conn.release_transparent_tail() == []
    # Its own CR LF ends the stream; the released one was data.
    assert conn.receive_data(b"NO CARRIER\r\n") == [ev.TransparentData(b"NO CARRIER")]
    assert conn.transparent_tail_held == 2
    assert conn.receive_data(tr.NO_CARRIER_TAIL) == [ev.TransparentData(b"\r\n"),
                                                      ev.NoCarrier()]


def test_transparent_holds_back_only_a_possible_no_carrier() -> None:
    conn = transparent_conn()
    assert conn.receive_data(b"abc\r\nNO CARR") == [ev.TransparentData(b"abc")]
    assert conn.receive_data(b"OT") == [ev.TransparentData(b"\r\nNO CARROT")]
    assert conn.transparent


def test_no_carrier_then_command_mode_in_one_chunk() -> None:
    conn = transparent_conn()
    events = conn.receive_data(b"data\r\nNO CARRIER\r\n" + urc('+QIURC: "pdpdeact",1'))
    assert events == [ev.TransparentData(b"data"), ev.NoCarrier(), ev.PdpDeactivated(1)]
    assert not conn.transparent
    assert conn.send_command(QSSLSTATE) == b"AT+QSSLSTATE\r"


@pytest.mark.parametrize("cut", range(1, len(tr.NO_CARRIER_TAIL)))
def test_no_carrier_split_anywhere_is_recognised_and_never_leaks(cut: int) -> None:
    conn = transparent_conn()
    stream = b"data" + tr.NO_CARRIER_TAIL
    at = len(b"data") + cut
    events = conn.receive_data(stream[:at]) + conn.receive_data(stream[at:])
    assert coalesce(events) == [ev.TransparentData(b"data"), ev.NoCarrier()]
    assert not conn.transparent


def test_no_carrier_right_after_data_ending_in_crlf() -> None:
    # The usual case: the peer's last bytes end in CR LF, NO CARRIER comes later.
    conn = transparent_conn()
    assert conn.receive_data(b"bye\r\n") == [ev.TransparentData(b"bye")]
    assert conn.receive_data(tr.NO_CARRIER_TAIL) == [ev.TransparentData(b"\r\n"),
                                                      ev.NoCarrier()]


def test_leaving_transparent_keeps_late_data() -> None:
    conn = transparent_conn()
    assert conn.leave_transparent() == b"+++"
    assert conn.transparent
    assert conn.command is not None
    # The module sent these before it saw +++: data, even if they look like lines.
    assert coalesce(conn.receive_data(b'\r\n+QSSLURC: "recv",4\r\nmore')) == [
        ev.TransparentData(b'\r\n+QSSLURC: "recv",4\r\nmore')]
    assert conn.receive_data(b"\r\nOK\r\n" + urc('+QSSLURC: "recv",4')) == [
        ev.Ok(), ev.SslRecv(4)]
    assert not conn.transparent
    assert conn.command is None


@pytest.mark.parametrize("cut", range(len(b"xy\r\nOK\r\n") + 1))
def test_escape_ok_split_anywhere(cut: int) -> None:
    conn = transparent_conn()
    conn.leave_transparent()
    stream = b"xy\r\nOK\r\n"
    events = conn.receive_data(stream[:cut]) + conn.receive_data(stream[cut:])
    assert coalesce(events) == [ev.TransparentData(b"xy"), ev.Ok()]


def test_no_carrier_while_leaving_ends_the_escape() -> None:
    conn = transparent_conn()
    conn.leave_transparent()
    assert conn.receive_data(b"z" + tr.NO_CARRIER_TAIL) == [
        ev.TransparentData(b"z"), ev.NoCarrier()]
    assert conn.command is None
    assert not conn.transparent


def test_back_to_transparent_with_ato() -> None:
    conn = transparent_conn()
    conn.leave_transparent()
    assert conn.receive_data(OK) == [ev.Ok()]
    conn.send_command(Command("ATO", framing=Framing.DATA_MODE))
    assert conn.receive_data(b"\r\nCONNECT\r\nagain") == [
        ev.Connect(), ev.TransparentData(b"again")]

