"""The benchmark matrix: line settings x scenarios, each measured both ways.

For each ``Setting`` one emulator process runs; first the transparent
reference (the benchmark process owns the pty), then ``ssl-proxy`` as its
own process on the same pty, with real TCP clients.  Every scenario gives
one record (a dict, see ``docs/benchmarks.md`` for the fields).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from . import channel_modes, clients
from .access_modes import ProxyMode
from .ppp_bound import bound_fields
from .processes import ProcStats, emulator_process, proxy_process
from .servers import BenchServer, BenchServers, payload
from .transparent import DuplexTransfer, ReferenceModem, Transfer

MB = 1_000_000
CONNECTIONS = 12
MIXED_EACH_WAY = CONNECTIONS // 2  # mixed: this many uploads and as many downloads


@dataclass(frozen=True)
class Setting:
    """One line: ``baud`` 0 is unpaced (a USB AT port); ``latency_ms`` the module turnaround."""

    baud: int
    latency_ms: float

    @property
    def line_rate(self) -> float:
        """Bytes per second each way (8N1), 0 when unpaced."""
        return self.baud / 10

    @property
    def serial_baud(self) -> int:
        """What the host sets on the port (a USB AT port ignores it, so does the pty)."""
        return self.baud or 115200

    @property
    def label(self) -> str:
        return "unpaced" if not self.baud else f"{self.baud}/{self.latency_ms:g}ms"


@dataclass(frozen=True)
class Sizes:
    download: int
    upload: int
    download12: int  # per connection
    request: int
    reply: int
    exchanges: int
    unpaced: int
    duplex: int  # each way
    mixed: int  # per connection


FULL = Sizes(download=1 << 20, upload=1 << 20, download12=256 << 10, request=200,
             reply=2048, exchanges=50, unpaced=8 << 20, duplex=1 << 20, mixed=1 << 20)
QUICK = Sizes(download=64 << 10, upload=64 << 10, download12=8 << 10, request=200,
              reply=2048, exchanges=20, unpaced=2 << 20, duplex=64 << 10, mixed=16 << 10)
PACED_SCENARIOS = ("download", "upload", "download12", "reqresp", "duplex", "mixed")
UNPACED_SCENARIOS = ("unpaced",)


def jain(values: list[float]) -> float:
    """Jain's fairness index: 1 when all equal, 1/n when one takes everything."""
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Bench:
    """Runs the scenarios of one setting; ``log`` gets progress lines."""

    def __init__(self, setting: Setting, sizes: Sizes, servers: BenchServers,
                 ports: dict[str, BenchServer], cacert: Path, log: Callable[[str], None],
                 scenarios: tuple[str, ...], modes: tuple[ProxyMode, ...],
                 emulator_args: tuple[str, ...] = (),
                 channels: tuple[str | None, ...] = (None,)) -> None:
        self.setting = setting
        self.modes = modes
        self.channels = channels
        self.emulator_args = emulator_args + channel_modes.emulator_args(channels)
        self.sizes = sizes
        self.servers = servers
        self.ports = ports
        self.cacert = cacert
        self.log = log
        self.scenarios = scenarios
        self.reference: dict[str, Any] = {}
        self.records: list[dict[str, Any]] = []

    def _base(self, scenario: str, mode: ProxyMode) -> dict[str, Any]:
        s = self.setting
        return {"scenario": scenario, "baud": s.baud, "latency_ms": s.latency_ms,
                "access_mode": mode.name, "access_mode_default": mode.default,
                "emulator_args": " ".join(self.emulator_args),
                "line_rate": s.line_rate,
                "pacing": "strict"}

    async def run(self) -> list[dict[str, Any]]:
        s = self.setting
        async with emulator_process(s.baud, s.latency_ms, extra=self.emulator_args) as emulator:
            self.log(f"[{s.label}] emulator on {emulator.device}")
            async with ReferenceModem.open(emulator.device, s.serial_baud,
                                           self.servers.ca_pem) as ref:
                self.command_rtt = ref.command_rtt
                for scenario in self.scenarios:
                    self.reference[scenario] = await self._reference(ref, scenario)
                    self.log(f"[{s.label}] transparent {scenario}: "
                             f"{_describe(self.reference[scenario])}")
            remote_ports = sorted({srv.port for srv in self.ports.values()})
            for mode, kind in ((m, k) for m in self.modes for k in self.channels):
                device, flags = channel_modes.proxy_device(kind, emulator, self.cacert.parent)
                async with proxy_process(device, s.serial_baud, remote_ports, self.cacert,
                                         extra=(*mode.args, *flags),
                                         map_keys=channel_modes.map_keys(kind)) as proxy:
                    for scenario in self.scenarios:
                        emu_before = emulator.stats()
                        record = await self._proxy(proxy, scenario, mode)
                        record["channels"] = kind
                        emu_after = emulator.stats()
                        record["emulator_cpu_s"] = round(emu_after.cpu_s - emu_before.cpu_s, 3)
                        self.records.append(record)
                        self.log(f"[{s.label} {mode.name} {kind or ''}] proxy {scenario}: "
                                 f"ratio {record['ratio']:.3f}")
        return self.records

    # -- the reference ---------------------------------------------------------

    async def _reference(self, ref: ReferenceModem, scenario: str) -> Any:
        z = self.sizes
        if scenario == "download":
            return await ref.download(self.ports["download"].port, z.download)
        if scenario == "upload":
            return await ref.upload(self.ports["upload"], payload(z.upload))
        if scenario == "download12":
            # One connection carrying what the 12 carry together: the best the line does.
            return await ref.download(self.ports["download12_total"].port,
                                      z.download12 * CONNECTIONS)
        if scenario == "reqresp":
            return await ref.reqresp(self.ports["reqresp"].port, payload(z.request),
                                     z.reply, z.exchanges + 1)
        if scenario == "duplex":
            return await ref.duplex(self.ports["duplex_both"], payload(z.duplex), z.duplex)
        if scenario == "mixed":
            # One session reading and writing what the 12 connections move together.
            total = z.mixed * MIXED_EACH_WAY
            return await ref.duplex(self.ports["mixed_both"], payload(total), total)
        if scenario == "unpaced":
            down = await ref.download(self.ports["unpaced_down"].port, z.unpaced)
            up = await ref.upload(self.ports["unpaced_up"], payload(z.unpaced))
            return {"download": down, "upload": up}
        raise ValueError(scenario)

    # -- the proxy ---------------------------------------------------------------

    async def _proxy(self, proxy, scenario: str, mode: ProxyMode) -> dict[str, Any]:
        z = self.sizes
        ref = self.reference[scenario]
        local = proxy.ports
        before = proxy.stats()
        record = self._base(scenario, mode)
        if scenario == "download":
            t = await clients.download(local[self.ports["download"].port], z.download)
            _goodputs(record, t, ref, self.setting)
        elif scenario == "upload":
            t = await clients.upload(local[self.ports["upload"].port], self.ports["upload"],
                                     payload(z.upload))
            _goodputs(record, t, ref, self.setting)
        elif scenario == "download12":
            record.update(await self._download12(proxy, before))
            _goodputs(record, record.pop("_aggregate"), ref, self.setting)
        elif scenario == "reqresp":
            t = await clients.reqresp(local[self.ports["reqresp"].port], payload(z.request),
                                      z.reply, z.exchanges + 1)
            _goodputs(record, t, ref, self.setting)
            proxy_ms = [x * 1000 for x in t.samples[1:]]  # the first one warms up
            ref_ms = [x * 1000 for x in ref.samples[1:]]
            rtt_ms = self.command_rtt * 1000
            record.update(
                exchanges=len(proxy_ms),
                median_ms=round(statistics.median(proxy_ms), 2),
                p95_ms=round(percentile(proxy_ms, 95), 2),
                max_ms=round(max(proxy_ms), 2),
                transparent_median_ms=round(statistics.median(ref_ms), 2),
                transparent_p95_ms=round(percentile(ref_ms, 95), 2),
                added_ms=round(statistics.median(proxy_ms) - statistics.median(ref_ms), 2),
                command_rtt_ms=round(rtt_ms, 2),
                added_target_ms=round(3 * rtt_ms + 5, 2),
                added_rtts=round((statistics.median(proxy_ms) - statistics.median(ref_ms))
                                 / rtt_ms, 2),
            )
        elif scenario == "duplex":
            record.update(await self._duplex(local, ref))
        elif scenario == "mixed":
            record.update(await self._mixed(local, ref))
        elif scenario == "unpaced":
            down = await clients.download(local[self.ports["unpaced_down"].port], z.unpaced)
            mid = proxy.stats()
            up = await clients.upload(local[self.ports["unpaced_up"].port],
                                      self.ports["unpaced_up"], payload(z.unpaced))
            after = proxy.stats()
            _goodputs(record, down, ref["download"], self.setting)
            record.update(
                mb_per_s=round(down.goodput / MB, 3),
                cpu_s_per_mb=round((mid.cpu_s - before.cpu_s) / (down.nbytes / MB), 3),
                upload_mb_per_s=round(up.goodput / MB, 3),
                upload_transparent_mb_per_s=round(ref["upload"].goodput / MB, 3),
                upload_ratio=round(up.goodput / ref["upload"].goodput, 3),
                upload_cpu_s_per_mb=round((after.cpu_s - mid.cpu_s) / (up.nbytes / MB), 3),
            )
        record.update(bound_fields(scenario, self.setting.baud, record["proxy_goodput"]))
        after = proxy.stats()
        record["proxy_cpu_s"] = round(after.cpu_s - before.cpu_s, 3)
        record.setdefault("peak_rss_mb", round(after.peak_rss_mb, 1))
        return record

    async def _duplex(self, local: dict[int, int], ref: DuplexTransfer) -> dict[str, Any]:
        """1 MiB down on one connection while another uploads 1 MiB, same start."""
        z = self.sizes
        down_port, up_server = self.ports["duplex_down"], self.ports["duplex_up"]
        data = payload(z.duplex)
        results: dict[str, Transfer] = {}

        async def down() -> None:
            results["down"] = await clients.download(local[down_port.port], z.duplex)

        async def up() -> None:
            results["up"] = await clients.upload(local[up_server.port], up_server, data)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(down)
            nursery.start_soon(up)
        return duplex_fields(DuplexTransfer(results["down"], results["up"]), ref, self.setting)

    async def _mixed(self, local: dict[int, int], ref: DuplexTransfer) -> dict[str, Any]:
        """6 downloads and 6 uploads of ``sizes.mixed`` each, all started together;
        each direction's goodput is its bytes over its first start to its last byte."""
        z = self.sizes
        down_port = local[self.ports["mixed_down"].port]
        sinks = [self.ports[f"mixed_up{i}"] for i in range(MIXED_EACH_WAY)]
        data = payload(z.mixed)
        downs: list[Transfer] = []
        ups: list[Transfer] = []

        async def down() -> None:
            downs.append(await clients.download(down_port, z.mixed))

        async def up(sink: BenchServer) -> None:
            ups.append(await clients.upload(local[sink.port], sink, data))

        async with trio.open_nursery() as nursery:
            for sink in sinks:
                nursery.start_soon(down)
                nursery.start_soon(up, sink)
        fields = duplex_fields(DuplexTransfer(_together(downs), _together(ups)), ref,
                               self.setting)
        fields.update(connections=len(downs) + len(ups),
                      down_fairness=round(jain([t.goodput for t in downs]), 4),
                      up_fairness=round(jain([t.goodput for t in ups]), 4))
        return fields

    async def _download12(self, proxy, before: ProcStats) -> dict[str, Any]:
        z = self.sizes
        port = proxy.ports[self.ports["download12"].port]
        peak_rss = [before.rss_mb]

        async def sample() -> None:
            while True:
                peak_rss.append(proxy.stats().rss_mb)
                await trio.sleep(0.1)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sample)
            transfers = await clients.concurrent_downloads(port, z.download12, CONNECTIONS)
            nursery.cancel_scope.cancel()
        rates = [t.goodput for t in transfers]
        after = proxy.stats()
        return {
            "_aggregate": _together(transfers),
            "connections": CONNECTIONS,
            "fairness": round(jain(rates), 4),
            "min_conn_goodput": round(min(rates), 1),
            "max_conn_goodput": round(max(rates), 1),
            "rss_idle_mb": round(before.rss_mb, 1),
            "rss_busy_mb": round(max(peak_rss), 1),
            "rss_per_conn_kb": round((max(peak_rss) - before.rss_mb) * 1024 / CONNECTIONS, 1),
            "peak_rss_mb": round(after.peak_rss_mb, 1),
        }


