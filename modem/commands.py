"""Typed builders and parsers for the AT commands the proxy uses (sans-I/O).

Every builder returns a ``modem.protocol.Command`` whose text, flags and
timeout follow the module's manuals; every parser takes one whole
information line (``+QIACT: 1,1,1,"10.7.157.1"``) and returns a small frozen
value, or raises ``ValueError`` naming the line it could not read.  Nothing
here does I/O or imports Trio or pyserial.

Sources:

* SSL commands: Quectel EC2x&EG9x&EM05 SSL AT Commands Manual (chapter and
  section numbers below refer to it, e.g. "manual 2.1.2" is AT+QSSLOPEN);
* ``AT+QICSGP``, ``AT+QIACT``, ``AT+QIDEACT``, ``AT+QIGETERROR``,
  ``AT+QIDNSCFG``, ``AT+QISWTMD``: Quectel's TCP(IP) AT Commands Manual;
* ``AT+QFUPL``, ``AT+QFLST``, ``AT+QFDEL``: Quectel's FILE AT Commands Manual;
* ``ATE``, ``ATI``, ``AT+CMEE``, ``AT+CFUN``, ``AT+CPIN``, ``AT+CREG``,
  ``AT+CEREG``, ``AT+CSQ``, ``AT+CCLK``: 3GPP TS 27.007 as Quectel documents
  it; ``AT+QLTS``: Quectel's AT Commands Manual.

Rules the builders enforce before anything reaches the wire:

* every number is range-checked; the ``ValueError`` names the parameter, the
  value and the allowed range;
* strings are written in double quotes and may hold printable ASCII only
  (0x20-0x7E) without ``"``: AT has no escape for a quote, and CR or LF would
  end the command line;
* hex values (cipher suites) are written unquoted as ``0x`` plus four
  upper-case hex digits (``0xC02F``): firmware rejects a quoted hex value.
  The manual's own example writes ``0X0035``; the module reads both.

Timeouts: where a manual gives a maximum response time of 300 ms we allow
``QUICK_TIMEOUT`` (1 s) for the serial line and a busy module; where it
gives none we use ``DEFAULT_TIMEOUT`` (5 s); the long ones are the manual's
(``AT+QIACT`` 150 s, ``AT+QIDEACT`` 40 s, ``AT+CFUN`` 15 s,
``AT+QSSLOPEN`` 150 s + negotiate time, ``AT+QSSLCLOSE`` close_timeout + 5 s).
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from .protocol import Command

__all__ = [
    "CIPHER_LIST_SEPARATOR",
    "CIPHER_SUITES",
    "DEFAULT_TIMEOUT",
    "MAX_RECV",
    "MAX_SEND",
    "QUICK_TIMEOUT",
    "DnsConfig",
    "FileEntry",
    "ModuleIdentity",
    "PdpContextConfig",
    "PdpContextState",
    "Registration",
    "SignalQuality",
    "SslConfigValue",
    "SslSetting",
    "SslSocketState",
    "UploadResult",
    "at",
    "ato",
    "cclk_query",
    "cclk_set",
    "cereg_query",
    "cfun",
    "cmee",
    "cpin_query",
    "creg_query",
    "csq",
    "ctrlz_payload",
    "echo",
    "ati",
    "parse_ati",
    "parse_cclk",
    "parse_cpin",
    "parse_csq",
    "parse_qflst",
    "parse_qfupl",
    "parse_qiact",
    "parse_qicsgp",
    "parse_qidnscfg",
    "parse_qigeterror",
    "parse_qlts",
    "parse_qsslcfg",
    "parse_qsslstate",
    "parse_registration",
    "qfdel",
    "qflst",
    "qfupl",
    "qfupl_checksum",
    "qiact",
    "qiact_query",
    "qicsgp",
    "qicsgp_query",
    "qideact",
    "qidnscfg",
    "qigeterror",
    "qiswtmd",
    "qlts",
    "qsslcfg_cacert",
    "qsslcfg_ciphersuite",
    "qsslcfg_clientcert",
    "qsslcfg_clientkey",
    "qsslcfg_ignorelocaltime",
    "qsslcfg_negotiatetime",
    "qsslcfg_query",
    "qsslcfg_seclevel",
    "qsslcfg_set",
    "qsslcfg_sni",
    "qsslcfg_sslversion",
    "qsslcfg_test",
    "qsslclose",
    "qsslopen",
    "qsslrecv",
    "qsslsend",
    "qsslsend_ctrlz",
    "qsslstate",
    "quote",
    "split_fields",
    "test_form",
]

QUICK_TIMEOUT = 1.0
"""For commands whose manual maximum response time is 300 ms."""

DEFAULT_TIMEOUT = 5.0
"""For commands whose manual gives no maximum response time."""


# -- field syntax ------------------------------------------------------------

_DECIMAL = re.compile(r"-?[0-9]+")
_HEX = re.compile(r"0[xX][0-9A-Fa-f]+")
_BLANK = " \t"


def split_fields(text: str) -> list[str | int]:
    """Split a comma-separated AT argument list, honouring double quotes.

    A quoted field becomes the ``str`` between the quotes (commas and
    spaces inside are kept; AT has no escapes, so the next ``"`` ends it).
    A bare field is stripped of blanks and becomes an ``int`` when it is
    decimal (``-5``, ``8010``) or ``0x``/``0X`` hex (``0xC02F``), else a
    ``str``.  A parenthesised group (``(0-5)``, ``(0X0035,0X002F)``,
    ``("off","on")``) is one bare ``str`` field, commas and all.  An
    empty field (``1,,2``) is ``""``; an empty text is no fields.

    ``ValueError`` for an unterminated quote, a quote inside a bare field,
    text after a closing quote, or unbalanced parentheses.
    """
    n = len(text)
    fields: list[str | int] = []
    if not text.strip(_BLANK):
        return fields
    i = 0
    while True:
        while i < n and text[i] in _BLANK:
            i += 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise ValueError(f"unterminated quoted string at column {i} in {text!r}")
            fields.append(text[i + 1 : end])
            i = end + 1
            while i < n and text[i] in _BLANK:
                i += 1
            if i < n and text[i] != ",":
                raise ValueError(
                    f"unexpected {text[i]!r} after a quoted string at column {i} in {text!r}"
                )
        else:
            start = i
            depth = 0
            while i < n:
                c = text[i]
                if c == '"':
                    if depth == 0:
                        raise ValueError(
                            f"quote inside an unquoted field at column {i} in {text!r}"
                        )
                    end = text.find('"', i + 1)
                    if end < 0:
                        raise ValueError(f"unterminated quoted string at column {i} in {text!r}")
                    i = end + 1
                    continue
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth < 0:
                        raise ValueError(f"unbalanced ')' at column {i} in {text!r}")
                elif c == "," and depth == 0:
                    break
                i += 1
            if depth:
                raise ValueError(f"unbalanced '(' in {text!r}")
            fields.append(_bare(text[start:i].strip(_BLANK)))
        if i >= n:
            return fields
        i += 1  # the comma


def _bare(token: str) -> str | int:
    if _DECIMAL.fullmatch(token):
        return int(token)
    if _HEX.fullmatch(token):
        return int(token, 16)
    return token


def quote(value: str, name: str = "string") -> str:
    """``value`` in double quotes; ``ValueError`` unless it is printable ASCII without ``"``."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {value!r}")
    for ch in value:
        if ch == '"':
            raise ValueError(f"{name} {value!r} holds a double quote, which AT cannot carry")
        if not " " <= ch <= "~":
            raise ValueError(
                f"{name} {value!r} holds {ch!r}; only printable ASCII (0x20-0x7E) is allowed"
            )
    return f'"{value}"'


def _hex4(value: int) -> str:
    return f"0x{value:04X}"


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int in {lo}-{hi}, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}-{hi}, got {value}")
    return value


