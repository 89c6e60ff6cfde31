"""The module's real-time clock (``AT+CCLK``), which runs from wall time.

At boot it shows the GPS epoch 1980-01-06 unless the configuration says
otherwise: a module without network time is wrong until the host sets it,
and certificate validity (manual 1.4) is judged against this clock.
"""

from __future__ import annotations

import datetime as dt
import re

from .config import GPS_EPOCH

_CCLK = re.compile(r"^(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d\d?)$")


def _wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ModuleClock:
    """Wall time plus ``offset``; ``quarters`` is the time zone in 15-minute steps."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.offset = dt.timedelta(0)
        self.quarters = 0
        self.set(start or GPS_EPOCH)

    def now(self) -> dt.datetime:
        """The module's idea of the current time, in UTC."""
        return _wall() + self.offset

    def set(self, when: dt.datetime, quarters: int = 0) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        self.offset = when - _wall()
        self.quarters = quarters

    def cclk_text(self) -> str:
        """``yy/MM/dd,hh:mm:ss±zz`` in local time, as ``+CCLK:`` shows it."""
        local = self.now() + dt.timedelta(minutes=15 * self.quarters)
        sign = "-" if self.quarters < 0 else "+"
        return f"{local:%y/%m/%d,%H:%M:%S}{sign}{abs(self.quarters):02d}"

    def set_from_cclk(self, text: str) -> None:
        """Set from ``AT+CCLK="yy/MM/dd,hh:mm:ss±zz"``; ValueError when malformed."""
        m = _CCLK.match(text)
        if not m:
            raise ValueError(text)
        yy, mo, dd, hh, mi, ss = (int(g) for g in m.groups()[:6])
        quarters = int(m.group(7))
        if not -48 <= quarters <= 56:
            raise ValueError(text)
        local = dt.datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=dt.UTC)
        self.set(local - dt.timedelta(minutes=15 * quarters), quarters)


def network_time_text(now: dt.datetime | None = None) -> str:
    """``AT+QLTS`` answer body: network time ``yyyy/MM/dd,hh:mm:ss+zz,0`` (UTC)."""
    now = now or _wall()
    return f"{now:%Y/%m/%d,%H:%M:%S}+00,0"


class NetworkTime:
    """The network's time (NITZ) as ``AT+QLTS`` reports it (EC2x AT manual).

    ``offset`` seconds from wall time, or None when the network sends no
    time: then every mode answers ``+QLTS: ""``.  Mode 0 is the time of the
    last synchronisation (``synced_at``, registration at boot), 1 the
    current UTC derived from it, 2 the current local time (the zone is
    +00 here, so the same digits).
    """

    def __init__(self, offset: float | None) -> None:
        self.offset = None if offset is None else dt.timedelta(seconds=offset)
        self.synced_at = _wall()

    def now(self) -> dt.datetime | None:
        return None if self.offset is None else _wall() + self.offset

    def qlts_text(self, mode: int) -> str:
        """The quoted body of ``+QLTS: "..."`` for ``mode`` (empty: no time)."""
        if self.offset is None:
            return ""
        when = self.synced_at if mode == 0 else _wall()
        return network_time_text(when + self.offset)