def _together(transfers: list[Transfer]) -> Transfer:
    """Concurrent transfers as one: first start to last end, all their bytes."""
    return Transfer(min(t.start for t in transfers), max(t.end for t in transfers),
                    sum(t.nbytes for t in transfers))


def _goodputs(record: dict[str, Any], proxy: Transfer, ref: Transfer, setting: Setting) -> None:
    record.update(
        bytes=proxy.nbytes,
        proxy_goodput=round(proxy.goodput, 1),
        transparent_goodput=round(ref.goodput, 1),
        ratio=round(proxy.goodput / ref.goodput, 4),
        proxy_seconds=round(proxy.seconds, 3),
        transparent_seconds=round(ref.seconds, 3),
    )
    if setting.line_rate:
        record["proxy_share"] = round(proxy.goodput / setting.line_rate, 4)
        record["transparent_share"] = round(ref.goodput / setting.line_rate, 4)


def duplex_fields(proxy: DuplexTransfer, ref: DuplexTransfer, setting: Setting
                  ) -> dict[str, Any]:
    """Goodput each way; ``proxy_goodput`` / ``transparent_goodput`` are the two
    directions' sum, so ``ratio`` compares both at once and ``proxy_share``
    (``down_share`` + ``up_share``) can reach 2."""
    fields: dict[str, Any] = {
        "bytes": proxy.down.nbytes + proxy.up.nbytes,
        "proxy_goodput": round(proxy.goodput, 1),
        "transparent_goodput": round(ref.goodput, 1),
        "ratio": round(proxy.goodput / ref.goodput, 4),
        "down_goodput": round(proxy.down.goodput, 1),
        "up_goodput": round(proxy.up.goodput, 1),
        "transparent_down_goodput": round(ref.down.goodput, 1),
        "transparent_up_goodput": round(ref.up.goodput, 1),
        "proxy_seconds": round(max(proxy.down.end, proxy.up.end)
                               - min(proxy.down.start, proxy.up.start), 3),
        "transparent_seconds": round(max(ref.down.end, ref.up.end) - ref.down.start, 3),
    }
    if setting.line_rate:
        fields.update(
            down_share=round(proxy.down.goodput / setting.line_rate, 4),
            up_share=round(proxy.up.goodput / setting.line_rate, 4),
            proxy_share=round(proxy.goodput / setting.line_rate, 4),
            transparent_share=round(ref.goodput / setting.line_rate, 4),
        )
    return fields