def _check_choice(name: str, value: object, allowed: Sequence[int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        raise ValueError(f"{name} must be one of {shown}, got {value!r}")
    return value


def _check_flag(name: str, value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    raise ValueError(f"{name} must be a bool (or 0/1), got {value!r}")


def _check_text(name: str, value: object, max_len: int, *, empty_ok: bool = True) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {value!r}")
    if not value and not empty_ok:
        raise ValueError(f"{name} must not be empty")
    if len(value) > max_len:
        raise ValueError(f"{name} must be at most {max_len} characters, got {len(value)}")
    quote(value, name)
    return value


def _info(text: str, prefix: str) -> list[str | int]:
    """The fields of information line ``text``, which must start with ``prefix:``."""
    if not isinstance(text, str):
        raise ValueError(f"expected a {prefix} line, got {text!r}")
    line = text.strip("\r\n")
    head = prefix + ":"
    if not line.startswith(head):
        raise ValueError(f"expected a {prefix} line, got {text!r}")
    try:
        return split_fields(line[len(head) :])
    except ValueError as exc:
        raise ValueError(f"cannot read {text!r}: {exc}") from None


def _cannot(text: str, why: str) -> ValueError:
    return ValueError(f"cannot read {text!r}: {why}")


def _int_field(text: str, fields: Sequence[str | int], index: int, what: str) -> int:
    if index >= len(fields) or not isinstance(fields[index], int):
        raise _cannot(text, f"{what} (field {index + 1}) is not a number")
    return int(fields[index])


# -- generic forms -------------------------------------------------------------

_NAME = re.compile(r"[A-Z][A-Z0-9]*")


def test_form(name: str) -> Command:
    """``AT+<NAME>=?``: the command's supported parameters, as ``+<NAME>: ...`` lines."""
    if not isinstance(name, str):
        raise ValueError(f"command name must be a str, got {name!r}")
    bare = name.upper().removeprefix("AT+").removeprefix("+")
    if not _NAME.fullmatch(bare):
        raise ValueError(f"command name must be letters and digits like 'QSSLOPEN', got {name!r}")
    return Command(f"AT+{bare}=?", info_prefixes=(f"+{bare}",), timeout=QUICK_TIMEOUT)


# Not a pytest test, even when a test module imports it by name.
test_form.__test__ = False  # type: ignore[attr-defined]


# -- basics (3GPP TS 27.007, V.25ter) ------------------------------------------


def at() -> Command:
    """``AT``: is anyone there?"""
    return Command("AT", timeout=QUICK_TIMEOUT)


def echo(on: bool) -> Command:
    """``ATE0`` / ``ATE1``: command echo off / on (on after every power-up)."""
    return Command(f"ATE{_check_flag('echo', on)}", timeout=QUICK_TIMEOUT)


def cmee(mode: int) -> Command:
    """``AT+CMEE=<mode>``: 0 bare ``ERROR``, 1 numeric, 2 verbose ``+CME ERROR``."""
    return Command(f"AT+CMEE={_check_int('CMEE mode', mode, 0, 2)}", timeout=QUICK_TIMEOUT)


def ati() -> Command:
    """``ATI``: manufacturer, model and ``Revision: ...`` as bare lines (see ``parse_ati``)."""
    return Command("ATI", bare_info=True, timeout=QUICK_TIMEOUT)


@dataclass(frozen=True, slots=True)
class ModuleIdentity:
    manufacturer: str
    model: str
    revision: str | None


def parse_ati(lines: Sequence[str]) -> ModuleIdentity:
    """The ``ATI`` lines (``Quectel``, ``EC25``, ``Revision: EC25EFAR06A06M4G``)."""
    body = [ln.strip() for ln in lines if ln.strip()]
    revision = None
    rest = []
    for ln in body:
        if ln.lower().startswith("revision:"):
            revision = ln.split(":", 1)[1].strip()
        else:
            rest.append(ln)
    if len(rest) < 2:
        raise ValueError(f"cannot read ATI answer {list(lines)!r}: want manufacturer and model")
    return ModuleIdentity(rest[0], rest[1], revision)


def cfun(fun: int, reset: bool = False) -> Command:
    """``AT+CFUN=<fun>[,1]``: 0 minimum, 1 full, 4 RF off; ``reset`` restarts the module.

    ``AT+CFUN=1,1`` is the last-resort cure for a module that stopped
    working; the module answers ``OK`` and then reboots (``RDY`` follows).
    """
    f = _check_choice("CFUN fun", fun, (0, 1, 4))
    text = f"AT+CFUN={f},1" if _check_flag("CFUN reset", reset) else f"AT+CFUN={f}"
    return Command(text, timeout=15.0)


def cpin_query() -> Command:
    """``AT+CPIN?``: SIM state (manual maximum 5 s)."""
    return Command("AT+CPIN?", info_prefixes=("+CPIN",), timeout=5.0)


def parse_cpin(text: str) -> str:
    """``+CPIN: READY`` -> ``"READY"`` (or ``"SIM PIN"``, ``"SIM PUK"``, ...)."""
    fields = _info(text, "+CPIN")
    if len(fields) != 1 or not isinstance(fields[0], str) or not fields[0]:
        raise _cannot(text, "want one SIM state word")
    return fields[0]


def creg_query() -> Command:
    """``AT+CREG?``: circuit-switched registration."""
    return Command("AT+CREG?", info_prefixes=("+CREG",), timeout=QUICK_TIMEOUT)


def cereg_query() -> Command:
    """``AT+CEREG?``: EPS (LTE) registration."""
    return Command("AT+CEREG?", info_prefixes=("+CEREG",), timeout=QUICK_TIMEOUT)


_STAT_TEXT = {
    0: "not registered, not searching",
    1: "registered, home network",
    2: "not registered, searching",
    3: "registration denied",
    4: "unknown",
    5: "registered, roaming",
    6: "registered for SMS only, home network",
    7: "registered for SMS only, roaming",
    8: "attached for emergency bearer services only",
    9: "registered for CSFB not preferred, home network",
    10: "registered for CSFB not preferred, roaming",
}

_ACT_TEXT = {
    0: "GSM",
    1: "GSM compact",
    2: "UTRAN",
    3: "GSM w/EGPRS",
    4: "UTRAN w/HSDPA",
    5: "UTRAN w/HSUPA",
    6: "UTRAN w/HSDPA and HSUPA",
    7: "E-UTRAN",
    8: "EC-GSM-IoT",
    9: "E-UTRAN NB-S1",
    10: "E-UTRA connected to 5GCN",
    11: "NR connected to 5GCN",
    12: "NG-RAN",
    13: "E-UTRA-NR dual connectivity",
}


@dataclass(frozen=True, slots=True)
class Registration:
    """``+CREG`` / ``+CGREG`` / ``+CEREG`` (27.007 7.2, 10.1.20, 10.1.22).

    ``n`` is None for the unsolicited form (``+CEREG: 1``).  ``lac`` is set
    for CREG/CGREG, ``tac`` for CEREG; ``ci`` is the cell id.
    """

    n: int | None
    stat: int
    lac: int | None = None
    tac: int | None = None
    ci: int | None = None
    act: int | None = None

    @property
    def registered(self) -> bool:
        """Registered on the home network (1) or roaming (5)."""
        return self.stat in (1, 5)

    def describe(self) -> str:
        text = _STAT_TEXT.get(self.stat, f"unknown registration state {self.stat}")
        if self.act is not None:
            text += f" ({_ACT_TEXT.get(self.act, f'access technology {self.act}')})"
        return text


def _hex_field(value: str | int) -> int | None:
    # Location fields are quoted hex ("1A2B"); an unquoted all-digit one has
    # already been read as decimal by split_fields, so read its digits again.
    s = str(value).strip()
    if not s:
        return None
    return int(s, 16)


def parse_registration(text: str) -> Registration:
    """``+CREG: 0,1``, ``+CEREG: 2,1,"1A2B","01C2D3E4",7``, or the URC forms without n."""
    for prefix in ("+CREG", "+CGREG", "+CEREG"):
        if text.strip("\r\n").startswith(prefix + ":"):
            break
    else:
        raise ValueError(f"expected a +CREG, +CGREG or +CEREG line, got {text!r}")
    fields = _info(text, prefix)
    if not fields or not isinstance(fields[0], int):
        raise _cannot(text, "want <n>,<stat> or <stat>")
    # The query form starts <n>,<stat>; the unsolicited one starts <stat> and
    # its location fields, if any, are quoted strings.
    if len(fields) == 1 or not isinstance(fields[1], int):
        n, rest = None, fields
    else:
        n, rest = int(fields[0]), fields[1:]
    stat = int(rest[0])
    try:
        loc = _hex_field(rest[1]) if len(rest) > 1 else None
        ci = _hex_field(rest[2]) if len(rest) > 2 else None
    except ValueError:
        raise _cannot(text, "location fields are not hex") from None
    act = rest[3] if len(rest) > 3 and isinstance(rest[3], int) else None
    if prefix == "+CEREG":
        return Registration(n, stat, tac=loc, ci=ci, act=act)
    return Registration(n, stat, lac=loc, ci=ci, act=act)


def csq() -> Command:
    """``AT+CSQ``: signal quality."""
    return Command("AT+CSQ", info_prefixes=("+CSQ",), timeout=QUICK_TIMEOUT)


@dataclass(frozen=True, slots=True)
class SignalQuality:
    """``+CSQ: <rssi>,<ber>``; 99 means not known."""

    rssi: int
    ber: int

    @property
    def dbm(self) -> int | None:
        """Received signal strength in dBm, or None when not known.

        0 is -113 dBm or less, 31 is -51 dBm or more, 2 dBm a step; 100-191
        (TD-SCDMA) is -116 dBm to -25 dBm, 1 dBm a step.
        """
        if 0 <= self.rssi <= 31:
            return -113 + 2 * self.rssi
        if 100 <= self.rssi <= 191:
            return -216 + self.rssi
        return None


def parse_csq(text: str) -> SignalQuality:
    """``+CSQ: 24,99``."""
    fields = _info(text, "+CSQ")
    rssi = _int_field(text, fields, 0, "rssi")
    ber = _int_field(text, fields, 1, "ber")
    if not (0 <= rssi <= 31 or rssi == 99 or 100 <= rssi <= 191):
        raise _cannot(text, f"rssi {rssi} is outside 0-31, 99, 100-191")
    if not (0 <= ber <= 7 or ber == 99):
        raise _cannot(text, f"ber {ber} is outside 0-7, 99")
    return SignalQuality(rssi, ber)


# -- clock -----------------------------------------------------------------------

_CLOCK = re.compile(
    r"(?P<y>\d{4}|\d{2})/(?P<mo>\d{1,2})/(?P<d>\d{1,2}),"
    r"(?P<h>\d{1,2}):(?P<mi>\d{1,2}):(?P<s>\d{1,2})"
    r"(?:(?P<sign>[+-])(?P<zz>\d{1,2}))?"
    r"(?:,(?P<dst>\d+))?"
)


def _parse_clock(text: str, value: str) -> tuple[datetime, timezone]:
    """The naive time and the zone of ``yy/MM/dd,hh:mm:ss±zz[,dst]``."""
    m = _CLOCK.fullmatch(value.strip())
    if not m:
        raise _cannot(text, f"{value!r} is not yy/MM/dd,hh:mm:ss±zz")
    year = int(m["y"])
    if len(m["y"]) == 2:
        # 27.007 counts yy from 2000; Quectel's unset clock reads "80/01/06"
        # (the GPS epoch), which is 1980, not 2080.
        year += 1900 if year >= 70 else 2000
    quarters = int(m["zz"] or 0) * (-1 if m["sign"] == "-" else 1)
    if not -48 <= quarters <= 56:
        raise _cannot(text, f"time zone {quarters} quarter hours is outside -48..+56")
    try:
        naive = datetime(year, int(m["mo"]), int(m["d"]), int(m["h"]), int(m["mi"]), int(m["s"]))
    except ValueError as exc:
        raise _cannot(text, str(exc)) from None
    return naive, timezone(timedelta(minutes=15 * quarters))


def cclk_query() -> Command:
    """``AT+CCLK?``: the module clock."""
    return Command("AT+CCLK?", info_prefixes=("+CCLK",), timeout=QUICK_TIMEOUT)


def cclk_set(when: datetime) -> Command:
    """``AT+CCLK="yy/MM/dd,hh:mm:ss±zz"``; zz is the UTC offset in quarter hours.

    ``when`` must be timezone-aware, in 2000-2069 (two-digit years from 70
    read back as 19yy, see ``parse_cclk``), with an offset that is a whole
    number of quarter hours in -48..+56; fractions of a second are dropped.
    """
    if not isinstance(when, datetime) or when.utcoffset() is None:
        raise ValueError(f"CCLK time must be a timezone-aware datetime, got {when!r}")
    _check_int("CCLK year", when.year, 2000, 2069)
    offset = when.utcoffset()
    assert offset is not None
    minutes, rem = divmod(offset.total_seconds(), 60)
    quarters, qrem = divmod(int(minutes), 15)
    if rem or qrem:
        raise ValueError(f"CCLK time zone must be whole quarter hours, got UTC offset {offset}")
    _check_int("CCLK time zone (quarter hours)", quarters, -48, 56)
    sign = "-" if quarters < 0 else "+"
    stamp = when.strftime("%y/%m/%d,%H:%M:%S") + f"{sign}{abs(quarters):02d}"
    return Command(f'AT+CCLK="{stamp}"', timeout=QUICK_TIMEOUT)


def parse_cclk(text: str) -> datetime:
    """``+CCLK: "24/01/02,03:04:05+08"`` -> 2024-01-02 03:04:05+02:00.

    Two-digit years 00-69 are 2000-2069 and 70-99 are 1970-1999 (Quectel's
    unset clock reads ``80/01/06``, the GPS epoch).  A clock without a zone
    is read as UTC.
    """
    fields = _info(text, "+CCLK")
    if len(fields) != 1 or not isinstance(fields[0], str):
        raise _cannot(text, "want one quoted time")
    naive, tz = _parse_clock(text, fields[0])
    return naive.replace(tzinfo=tz)


def qlts(mode: int = 0) -> Command:
    """``AT+QLTS[=<mode>]``: time from the network (NITZ).

    Mode 0: the time of the last network synchronisation, in UTC; 1: the
    current UTC time derived from it; 2: the current local time.  Mode 0 is
    sent as the plain ``AT+QLTS`` that every firmware knows.
    """
    m = _check_int("QLTS mode", mode, 0, 2)
    return Command(
        "AT+QLTS" if m == 0 else f"AT+QLTS={m}", info_prefixes=("+QLTS",), timeout=QUICK_TIMEOUT
    )


def parse_qlts(text: str, mode: int = 0) -> datetime | None:
    """``+QLTS: "2017/01/13,03:40:48+32,0"`` -> aware datetime; ``+QLTS: ""`` -> None.

    ``mode`` is the one the query used: for 0 and 1 the clock fields are UTC
    and ``±zz`` only tells the local zone; for 2 they are local time in
    that zone.  Either way the result is the right instant, expressed in the
    network's local zone.  The year may have two or four digits; the
    daylight-saving field (inside or after the quotes) is already part of
    ``±zz`` and is ignored.
    """
    _check_int("QLTS mode", mode, 0, 2)
    fields = _info(text, "+QLTS")
    if not fields or not isinstance(fields[0], str) or len(fields) > 2:
        raise _cannot(text, "want one quoted time")
    if not fields[0].strip():
        return None
    naive, tz = _parse_clock(text, fields[0])
    if mode == 2:
        return naive.replace(tzinfo=tz)
    return naive.replace(tzinfo=UTC).astimezone(tz)


# -- PDP context (TCP/IP manual) ---------------------------------------------------


def _ctx(context_id: int) -> int:
    return _check_int("PDP context id", context_id, 1, 16)


def qicsgp(
    context_id: int,
    apn: str,
    username: str = "",
    password: str = "",
    auth: int = 0,
    context_type: int = 1,
) -> Command:
    """``AT+QICSGP=<ctx>,<type>,"<apn>","<user>","<password>",<auth>`` (manual 3.1.1).

    ``context_type`` 1 IPv4, 2 IPv6, 3 IPv4v6; ``auth`` 0 none, 1 PAP, 2
    CHAP, 3 PAP or CHAP.  ``log_text`` shows ``"***"`` for a password; if
    the password also occurs in the APN or user name, those are masked too,
    so the log never holds the password's text in a quoted field.
    """
    ctx = _ctx(context_id)
    ctype = _check_int("PDP context type", context_type, 1, 3)
    _check_text("APN", apn, 100)
    _check_text("username", username, 127)
    _check_text("password", password, 127)
    a = _check_int("authentication", auth, 0, 3)
    text = f'AT+QICSGP={ctx},{ctype},"{apn}","{username}","{password}",{a}'
    if password:
        shown_apn = "***" if password in apn else apn
        shown_user = "***" if password in username else username
        log = f'AT+QICSGP={ctx},{ctype},"{shown_apn}","{shown_user}","***",{a}'
    else:
        log = text
    return Command(text, timeout=QUICK_TIMEOUT, log_text=log)


def qicsgp_query(context_id: int) -> Command:
    """``AT+QICSGP=<ctx>``: the context's configuration."""
    return Command(
        f"AT+QICSGP={_ctx(context_id)}", info_prefixes=("+QICSGP",), timeout=QUICK_TIMEOUT
    )


@dataclass(frozen=True, slots=True)
class PdpContextConfig:
    """``+QICSGP: <type>,"<apn>","<user>","<password>",<auth>``; the password is not in repr."""

    context_type: int
    apn: str
    username: str
    password: str = field(repr=False)
    auth: int
    context_id: int | None = None


def parse_qicsgp(text: str) -> PdpContextConfig:
    """``+QICSGP: 1,"UNINET","","",1`` (some firmware put the context id first)."""
    fields = _info(text, "+QICSGP")
    ctx_id = None
    if len(fields) >= 6 and isinstance(fields[1], int):
        ctx_id, fields = int(fields[0]), fields[1:]
    if len(fields) < 4:
        raise _cannot(text, "want <type>,<apn>,<username>,<password>[,<auth>]")
    ctype = _int_field(text, fields, 0, "context type")
    apn, user, pwd = (str(f) for f in fields[1:4])
    auth = _int_field(text, fields, 4, "authentication") if len(fields) > 4 else 0
    return PdpContextConfig(ctype, apn, user, pwd, auth, ctx_id)


def qiact(context_id: int) -> Command:
    """``AT+QIACT=<ctx>``: activate the PDP context (manual maximum 150 s)."""
    return Command(f"AT+QIACT={_ctx(context_id)}", timeout=150.0)


def qiact_query() -> Command:
    """``AT+QIACT?``: one ``+QIACT`` line per active context; bare ``OK`` if none."""
    return Command("AT+QIACT?", info_prefixes=("+QIACT",), timeout=DEFAULT_TIMEOUT)


@dataclass(frozen=True, slots=True)
class PdpContextState:
    """``+QIACT: <ctx>,<state>,<type>[,"<address>"]``; state 1 is activated."""

    context_id: int
    state: int
    context_type: int
    address: str | None

    @property
    def active(self) -> bool:
        return self.state == 1


def parse_qiact(text: str) -> PdpContextState:
    """``+QIACT: 1,1,1,"10.7.157.1"``; a missing address is None, extra fields are ignored."""
    fields = _info(text, "+QIACT")
    ctx = _int_field(text, fields, 0, "context id")
    state = _int_field(text, fields, 1, "context state")
    ctype = _int_field(text, fields, 2, "context type")
    address = str(fields[3]) if len(fields) > 3 and str(fields[3]) else None
    return PdpContextState(ctx, state, ctype, address)


def qideact(context_id: int) -> Command:
    """``AT+QIDEACT=<ctx>``: deactivate the PDP context (manual maximum 40 s)."""
    return Command(f"AT+QIDEACT={_ctx(context_id)}", timeout=40.0)


def qigeterror() -> Command:
    """``AT+QIGETERROR``: code and text of the last TCP/IP or SSL error (manual chapter 5)."""
    return Command("AT+QIGETERROR", info_prefixes=("+QIGETERROR",), timeout=QUICK_TIMEOUT)


def parse_qigeterror(text: str) -> tuple[int, str]:
    """``+QIGETERROR: 566,socket connect failed`` -> ``(566, "socket connect failed")``.

    The description runs to the end of the line (it may hold commas); quotes
    around it are dropped.
    """
    line = text.strip("\r\n")
    if not line.startswith("+QIGETERROR:"):
        raise ValueError(f"expected a +QIGETERROR line, got {text!r}")
    code, _, desc = line[len("+QIGETERROR:") :].partition(",")
    code = code.strip()
    if not _DECIMAL.fullmatch(code):
        raise _cannot(text, "error code is not a number")
    desc = desc.strip()
    if len(desc) >= 2 and desc[0] == desc[-1] == '"':
        desc = desc[1:-1]
    return int(code), desc


def qidnscfg(context_id: int, primary: str | None = None, secondary: str | None = None) -> Command:
    """``AT+QIDNSCFG=<ctx>[,"<primary>"[,"<secondary>"]]``; the query form when both are None.

    Addresses must be literal IPv4 or IPv6 addresses.
    """
    ctx = _ctx(context_id)
    if primary is None:
        if secondary is not None:
            raise ValueError("QIDNSCFG secondary DNS given without a primary")
        return Command(f"AT+QIDNSCFG={ctx}", info_prefixes=("+QIDNSCFG",), timeout=DEFAULT_TIMEOUT)
    parts = [str(ctx)]
    for name, addr in (("primary DNS", primary), ("secondary DNS", secondary)):
        if addr is None:
            continue
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise ValueError(f"{name} must be an IP address, got {addr!r}") from None
        parts.append(quote(addr, name))
    return Command("AT+QIDNSCFG=" + ",".join(parts), timeout=DEFAULT_TIMEOUT)


@dataclass(frozen=True, slots=True)
class DnsConfig:
    context_id: int
    primary: str | None
    secondary: str | None


def parse_qidnscfg(text: str) -> DnsConfig:
    """``+QIDNSCFG: 1,"8.8.8.8","8.8.4.4"`` (quotes optional; missing or empty is None)."""
    fields = _info(text, "+QIDNSCFG")
    ctx = _int_field(text, fields, 0, "context id")
    addrs = [str(f) or None for f in fields[1:3]]
    addrs += [None] * (2 - len(addrs))
    return DnsConfig(ctx, addrs[0], addrs[1])


# -- FILE commands ---------------------------------------------------------------

_FILE_BASE = re.compile(r"[A-Za-z0-9_.\-]+")
_FILE_PATTERN = re.compile(r"[A-Za-z0-9_.\-*?]+")
_STORAGES = ("UFS", "RAM")
_MAX_FILE_NAME = 80


def _split_storage(name: str) -> tuple[str | None, str]:
    head, sep, tail = name.partition(":")
    if sep and head.upper() in _STORAGES:
        return head.upper(), tail
    return None, name


def _check_file_name(what: str, name: object, pattern: re.Pattern[str] = _FILE_BASE) -> str:
    """``[UFS:|RAM:]name``: at most 80 bytes; the name part of letters, digits, ``_.-``."""
    if not isinstance(name, str):
        raise ValueError(f"{what} must be a str, got {name!r}")
    _storage, base = _split_storage(name)
    if len(name) > _MAX_FILE_NAME:
        raise ValueError(f"{what} must be at most {_MAX_FILE_NAME} characters, got {len(name)}")
    if not pattern.fullmatch(base):
        allowed = "letters, digits, '_', '.', '-'" + (
            ", '*', '?'" if pattern is _FILE_PATTERN else ""
        )
        raise ValueError(f"{what} {name!r} must be [UFS:|RAM:]<name> with a name of {allowed}")
    return name


def qfupl_checksum(data: bytes) -> int:
    """The 16-bit checksum ``AT+QFUPL`` reports for ``data``.

    The XOR of the data read as big-endian 16-bit words; an odd trailing
    byte is the high byte of a last word whose low byte is 0.  Sources:
    Quectel's FILE AT Commands Manuals (BG96 and UGxx editions, AT+QFUPL
    note 2: "a 16 bit checksum based on bitwise XOR. If the number of the
    characters is odd, set the last character as the high 8 bit, and the low
    8 bit as 0"), e.g. https://www.manualslib.com/manual/2349421/
    Quectel-Wcdma-Ug-File-Series.html?page=10, and the Quectel forum thread
    https://forums.quectel.com/t/qfupl-how-is-the-checksum-calculated/23599
    (Python reading 2-byte big-endian words, zero-padding the last).
    """
    buf = bytes(data)
    if len(buf) % 2:
        buf += b"\x00"
    acc = 0
    for i in range(0, len(buf), 2):
        acc ^= (buf[i] << 8) | buf[i + 1]
    return acc


def qfupl(name: str, size: int, timeout: int = 5) -> Command:
    """``AT+QFUPL="<name>",<size>,<timeout>``: upload a file (FILE manual, AT+QFUPL).

    The module answers ``CONNECT``, takes exactly ``size`` bytes, then
    ``+QFUPL: <size>,<checksum>`` and ``OK``.  ``timeout`` (1-65535 s) is
    how long the module waits for data.  The command's own timeout allows
    the module's wait, the transfer at 9600 baud (960 bytes/s) and 5 s.
    The ACK mode is not used.
    """
    _check_file_name("file name", name)
    n = _check_int("upload size", size, 1, 0x7FFFFFFF)
    t = _check_int("upload timeout", timeout, 1, 65535)
    return Command(
        f'AT+QFUPL="{name}",{n},{t}',
        info_prefixes=("+QFUPL",),
        payload_after_connect=True,
        payload_len=n,
        timeout=t + n / 960 + 5.0,
    )


@dataclass(frozen=True, slots=True)
class UploadResult:
    """``+QFUPL: <upload_size>,<checksum>``.

    ``checksum`` is the value read as hex (how firmware prints it, e.g.
    ``2d19``), unless that exceeds 16 bits, when it must be decimal.
    ``checksum_text`` is the field as printed; ``matches`` compares under
    both readings.
    """

    size: int
    checksum: int
    checksum_text: str = ""

    def matches(self, data: bytes) -> bool:
        """True when ``data`` has this size and checksum."""
        if len(data) != self.size:
            return False
        want = qfupl_checksum(data)
        if want == self.checksum:
            return True
        return self.checksum_text.isdigit() and int(self.checksum_text) == want


def parse_qfupl(text: str) -> UploadResult:
    """``+QFUPL: 1187,2d19`` (hex, with or without ``0x``, or decimal)."""
    fields = _info(text, "+QFUPL")
    size = _int_field(text, fields, 0, "upload size")
    if len(fields) != 2:
        raise _cannot(text, "want <upload_size>,<checksum>")
    # split_fields reads an all-digit field as decimal; take the token as printed.
    token = text.strip("\r\n").split(",", 1)[1].strip(_BLANK).strip('"')
    digits = token[2:] if token[:2] in ("0x", "0X") else token
    try:
        value = int(digits, 16)
    except ValueError:
        raise _cannot(text, f"checksum {token!r} is neither hex nor decimal") from None
    if value > 0xFFFF and token.isdigit():
        value = int(token)
    if value > 0xFFFF:
        raise _cannot(text, f"checksum {token!r} exceeds 16 bits")
    return UploadResult(size, value, token)


def qflst(pattern: str = "*") -> Command:
    """``AT+QFLST="<pattern>"``: list files (``*`` UFS, ``RAM:*`` RAM)."""
    _check_file_name("file pattern", pattern, _FILE_PATTERN)
    return Command(f'AT+QFLST="{pattern}"', info_prefixes=("+QFLST",), timeout=DEFAULT_TIMEOUT)


@dataclass(frozen=True, slots=True)
class FileEntry:
    """``+QFLST: "<name>",<size>``; UFS names usually come without a prefix."""

    name: str
    size: int

    @property
    def storage(self) -> str:
        """``"UFS"`` or ``"RAM"`` (UFS when the name has no prefix)."""
        return _split_storage(self.name)[0] or "UFS"

    @property
    def bare_name(self) -> str:
        """The name without its storage prefix."""
        return _split_storage(self.name)[1]


def parse_qflst(text: str) -> FileEntry:
    """``+QFLST: "cacert.pem",1758``."""
    fields = _info(text, "+QFLST")
    if len(fields) < 2 or not isinstance(fields[0], str) or not fields[0]:
        raise _cannot(text, 'want "<name>",<size>')
    return FileEntry(fields[0], _int_field(text, fields, 1, "file size"))


def qfdel(name: str) -> Command:
    """``AT+QFDEL="<name>"``: delete a file."""
    _check_file_name("file name", name)
    return Command(f'AT+QFDEL="{name}"', timeout=DEFAULT_TIMEOUT)


# -- SSL context configuration (manual 2.1.1) -----------------------------------


class SslSetting(enum.StrEnum):
    """The nine settings of ``AT+QSSLCFG`` in manual 2.1.1."""

    SSLVERSION = "sslversion"
    CIPHERSUITE = "ciphersuite"
    CACERT = "cacert"
    CLIENTCERT = "clientcert"
    CLIENTKEY = "clientkey"
    SECLEVEL = "seclevel"
    IGNORELOCALTIME = "ignorelocaltime"
    NEGOTIATETIME = "negotiatetime"
    SNI = "sni"


CIPHER_SUITES: dict[int, str] = {
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x0004: "TLS_RSA_WITH_RC4_128_MD5",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0xC002: "TLS_ECDH_ECDSA_WITH_RC4_128_SHA",
    0xC003: "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC004: "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
    0xC005: "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
    0xC007: "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    0xC008: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC011: "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    0xC012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC00C: "TLS_ECDH_RSA_WITH_RC4_128_SHA",
    0xC00D: "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC00E: "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA",
    0xC00F: "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC025: "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC026: "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC029: "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
    0xC02A: "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xFFFF: "all",
}
"""Manual Table 2 (OCR slips fixed): code -> IANA name; 0xFFFF enables all of them."""

CIPHER_LIST_SEPARATOR = ":"
"""Between codes when several suites go into one ``AT+QSSLCFG="ciphersuite"``.

Unconfirmed: the EC2x manual documents one code per command (or 0xFFFF
for all), and no Quectel document or log we could find shows a list; ``:``
is a guess.  A single suite never uses it.
"""


def _ssl_ctx(ctx: int) -> int:
    return _check_int("SSL context id", ctx, 0, 5)


def _qsslcfg(setting: SslSetting, ctx: int, value: str) -> Command:
    return Command(f'AT+QSSLCFG="{setting.value}",{_ssl_ctx(ctx)},{value}', timeout=DEFAULT_TIMEOUT)


def qsslcfg_sslversion(ctx: int, version: int) -> Command:
    """0 SSL3.0, 1 TLS1.0, 2 TLS1.1, 3 TLS1.2, 4 all."""
    v = _check_int("SSL version", version, 0, 4)
    return _qsslcfg(SslSetting.SSLVERSION, ctx, str(v))


def qsslcfg_ciphersuite(ctx: int, suites: int | Sequence[int]) -> Command:
    """Codes of manual Table 2 (``CIPHER_SUITES``), written ``0xC02F``; 0xFFFF is all.

    Several codes are joined with ``CIPHER_LIST_SEPARATOR`` (unconfirmed on
    real firmware, see there); 0xFFFF cannot be combined with others.
    """
    codes = [suites] if isinstance(suites, int) else list(suites)
    if not codes:
        raise ValueError("cipher suites must not be empty")
    for code in codes:
        if isinstance(code, bool) or not isinstance(code, int) or code not in CIPHER_SUITES:
            shown = f"0x{code:04X}" if isinstance(code, int) else repr(code)
            raise ValueError(
                f"cipher suite {shown} is not in the manual's Table 2 (see CIPHER_SUITES)"
            )
    if len(set(codes)) != len(codes):
        raise ValueError(f"cipher suites repeat a code: {[_hex4(c) for c in codes]}")
    if 0xFFFF in codes and len(codes) > 1:
        raise ValueError("cipher suite 0xFFFF (all) cannot be combined with other codes")
    return _qsslcfg(
        SslSetting.CIPHERSUITE, ctx, CIPHER_LIST_SEPARATOR.join(_hex4(c) for c in codes)
    )


def _path(setting: SslSetting, ctx: int, path: str) -> Command:
    _check_file_name(f"{setting.value} path", path)
    return _qsslcfg(setting, ctx, f'"{path}"')


def qsslcfg_cacert(ctx: int, path: str) -> Command:
    """Path of the trusted CA certificate, e.g. ``"UFS:cacert.pem"``."""
    return _path(SslSetting.CACERT, ctx, path)


def qsslcfg_clientcert(ctx: int, path: str) -> Command:
    """Path of the client certificate."""
    return _path(SslSetting.CLIENTCERT, ctx, path)


def qsslcfg_clientkey(ctx: int, path: str) -> Command:
    """Path of the client private key."""
    return _path(SslSetting.CLIENTKEY, ctx, path)


def qsslcfg_seclevel(ctx: int, level: int) -> Command:
    """0 no authentication, 1 server, 2 server and client (if the server asks)."""
    return _qsslcfg(SslSetting.SECLEVEL, ctx, str(_check_int("security level", level, 0, 2)))


def qsslcfg_ignorelocaltime(ctx: int, ignore: bool) -> Command:
    """True: skip the certificate validity check against the module clock (manual 1.4)."""
    return _qsslcfg(SslSetting.IGNORELOCALTIME, ctx, str(_check_flag("ignorelocaltime", ignore)))


def qsslcfg_negotiatetime(ctx: int, seconds: int) -> Command:
    """Maximum handshake time, 10-300 s (default 300)."""
    return _qsslcfg(
        SslSetting.NEGOTIATETIME, ctx, str(_check_int("negotiate time", seconds, 10, 300))
    )


def qsslcfg_sni(ctx: int, on: bool) -> Command:
    """Server Name Indication (manual 1.5); firmware default is off."""
    return _qsslcfg(SslSetting.SNI, ctx, str(_check_flag("sni", on)))


def _setting(setting: SslSetting | str) -> SslSetting:
    try:
        return SslSetting(setting)
    except ValueError:
        names = ", ".join(s.value for s in SslSetting)
        raise ValueError(f"SSL setting must be one of {names}, got {setting!r}") from None


_SETTERS = {
    SslSetting.SSLVERSION: qsslcfg_sslversion,
    SslSetting.CIPHERSUITE: qsslcfg_ciphersuite,
    SslSetting.CACERT: qsslcfg_cacert,
    SslSetting.CLIENTCERT: qsslcfg_clientcert,
    SslSetting.CLIENTKEY: qsslcfg_clientkey,
    SslSetting.SECLEVEL: qsslcfg_seclevel,
    SslSetting.IGNORELOCALTIME: qsslcfg_ignorelocaltime,
    SslSetting.NEGOTIATETIME: qsslcfg_negotiatetime,
    SslSetting.SNI: qsslcfg_sni,
}


def qsslcfg_set(
    setting: SslSetting | str, ctx: int, value: int | bool | str | Sequence[int]
) -> Command:
    """``AT+QSSLCFG="<setting>",<ctx>,<value>``, checked by the setting's typed helper."""
    return _SETTERS[_setting(setting)](ctx, value)


def qsslcfg_query(setting: SslSetting | str, ctx: int) -> Command:
    """``AT+QSSLCFG="<setting>",<ctx>``: read one setting (see ``parse_qsslcfg``)."""
    s = _setting(setting)
    return Command(
        f'AT+QSSLCFG="{s.value}",{_ssl_ctx(ctx)}',
        info_prefixes=("+QSSLCFG",),
        timeout=DEFAULT_TIMEOUT,
    )


def qsslcfg_test() -> Command:
    """``AT+QSSLCFG=?``: the settings and ranges this firmware knows."""
    return test_form("QSSLCFG")


@dataclass(frozen=True, slots=True)
class SslConfigValue:
    """``+QSSLCFG: "<setting>",<ctx>,<value>``.

    ``setting`` is an ``SslSetting`` when it is one of the nine (newer
    firmware has more, kept as ``str``).  ``value`` is an int for numbers,
    a str for paths, for ciphersuite an int (one code) or a tuple of codes,
    and None when the line has no value.
    """

    setting: SslSetting | str
    ctx: int
    value: int | str | tuple[int, ...] | None


def _cipher_list(value: str) -> tuple[int, ...] | None:
    parts = re.split(r"[:;]", value)
    if len(parts) < 2 or not all(_HEX.fullmatch(p.strip()) for p in parts):
        return None
    return tuple(int(p.strip(), 16) for p in parts)


def parse_qsslcfg(text: str) -> SslConfigValue:
    """``+QSSLCFG: "sslversion",1,1`` or ``+QSSLCFG: "cacert",1,"UFS:cacert.pem"``.

    Fields after the value (``clientkey``'s key password on newer firmware)
    are ignored.  A test-form line (ranges such as ``(0-5)``) is refused.
    """
    fields = _info(text, "+QSSLCFG")
    if not fields or not isinstance(fields[0], str) or not fields[0]:
        raise _cannot(text, "want a quoted setting name")
    try:
        setting: SslSetting | str = SslSetting(fields[0].lower())
    except ValueError:
        setting = fields[0]
    ctx = _int_field(text, fields, 1, "SSL context id")
    value: int | str | tuple[int, ...] | None = fields[2] if len(fields) > 2 else None
    if setting == SslSetting.CIPHERSUITE and isinstance(value, str):
        value = _cipher_list(value) or value
    return SslConfigValue(setting, ctx, value)


# -- SSL sockets (manual 2.1.2-2.1.6) -----------------------------------------------


def _client(client_id: int) -> int:
    return _check_int("client id", client_id, 0, 11)


def qsslopen(
    pdp_ctx: int,
    ssl_ctx: int,
    client_id: int,
    host: str,
    port: int,
    mode: int = 0,
    negotiate_time: int = 300,
) -> Command:
    """``AT+QSSLOPEN=<pdp>,<ssl>,<id>,"<host>",<port>,<mode>`` (manual 2.1.2).

    Modes: 0 buffer, 1 direct push, 2 transparent.  Modes 0 and 1 answer
    ``OK`` and later the URC ``+QSSLOPEN: <id>,<err>``; mode 2 answers
    ``CONNECT`` and the line turns transparent (``enters_data_mode``).
    ``negotiate_time`` (10-300) is the context's ``negotiatetime``; the
    timeout is the manual's 150 s plus it.
    """
    pdp = _ctx(pdp_ctx)
    ssl = _ssl_ctx(ssl_ctx)
    cid = _client(client_id)
    _check_text("host", host, 253, empty_ok=False)
    p = _check_int("port", port, 1, 65535)
    m = _check_int("access mode", mode, 0, 2)
    nt = _check_int("negotiate time", negotiate_time, 10, 300)
    return Command(
        f'AT+QSSLOPEN={pdp},{ssl},{cid},"{host}",{p},{m}',
        enters_data_mode=m == 2,
        timeout=150.0 + nt,
    )


# Sending the payload of a 1460-byte QSSLSEND takes 1.5 s at 9600 baud.
_SEND_TIMEOUT = 10.0
MAX_SEND = 1460
MAX_RECV = 1500


def qsslsend(client_id: int, length: int) -> Command:
    """``AT+QSSLSEND=<id>,<len>`` (1-1460): after ``> `` write exactly len bytes.

    Answers ``SEND OK``, ``SEND FAIL`` (buffer full: retry later) or ``ERROR``.
    """
    n = _check_int("send length", length, 1, MAX_SEND)
    return Command(
        f"AT+QSSLSEND={_client(client_id)},{n}", prompt=True, payload_len=n, timeout=_SEND_TIMEOUT
    )


def qsslsend_ctrlz(client_id: int) -> Command:
    """``AT+QSSLSEND=<id>``: after ``> `` write the data and Ctrl-Z (see ``ctrlz_payload``).

    This form cannot carry 0x1A (Ctrl-Z ends the data) or 0x1B (ESC cancels
    the send); prefer ``qsslsend`` with a length.
    """
    return Command(
        f"AT+QSSLSEND={_client(client_id)}", prompt=True, payload_len=None, timeout=_SEND_TIMEOUT
    )


def ctrlz_payload(data: bytes) -> bytes:
    """``data`` plus the Ctrl-Z that ends a ``qsslsend_ctrlz`` payload.

    ``ValueError`` if data is empty, longer than 1460 bytes, or holds 0x1A
    or 0x1B, which this form cannot carry.
    """
    data = bytes(data)
    _check_int("send length", len(data), 1, MAX_SEND)
    for bad, what in ((0x1A, "0x1A (Ctrl-Z)"), (0x1B, "0x1B (ESC)")):
        at_ = data.find(bad)
        if at_ >= 0:
            raise ValueError(f"data holds {what} at offset {at_}; the Ctrl-Z send cannot carry it")
    return data + b"\x1a"


def qsslrecv(client_id: int, length: int = MAX_RECV) -> Command:
    """``AT+QSSLRECV=<id>,<len>`` (1-1500): ``+QSSLRECV: <n>`` then n raw bytes, ``OK``."""
    n = _check_int("receive length", length, 1, MAX_RECV)
    return Command(
        f"AT+QSSLRECV={_client(client_id)},{n}",
        info_prefixes=("+QSSLRECV",),
        recv_limit=n,
        timeout=DEFAULT_TIMEOUT,
    )


def qsslclose(client_id: int, close_timeout: int = 10) -> Command:
    """``AT+QSSLCLOSE=<id>[,<close_timeout>]`` (0-65535 s; 0 closes at once).

    The default of 10 s is the module's own, so it is left out, as in the
    manual's example ``AT+QSSLCLOSE=4``.  Timeout: close_timeout + 5 s.
    """
    cid = _client(client_id)
    ct = _check_int("close timeout", close_timeout, 0, 65535)
    text = f"AT+QSSLCLOSE={cid}" if ct == 10 else f"AT+QSSLCLOSE={cid},{ct}"
    return Command(text, timeout=ct + 5.0)


def qsslstate(client_id: int | None = None) -> Command:
    """``AT+QSSLSTATE[=<id>]``: one ``+QSSLSTATE`` line per socket; bare ``OK`` if none."""
    text = "AT+QSSLSTATE" if client_id is None else f"AT+QSSLSTATE={_client(client_id)}"
    return Command(text, info_prefixes=("+QSSLSTATE",), timeout=DEFAULT_TIMEOUT)


_SOCKET_STATES = {0: "initial", 1: "opening", 2: "connected", 3: "listening", 4: "closing"}


@dataclass(frozen=True, slots=True)
class SslSocketState:
    """``+QSSLSTATE: <id>,"SSLClient","<address>",<remote>,<local>,<state>,<pdp>,
    <server>,<mode>,"<at_port>",<ssl_ctx>`` (manual 2.1.6).

    Fields a firmware leaves out or writes oddly are None; state numbers are
    kept as given (0 initial, 1 opening, 2 connected, 4 closing in the manual).
    """

    client_id: int
    kind: str | None
    address: str | None
    remote_port: int | None
    local_port: int | None
    state: int
    pdp_ctx: int | None
    server_id: int | None
    access_mode: int | None
    at_port: str | None
    ssl_ctx: int | None

    @property
    def state_name(self) -> str:
        return _SOCKET_STATES.get(self.state, f"state {self.state}")


def parse_qsslstate(text: str) -> SslSocketState:
    """``+QSSLSTATE: 4,"SSLClient","220.180.239.212",8010,65344,2,1,4,0,"usbmodem",1``."""
    f = _info(text, "+QSSLSTATE")
    client_id = _int_field(text, f, 0, "client id")
    state = _int_field(text, f, 5, "socket state")

    def num(i: int) -> int | None:
        v = f[i] if i < len(f) else None
        return v if isinstance(v, int) else None

    def txt(i: int) -> str | None:
        return str(f[i]) if i < len(f) and str(f[i]) else None

    return SslSocketState(
        client_id, txt(1), txt(2), num(3), num(4), state, num(6), num(7), num(8), txt(9), num(10)
    )


def qiswtmd(client_id: int, mode: int) -> Command:
    """``AT+QISWTMD=<id>,<mode>``: switch access mode; mode 2 answers ``CONNECT``."""
    m = _check_int("access mode", mode, 0, 2)
    return Command(
        f"AT+QISWTMD={_client(client_id)},{m}", enters_data_mode=m == 2, timeout=DEFAULT_TIMEOUT
    )


def ato() -> Command:
    """``ATO``: back to the transparent connection left by ``+++`` (``CONNECT`` or
    ``NO CARRIER``)."""
    return Command("ATO", enters_data_mode=True, timeout=DEFAULT_TIMEOUT)
