"""PDP context commands: QICSGP, QIACT, QIDEACT, QIGETERROR, QIDNSCFG."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem.core import commands as c

# -- PDP context ----


def test_qicsgp_manual_example() -> None:
    cmd = c.qicsgp(1, "UNINET", "", "", 1)
    assert cmd.encode() == b'AT+QICSGP=1,1,"UNINET","","",1\r'
    assert cmd.loggable == cmd.text


def test_qicsgp_password_never_logged() -> None:
    cmd = c.qicsgp(1, "internet.corp", "alice", "S3cr3t!pw", auth=2, context_type=3)
    assert cmd.encode() == b'AT+QICSGP=1,3,"internet.corp","alice","S3cr3t!pw",2\r'
    assert cmd.loggable == 'AT+QICSGP=1,3,"internet.corp","alice","***",2'
    assert "S3cr3t!pw" not in cmd.loggable
    assert "S3cr3t!pw" not in repr(cmd.log_text)
    # the password hidden even where it is also the user name or part of the APN
    same = c.qicsgp(2, "apn.hunter2.net", "hunter2", "hunter2", auth=1)
    assert "hunter2" not in same.loggable
    assert same.loggable == 'AT+QICSGP=2,1,"***","***","***",1'


@given(st.from_regex(r"[A-Za-z]{8,20}", fullmatch=True))
def test_qicsgp_log_text_hides_any_password(password: str) -> None:
    cmd = c.qicsgp(1, "internet", "user", password, auth=1)
    assert password not in cmd.loggable
    assert password in cmd.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context_id": 0}, "PDP context id must be in 1-16, got 0"),
        ({"context_id": 17}, "PDP context id must be in 1-16, got 17"),
        ({"context_type": 4}, "PDP context type must be in 1-3, got 4"),
        ({"auth": 4}, "authentication must be in 0-3, got 4"),
        ({"apn": "x" * 101}, "APN must be at most 100 characters, got 101"),
        ({"password": 'pa"ss'}, "password"),
    ],
)
def test_qicsgp_range_errors(kwargs: dict, message: str) -> None:
    args = {
        "context_id": 1,
        "apn": "internet",
        "username": "",
        "password": "",
        "auth": 0,
        "context_type": 1,
    } | kwargs
    with pytest.raises(ValueError, match=re.escape(message)):
        c.qicsgp(**args)


def test_qicsgp_query_and_parse() -> None:
    assert c.qicsgp_query(1).encode() == b"AT+QICSGP=1\r"
    assert c.qicsgp_query(1).info_prefixes == ("+QICSGP",)
    cfg = c.parse_qicsgp('+QICSGP: 1,"UNINET","","",1')
    assert cfg == c.PdpContextConfig(1, "UNINET", "", "", 1)
    secret = c.parse_qicsgp('+QICSGP: 3,"apn","bob","Pa55word",2')
    assert secret.password == "Pa55word"
    assert "Pa55word" not in repr(secret)
    with_id = c.parse_qicsgp('+QICSGP: 2,1,"apn","","",0')
    assert (with_id.context_id, with_id.context_type, with_id.apn) == (2, 1, "apn")
    with pytest.raises(ValueError):
        c.parse_qicsgp('+QICSGP: "apn"')


def test_qiact_and_qideact() -> None:
    act = c.qiact(1)
    assert act.encode() == b"AT+QIACT=1\r"
    assert act.timeout == 150.0
    assert c.qiact_query().encode() == b"AT+QIACT?\r"
    assert c.qiact_query().info_prefixes == ("+QIACT",)
    deact = c.qideact(1)
    assert deact.encode() == b"AT+QIDEACT=1\r"
    assert deact.timeout == 40.0
    for build in (c.qiact, c.qideact, c.qicsgp_query):
        with pytest.raises(ValueError, match=re.escape("PDP context id must be in 1-16, got 17")):
            build(17)


def test_parse_qiact() -> None:
    state = c.parse_qiact('+QIACT: 1,1,1,"10.7.157.1"')
    assert state == c.PdpContextState(1, 1, 1, "10.7.157.1")
    assert state.active
    assert c.parse_qiact("+QIACT: 2,0,1") == c.PdpContextState(2, 0, 1, None)
    assert not c.parse_qiact("+QIACT: 2,0,1").active
    dual = c.parse_qiact('+QIACT: 1,1,3,"10.0.0.2","2001:db8::1"')
    assert dual.address == "10.0.0.2"
    for bad in ("+QIACT: 1", '+QIACT: "a",1,1', "+QIDEACT: 1,1,1"):
        with pytest.raises(ValueError):
            c.parse_qiact(bad)


def test_qigeterror() -> None:
    assert c.qigeterror().encode() == b"AT+QIGETERROR\r"
    assert c.parse_qigeterror("+QIGETERROR: 566,socket connect failed") == (
        566,
        "socket connect failed",
    )
    assert c.parse_qigeterror("+QIGETERROR: 0,operation successful") == (0, "operation successful")
    assert c.parse_qigeterror('+QIGETERROR: 552,"invalid parameter"') == (552, "invalid parameter")
    assert c.parse_qigeterror("+QIGETERROR: 550,unknown error, try again") == (
        550,
        "unknown error, try again",
    )
    for bad in ("+QIGETERROR: x,y", "+CME ERROR: 3"):
        with pytest.raises(ValueError):
            c.parse_qigeterror(bad)


def test_qidnscfg() -> None:
    query = c.qidnscfg(1)
    assert query.encode() == b"AT+QIDNSCFG=1\r"
    assert query.info_prefixes == ("+QIDNSCFG",)
    assert c.qidnscfg(1, "8.8.8.8").encode() == b'AT+QIDNSCFG=1,"8.8.8.8"\r'
    assert (
        c.qidnscfg(1, "8.8.8.8", "2001:4860:4860::8888").encode()
        == b'AT+QIDNSCFG=1,"8.8.8.8","2001:4860:4860::8888"\r'
    )
    with pytest.raises(ValueError, match="without a primary"):
        c.qidnscfg(1, None, "8.8.4.4")
    with pytest.raises(ValueError, match=re.escape("primary DNS must be an IP address")):
        c.qidnscfg(1, "dns.google")


def test_parse_qidnscfg() -> None:
    assert c.parse_qidnscfg('+QIDNSCFG: 1,"8.8.8.8","8.8.4.4"') == c.DnsConfig(
        1, "8.8.8.8", "8.8.4.4"
    )
    assert c.parse_qidnscfg("+QIDNSCFG: 1,10.0.0.1,0.0.0.0") == c.DnsConfig(
        1, "10.0.0.1", "0.0.0.0"
    )
    assert c.parse_qidnscfg('+QIDNSCFG: 2,"10.0.0.1"') == c.DnsConfig(2, "10.0.0.1", None)
    with pytest.raises(ValueError):
        c.parse_qidnscfg('+QIDNSCFG: "x"')