def _describe(result: Any) -> str:
    if isinstance(result, DuplexTransfer):
        return f"down {_describe(result.down)}, up {_describe(result.up)}"
    if isinstance(result, dict):
        return ", ".join(f"{k} {_describe(v)}" for k, v in result.items())
    return f"{result.goodput:.0f} B/s in {result.seconds:.2f} s"


async def start_servers(nursery: trio.Nursery, sizes: Sizes
                        ) -> tuple[BenchServers, dict[str, BenchServer]]:
    """Every server the matrix needs, each on its own port."""
    servers = BenchServers()
    wanted = {
        "download": BenchServer("source", size=sizes.download),
        "upload": BenchServer("sink", size=sizes.upload),
        "download12": BenchServer("source", size=sizes.download12),
        "download12_total": BenchServer("source", size=sizes.download12 * CONNECTIONS),
        "reqresp": BenchServer("reqresp", request=sizes.request, reply=sizes.reply,
                               count=sizes.exchanges + 1),
        "duplex_down": BenchServer("source", size=sizes.duplex),
        "duplex_up": BenchServer("sink", size=sizes.duplex),
        "duplex_both": BenchServer("duplex", size=sizes.duplex),
        "mixed_down": BenchServer("source", size=sizes.mixed),
        **{f"mixed_up{i}": BenchServer("sink", size=sizes.mixed)
           for i in range(MIXED_EACH_WAY)},  # one each: a sink tells its connections apart
        "mixed_both": BenchServer("duplex", size=sizes.mixed * MIXED_EACH_WAY),
        "unpaced_down": BenchServer("source", size=sizes.unpaced),
        "unpaced_up": BenchServer("sink", size=sizes.unpaced),
    }
    for server in wanted.values():
        await servers.serve(nursery, server)
    return servers, wanted
