"""27.007 basics, registration, signal, the clock and the generic test form."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem.core import commands as c
from modem.core.protocol import Framing

# -- basics ----


def test_basic_commands() -> None:
    assert c.at().encode() == b"AT\r"
    assert c.at().timeout == 1.0
    assert c.echo(False).encode() == b"ATE0\r"
    assert c.echo(True).encode() == b"ATE1\r"
    assert c.cmee(2).encode() == b"AT+CMEE=2\r"
    ati = c.ati()
    assert ati.encode() == b"ATI\r"
    assert ati.framing is Framing.BARE_LINES
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


def test_ctzu() -> None:
    assert c.ctzu_query().encode() == b"AT+CTZU?\r"
    assert c.ctzu(3).encode() == b"AT+CTZU=3\r"
    assert c.parse_ctzu("+CTZU: 1") == 1
    with pytest.raises(ValueError):
        c.ctzu(2)
    with pytest.raises(ValueError):
        c.parse_ctzu("+CTZU: x")


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


# -- generic forms ----


def test_test_form() -> None:
    cmd = c.test_form("QSSLOPEN")
    assert cmd.encode() == b"AT+QSSLOPEN=?\r"
    assert cmd.info_prefixes == ("+QSSLOPEN",)
    assert c.test_form("+qsslsend").text == "AT+QSSLSEND=?"
    assert c.test_form("AT+CSQ").text == "AT+CSQ=?"
    for bad in ("", "QSSL OPEN", 'X"', "+", "1ABC"):
        with pytest.raises(ValueError):
            c.test_form(bad)


# -- URC port ----


def test_qurccfg_builders() -> None:
    query = c.qurccfg_urcport_query()
    assert query.encode() == b'AT+QURCCFG="urcport"\r'
    assert query.info_prefixes == ("+QURCCFG",)
    assert query.timeout == 1.0
    for port in c.URC_PORTS:
        assert c.qurccfg_urcport(port).encode() == f'AT+QURCCFG="urcport","{port}"\r'.encode()
    with pytest.raises(ValueError, match="usbat, usbmodem, uart1"):
        c.qurccfg_urcport("usb2")


def test_parse_qurccfg() -> None:
    assert c.parse_qurccfg_urcport('+QURCCFG: "urcport","usbat"') == "usbat"
    assert c.parse_qurccfg_urcport('+QURCCFG: "URCPORT","USBMODEM"') == "usbmodem"
    assert c.parse_qurccfg_urcport('+QURCCFG: "urcport","all"') == "all"
    for bad in ('+QURCCFG: "urcport"', '+QURCCFG: "other","usbat"', '+QURCCFG: "urcport",1',
                '+QURCCFG: "urcport",""', '+QCFG: "urcport","usbat"'):
        with pytest.raises(ValueError):
            c.parse_qurccfg_urcport(bad)
