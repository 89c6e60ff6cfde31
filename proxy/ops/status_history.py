"""What the status page draws over time: a small ring of samples.

While ``--status`` serves, ``StatusHistory.run`` takes a sample every
``interval`` seconds and keeps the last ``size`` (five minutes by default).
A sample holds, per running module, the serial line's busy share each way
since the sample before (the busy seconds of its ``LineMeter``, the
measure behind ``/metrics``' ``ssl_proxy_serial_busy_seconds_total``, over
the time between the samples: 1.0 is a line at its limit), its sockets in use
and how many it has; and the connections waiting for a socket.  It also
keeps each open connection's rate each way over the last interval.

``as_dict`` is the ``history`` section of ``/status.json`` (one list per
series, aligned with ``t_s``, the service's uptime at each sample; a module
that did not run at a sample has ``null`` there); ``with_rates`` gives
the connections' entries with ``rate_up_bps`` and ``rate_down_bps``.  Nothing
here asks the module anything: a sample reads counters the driver keeps.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from modem.driver import Modem
from proxy.connections.registry import ConnectionRecord, ConnectionState
from proxy.modems.line_meter import LineMeter

SAMPLE_INTERVAL = 2.0  # seconds between samples
SAMPLES = 150          # kept: five minutes at the interval above


class HistorySource(Protocol):
    """What a sample reads (``proxy.service.ProxyService``)."""

    def running_modems(self) -> dict[str, Modem]:
        """Each module whose driver runs, by name."""
        ...

    def line_meters(self) -> dict[str, LineMeter]:
        """Each running module's line meter, by name."""
        ...


@dataclass(frozen=True)
class ModemSample:
    """One module at one sample: busy share each way (None: the line's rate is
    unknown, or the first sample), sockets in use, sockets it has."""

    busy_to_module: float | None
    busy_from_module: float | None
    sockets_in_use: int
    sockets: int


@dataclass(frozen=True)
class Sample:
    t: float  # the service's uptime, seconds
    queued: int
    modems: dict[str, ModemSample]


def _share(now: float, then: float | None, elapsed: float) -> float | None:
    if then is None or elapsed <= 0:
        return None
    return round(max(0.0, now - then) / elapsed, 4)


class StatusHistory:
    """The ring of samples and the connections' rates (see the module docstring).

    ``connections`` and ``queued`` read the service's live state at sample time;
    ``started`` is when the service started serving (``trio.current_time``).
    """

    def __init__(self, source: HistorySource,
                 connections: Callable[[], Iterable[ConnectionRecord]],
                 queued: Callable[[], int], *, interval: float = SAMPLE_INTERVAL,
                 size: int = SAMPLES) -> None:
        self.source = source
        self.connections = connections
        self.queued = queued
        self.interval = interval
        self.samples: deque[Sample] = deque(maxlen=size)
        self.started = 0.0
        self._busy: dict[str, tuple[float, float]] = {}
        self._bytes: dict[int, tuple[int, int]] = {}
        self._rates: dict[int, tuple[float, float]] = {}
        self._last = 0.0

    async def run(self, started: float) -> None:
        """Sample every ``interval`` seconds until cancelled."""
        self.started = self._last = started
        while True:
            await trio.sleep(self.interval)
            self.sample(trio.current_time())

    def sample(self, now: float) -> None:
        """Take one sample at ``now``."""
        elapsed = now - self._last
        self._last = now
        meters = self.source.line_meters()
        for meter in meters.values():
            meter.sample(now)  # the busy time up to this sample, as a scrape takes it
        modems = {name: self._modem(name, modem, meters.get(name), elapsed)
                  for name, modem in self.source.running_modems().items()}
        self.samples.append(Sample(round(now - self.started, 3), self.queued(), modems))
        self._sample_rates(elapsed)

    def _modem(self, name: str, modem: Modem, meter: LineMeter | None,
               elapsed: float) -> ModemSample:
        busy = None if meter is None else (meter.busy_to_module, meter.busy_from_module)
        before = self._busy.get(name)
        if busy is not None:
            self._busy[name] = busy
        to_module = from_module = None
        if busy is not None and before is not None:
            to_module = _share(busy[0], before[0], elapsed)
            from_module = _share(busy[1], before[1], elapsed)
        ids = modem.client_ids
        return ModemSample(to_module, from_module, len(ids.in_use), ids.capacity)

    def _sample_rates(self, elapsed: float) -> None:
        seen: dict[int, tuple[int, int]] = {}
        rates: dict[int, tuple[float, float]] = {}
        for record in self.connections():
            if record.state is ConnectionState.QUEUED:
                continue
            now = seen[record.number] = (record.bytes_up, record.bytes_down)
            before = self._bytes.get(record.number)
            if before is not None and elapsed > 0:
                rates[record.number] = (round((now[0] - before[0]) / elapsed, 1),
                                        round((now[1] - before[1]) / elapsed, 1))
        self._bytes, self._rates = seen, rates

    def with_rates(self, records: Iterable[ConnectionRecord]) -> list[dict[str, Any]]:
        """The status page's entries of ``records``, each with its rate each way
        (bytes per second over the last interval; None before its second sample)."""
        now = trio.current_time()
        out = []
        for record in records:
            up, down = self._rates.get(record.number, (None, None))
            out.append({**record.as_dict(now), "rate_up_bps": up, "rate_down_bps": down})
        return out

    def as_dict(self) -> dict[str, Any]:
        """The ``history`` section: one list per series, aligned with ``t_s``."""
        samples = list(self.samples)
        names = list(dict.fromkeys(name for s in samples for name in s.modems))
        modems: dict[str, dict[str, Any]] = {}
        for name in names:
            at = [s.modems.get(name) for s in samples]
            modems[name] = {
                "busy_to_module": [None if m is None else m.busy_to_module for m in at],
                "busy_from_module": [None if m is None else m.busy_from_module for m in at],
                "sockets_in_use": [None if m is None else m.sockets_in_use for m in at],
                "sockets": next((m.sockets for m in reversed(at) if m is not None), None),
            }
        return {"interval_s": self.interval, "t_s": [s.t for s in samples],
                "queued": [s.queued for s in samples], "modems": modems}
