"""``AT+QSSLCFG=?``: which settings the firmware offers, read tolerantly, and the
host-name check setting some firmware has (``commands._ssl_features``)."""

from __future__ import annotations

import pytest

from modem.core import commands

# The manual's test answer (2.1.1) as OCR left it: typographic quotes, one
# list wrapped over lines that are no +QSSLCFG line.
MANUAL_ANSWER = [
    '+QSSLCFG: "sslversion\u201d,(0-5),(0-4)',
    '+QSSLCFG: "ciphersuite",(0-5),(0X0035,0X002F,0X0005,0X0004,0X00',
    "0A,0X003D,0XC002,0XFFFF)",
    '+QSSLCFG: "cacert",(0-5),<cacertpath>',
    '+QSSLCFG: "clientcert\u201d,(0-5),<client_cert_path>',
    '+QSSLCFG: "clientkey",(0-5),<client_key path>',
    '+QSSLCFG: "seclevel",(0-5),(0-2)',
    '+QSSLCFG: "ignorelocaltime",(0-5),(0,1)',
    '+QSSLCFG: "negotiatetime"\u201d,(0-5),(10-300)',
    '+QSSLCFG: "sni",(0-5),(0,1)',
]
NINE = ("sslversion", "ciphersuite", "cacert", "clientcert", "clientkey", "seclevel",
        "ignorelocaltime", "negotiatetime", "sni")


def test_the_manual_answer_lists_nine_settings_and_no_host_check():
    offered = commands.parse_qsslcfg_test(MANUAL_ANSWER)
    assert offered == NINE
    assert commands.host_check_setting(offered) is None


@pytest.mark.parametrize("line", [
    '+QSSLCFG: "checkhost",(0-5),(0,1)',
    '+qsslcfg: "CheckHost",(0-5),(0,1)',
    "+QSSLCFG:checkhost,(0-5),(0,1)",
    "  +QSSLCFG :  \u201ccheckhost\u201d , (0-5) , (0,1)",
])
def test_a_host_check_line_in_any_spelling(line):
    offered = commands.parse_qsslcfg_test([*MANUAL_ANSWER, line])
    assert offered == (*NINE, "checkhost")
    assert commands.host_check_setting(offered) == "checkhost"


def test_lines_that_name_nothing_are_skipped_and_names_counted_once():
    lines = ["", "OK", "+QSSLCFG:", '+QSSLCFG: "sni",(0-5),(0,1)', '+QSSLCFG: "sni",1,0']
    assert commands.parse_qsslcfg_test(lines) == ("sni",)


def test_unknown_settings_are_kept_but_are_no_host_check():
    offered = commands.parse_qsslcfg_test(['+QSSLCFG: "renegotiation",(0-5),(0,1)',
                                           '+QSSLCFG: "session",(0-5),(0,1)'])
    assert offered == ("renegotiation", "session")
    assert commands.host_check_setting(offered) is None


def test_host_check_builder():
    assert commands.qsslcfg_host_check(3, "checkhost", True).text == \
        'AT+QSSLCFG="checkhost",3,1'
    assert commands.qsslcfg_host_check(0, "checkhost", False).text == \
        'AT+QSSLCFG="checkhost",0,0'
    with pytest.raises(ValueError, match="SSL context id"):
        commands.qsslcfg_host_check(6, "checkhost", True)
    with pytest.raises(ValueError, match="lower-case name"):
        commands.qsslcfg_host_check(0, 'x",1,"y', True)
