"""``modem.core.push_flow``: the push inbox keeps order and its bounds, and decides the switches."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem.core.protocol import MAX_PUSH_PAYLOAD
from modem.core.push_flow import HARD_LIMIT_FACTOR, AccessMode, PushInbox, PushState


@given(st.lists(st.one_of(st.binary(min_size=0, max_size=300),
                          st.integers(min_value=1, max_value=500)), max_size=60))
def test_bytes_come_out_in_order_whatever_the_takes(steps: list[bytes | int]) -> None:
    inbox = PushInbox(limit=100_000)
    put = bytearray()
    got = bytearray()
    for step in steps:
        if isinstance(step, bytes):
            assert inbox.add(step)
            put += step
        else:
            out = inbox.take(step)
            assert len(out) <= step
            got += out
        assert len(inbox) == len(put) - len(got)
    got += inbox.take(len(put) + 1)
    assert bytes(got) == bytes(put)
    assert inbox.peak <= len(put)


def test_hard_limit_takes_nothing_past_it() -> None:
    inbox = PushInbox(limit=1000)
    assert inbox.hard_limit == HARD_LIMIT_FACTOR * 1000 + MAX_PUSH_PAYLOAD
    assert inbox.add(b"x" * inbox.hard_limit)
    assert not inbox.add(b"y")
    assert len(inbox) == inbox.hard_limit == inbox.peak


def test_switch_to_buffer_once_past_the_limit_while_pushing() -> None:
    inbox = PushInbox(limit=10)
    inbox.add(b"0123456789")
    assert not inbox.should_switch_to_buffer()
    inbox.add(b"a")
    assert inbox.should_switch_to_buffer()
    inbox.state = PushState.TO_BUFFER
    assert not inbox.should_switch_to_buffer()  # asked once per episode


def test_back_to_push_when_caught_up() -> None:
    inbox = PushInbox(limit=10)
    inbox.state = PushState.BUFFER
    assert inbox.may_switch_to_push(module_buffer_empty=True)
    assert not inbox.may_switch_to_push(module_buffer_empty=False)
    inbox.read_in_buffer_mode = 10  # took a whole limit by AT+QSSLRECV
    assert inbox.may_switch_to_push(module_buffer_empty=False)
    inbox.add(b"x")
    assert not inbox.may_switch_to_push(module_buffer_empty=True)  # inbox first
    inbox.take(1)
    inbox.switch_refused = True
    assert not inbox.may_switch_to_push(module_buffer_empty=True)


def test_limit_and_codes() -> None:
    with pytest.raises(ValueError):
        PushInbox(limit=0)
    assert AccessMode("buffer").code == 0 and AccessMode("push").code == 1


def test_reads_wait_for_pushes_while_the_module_pushes_or_may_still() -> None:
    assert {state for state in PushState if state.module_pushes} == {
        PushState.PUSH, PushState.TO_BUFFER}
