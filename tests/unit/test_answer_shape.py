"""A final result that cannot end the command's own answer is out of step
(``modem.core.answer_shape``): the parser says so before it, never silently."""

from __future__ import annotations

import pytest

from modem.core import events as ev
from modem.core.answer_shape import OUT_OF_STEP_HINT
from modem.core.protocol import AtConnection, Command
from tests.unit.transcripts import AT, OK, QFUPL, QSSLRECV_1500, QSSLSEND_18, recv_reply


def answer(command: Command, data: bytes) -> list[ev.Event]:
    conn = AtConnection()
    conn.send_command(command)
    events = conn.receive_data(data)
    assert conn.command is None  # the result still ends it: the channel decides
    return events


def violations(events: list[ev.Event]) -> list[str]:
    return [e.reason for e in events if isinstance(e, ev.ProtocolViolation)]


def test_a_read_answered_ok_without_its_recv_line_is_out_of_step() -> None:
    events = answer(QSSLRECV_1500, OK)
    assert events[-1] == ev.Ok()
    (why,) = violations(events)
    assert "no +QSSLRECV line" in why
    # ... and the violation comes first, so the channel never sees a bare OK as the answer;
    # its log line says what happened, not that bytes are lost on the line.
    assert isinstance(events[0], ev.ProtocolViolation)
    assert events[0].hint == OUT_OF_STEP_HINT


@pytest.mark.parametrize("data", [recv_reply(b""), recv_reply(b"abc"), b"\r\nERROR\r\n",
                                  b"\r\n+CME ERROR: 572\r\n"])
def test_a_read_with_its_own_answer_is_in_step(data: bytes) -> None:
    assert violations(answer(QSSLRECV_1500, data)) == []


def test_a_read_whose_head_and_data_were_lost_is_out_of_step() -> None:
    # A dropped frame took "+QSSLRECV: 1500" and the start of the data; the
    # rest reads as lines (unknown URCs), then the OK: never an empty read.
    events = answer(QSSLRECV_1500, b"\xa5tail of the data\r\nOK\r\n")
    assert violations(events)
    assert not any(isinstance(e, ev.RecvPayload) for e in events)


@pytest.mark.parametrize("late", [OK, b"\r\nSEND OK\r\n", b"\r\nSEND FAIL\r\n",
                                  b"\r\nNO CARRIER\r\n"])
def test_a_result_before_the_send_prompt_is_out_of_step(late: bytes) -> None:
    events = answer(QSSLSEND_18, late)
    (why,) = violations(events)
    assert "before the prompt of AT+QSSLSEND=4,18" in why


@pytest.mark.parametrize("refusal", [b"\r\nERROR\r\n", b"\r\n+CME ERROR: 552\r\n"])
def test_a_refusal_before_the_prompt_is_in_step(refusal: bytes) -> None:
    assert violations(answer(QSSLSEND_18, refusal)) == []


def test_send_ok_after_the_prompt_and_payload_is_in_step() -> None:
    conn = AtConnection()
    conn.send_command(QSSLSEND_18)
    assert conn.receive_data(b"> ") == [ev.Prompt()]
    conn.send_payload(b"x" * 18)
    assert conn.receive_data(b"\r\nSEND OK\r\n") == [ev.SendOk()]


def test_ok_before_the_upload_connect_is_out_of_step() -> None:
    assert violations(answer(QFUPL, OK))
    conn = AtConnection()
    conn.send_command(QFUPL)
    conn.receive_data(b"\r\nCONNECT\r\n")
    conn.send_payload(b"0123456789")
    events = conn.receive_data(b"\r\n+QFUPL: 10,613\r\n" + OK)
    assert violations(events) == [] and events[-1] == ev.Ok()


def test_a_plain_command_takes_any_result() -> None:
    assert violations(answer(AT, OK)) == []
    assert violations(answer(AT, b"\r\nSEND OK\r\n")) == []
