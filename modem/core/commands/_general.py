"""Generic forms, 3GPP TS 27.007 basics and the clock (sans-I/O).

``ATE``, ``ATI``, ``AT+CMEE``, ``AT+CFUN``, ``AT+CPIN``, ``AT+CREG``,
``AT+CEREG``, ``AT+CSQ``, ``AT+CCLK``, ``AT+CMUX``: 3GPP TS 27.007 as Quectel
documents it; ``AT+QLTS`` and ``AT+QURCCFG``: Quectel's AT Commands Manual.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from modem.core.at_command import Command, Framing
from modem.core.commands._fields import (
    QUICK_TIMEOUT,
    check_choice,
    check_flag,
    check_int,
    info_fields,
    int_field,
    unreadable,
)

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
    return Command(f"ATE{check_flag('echo', on)}", timeout=QUICK_TIMEOUT)


def cmee(mode: int) -> Command:
    """``AT+CMEE=<mode>``: 0 bare ``ERROR``, 1 numeric, 2 verbose ``+CME ERROR``."""
    return Command(f"AT+CMEE={check_int('CMEE mode', mode, 0, 2)}", timeout=QUICK_TIMEOUT)


def ati() -> Command:
    """``ATI``: manufacturer, model and ``Revision: ...`` as bare lines (see ``parse_ati``)."""
    return Command("ATI", framing=Framing.BARE_LINES, timeout=QUICK_TIMEOUT)


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
    f = check_choice("CFUN fun", fun, (0, 1, 4))
    text = f"AT+CFUN={f},1" if check_flag("CFUN reset", reset) else f"AT+CFUN={f}"
    return Command(text, timeout=15.0)


def cpin_query() -> Command:
    """``AT+CPIN?``: SIM state (manual maximum 5 s)."""
    return Command("AT+CPIN?", info_prefixes=("+CPIN",), timeout=5.0)


def parse_cpin(text: str) -> str:
    """``+CPIN: READY`` -> ``"READY"`` (or ``"SIM PIN"``, ``"SIM PUK"``, ...)."""
    fields = info_fields(text, "+CPIN")
    if len(fields) != 1 or not isinstance(fields[0], str) or not fields[0]:
        raise unreadable(text, "want one SIM state word")
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
    fields = info_fields(text, prefix)
    if not fields or not isinstance(fields[0], int):
        raise unreadable(text, "want <n>,<stat> or <stat>")
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
        raise unreadable(text, "location fields are not hex") from None
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
    fields = info_fields(text, "+CSQ")
    rssi = int_field(text, fields, 0, "rssi")
    ber = int_field(text, fields, 1, "ber")
    if not (0 <= rssi <= 31 or rssi == 99 or 100 <= rssi <= 191):
        raise unreadable(text, f"rssi {rssi} is outside 0-31, 99, 100-191")
    if not (0 <= ber <= 7 or ber == 99):
        raise unreadable(text, f"ber {ber} is outside 0-7, 99")
    return SignalQuality(rssi, ber)


# -- the 27.010 multiplexer (27.007 5.7, AT+CMUX) -------------------------------

#: ``<port_speed>`` codes of ``AT+CMUX`` by line rate (27.007 5.7; 8 from
#: RT-Thread's cmux driver, where Quectel modules run at 921600).
CMUX_PORT_SPEEDS = {9600: 1, 19200: 2, 38400: 3, 57600: 4, 115200: 5, 230400: 6, 460800: 7,
                    921600: 8}
CMUX_DEFAULT_SPEED = 5
#: T1 (10 ms units), N2, T2 (10 ms units), T3 (s), k: the values oFono and Zephyr send.
_CMUX_TIMERS = "10,3,30,10,2"


def cmux_test() -> Command:
    """``AT+CMUX=?``: the parameters the module's multiplexer takes (``parse_cmux_test``);
    ``ERROR`` from firmware without one."""
    return test_form("CMUX")


def _cmux_ranges(text: str, index: int) -> list[tuple[int, int]]:
    """The ranges of the ``index``-th list of a ``+CMUX: (..),(..)`` line
    (``(1-7)`` or ``(1,2,5)``; none when the line has no such list)."""
    lists = re.findall(r"\(([^)]*)\)", text)
    ranges = []
    for part in (lists[index].split(",") if len(lists) > index else ()):
        low, _, high = part.strip().partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            ranges.append((int(low), int(high or low)))
    return ranges


def parse_cmux_test(text: str) -> frozenset[int]:
    """The ``<port_speed>`` codes of ``+CMUX: (0),(0),(1-7),(1-32768),...`` (its
    third list; empty when the line has none)."""
    return frozenset(code for low, high in _cmux_ranges(text, 2)
                     for code in range(low, high + 1))


def parse_cmux_n1(text: str) -> int | None:
    """The largest ``<N1>`` (frame size) ``+CMUX: (0),(0),(1-7),(1-32768),...``
    lists (its fourth list); None when the line has none."""
    ranges = _cmux_ranges(text, 3)
    return max(high for _, high in ranges) if ranges else None


def cmux(n1: int, line_baud: int | None = None,
         speeds: frozenset[int] = frozenset(CMUX_PORT_SPEEDS.values())) -> Command:
    """``AT+CMUX=0,0,<port_speed>,<N1>,10,3,30,10,2``: the basic option with UIH
    frames, frames of at most ``n1`` bytes; after its ``OK`` the line carries
    07.10 frames (``modem.link.mux_session``).

    ``<port_speed>`` is the code of ``line_baud`` when 27.007 has one and the
    module lists it in ``speeds`` (``parse_cmux_test``), else 5: Quectel's M10
    manual says the multiplexer runs at the port's current rate whatever it
    names (a guess for the EC2x, whose manual is not at hand).
    """
    check_int("CMUX N1", n1, 1, 32768)
    speed = CMUX_PORT_SPEEDS.get(line_baud or 0, CMUX_DEFAULT_SPEED)
    if speed not in speeds:
        speed = CMUX_DEFAULT_SPEED
    return Command(f"AT+CMUX=0,0,{speed},{n1},{_CMUX_TIMERS}", timeout=QUICK_TIMEOUT)


# -- URC port (Quectel AT Commands Manual, AT+QURCCFG) ------------------------

class UrcPort(enum.StrEnum):
    """The AT ports ``AT+QURCCFG="urcport",<port>`` can name on EC2x / EG9x / EM05."""

    USBAT = "usbat"
    """The USB AT port (USB interface 2)."""
    USBMODEM = "usbmodem"
    """The USB modem port (USB interface 3)."""
    UART1 = "uart1"
    """The main UART."""


#: ``UrcPort``'s names, as plain strings.
URC_PORTS = tuple(port.value for port in UrcPort)


def qurccfg_urcport_query() -> Command:
    """``AT+QURCCFG="urcport"``: the port URCs go to (``parse_qurccfg_urcport``).

    Older firmware without the command answers ``ERROR``.
    """
    return Command('AT+QURCCFG="urcport"', info_prefixes=("+QURCCFG",), timeout=QUICK_TIMEOUT)


def qurccfg_urcport(port: str) -> Command:
    """``AT+QURCCFG="urcport","<port>"``: send every URC to ``port`` (one of ``URC_PORTS``).

    The module keeps the setting in NVM, so it survives a restart.
    """
    if port not in URC_PORTS:
        raise ValueError(f"URC port must be one of {', '.join(URC_PORTS)}, got {port!r}")
    return Command(f'AT+QURCCFG="urcport","{port}"', timeout=QUICK_TIMEOUT)


def parse_qurccfg_urcport(text: str) -> str:
    """``+QURCCFG: "urcport","usbat"`` -> ``"usbat"`` (lower case).

    Values outside ``URC_PORTS`` (newer firmware has ``"all"``, some
    ``"uart2"``) are returned as they are; the caller decides.
    """
    fields = info_fields(text, "+QURCCFG")
    if (len(fields) != 2 or not all(isinstance(f, str) for f in fields)
            or str(fields[0]).lower() != "urcport" or not fields[1]):
        raise unreadable(text, 'want "urcport",<port>')
    return str(fields[1]).lower()


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
        raise unreadable(text, f"{value!r} is not yy/MM/dd,hh:mm:ss±zz")
    year = int(m["y"])
    if len(m["y"]) == 2:
        # 27.007 counts yy from 2000; Quectel's unset clock reads "80/01/06"
        # (the GPS epoch), which is 1980, not 2080.
        year += 1900 if year >= 70 else 2000
    quarters = int(m["zz"] or 0) * (-1 if m["sign"] == "-" else 1)
    if not -48 <= quarters <= 56:
        raise unreadable(text, f"time zone {quarters} quarter hours is outside -48..+56")
    try:
        naive = datetime(year, int(m["mo"]), int(m["d"]), int(m["h"]), int(m["mi"]), int(m["s"]))
    except ValueError as exc:
        raise unreadable(text, str(exc)) from None
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
    check_int("CCLK year", when.year, 2000, 2069)
    offset = when.utcoffset()
    assert offset is not None
    minutes, rem = divmod(offset.total_seconds(), 60)
    quarters, qrem = divmod(int(minutes), 15)
    if rem or qrem:
        raise ValueError(f"CCLK time zone must be whole quarter hours, got UTC offset {offset}")
    check_int("CCLK time zone (quarter hours)", quarters, -48, 56)
    sign = "-" if quarters < 0 else "+"
    stamp = when.strftime("%y/%m/%d,%H:%M:%S") + f"{sign}{abs(quarters):02d}"
    return Command(f'AT+CCLK="{stamp}"', timeout=QUICK_TIMEOUT)


def parse_cclk(text: str) -> datetime:
    """``+CCLK: "24/01/02,03:04:05+08"`` -> 2024-01-02 03:04:05+02:00.

    Two-digit years 00-69 are 2000-2069 and 70-99 are 1970-1999 (Quectel's
    unset clock reads ``80/01/06``, the GPS epoch).  A clock without a zone
    is read as UTC.
    """
    fields = info_fields(text, "+CCLK")
    if len(fields) != 1 or not isinstance(fields[0], str):
        raise unreadable(text, "want one quoted time")
    naive, tz = _parse_clock(text, fields[0])
    return naive.replace(tzinfo=tz)


def ctzu_query() -> Command:
    """``AT+CTZU?``: automatic time zone update (3GPP TS 27.007; EC2x AT manual)."""
    return Command("AT+CTZU?", info_prefixes=("+CTZU",), timeout=QUICK_TIMEOUT)


def ctzu(mode: int) -> Command:
    """``AT+CTZU=<0|1|3>``: 0 off, 1 time zone from NITZ, 3 also the module clock
    (EC2x AT manual: "update LOCAL time to RTC"; the setting is saved)."""
    return Command(f"AT+CTZU={check_choice('CTZU mode', mode, (0, 1, 3))}",
                   timeout=QUICK_TIMEOUT)


def parse_ctzu(text: str) -> int:
    """``+CTZU: 3`` -> 3."""
    fields = info_fields(text, "+CTZU")
    return int_field(text, fields, 0, "CTZU mode")


def qlts(mode: int = 0) -> Command:
    """``AT+QLTS[=<mode>]``: time from the network (NITZ).

    Mode 0: the time of the last network synchronisation, in UTC; 1: the
    current UTC time derived from it; 2: the current local time.  Mode 0 is
    sent as the plain ``AT+QLTS`` that every firmware knows.
    """
    m = check_int("QLTS mode", mode, 0, 2)
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
    check_int("QLTS mode", mode, 0, 2)
    fields = info_fields(text, "+QLTS")
    if not fields or not isinstance(fields[0], str) or len(fields) > 2:
        raise unreadable(text, "want one quoted time")
    if not fields[0].strip():
        return None
    naive, tz = _parse_clock(text, fields[0])
    if mode == 2:
        return naive.replace(tzinfo=tz)
    return naive.replace(tzinfo=UTC).astimezone(tz)


