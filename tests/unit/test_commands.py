"""Builders and parsers of modem.commands: exact bytes, range checks, manual examples."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem import commands as c
from modem import events as ev
from modem.protocol import AtConnection

# -- split_fields ----


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("", []),
        ("   ", []),
        ("1", [1]),
        ('1,1,1,"10.7.157.1"', [1, 1, 1, "10.7.157.1"]),
        (' 4 , "SSLClient" ,8010', [4, "SSLClient", 8010]),
        ('"a,b",c', ["a,b", "c"]),
        ('"  spaced  "', ["  spaced  "]),
        ("0xC02F,0XFFFF,0x0035", [0xC02F, 0xFFFF, 0x35]),
        ("-5,+5,0x,12ab", [-5, "+5", "0x", "12ab"]),
        ("1,,2,", [1, "", 2, ""]),
        ('"",""', ["", ""]),
        ("SIM PIN", ["SIM PIN"]),
        ('"sslversion",(0-5),(0-4)', ["sslversion", "(0-5)", "(0-4)"]),
        ('"ciphersuite",(0-5),(0X0035,0X002F)', ["ciphersuite", "(0-5)", "(0X0035,0X002F)"]),
        ('"ri",("off","pul,se"),(1-5)', ["ri", '("off","pul,se")', "(1-5)"]),
        ("(1-16),(0-5),<serveraddr>", ["(1-16)", "(0-5)", "<serveraddr>"]),
    ],
)
def test_split_fields(text: str, fields: list[str | int]) -> None:
    assert c.split_fields(text) == fields


@pytest.mark.parametrize(
    "text",
    ['"open', '1,"open', 'ab"c"', '"a"b', "(0-5", "0-5)", "(1,(2)", '("x)'],
)
def test_split_fields_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError):
        c.split_fields(text)


_quoted_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"')
)
_bare_word = st.from_regex(r"[A-Za-z_<>][A-Za-z0-9_.:<>/ -]*[A-Za-z0-9_<>]", fullmatch=True)
_field = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40).map(lambda n: (n, str(n))),
    st.integers(min_value=0, max_value=2**32).map(lambda n: (n, f"0x{n:X}")),
    st.integers(min_value=0, max_value=2**32).map(lambda n: (n, f"0X{n:04x}")),
    _quoted_text.map(lambda s: (s, f'"{s}"')),
    _bare_word.map(lambda s: (s, f" {s} ")),
    st.lists(
        _quoted_text.map(lambda s: f'"{s}"') | st.from_regex(r"[0-9-]+", fullmatch=True),
        min_size=1,
        max_size=4,
    ).map(lambda xs: ("(" + ",".join(xs) + ")",) * 2),
)


@given(st.lists(_field, min_size=1, max_size=12))
def test_split_fields_round_trip(pairs: list[tuple[str | int, str]]) -> None:
    text = ",".join(rendered for _value, rendered in pairs)
    assert c.split_fields(text) == [value for value, _rendered in pairs]


@given(st.text(max_size=200))
def test_split_fields_on_garbage_returns_or_raises_valueerror(text: str) -> None:
    try:
        fields = c.split_fields(text)
    except ValueError:
        return
    assert all(isinstance(f, str | int) for f in fields)


# -- quoting ----


def test_quote() -> None:
    assert c.quote("UFS:ca.pem") == '"UFS:ca.pem"'
    assert c.quote("") == '""'
    assert c.quote(" ~") == '" ~"'


@pytest.mark.parametrize("bad", ['a"b', "a\rb", "a\nb", "a\x00b", "a\x7fb", "caf\u00e9", "\x1a"])
def test_quote_rejects_unsafe_strings(bad: str) -> None:
    with pytest.raises(ValueError, match="apn"):
        c.quote(bad, "apn")


@pytest.mark.parametrize("bad", ['int"ernet', "internet\r", "inter\nnet", "in\x1bternet"])
def test_builders_reject_unsafe_strings_before_the_wire(bad: str) -> None:
    with pytest.raises(ValueError):
        c.qicsgp(1, bad)
    with pytest.raises(ValueError):
        c.qsslopen(1, 1, 0, bad, 443)


# -- basics ----


def test_basic_commands() -> None:
    assert c.at().encode() == b"AT\r"
    assert c.at().timeout == 1.0
    assert c.echo(False).encode() == b"ATE0\r"
    assert c.echo(True).encode() == b"ATE1\r"
    assert c.cmee(2).encode() == b"AT+CMEE=2\r"
    ati = c.ati()
    assert ati.encode() == b"ATI\r"
    assert ati.bare_info
    assert c.cfun(1).encode() == b"AT+CFUN=1\r"
    assert c.cfun(0).encode() == b"AT+CFUN=0\r"
    restart = c.cfun(1, reset=True)
    assert restart.encode() == b"AT+CFUN=1,1\r"
    assert restart.timeout == 15.0
    assert c.cpin_query().encode() == b"AT+CPIN?\r"
    assert c.cpin_query().info_prefixes == ("+CPIN",)
    assert c.creg_query().encode() == b"AT+CREG?\r"
    assert c.cereg_query().encode() == b"AT+CEREG?\r"
    assert c.csq().encode() == b"AT+CSQ\r"
    assert c.cclk_query().encode() == b"AT+CCLK?\r"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: c.cmee(3), r"CMEE mode must be in 0-2, got 3"),
        (lambda: c.cmee(-1), r"CMEE mode must be in 0-2, got -1"),
        (lambda: c.cmee(True), r"CMEE mode must be an int in 0-2, got True"),
        (lambda: c.cfun(2), r"CFUN fun must be one of 0, 1, 4, got 2"),
        (lambda: c.echo(2), r"echo must be a bool"),
    ],
)
def test_basic_range_errors(build, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_parse_ati() -> None:
    ident = c.parse_ati(["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"])
    assert ident == c.ModuleIdentity("Quectel", "EC25", "EC25EFAR06A06M4G")
    with pytest.raises(ValueError):
        c.parse_ati(["Revision: x"])


def test_parse_cpin() -> None:
    assert c.parse_cpin("+CPIN: READY") == "READY"
    assert c.parse_cpin("+CPIN: SIM PIN") == "SIM PIN"
    assert c.parse_cpin("+CPIN:SIM PUK\r\n") == "SIM PUK"
    for bad in ("+CPIN: ", "+CSQ: 1,2", "READY", "+CPIN: 1"):
        with pytest.raises(ValueError):
            c.parse_cpin(bad)


# -- registration and signal ----


def test_parse_registration_query_forms() -> None:
    r = c.parse_registration("+CREG: 0,1")
    assert r == c.Registration(n=0, stat=1)
    assert r.registered
    assert r.describe() == "registered, home network"

    r = c.parse_registration('+CEREG: 2,5,"1A2B","01C2D3E4",7')
    assert (r.n, r.stat, r.tac, r.lac, r.ci, r.act) == (2, 5, 0x1A2B, None, 0x01C2D3E4, 7)
    assert r.registered
    assert "roaming" in r.describe()
    assert "E-UTRAN" in r.describe()

    r = c.parse_registration('+CREG: 2,1,"00A1","0000BEEF",0')
    assert (r.lac, r.tac, r.ci, r.act) == (0xA1, None, 0xBEEF, 0)

    # n=4/5 add cause and PSM fields; they are ignored
    r = c.parse_registration('+CEREG: 4,1,"1A2B","01C2D3E4",7,,,"00100100","01000111"')
    assert (r.stat, r.tac, r.act) == (1, 0x1A2B, 7)


def test_parse_registration_unsolicited_forms() -> None:
    assert c.parse_registration("+CEREG: 2") == c.Registration(n=None, stat=2)
    r = c.parse_registration('+CEREG: 1,"1A2B","01C2D3E4",7')
    assert (r.n, r.stat, r.tac, r.ci, r.act) == (None, 1, 0x1A2B, 0x01C2D3E4, 7)


@pytest.mark.parametrize(
    ("stat", "registered", "word"),
    [
        (0, False, "not searching"),
        (2, False, "searching"),
        (3, False, "denied"),
        (4, False, "unknown"),
        (1, True, "home"),
        (5, True, "roaming"),
        (6, False, "SMS only"),
    ],
)
def test_registration_states(stat: int, registered: bool, word: str) -> None:
    r = c.parse_registration(f"+CEREG: 0,{stat}")
    assert r.registered is registered
    assert word in r.describe()


@pytest.mark.parametrize("bad", ["+CEREG: ", '+CEREG: "x"', '+CEREG: 1,"zz"', "+COPS: 0", "1,1"])
def test_parse_registration_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        c.parse_registration(bad)


@pytest.mark.parametrize(
    ("line", "rssi", "ber", "dbm"),
    [
        ("+CSQ: 24,99", 24, 99, -65),
        ("+CSQ: 0,0", 0, 0, -113),
        ("+CSQ: 31,7", 31, 7, -51),
        ("+CSQ: 99,99", 99, 99, None),
        ("+CSQ: 100,99", 100, 99, -116),
        ("+CSQ: 191,99", 191, 99, -25),
    ],
)
def test_parse_csq(line: str, rssi: int, ber: int, dbm: int | None) -> None:
    q = c.parse_csq(line)
    assert q == c.SignalQuality(rssi, ber)
    assert q.dbm == dbm


@pytest.mark.parametrize("bad", ["+CSQ: 32,99", "+CSQ: 5,8", "+CSQ: 5", "+CSQ: a,b"])
def test_parse_csq_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        c.parse_csq(bad)


# -- clock ----


def test_cclk_set() -> None:
    tz8 = timezone(timedelta(hours=8))
    cmd = c.cclk_set(datetime(2024, 1, 2, 3, 4, 5, 999, tzinfo=tz8))
    assert cmd.encode() == b'AT+CCLK="24/01/02,03:04:05+32"\r'
    west = timezone(timedelta(hours=-3, minutes=-30))
    assert (
        c.cclk_set(datetime(2031, 12, 31, 23, 59, 59, tzinfo=west)).text
        == 'AT+CCLK="31/12/31,23:59:59-14"'
    )
    assert c.cclk_set(datetime(2025, 6, 1, tzinfo=UTC)).text == 'AT+CCLK="25/06/01,00:00:00+00"'


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (datetime(2024, 1, 1), "timezone-aware"),
        (datetime(1999, 1, 1, tzinfo=UTC), "CCLK year must be in 2000-2069, got 1999"),
        (datetime(2070, 1, 1, tzinfo=UTC), "CCLK year must be in 2000-2069, got 2070"),
        (datetime(2024, 1, 1, tzinfo=timezone(timedelta(minutes=10))), "quarter hours"),
        (datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=-13))), "must be in -48-56, got -52"),
    ],
)
def test_cclk_set_rejects(when: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        c.cclk_set(when)


def test_parse_cclk() -> None:
    got = c.parse_cclk('+CCLK: "24/01/02,03:04:05+08"')
    assert got == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert got.utcoffset() == timedelta(hours=2)
    assert c.parse_cclk('+CCLK: "24/01/02,03:04:05-20"').utcoffset() == timedelta(hours=-5)
    # Quectel's unset clock is the GPS epoch
    assert c.parse_cclk('+CCLK: "80/01/06,00:00:42+00"').year == 1980
    # no zone: read as UTC
    assert c.parse_cclk('+CCLK: "24/01/02,03:04:05"').utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "bad",
    [
        '+CCLK: "24/13/02,03:04:05+00"',
        "+CCLK: 24",
        '+CCLK: "yesterday"',
        '+CCLK: "24/01/02,03:04:05+60"',
        '+CCLK: "24/01/02,25:04:05+00"',
    ],
)
def test_parse_cclk_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        c.parse_cclk(bad)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2069, 12, 31, 23, 59, 59)),
    st.integers(min_value=-48, max_value=56),
)
def test_cclk_round_trip(naive: datetime, quarters: int) -> None:
    when = naive.replace(tzinfo=timezone(timedelta(minutes=15 * quarters)))
    answer = c.cclk_set(when).text.replace("AT+CCLK=", "+CCLK: ")
    got = c.parse_cclk(answer)
    assert got == when.replace(microsecond=0)
    assert got.utcoffset() == when.utcoffset()


def test_qlts() -> None:
    assert c.qlts().encode() == b"AT+QLTS\r"
    assert c.qlts(1).encode() == b"AT+QLTS=1\r"
    assert c.qlts(2).encode() == b"AT+QLTS=2\r"
    assert c.qlts().info_prefixes == ("+QLTS",)
    with pytest.raises(ValueError, match=re.escape("QLTS mode must be in 0-2, got 3")):
        c.qlts(3)


def test_parse_qlts() -> None:
    tz8 = timezone(timedelta(hours=8))
    # modes 0 and 1 print UTC and name the local zone
    got = c.parse_qlts('+QLTS: "2017/01/13,03:40:48+32,0"')
    assert got == datetime(2017, 1, 13, 3, 40, 48, tzinfo=UTC)
    assert got is not None and got.utcoffset() == timedelta(hours=8)
    # mode 2 prints local time
    assert c.parse_qlts('+QLTS: "2017/01/13,11:41:23+32,0"', mode=2) == datetime(
        2017, 1, 13, 11, 41, 23, tzinfo=tz8
    )
    # two-digit year, dst outside the quotes, no dst
    assert c.parse_qlts('+QLTS: "17/01/13,03:40:48+32",1', mode=1) == datetime(
        2017, 1, 13, 3, 40, 48, tzinfo=UTC
    )
    assert c.parse_qlts('+QLTS: "2017/01/13,03:40:48-16"') == datetime(
        2017, 1, 13, 3, 40, 48, tzinfo=UTC
    )
    assert c.parse_qlts('+QLTS: ""') is None


@pytest.mark.parametrize("bad", ["+QLTS: 5", '+QLTS: "2017-01-13"', "+QLTS: "])
def test_parse_qlts_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        c.parse_qlts(bad)


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


# -- FILE commands ----


def test_qfupl() -> None:
    cmd = c.qfupl("UFS:cacert.pem", 1758)
    assert cmd.encode() == b'AT+QFUPL="UFS:cacert.pem",1758,5\r'
    assert cmd.payload_after_connect
    assert cmd.payload_len == 1758
    assert cmd.info_prefixes == ("+QFUPL",)
    assert not cmd.prompt
    assert cmd.timeout > 5 + 1758 / 960
    assert (
        c.qfupl("RAM:client_key.pem", 10, timeout=100).encode()
        == b'AT+QFUPL="RAM:client_key.pem",10,100\r'
    )
    assert c.qfupl("ca.pem", 1).encode() == b'AT+QFUPL="ca.pem",1,5\r'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("UFS:ca.pem", 0), "upload size must be in 1-"),
        (("UFS:ca.pem", 10, 0), "upload timeout must be in 1-65535, got 0"),
        (("UFS:ca.pem", 10, 65536), "upload timeout must be in 1-65535, got 65536"),
        (("SD:ca.pem", 10), "must be [UFS:|RAM:]<name>"),
        (("UFS:", 10), "must be [UFS:|RAM:]<name>"),
        (("UFS:dir/ca.pem", 10), "must be [UFS:|RAM:]<name>"),
        (('UFS:c"a.pem', 10), "must be [UFS:|RAM:]<name>"),
        (("UFS:*.pem", 10), "must be [UFS:|RAM:]<name>"),
        (("UFS:" + "a" * 77, 10), "at most 80 characters, got 81"),
    ],
)
def test_qfupl_rejects(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        c.qfupl(*args)


@pytest.mark.parametrize(
    ("data", "checksum"),
    [
        (b"", 0x0000),
        (b"\x12\x34", 0x1234),
        (b"\x12", 0x1200),
        (b"\x12\x34\x56", 0x1234 ^ 0x5600),
        (b"\xff\xff\xff\xff", 0x0000),
        (b"ABCD", 0x4142 ^ 0x4344),
        (b"0123456789", 0x3031 ^ 0x3233 ^ 0x3435 ^ 0x3637 ^ 0x3839),
    ],
)
def test_qfupl_checksum(data: bytes, checksum: int) -> None:
    assert c.qfupl_checksum(data) == checksum


@given(st.binary(max_size=300))
def test_qfupl_checksum_matches_the_forum_reading(data: bytes) -> None:
    # The Quectel forum's reading: 2-byte chunks as big-endian ints, the last one
    # zero-padded, all XORed together.
    acc = 0
    for i in range(0, len(data), 2):
        chunk = data[i : i + 2]
        if len(chunk) == 1:
            chunk += b"\x00"
        acc ^= int.from_bytes(chunk, "big")
    assert c.qfupl_checksum(data) == acc


def test_parse_qfupl() -> None:
    assert c.parse_qfupl("+QFUPL: 1187,2d19") == c.UploadResult(1187, 0x2D19, "2d19")
    assert c.parse_qfupl("+QFUPL: 10,0x613E").checksum == 0x613E
    assert c.parse_qfupl('+QFUPL: 10,"613e"').checksum == 0x613E
    # all-digit: read as the hex the firmware prints, unless it needs to be decimal
    assert c.parse_qfupl("+QFUPL: 10,1234").checksum == 0x1234
    assert c.parse_qfupl("+QFUPL: 10,65535").checksum == 65535
    for bad in (
        "+QFUPL: 10",
        "+QFUPL: 10,xyz",
        "+QFUPL: 10,1ffff",
        "+QFUPL: a,12",
        "+QFUPL: 10,12,3",
    ):
        with pytest.raises(ValueError):
            c.parse_qfupl(bad)


def test_upload_result_matches() -> None:
    data = b"-----BEGIN CERTIFICATE-----\nMIIB\n"
    cs = c.qfupl_checksum(data)
    assert c.parse_qfupl(f"+QFUPL: {len(data)},{cs:x}").matches(data)
    assert c.parse_qfupl(f"+QFUPL: {len(data)},{cs}").matches(data)  # a decimal printer
    assert not c.parse_qfupl(f"+QFUPL: {len(data) - 1},{cs:x}").matches(data)
    assert not c.parse_qfupl(f"+QFUPL: {len(data)},{cs ^ 1:x}").matches(data)


def test_qflst_and_qfdel() -> None:
    assert c.qflst().encode() == b'AT+QFLST="*"\r'
    assert c.qflst("RAM:*").encode() == b'AT+QFLST="RAM:*"\r'
    assert c.qflst().info_prefixes == ("+QFLST",)
    assert c.qfdel("UFS:cacert.pem").encode() == b'AT+QFDEL="UFS:cacert.pem"\r'
    with pytest.raises(ValueError):
        c.qflst('x"')
    with pytest.raises(ValueError):
        c.qfdel("*")


def test_parse_qflst() -> None:
    entry = c.parse_qflst('+QFLST: "cacert.pem",1758')
    assert entry == c.FileEntry("cacert.pem", 1758)
    assert (entry.storage, entry.bare_name) == ("UFS", "cacert.pem")
    ram = c.parse_qflst('+QFLST: "RAM:key.pem",227')
    assert (ram.storage, ram.bare_name, ram.size) == ("RAM", "key.pem", 227)
    for bad in ('+QFLST: "a.pem"', "+QFLST: 12,12", '+QFLST: "",3'):
        with pytest.raises(ValueError):
            c.parse_qflst(bad)


# -- QSSLCFG ----


def test_qsslcfg_manual_examples() -> None:
    # manual 3.2; the manual writes 0X0035, we print 0x + upper-case hex (module reads both)
    assert c.qsslcfg_sslversion(1, 1).encode() == b'AT+QSSLCFG="sslversion",1,1\r'
    assert c.qsslcfg_ciphersuite(1, 0x0035).encode() == b'AT+QSSLCFG="ciphersuite",1,0x0035\r'
    assert c.qsslcfg_seclevel(1, 1).encode() == b'AT+QSSLCFG="seclevel",1,1\r'
    assert (
        c.qsslcfg_cacert(1, "RAM:cacert.pem").encode()
        == b'AT+QSSLCFG="cacert",1,"RAM:cacert.pem"\r'
    )


def test_qsslcfg_typed_helpers() -> None:
    assert c.qsslcfg_ciphersuite(0, 0xFFFF).text == 'AT+QSSLCFG="ciphersuite",0,0xFFFF'
    assert c.qsslcfg_ciphersuite(5, [0xC02F]).text == 'AT+QSSLCFG="ciphersuite",5,0xC02F'
    assert (
        c.qsslcfg_ciphersuite(2, (0xC02F, 0xC027, 0x002F)).text
        == 'AT+QSSLCFG="ciphersuite",2,0xC02F:0xC027:0x002F'
    )
    assert (
        c.qsslcfg_clientcert(2, "UFS:client.pem").text
        == 'AT+QSSLCFG="clientcert",2,"UFS:client.pem"'
    )
    assert (
        c.qsslcfg_clientkey(2, "UFS:user_key.pem").text
        == 'AT+QSSLCFG="clientkey",2,"UFS:user_key.pem"'
    )
    assert c.qsslcfg_ignorelocaltime(0, True).text == 'AT+QSSLCFG="ignorelocaltime",0,1'
    assert c.qsslcfg_ignorelocaltime(0, False).text == 'AT+QSSLCFG="ignorelocaltime",0,0'
    assert c.qsslcfg_negotiatetime(3, 10).text == 'AT+QSSLCFG="negotiatetime",3,10'
    assert c.qsslcfg_negotiatetime(3, 300).text == 'AT+QSSLCFG="negotiatetime",3,300'
    assert c.qsslcfg_sni(4, True).text == 'AT+QSSLCFG="sni",4,1'
    assert c.qsslcfg_sslversion(0, 4).text == 'AT+QSSLCFG="sslversion",0,4'
    assert c.qsslcfg_seclevel(0, 2).text == 'AT+QSSLCFG="seclevel",0,2'


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: c.qsslcfg_sslversion(6, 1), "SSL context id must be in 0-5, got 6"),
        (lambda: c.qsslcfg_sslversion(-1, 1), "SSL context id must be in 0-5, got -1"),
        (lambda: c.qsslcfg_sslversion(0, 5), "SSL version must be in 0-4, got 5"),
        (lambda: c.qsslcfg_seclevel(0, 3), "security level must be in 0-2, got 3"),
        (lambda: c.qsslcfg_negotiatetime(0, 9), "negotiate time must be in 10-300, got 9"),
        (lambda: c.qsslcfg_negotiatetime(0, 301), "negotiate time must be in 10-300, got 301"),
        (lambda: c.qsslcfg_sni(0, 2), "sni must be a bool"),
        (lambda: c.qsslcfg_ciphersuite(0, 0xC030), "cipher suite 0xC030 is not in"),
        (lambda: c.qsslcfg_ciphersuite(0, 0x10035), "cipher suite 0x10035 is not in"),
        (lambda: c.qsslcfg_ciphersuite(0, []), "must not be empty"),
        (lambda: c.qsslcfg_ciphersuite(0, [0xFFFF, 0x0035]), "cannot be combined"),
        (lambda: c.qsslcfg_ciphersuite(0, [0x0035, 0x0035]), "repeat"),
        (lambda: c.qsslcfg_cacert(0, 'UFS:"x'), "cacert path"),
        (lambda: c.qsslcfg_cacert(0, "/etc/ssl/ca.pem"), "cacert path"),
        (lambda: c.qsslcfg_set("alpn", 0, "h2"), "SSL setting must be one of sslversion"),
    ],
)
def test_qsslcfg_range_errors(build, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_qsslcfg_set_dispatches_to_the_typed_helpers() -> None:
    pairs = [
        ("sslversion", 3, c.qsslcfg_sslversion(1, 3)),
        (c.SslSetting.CIPHERSUITE, 0xC02F, c.qsslcfg_ciphersuite(1, 0xC02F)),
        ("ciphersuite", [0xC013, 0xC014], c.qsslcfg_ciphersuite(1, [0xC013, 0xC014])),
        ("cacert", "UFS:ca.pem", c.qsslcfg_cacert(1, "UFS:ca.pem")),
        ("clientcert", "UFS:cc.pem", c.qsslcfg_clientcert(1, "UFS:cc.pem")),
        ("clientkey", "UFS:ck.pem", c.qsslcfg_clientkey(1, "UFS:ck.pem")),
        ("seclevel", 2, c.qsslcfg_seclevel(1, 2)),
        ("ignorelocaltime", True, c.qsslcfg_ignorelocaltime(1, True)),
        ("negotiatetime", 60, c.qsslcfg_negotiatetime(1, 60)),
        ("sni", True, c.qsslcfg_sni(1, True)),
    ]
    assert {str(s) for s, _v, _cmd in pairs} == {s.value for s in c.SslSetting}
    for setting, value, expected in pairs:
        assert c.qsslcfg_set(setting, 1, value) == expected
    with pytest.raises(ValueError, match=re.escape("SSL version must be in 0-4, got 9")):
        c.qsslcfg_set("sslversion", 1, 9)


def test_qsslcfg_query_and_test() -> None:
    q = c.qsslcfg_query("sni", 2)
    assert q.encode() == b'AT+QSSLCFG="sni",2\r'
    assert q.info_prefixes == ("+QSSLCFG",)
    assert c.qsslcfg_query(c.SslSetting.CACERT, 0).text == 'AT+QSSLCFG="cacert",0'
    t = c.qsslcfg_test()
    assert t.encode() == b"AT+QSSLCFG=?\r"
    assert t.info_prefixes == ("+QSSLCFG",)
    with pytest.raises(ValueError):
        c.qsslcfg_query("dtls", 0)


def test_parse_qsslcfg() -> None:
    v = c.parse_qsslcfg('+QSSLCFG: "sslversion",1,1')
    assert v == c.SslConfigValue(c.SslSetting.SSLVERSION, 1, 1)
    assert v.setting == "sslversion"
    assert c.parse_qsslcfg('+QSSLCFG: "ciphersuite",1,0X0035').value == 0x0035
    assert c.parse_qsslcfg('+QSSLCFG: "ciphersuite",1,0xC02F:0XC027').value == (0xC02F, 0xC027)
    assert c.parse_qsslcfg('+QSSLCFG: "ciphersuite",1,0xC02F;0xC027').value == (0xC02F, 0xC027)
    assert c.parse_qsslcfg('+QSSLCFG: "cacert",1,"RAM:cacert.pem"').value == "RAM:cacert.pem"
    assert c.parse_qsslcfg('+QSSLCFG: "cacert",1,""').value == ""
    # newer firmware: a key password after the path; unknown settings stay strings
    assert c.parse_qsslcfg('+QSSLCFG: "clientkey",0,"UFS:k.pem",""').value == "UFS:k.pem"
    dtls = c.parse_qsslcfg('+QSSLCFG: "dtls",0,0')
    assert (dtls.setting, dtls.value) == ("dtls", 0)
    assert not isinstance(dtls.setting, c.SslSetting)
    assert c.parse_qsslcfg('+QSSLCFG: "sni",5').value is None
    for bad in ('+QSSLCFG: "sslversion",(0-5),(0-4)', "+QSSLCFG: 1,1,1", "+QSSLCFG: "):
        with pytest.raises(ValueError):
            c.parse_qsslcfg(bad)


# The test-form answer of manual 2.1.1 with the OCR slips fixed.
_MANUAL_CIPHER_LINE = (
    '+QSSLCFG: "ciphersuite",(0-5),(0X0035,0X002F,0X0005,0X0004,0X000A,0X003D,0XC002,'
    "0XC003,0XC004,0XC005,0XC007,0XC008,0XC009,0XC00A,0XC011,0XC012,0XC013,0XC014,"
    "0XC00C,0XC00D,0XC00E,0XC00F,0XC023,0XC024,0XC025,0XC026,0XC027,0XC028,0XC029,"
    "0XC02A,0XC02F,0XFFFF)"
)


def test_cipher_suites_table() -> None:
    name, ctx, codes = c.split_fields(_MANUAL_CIPHER_LINE.removeprefix("+QSSLCFG:"))
    assert (name, ctx) == ("ciphersuite", "(0-5)")
    assert isinstance(codes, str)
    manual = [int(x, 16) for x in codes.strip("()").split(",")]
    assert sorted(manual) == sorted(c.CIPHER_SUITES)
    assert len(c.CIPHER_SUITES) == 32
    assert c.CIPHER_SUITES[0xFFFF] == "all"
    assert c.CIPHER_SUITES[0xC02F] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert c.CIPHER_SUITES[0xC00A] == "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
    assert c.CIPHER_SUITES[0x000A] == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    names = [n for code, n in c.CIPHER_SUITES.items() if code != 0xFFFF]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"TLS_[A-Z0-9]+(_[A-Z0-9]+)*_WITH_[A-Z0-9_]+", n) for n in names)
    for code in c.CIPHER_SUITES:
        assert c.qsslcfg_ciphersuite(0, code).text.endswith(f",0x{code:04X}")


# -- SSL sockets ----


@pytest.mark.parametrize(
    ("args", "wire", "data_mode"),
    [
        (
            (1, 1, 4, "220.180.239.212", 8010, 0),
            b'AT+QSSLOPEN=1,1,4,"220.180.239.212",8010,0\r',
            False,
        ),
        (
            (1, 1, 4, "220.180.239.212", 8011, 1),
            b'AT+QSSLOPEN=1,1,4,"220.180.239.212",8011,1\r',
            False,
        ),
        (
            (1, 1, 4, "220.180.239.212", 8011, 2),
            b'AT+QSSLOPEN=1,1,4,"220.180.239.212",8011,2\r',
            True,
        ),
        (
            (16, 5, 11, "api.example.com", 443),
            b'AT+QSSLOPEN=16,5,11,"api.example.com",443,0\r',
            False,
        ),
    ],
)
def test_qsslopen_manual_examples(args: tuple, wire: bytes, data_mode: bool) -> None:
    cmd = c.qsslopen(*args)
    assert cmd.encode() == wire
    assert cmd.enters_data_mode is data_mode
    assert cmd.timeout == 150 + 300
    assert not cmd.prompt


def test_qsslopen_timeout_follows_negotiate_time() -> None:
    assert c.qsslopen(1, 0, 0, "h", 443, negotiate_time=30).timeout == 180


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 0, 0, "h", 443), "PDP context id must be in 1-16, got 0"),
        ((17, 0, 0, "h", 443), "PDP context id must be in 1-16, got 17"),
        ((1, 6, 0, "h", 443), "SSL context id must be in 0-5, got 6"),
        ((1, 0, 12, "h", 443), "client id must be in 0-11, got 12"),
        ((1, 0, -1, "h", 443), "client id must be in 0-11, got -1"),
        ((1, 0, 0, "h", 0), "port must be in 1-65535, got 0"),
        ((1, 0, 0, "h", 65536), "port must be in 1-65535, got 65536"),
        ((1, 0, 0, "h", 443, 3), "access mode must be in 0-2, got 3"),
        ((1, 0, 0, "h", 443, 0, 9), "negotiate time must be in 10-300, got 9"),
        ((1, 0, 0, "", 443), "host must not be empty"),
        ((1, 0, 0, "h" * 254, 443), "host must be at most 253 characters, got 254"),
        ((1, 0, 0, "h", "443"), "port must be an int in 1-65535, got '443'"),
    ],
)
def test_qsslopen_range_errors(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        c.qsslopen(*args)


def test_qsslsend() -> None:
    cmd = c.qsslsend(4, 18)
    assert cmd.encode() == b"AT+QSSLSEND=4,18\r"
    assert cmd.prompt
    assert cmd.payload_len == 18
    assert c.qsslsend(0, 1460).payload_len == 1460
    for bad, message in (
        (0, "send length must be in 1-1460, got 0"),
        (1461, "send length must be in 1-1460, got 1461"),
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            c.qsslsend(4, bad)
    with pytest.raises(ValueError, match="client id"):
        c.qsslsend(12, 1)


def test_qsslsend_ctrlz() -> None:
    cmd = c.qsslsend_ctrlz(4)
    assert cmd.encode() == b"AT+QSSLSEND=4\r"
    assert cmd.prompt
    assert cmd.payload_len is None
    assert c.ctrlz_payload(b"Test data from SSL") == b"Test data from SSL\x1a"
    for bad in (b"", b"a\x1ab", b"a\x1bb", b"x" * 1461):
        with pytest.raises(ValueError):
            c.ctrlz_payload(bad)


def test_qsslrecv() -> None:
    cmd = c.qsslrecv(4, 1500)
    assert cmd.encode() == b"AT+QSSLRECV=4,1500\r"
    assert cmd.recv_limit == 1500
    assert cmd.info_prefixes == ("+QSSLRECV",)
    assert c.qsslrecv(4) == cmd
    assert c.qsslrecv(0, 1).recv_limit == 1
    for bad in (0, 1501):
        with pytest.raises(
            ValueError, match=re.escape(f"receive length must be in 1-1500, got {bad}")
        ):
            c.qsslrecv(4, bad)


def test_qsslclose() -> None:
    cmd = c.qsslclose(4)
    assert cmd.encode() == b"AT+QSSLCLOSE=4\r"  # manual 3.3.4: the default 10 s left out
    assert cmd.timeout == 15.0
    now = c.qsslclose(4, 0)
    assert now.encode() == b"AT+QSSLCLOSE=4,0\r"
    assert now.timeout == 5.0
    assert c.qsslclose(11, 65535).encode() == b"AT+QSSLCLOSE=11,65535\r"
    with pytest.raises(ValueError, match=re.escape("close timeout must be in 0-65535, got 65536")):
        c.qsslclose(4, 65536)


def test_qsslstate() -> None:
    assert c.qsslstate().encode() == b"AT+QSSLSTATE\r"
    assert c.qsslstate(4).encode() == b"AT+QSSLSTATE=4\r"
    assert c.qsslstate().info_prefixes == ("+QSSLSTATE",)
    with pytest.raises(ValueError):
        c.qsslstate(12)


def test_parse_qsslstate_manual_lines() -> None:
    s = c.parse_qsslstate(
        '+QSSLSTATE: 4,"SSLClient","220.180.239.212",8010,65344,2,1,4,0,"usbmodem",1'
    )
    assert s == c.SslSocketState(
        client_id=4,
        kind="SSLClient",
        address="220.180.239.212",
        remote_port=8010,
        local_port=65344,
        state=2,
        pdp_ctx=1,
        server_id=4,
        access_mode=0,
        at_port="usbmodem",
        ssl_ctx=1,
    )
    assert s.state_name == "connected"
    push = c.parse_qsslstate(
        '+QSSLSTATE: 4,"SSLClient","220.180.239.212",8011,65047,2,1,4,1,"usbmodem",1'
    )
    assert (push.remote_port, push.local_port, push.access_mode) == (8011, 65047, 1)


def test_parse_qsslstate_tolerates_firmware_variants() -> None:
    zero = c.parse_qsslstate('+QSSLSTATE: 0,"SSLClient","10.0.0.1",443,0,4,1,0,0,"uart1",2')
    assert (zero.local_port, zero.state, zero.state_name) == (0, 4, "closing")
    extra = c.parse_qsslstate(
        '+QSSLSTATE: 1,"SSLClient","h.example",443,5000,2,1,0,0,"usbat",0,7,"x"'
    )
    assert (extra.client_id, extra.ssl_ctx) == (1, 0)
    short = c.parse_qsslstate('+QSSLSTATE: 3,"SSLClient","10.0.0.1",443,1,7')
    assert (short.client_id, short.state, short.state_name) == (3, 7, "state 7")
    assert (short.pdp_ctx, short.access_mode, short.at_port, short.ssl_ctx) == (
        None,
        None,
        None,
        None,
    )
    odd = c.parse_qsslstate('+QSSLSTATE: 2,"SSLClient","",x,,2,1,,0,usbmodem,"1"')
    assert (odd.address, odd.remote_port, odd.local_port, odd.server_id) == (None, None, None, None)
    assert (odd.at_port, odd.ssl_ctx) == ("usbmodem", None)


@pytest.mark.parametrize(
    "bad",
    [
        '+QSSLSTATE: "x",1',
        '+QSSLSTATE: 4,"SSLClient","h",1,2',
        "+QSSLSTATE: ",
        '+QSSLSTATE: 4,"SSLClient","h",1,2,"connected"',
        '+QIACT: 1,1,1,"h"',
    ],
)
def test_parse_qsslstate_needs_id_and_state(bad: str) -> None:
    with pytest.raises(ValueError):
        c.parse_qsslstate(bad)


def test_qiswtmd_and_ato() -> None:
    to_buffer = c.qiswtmd(4, 0)
    assert to_buffer.encode() == b"AT+QISWTMD=4,0\r"
    assert not to_buffer.enters_data_mode
    to_transparent = c.qiswtmd(4, 2)
    assert to_transparent.encode() == b"AT+QISWTMD=4,2\r"
    assert to_transparent.enters_data_mode
    with pytest.raises(ValueError, match=re.escape("access mode must be in 0-2, got 3")):
        c.qiswtmd(4, 3)
    ato = c.ato()
    assert ato.encode() == b"ATO\r"
    assert ato.enters_data_mode


def test_test_form() -> None:
    cmd = c.test_form("QSSLOPEN")
    assert cmd.encode() == b"AT+QSSLOPEN=?\r"
    assert cmd.info_prefixes == ("+QSSLOPEN",)
    assert c.test_form("+qsslsend").text == "AT+QSSLSEND=?"
    assert c.test_form("AT+CSQ").text == "AT+CSQ=?"
    for bad in ("", "QSSL OPEN", 'X"', "+", "1ABC"):
        with pytest.raises(ValueError):
            c.test_form(bad)


# -- the builders' flags against the real protocol object ----


def _run(cmd, reply: bytes) -> list[ev.Event]:
    conn = AtConnection()
    assert conn.send_command(cmd) == cmd.encode()
    return conn.receive_data(reply)


def test_qsslrecv_flags_drive_the_protocol() -> None:
    events = _run(c.qsslrecv(4, 1500), b"\r\n+QSSLRECV: 16\r\nTest data\r\nOK\r\n!\r\n\r\nOK\r\n")
    assert events == [ev.RecvPayload(b"Test data\r\nOK\r\n!"), ev.Ok()]


def test_qfupl_flags_drive_the_protocol() -> None:
    data = b"-----BEGIN\r\nOK\r\n"
    cmd = c.qfupl("UFS:ca.pem", len(data))
    conn = AtConnection()
    conn.send_command(cmd)
    assert conn.receive_data(b"\r\nCONNECT\r\n") == [ev.Connect()]
    assert conn.send_payload(data) == data
    line = f"+QFUPL: {len(data)},{c.qfupl_checksum(data):x}"
    events = conn.receive_data(f"\r\n{line}\r\n\r\nOK\r\n".encode())
    assert events == [ev.InfoLine(line), ev.Ok()]
    assert c.parse_qfupl(line).matches(data)


def test_qsslsend_prompt_and_info_lines_drive_the_protocol() -> None:
    conn = AtConnection()
    conn.send_command(c.qsslsend(4, 5))
    assert conn.receive_data(b"\r\n> ") == [ev.Prompt()]
    conn.send_payload(b"hello")
    assert conn.receive_data(b"\r\nSEND OK\r\n") == [ev.SendOk()]

    line = '+QSSLSTATE: 4,"SSLClient","220.180.239.212",8010,65344,2,1,4,0,"usbmodem",1'
    events = _run(c.qsslstate(), f"\r\n{line}\r\n\r\nOK\r\n".encode())
    assert events == [ev.InfoLine(line), ev.Ok()]
    assert c.parse_qsslstate(events[0].text).client_id == 4

    events = _run(c.ati(), b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n")
    lines = [e.text for e in events if isinstance(e, ev.InfoLine)]
    assert c.parse_ati(lines).model == "EC25"


def test_qsslopen_transparent_enters_data_mode() -> None:
    conn = AtConnection()
    conn.send_command(c.qsslopen(1, 1, 4, "220.180.239.212", 8011, 2))
    assert conn.receive_data(b"\r\nCONNECT\r\n") == [ev.Connect()]
    assert conn.transparent
