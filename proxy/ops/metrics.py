"""``/metrics``: the proxy's counters in the Prometheus text format.

``MetricsCollector`` is a prometheus_client custom collector: at every
scrape it reads the counters the registry (``proxy.connections.registry``), the
admission and the driver (``modem.driver.Modem``) already keep, so there is
no second set of bookkeeping to drift.  ``scrape`` first refreshes the
module's signal (``Modem.module_info``, bounded like the status page), then
renders.  Module-level series carry a ``modem`` label: the module's name
(``modem1``... or its ``[[modem]]`` name), with one module as with several.

Names follow the Prometheus conventions: counters end in ``_total``, units
are seconds and bytes.  The serial line's busy time each way is the line
time its bytes need at the line's rate, never more than the time that
passed (``proxy.modems.line_meter``, the status page's ``line_busy`` too),
so ``rate(ssl_proxy_serial_busy_seconds_total[1m])`` is the share of the
line in use (1.0: at its limit).  The table of metrics is in
docs/operations.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from collections.abc import Mapping as MappingABC
from typing import Any, Protocol

import trio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from modem import __version__
from modem.core.channel_plan import ChannelKind
from modem.core.errors import ModemError
from modem.core.module_state import ModuleState
from modem.driver import AccessMode, Modem
from proxy.config.build import Mapping, ProxyConfig
from proxy.config.endpoint import ListenAddress
from proxy.connections.admission import Admission
from proxy.connections.registry import ConnectionState, MapTotals, Registry
from proxy.modems.line_meter import LineMeter
from proxy.modems.names import MODEM_NAME

SIGNAL_TIMEOUT = 0.8  # a scrape answers within 1 s, however slow the module


class MetricsSource(Protocol):
    """What the collector reads (``proxy.service.ProxyService``)."""

    registry: Registry
    @property
    def admission(self) -> Admission[Any] | None: ...
    listen_addresses: dict[Mapping, ListenAddress]
    config: ProxyConfig

    def running_modems(self) -> dict[str, Modem]:
        """Each module whose driver runs, by name (the ``modem`` label's value)."""
        ...

    def line_meters(self) -> dict[str, LineMeter]:
        """The line meter of each module ``running_modems`` names."""
        ...


def map_label(mapping: Mapping, bound: MappingABC[Mapping, ListenAddress]) -> str:
    """A map as a label value: where it really listens, and where it goes."""
    return f"{bound.get(mapping, mapping.listen)} -> {mapping.remote}"


class MetricsCollector:
    """Builds every metric family from ``source`` at scrape time."""

    def __init__(self, source: MetricsSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self._service()
        yield from self._maps()
        modems = list(self.source.running_modems().items())
        if modems:
            yield from self._module(modems)

    def _service(self) -> Iterator[Metric]:
        source = self.source
        info = GaugeMetricFamily("ssl_proxy_build_info", "The proxy's version.",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        counters = source.registry.counters
        yield _by_key("ssl_proxy_open_failures", "Opens that failed, by the module's error "
                      "code (else the error's kind; ModuleNotReady: reset while the module "
                      "recovered).", "code", counters.open_failures)
        yield _by_key("ssl_proxy_socket_failures", "Open module sockets that failed "
                      "mid-stream, by error code or kind.", "code", counters.socket_failures)
        yield _by_key("ssl_proxy_connection_ends", "Ended connections by how they ended "
                      "(docs/reliability.md: the endings table).", "ending",
                      {ending.value: n for ending, n in counters.ends.items()})
        yield CounterMetricFamily(
            "ssl_proxy_idle_releases", "Module sockets an idle connection gave back while "
            "its client stayed connected (idle-release).", value=counters.idle_releases)
        yield CounterMetricFamily(
            "ssl_proxy_resets", "Connections the client saw reset (RST): anything "
            "but a complete stream.", value=counters.resets)
        if admission_now := source.admission:
            yield GaugeMetricFamily("ssl_proxy_queue_max", "The --queue-max limit.",
                                    value=admission_now.queue_max)
        yield CounterMetricFamily(
            "ssl_proxy_queue_timeouts", "Connections closed unserved: no module socket "
            "freed up within the queue timeout.", value=counters.queue_timeouts)
        queued = sum(1 for r in source.registry.connections.values()
                     if r.state is ConnectionState.QUEUED)
        yield GaugeMetricFamily("ssl_proxy_queue_length",
                                "Connections waiting for a module socket.", value=queued)
        admission = source.admission
        if admission is not None:
            yield GaugeMetricFamily("ssl_proxy_max_connections",
                                    "The --max-connections limit.",
                                    value=admission.max_connections)

    def _maps(self) -> Iterator[Metric]:
        source = self.source
        registry = source.registry
        live: dict[Mapping, MapTotals] = {m: MapTotals() for m in source.config.maps}
        states: dict[Mapping, Counter[str]] = {m: Counter() for m in source.config.maps}
        for record in registry.connections.values():
            totals = live.setdefault(record.mapping, MapTotals())
            totals.bytes_up += record.bytes_up
            totals.bytes_down += record.bytes_down
            states.setdefault(record.mapping, Counter())[record.state.value] += 1
        ended = CounterMetricFamily(
            "ssl_proxy_connections", "Local connections that ended, by map and outcome.",
            labels=["map", "outcome"])
        open_now = GaugeMetricFamily(
            "ssl_proxy_connections_active", "Local connections now, by map and state.",
            labels=["map", "state"])
        moved = CounterMetricFamily(
            "ssl_proxy_bytes", "Payload bytes by map; up: local to remote, down: back.",
            labels=["map", "direction"], unit="bytes")
        refused = CounterMetricFamily(
            "ssl_proxy_clients_refused", "Clients a map's allow list turned away (reset "
            "at once, never queued).", labels=["map"])
        for mapping in live:
            label = map_label(mapping, source.listen_addresses)
            done = registry.map_totals.get(mapping, MapTotals())
            for outcome, count in sorted(done.outcomes.items()):
                ended.add_metric([label, outcome], count)
            for state in ConnectionState:
                open_now.add_metric([label, state.value], states[mapping][state.value])
            moved.add_metric([label, "up"], done.bytes_up + live[mapping].bytes_up)
            moved.add_metric([label, "down"], done.bytes_down + live[mapping].bytes_down)
            refused.add_metric([label], done.refused)
        yield from (ended, open_now, moved, refused)

    def _module(self, modems: list[tuple[str, Modem]]) -> Iterator[Metric]:
        """The module series, one label value per modem (each family once)."""
        state = GaugeMetricFamily("ssl_proxy_module_state",
                                  "1 for the module's current state, 0 for the others.",
                                  labels=["modem", "state"])
        for label, modem in modems:
            for each in ModuleState:
                state.add_metric([label, each.value], 1 if modem.state.value is each else 0)
        yield state
        mode = GaugeMetricFamily("ssl_proxy_module_access_mode",
                                 "1 for the access mode new sockets open in (the module's "
                                 "word over --access-mode), 0 for the other.",
                                 labels=["modem", "mode"])
        for label, modem in modems:
            for access in AccessMode:
                mode.add_metric([label, access.value], 1 if modem.access_mode is access else 0)
        yield mode
        signal = GaugeMetricFamily("ssl_proxy_module_signal_dbm",
                                   "The module's signal (AT+CSQ) in dBm.", labels=["modem"])
        for label, modem in modems:
            cached = modem.cached_module_info()
            if cached is not None and cached[0].signal_dbm is not None:
                signal.add_metric([label], cached[0].signal_dbm)
        if signal.samples:
            yield signal
        in_use = GaugeMetricFamily("ssl_proxy_module_sockets_in_use",
                                   "Module client IDs (sockets) in use.", labels=["modem"])
        capacity = GaugeMetricFamily("ssl_proxy_module_sockets",
                                     "Module client IDs (sockets) there are.", labels=["modem"])
        for label, modem in modems:
            in_use.add_metric([label], len(modem.client_ids.in_use))
            capacity.add_metric([label], modem.client_ids.capacity)
        yield in_use
        yield capacity
        readers: tuple[tuple[str, str, Callable[[Modem], int]], ...] = (
            ("ssl_proxy_send_fail_retries", "Chunks sent again after SEND FAIL "
             "(the module's send buffer was full).", lambda m: m.send_fail_retries),
            ("ssl_proxy_module_restarts", "Restarts the proxy asked of the module "
             "(AT+CFUN=1,1 after a run of failed opens).", lambda m: m.restarts),
            ("ssl_proxy_module_recoveries", "Times the module was brought up again "
             "after it was lost.", lambda m: m.recoveries),
            ("ssl_proxy_pdp_reactivations", "PDP contexts reactivated after the "
             "network dropped them.", lambda m: m.pdp_reactivations),
            ("ssl_proxy_stale_pushes", "Push frames for a client ID with no open socket "
             "(a closed socket's late data), dropped.", lambda m: m.integrity.stale_pushes),
            ("ssl_proxy_stale_notices", "recv/closed URCs for a client ID with no open "
             "socket, dropped.", lambda m: m.integrity.stale_notices),
            ("ssl_proxy_broken_push_frames", "Push frames that did not line up (bytes lost "
             "on the line); their socket failed.", lambda m: m.integrity.broken_frames),
            ("ssl_proxy_line_losses", "Times the reader lost its place in the module's "
             "output (bytes lost on the line).", lambda m: m.integrity.line_losses),
            ("ssl_proxy_reopened_in_buffer_mode", "Push-mode opens whose first data could "
             "not be vouched for, opened again in buffer mode.",
             lambda m: m.integrity.reopened_in_buffer_mode),
        )
        for name, text, read in readers:
            family = CounterMetricFamily(name, text, labels=["modem"])
            for label, modem in modems:
                family.add_metric([label], read(modem))
            yield family
        yield from self._line(modems)
        yield from _channels(modems)

    def _line(self, modems: list[tuple[str, Modem]]) -> Iterator[Metric]:
        meters = self.source.line_meters()
        directions = ("to_module", "from_module")
        moved = CounterMetricFamily("ssl_proxy_serial", "Bytes over the serial line.",
                                    labels=["modem", "direction"], unit="bytes")
        rate = GaugeMetricFamily("ssl_proxy_serial_baud", "The serial line's rate (bits/s).",
                                 labels=["modem"])
        busy = CounterMetricFamily(
            "ssl_proxy_serial_busy", "Time the serial line was busy: its bytes' line time "
            "at the line's rate (8N1), at most the time that passed; its rate is the line's "
            "busy share.", labels=["modem", "direction"], unit="seconds")
        for label, modem in modems:
            counts = modem.line_counts
            for direction, value in zip(directions, (counts.to_module, counts.from_module),
                                        strict=True):
                moved.add_metric([label, direction], value)
            meter = meters.get(label)
            if meter is None:
                continue
            rate.add_metric([label], meter.baud)
            busy.add_metric([label, "to_module"], meter.busy_to_module)
            busy.add_metric([label, "from_module"], meter.busy_from_module)
        yield moved
        if rate.samples:
            yield rate
            yield busy


def _channels(modems: list[tuple[str, Modem]]) -> Iterator[Metric]:
    """The AT channels (``modem.channels.ChannelBook``): the current life's by kind,
    each channel's bytes and frames across lives, the multiplexer's bad frames, and
    the fallbacks to one channel by reason."""
    now = GaugeMetricFamily("ssl_proxy_channels", "AT channels the module runs on now, "
                            "by kind (single, cmux, ports).", labels=["modem", "kind"])
    moved = CounterMetricFamily("ssl_proxy_channel", "Bytes over each AT channel (a DLC: "
                                "its payload).", labels=["modem", "channel", "direction"],
                                unit="bytes")
    frames = CounterMetricFamily("ssl_proxy_channel_frames", "07.10 data frames over each "
                                 "DLC.", labels=["modem", "channel", "direction"])
    bad = CounterMetricFamily("ssl_proxy_mux_bad_frames", "Frames the multiplexer dropped: "
                              "a bad FCS, or broken framing.", labels=["modem", "reason"])
    resent = CounterMetricFamily("ssl_proxy_mux_statuses_resent", "Our MSCs (flow control, "
                                 "DTR) sent again for want of the module's answer.",
                                 labels=["modem"])
    lost = CounterMetricFamily("ssl_proxy_mux_starts_lost", "Multiplexer starts the module "
                               "left unanswered (silent after AT+CMUX's OK; tried again).",
                               labels=["modem"])
    fallbacks = CounterMetricFamily("ssl_proxy_channel_fallbacks", "Module lives run on one "
                                    "channel although more were asked for, by reason.",
                                    labels=["modem", "reason"])
    for label, modem in modems:
        book = modem.channel_book
        live = modem.channels
        for kind in ChannelKind:
            count = len(live.channels) if live is not None and live.kind is kind else 0
            now.add_metric([label, kind.value], count)
        for name, counts in sorted(book.counts.items()):
            moved.add_metric([label, name, "to_module"], counts.lines.to_module)
            moved.add_metric([label, name, "from_module"], counts.lines.from_module)
            if counts.kind is ChannelKind.CMUX and name != "line":
                frames.add_metric([label, name, "to_module"], counts.frames_to_module)
                frames.add_metric([label, name, "from_module"], counts.frames_from_module)
        bad.add_metric([label, "fcs"], book.fcs_errors)
        bad.add_metric([label, "framing"], book.broken_frames)
        resent.add_metric([label], book.statuses_resent)
        lost.add_metric([label], book.starts_lost)
        for reason, count in sorted(book.fallbacks.items()):
            fallbacks.add_metric([label, reason], count)
    yield from (now, moved, frames, bad, resent, lost, fallbacks)


def _by_key(name: str, text: str, label: str, counts: MappingABC[str, int]
            ) -> CounterMetricFamily:
    """A counter family with one sample per key of ``counts``, in key order."""
    family = CounterMetricFamily(name, text, labels=[label])
    for key, count in sorted(counts.items()):
        family.add_metric([key], count)
    return family


async def refresh_signal(modems: MappingABC[str, Modem]) -> None:
    """Ask each module (by name) for its signal (cached 5 s), all at once, within
    ``SIGNAL_TIMEOUT``; the last answer stands when one is not ready or slow."""
    async def refresh(name: str, modem: Modem) -> None:
        MODEM_NAME.set(name)  # the AT trace of the question names the module
        if modem.state.value is not ModuleState.READY:
            return
        try:
            await modem.module_info()
        except ModemError:
            pass

    with trio.move_on_after(SIGNAL_TIMEOUT):
        async with trio.open_nursery() as nursery:
            for name, modem in modems.items():
                nursery.start_soon(refresh, name, modem)


class ProxyMetrics:
    """The ``/metrics`` page of one proxy: ``await scrape()`` is the body."""

    def __init__(self, source: MetricsSource) -> None:
        self.source = source
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(MetricsCollector(source))

    async def scrape(self) -> bytes:
        await refresh_signal(self.source.running_modems())
        now = trio.current_time()
        for meter in self.source.line_meters().values():
            meter.sample(now)  # the busy time up to this scrape
        return generate_latest(self.registry)
