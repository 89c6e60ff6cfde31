"""``ModuleWord``: what the module reported of its push support and AT port."""

from __future__ import annotations

import logging

import pytest

from modem.core.module_word import ModuleWord, PushSupport


def test_the_first_push_open_of_each_life_is_checked_until_push_is_refused():
    word = ModuleWord()
    life, next_life = object(), object()
    assert word.push_check_due(life)
    word.note_push_mode(life, 1)
    assert word.push is PushSupport.HONOURED
    assert not word.push_check_due(life) and word.push_check_due(next_life)
    word.note_push_mode(next_life, None)  # a push frame came first: proof enough
    assert word.push is PushSupport.HONOURED and not word.push_refused


def test_a_check_without_an_answer_learns_nothing_and_is_not_repeated_in_that_life():
    word = ModuleWord()
    life = object()
    word.note_push_mode(life, None, answered=False)
    assert word.push is PushSupport.UNKNOWN and not word.push_check_due(life)
    assert word.push_check_due(object())


@pytest.mark.parametrize(("learn", "push"), [
    (lambda w: w.note_push_mode(object(), 0), PushSupport.KEPT_BUFFER),
    (lambda w: w.note_push_refused_at_open("ERROR"), PushSupport.REFUSED_AT_OPEN),
])
def test_a_refusal_is_learned_with_one_line_and_ends_the_checks(learn, push, caplog):
    caplog.set_level(logging.INFO, logger="modem.driver")
    word = ModuleWord()
    learn(word)
    learn(word)
    assert word.push is push and word.push_refused
    assert not word.push_check_due(object())
    assert [r.getMessage() for r in caplog.records] == [
        "module keeps sockets in buffer mode: later sockets open in buffer mode"]


def test_the_port_the_module_names_replaces_the_hosts_guess():
    word = ModuleWord(port_guess="usbat")
    assert word.urc_port() == "usbat"
    assert word.note_port('UART1') == "uart1"
    word.routed("uart1", done=True)
    assert word.note_port("uart1") is None  # learned: not routed again
    assert word.urc_port() == "uart1"
    assert word.report()["urc_port"] == {"host_guess": "usbat", "module_says": "uart1",
                                         "routed_to": "uart1"}


def test_a_port_that_cannot_be_routed_is_tried_once():
    word = ModuleWord()
    assert word.note_port("cmux1") is None  # not a name AT+QURCCFG takes
    assert word.note_port("usbmodem") == "usbmodem"
    word.routed("usbmodem", done=False)  # firmware without AT+QURCCFG
    assert word.note_port("usbmodem") is None
    assert word.urc_port() is None
    assert word.report()["urc_port"]["module_says"] == "usbmodem"
