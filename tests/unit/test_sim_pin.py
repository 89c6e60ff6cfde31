"""Whether the SIM's PIN is entered (``modem.core.sim_pin.decide``), and that it
never shows: the command's log text, the trace's redaction, the secret's repr;
and a line that is no text (a server's data after a framing loss) shows as a length."""

from __future__ import annotations

import pytest

from modem.core import commands
from modem.core import events as ev
from modem.core.redaction import redact
from modem.core.sim_pin import PIN_TRIES, PinStep, SimPin, decide, refused
from modem.link.answers import describe

FRESH = commands.PinCounters(PIN_TRIES, 10)


@pytest.mark.parametrize(("state", "counters", "have_pin", "step", "words"), [
    ("READY", None, False, PinStep.READY, ""),
    ("SIM PIN", FRESH, True, PinStep.ENTER, ""),
    ("SIM PIN", FRESH, False, PinStep.STOP, "the SIM wants its PIN"),
    # A wrong try is counted (maybe by our own earlier run): never enter again.
    ("SIM PIN", commands.PinCounters(2, 10), True, PinStep.STOP, "2 of 3 tries are left"),
    ("SIM PIN", commands.PinCounters(1, 10), True, PinStep.STOP, "1 of 3 tries are left"),
    ("SIM PIN", commands.PinCounters(0, 10), True, PinStep.STOP, "no PIN tries left"),
    # Without a count nobody knows whether a try failed.
    ("SIM PIN", None, True, PinStep.STOP, "does not say how many tries"),
    ("SIM PUK", commands.PinCounters(0, 9), True, PinStep.STOP, "PUK (9 PUK tries left)"),
    ("PH-SIM PIN", FRESH, True, PinStep.STOP, "wants PH-SIM PIN"),
])
def test_the_pin_is_entered_only_while_no_wrong_try_is_counted(
        state, counters, have_pin, step, words):
    verdict = decide(state, counters, have_pin)
    assert verdict.step is step
    assert words in verdict.message
    assert (verdict.hint != "") is (step is PinStep.STOP)


def test_a_refused_pin_names_the_tries_left_and_is_not_entered_again():
    verdict = refused(commands.PinCounters(2, 10))
    assert verdict.message == ("the SIM refused the PIN: 2 of 3 tries left; "
                               "the proxy will not enter it again")


def test_the_pin_never_shows():
    pin = SimPin("20481")
    assert "20481" not in repr(pin) and "20481" not in str(pin) and "20481" not in f"{pin!r}"
    command = commands.cpin_enter(pin.digits)
    assert command.text == 'AT+CPIN="20481"' and "20481" not in command.loggable
    for text in ('AT+CPIN="20481"', 'at+cpin = "12345678","20481"', 'AT+CPIN=20481'):
        assert "20481" not in redact(text)
    assert redact("+CPIN: SIM PIN") == "+CPIN: SIM PIN"


@pytest.mark.parametrize("bad", ["123", "123456789", "12a4", " 1234", ""])
def test_a_pin_is_four_to_eight_digits_and_the_error_does_not_quote_it(bad):
    with pytest.raises(ValueError) as caught:
        SimPin(bad)
    assert bad.strip() == "" or bad not in str(caught.value)


def test_qpinc_answers_are_read():
    assert commands.parse_qpinc('+QPINC: "SC",3,10') == commands.PinCounters(3, 10)
    assert commands.parse_qpinc('+QPINC: "sc",1,10') == commands.PinCounters(1, 10)
    with pytest.raises(ValueError):
        commands.parse_qpinc('+QPINC: "P2",3,10')
    assert commands.qpinc().text == 'AT+QPINC="SC"'


def test_a_module_line_that_is_no_text_shows_as_its_length_only() -> None:
    """After bytes were lost on the line a server's data may be read as lines:
    the AT trace and the debug log show those as a length, unless payload is asked."""
    junk = bytes(range(128, 200)).decode("latin-1") + "secret"
    assert describe(ev.UnknownUrc(junk)) == f"[{len(junk)} characters, not text]"
    assert describe(ev.InfoLine("a\x00b")) == "[3 characters, not text]"
    assert describe(ev.UnknownUrc(junk), show_head=True) == junk
    assert describe(ev.UnknownUrc('+QIURC: "pdpdeact",1')) == '+QIURC: "pdpdeact",1'
