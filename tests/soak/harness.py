"""The soak: the proxy on the emulator, random faults, many checked clients.

``await run_soak(SoakConfig(minutes=1, seed=1))`` returns the report (a
JSON-able dict; ``report["passed"]`` says whether every check held).

Everything runs in this process and one Trio run: two TLS servers (echo and
sink, ``servers``), the proxy (``proxy.service.ProxyService`` with its
built-in emulator), a fault injector that calls the emulator's fault API
with a seeded generator, and ``concurrency`` client loops (``clients``).

Phases:

1. warm-up: a few clean connections must work (and warm caches, so the
   descriptor and memory figures taken next are the steady state);
2. ``minutes`` of load with faults: peer closes, ``pdpdeact``, module
   restarts, silence longer than a command timeout, noise lines, ``SEND
   FAIL`` bursts, slow handshakes, plus clients that vanish or stop reading;
3. drain, then the end checks: the proxy still serves, the module is ready
   again, every client ID is free (the pool, the emulator, and
   ``AT+QSSLSTATE`` sent through the proxy's own driver), new connections
   work, descriptors and memory are back where they started.
"""

from __future__ import annotations

import gc
import logging
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import trustme

from modem.core.stream_errors import EndUnconfirmed
from proxy.config.build import build_config
from proxy.config.profiles import build_profiles, load_all_material
from proxy.logging_setup import KeyValueFormatter
from proxy.service import ProxyService

from . import process_stats
from .clients import Client, ClientPlan, ClientResult, draw_plan
from .faults import FaultInjector, channel_options, firmware_options, transparent_use
from .hang_snapshot import HangRecorder, proxy_record
from .servers import SoakServer

ECHO_HOST = "echo.soak.test"
SINK_HOST = "sink.soak.test"
SOURCE_HOST = "source.soak.test"

SERVER_CHECK_WAIT = 45.0
MAX_FAILURES_LISTED = 300
"""Failures listed in the report at most, except those that must never happen:
every corrupted, misdelivered, holed, truncated or hung record is kept in
``integrity_failures``, whatever the cap."""
INTEGRITY_OUTCOMES = ("corrupted", "misdelivered", "hole", "truncated")
KEPT_OUTCOMES = (*INTEGRITY_OUTCOMES, "hung")


@dataclass(frozen=True)
class SoakConfig:
    """``minutes`` of load at ``seed``.  ``fault_gap``: mean seconds between faults.

    ``concurrency`` client loops (more than the module's 12 IDs, so the
    admission queue is used too); payloads up to ``max_size`` bytes;
    ``baud`` 0 leaves the emulated line unpaced.  A client counts as hung
    when no byte moved either way for ``client_idle_limit`` seconds, or it had
    no end after ``client_deadline`` (a slow line shared by 16 clients is not a
    hang; a connection that stopped is).  ``access_mode``: the
    proxy's ``--access-mode`` (buffer or push).  ``adverse_firmware``: the
    emulator plays every unhelpful order it knows (``faults.ADVERSE_FIRMWARE``).
    ``channels``: the proxy's ``--channels`` (the emulator offers its usbmodem
    port under ``ports``; under ``cmux`` the multiplexer's faults join the draw).
    """

    minutes: float = 1.0
    seed: int = 1
    concurrency: int = 16
    max_size: int = 256 * 1024
    fault_gap: float = 4.0
    baud: int = 0
    client_deadline: float = 600.0
    client_idle_limit: float = 60.0
    log_path: Path | None = None
    access_mode: str = "push"
    adverse_firmware: bool = True
    channels: str = "single"


@dataclass
class Tally:
    faults: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    integrity_failures: list[dict[str, Any]] = field(default_factory=list)
    integrity: Counter[str] = field(default_factory=Counter)  # by kind, either end
    client_bytes: int = 0
    rss_samples: list[tuple[float, float, int]] = field(default_factory=list)

    def add(self, result: ClientResult) -> None:
        self.outcomes[result.outcome] += 1
        self.client_bytes += result.sent + result.received
        kinds = {result.outcome} & set(INTEGRITY_OUTCOMES)
        if result.server_check == "mismatch":
            kinds.add(result.server_verdict.partition(":")[0] or "corrupted")
        for kind in kinds:
            self.integrity[kind] += 1
        if result.outcome not in ("ok", "vanished") or kinds:
            self.errors[_normalise(result.error or result.server_verdict)] += 1
            if kinds or result.outcome in KEPT_OUTCOMES:
                self.integrity_failures.append(result.as_dict())
            elif len(self.failures) < MAX_FAILURES_LISTED:
                self.failures.append(result.as_dict())


def _normalise(error: str) -> str:
    return re.sub(r"\d+", "N", error)


class ProxyLogWatch(logging.Handler):
    """Reads the proxy's own log records: why each connection closed, and errors.

    ``accepted`` (``proxy.service``) names the local peer, ``closed``
    (``proxy.connections.connection``) the reason; ERROR records are unexpected.
    """

    def __init__(self, live: dict[int, ClientResult], log_file: Path | None) -> None:
        super().__init__(logging.INFO)
        self.live = live
        self.peers: dict[int, int] = {}
        self.errors: list[str] = []
        self.warnings: Counter[str] = Counter()
        self.formatter_ = KeyValueFormatter()
        self.file = log_file.open("a") if log_file is not None else None

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "kv_fields", {}) or {}
        msg = record.msg if isinstance(record.msg, str) else str(record.msg)
        if record.name == "proxy.service" and msg == "accepted":
            peer = str(fields.get("peer", ""))
            if peer.rpartition(":")[2].isdigit():
                self.peers[fields["conn"]] = int(peer.rpartition(":")[2])
        elif record.name == "proxy.connection" and msg == "closed":
            port = self.peers.pop(fields.get("conn", -1), None)
            result = self.live.get(port) if port is not None else None
            if result is not None:
                result.proxy_reason = str(fields.get("reason", ""))
        if record.levelno >= logging.ERROR:
            self.errors.append(self.formatter_.format(record))
        elif record.levelno >= logging.WARNING:
            self.warnings[f"{record.name}: {_normalise(msg)}"] += 1
        if self.file is not None and record.levelno >= logging.INFO:
            self.file.write(self.formatter_.format(record) + "\n")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        super().close()


class Soak:
    """One soak run; ``run()`` returns the report."""

    def __init__(self, config: SoakConfig) -> None:
        self.config = config
        self.tally = Tally()
        self.live: dict[int, ClientResult] = {}
        self.proxy_exit: str | None = None
        self._tokens = 0
        self.service: ProxyService | None = None
        self.hang_snapshots: list[dict[str, Any]] = []
        self.rounds: dict[str, list[dict[str, object]]] = {}  # each client of each round
        self.on_hang = HangRecorder(None, self.hang_snapshots)

    def _token(self) -> int:
        self._tokens += 1
        return self._tokens

    async def run(self) -> dict[str, Any]:
        cfg = self.config
        started = time.monotonic()
        watch = ProxyLogWatch(self.live, cfg.log_path)
        root_logger = logging.getLogger()
        old_level = root_logger.level
        root_logger.addHandler(watch)
        root_logger.setLevel(logging.WARNING)
        logging.getLogger("proxy").setLevel(logging.INFO)
        try:
            with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
                report = await self._run(Path(tmp), watch)
        finally:
            root_logger.removeHandler(watch)
            root_logger.setLevel(old_level)
            logging.getLogger("proxy").setLevel(logging.NOTSET)
            watch.close()
        report["wall_s"] = round(time.monotonic() - started, 1)
        return report

    async def _run(self, tmp: Path, watch: ProxyLogWatch) -> dict[str, Any]:
        cfg = self.config
        ca = trustme.CA()
        cert = ca.issue_cert(ECHO_HOST, SINK_HOST, SOURCE_HOST)
        ca_path = tmp / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        servers = {kind: SoakServer(cert, kind) for kind in ("echo", "sink", "source")}
        hosts = {"echo": ECHO_HOST, "sink": SINK_HOST, "source": SOURCE_HOST}
        async with trio.open_nursery() as root:
            for server in servers.values():
                await root.start(server.serve)
            config = build_config({
                "emulate": True, "cacert": str(ca_path),
                "resolve": [f"{host}=127.0.0.1" for host in hosts.values()],
                "access-mode": cfg.access_mode, "channels": cfg.channels,
                "rtscts": cfg.channels != "single",  # lending needs it (emulator: rtscts)
            }, {"map": [{"listen": 0, "connect": f"{hosts[k]}:{s.port}",
                         "transparent": transparent_use(k, cfg.channels)}
                        for k, s in servers.items()]})
            service = ProxyService(config, build_profiles(config, load_all_material(config)),
                                   emulator_options=self._emulator_options())
            self.service = self.on_hang.service = service
            await root.start(self._run_service, service)
            ports = {m.remote.host: a.port for m, a in service.listen_addresses.items()}
            self.ports = {kind: ports[host] for kind, host in hosts.items()}
            self.servers = servers

            warm_ok = await self._round(6, "warm-up")
            gc.collect()
            fds_start, kinds_start = process_stats.open_fds(), process_stats.fd_kinds()
            rss_start = process_stats.rss_mb()
            t0 = trio.current_time()

            await self._load(t0 + cfg.minutes * 60)
            load_s = trio.current_time() - t0

            end = await self._end_checks(service)
            new_ok = await self._round(12, "end")
            await self._servers_idle()
            gc.collect()
            fds_end, kinds_end = process_stats.open_fds(), process_stats.fd_kinds()
            rss_end = process_stats.rss_mb()
            alive = self.proxy_exit is None and service.state == "serving"
            channel_book = self._channel_book()

            service.request_shutdown()
            with trio.move_on_after(30):
                await _poll(lambda: self.proxy_exit is not None)
            root.cancel_scope.cancel()

        t = self.tally
        corrupted = t.integrity["corrupted"]
        truncated = t.integrity["truncated"]
        hung = t.outcomes["hung"]
        failed = sum(n for k, n in t.outcomes.items() if k not in ("ok", "vanished"))
        rss_bound = rss_start * 1.5 + 30
        emu_restarts = service.emulator.restarts if service.emulator is not None else 0
        checks = {
            "no_corruption": corrupted == 0,
            "no_misdelivery": t.integrity["misdelivered"] == 0,
            "no_hole": t.integrity["hole"] == 0,
            "no_silent_truncation": truncated == 0,
            "no_hang": hung == 0,
            "proxy_alive": alive,
            "warm_up_connections_work": warm_ok,
            "ids_free_at_end": end["ids_free"],
            "new_connections_work": new_ok,
            "fds_flat": fds_end <= fds_start,
            "rss_bounded": rss_end <= rss_bound,
            "no_unexpected_proxy_errors": not watch.errors,
        }
        counters = service.registry.counters
        return {
            "seed": cfg.seed,
            "access_mode": cfg.access_mode,
            "channels": cfg.channels,
            "channel_book": channel_book,
            "emulator_options": self._emulator_options(),
            "minutes": cfg.minutes,
            "load_s": round(load_s, 1),
            "concurrency": cfg.concurrency,
            "max_size": cfg.max_size,
            "baud": cfg.baud,
            "faults": dict(sorted(t.faults.items())),
            "faults_total": sum(t.faults.values()),
            "module_restarts": emu_restarts,
            "bytes": counters.bytes_up + counters.bytes_down,
            "bytes_up": counters.bytes_up,
            "bytes_down": counters.bytes_down,
            "client_bytes": t.client_bytes,
            "connections": sum(t.outcomes.values()),
            "connections_ok": t.outcomes["ok"],
            "connections_failed": failed,
            "connections_vanished": t.outcomes["vanished"],
            "outcomes": dict(sorted(t.outcomes.items())),
            "corrupted": corrupted,
            "misdelivered": t.integrity["misdelivered"],
            "holes": t.integrity["hole"],
            "silently_truncated": truncated,
            "hung": hung,
            "errors_seen": dict(t.errors.most_common()),
            "integrity_failures": t.integrity_failures,
            "hang_snapshots": self.hang_snapshots,
            "rounds": self.rounds,
            "failures": t.failures,
            "proxy_counters": counters.as_dict(),
            "proxy_warnings": dict(watch.warnings.most_common()),
            "proxy_errors": watch.errors[:20],
            "proxy_alive": alive,
            "proxy_exit": self.proxy_exit,
            "ids_free_at_end": end["ids_free"],
            "qsslstate_at_end": end["qsslstate"],
            "module_state_at_end": end["module_state"],
            "new_connections_ok": new_ok,
            "rss_start_mb": rss_start,
            "rss_end_mb": rss_end,
            "rss_peak_mb": process_stats.peak_rss_mb(),
            "rss_bound_mb": round(rss_bound, 1),
            "rss_samples": t.rss_samples,
            "fds_start": fds_start,
            "fds_end": fds_end,
            "fd_kinds_start": kinds_start,
            "fd_kinds_end": kinds_end,
            "checks": checks,
            "passed": all(checks.values()),
        }

    def _emulator_options(self) -> dict[str, Any]:
        cfg = self.config
        return {"seed": cfg.seed, "baud": cfg.baud,
                **firmware_options(cfg.seed, cfg.adverse_firmware),
                **channel_options(cfg.channels)}

    def _channel_book(self) -> dict[str, Any]:
        """The channels' history (``ChannelBook.report``), without the live list."""
        modems = self.service.running_modems() if self.service is not None else {}
        book = next(iter(modems.values())).channel_book.report() if modems else {}
        return {key: value for key, value in book.items() if key != "channels"}

    async def _run_service(self, service: ProxyService,
                           task_status=trio.TASK_STATUS_IGNORED) -> None:
        try:
            await service.run(task_status=task_status)
        except Exception as exc:
            self.proxy_exit = f"raised {type(exc).__name__}: {exc}"
            raise
        self.proxy_exit = self.proxy_exit or "returned"

    # -- phases ------------------------------------------------------------------

    async def _one(self, plan: ClientPlan, verify: trio.Nursery) -> ClientResult:
        client = Client(plan, self.ports[plan.target], self.servers[plan.target], self.live)
        result = await client.run(self.config.client_deadline, self.config.client_idle_limit,
                                  self.on_hang, self._proxy_moved)

        async def check() -> None:
            await client.check_server(SERVER_CHECK_WAIT)
            with trio.move_on_after(30):  # the proxy logs why after closing the module socket
                await _poll(lambda: proxy_record(self.service, result.local_port) is None)
            self.live.pop(result.local_port, None)
            self.tally.add(result)

        verify.start_soon(check)
        return result

    def _proxy_moved(self, local_port: int) -> tuple[int, int] | None:
        """The proxy's byte counts for the connection from ``local_port``."""
        record = proxy_record(self.service, local_port)
        return None if record is None else (record.bytes_up, record.bytes_down)

    async def _round(self, n: int, phase: str) -> bool:
        """``n`` clean clients at once (echo, sink, download); True if they worked
        (see below)."""
        results: list[ClientResult] = []
        rng = random.Random(f"{self.config.seed}-{phase}")

        async def one(i: int, verify: trio.Nursery) -> None:
            token, kind = self._token(), ("echo", "sink", "download")[i % 3]
            plan = ClientPlan(token, kind, rng.randint(1, 64 * 1024),
                              token if kind == "download" else rng.getrandbits(32),
                              chunk_max=4096, pause_chance=0.0)
            results.append(await self._one(plan, verify))

        async with trio.open_nursery() as verify, trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(one, i, verify)
        self.rounds[phase] = [r.as_dict() for r in results]
        # A reset because the module would not confirm the end works too (by design).
        return len(results) == n and any(r.outcome == "ok" for r in results) and all(
            r.server_check == "ok" and (r.outcome == "ok" or EndUnconfirmed.WORDS
                                        in r.proxy_reason) for r in results)

    async def _load(self, stop_at: float) -> None:
        cfg = self.config
        assert self.service is not None
        injector = FaultInjector(self.service, self.live, self.tally.faults, cfg.seed,
                                 cfg.fault_gap, mux=cfg.channels == "cmux")
        async with trio.open_nursery() as verify, trio.open_nursery() as nursery:
            nursery.start_soon(self._sample_rss)
            nursery.start_soon(injector.run)
            async with trio.open_nursery() as workers:
                for i in range(cfg.concurrency):
                    workers.start_soon(self._worker, i, stop_at, verify)
            nursery.cancel_scope.cancel()

    async def _worker(self, index: int, stop_at: float, verify: trio.Nursery) -> None:
        rng = random.Random(self.config.seed * 1000 + index)
        await trio.sleep(rng.uniform(0, 1))
        while trio.current_time() < stop_at:
            plan = draw_plan(rng, self._token(), self.config.max_size)
            if plan.kind == "vanish":
                self.tally.faults["client_vanish"] += 1
            elif plan.kind == "stall":
                self.tally.faults["client_stall"] += 1
            await self._one(plan, verify)
            await trio.sleep(rng.uniform(0, 1))

    async def _sample_rss(self) -> None:
        t0 = trio.current_time()
        while True:
            self.tally.rss_samples.append(
                (round(trio.current_time() - t0), process_stats.rss_mb(),
                 process_stats.open_fds()))
            await trio.sleep(30)

    async def _end_checks(self, service: ProxyService) -> dict[str, Any]:
        modem, emu = service.modem, service.emulator
        assert modem is not None and emu is not None
        with trio.move_on_after(120):
            await modem.state.wait_value("ready")
        with trio.move_on_after(60):
            await service.registry.wait_empty()
        with trio.move_on_after(30):
            await _poll(lambda: not emu.module.sockets
                        and modem.client_ids.free == modem.client_ids.capacity)
        try:
            with trio.fail_after(30):
                response = await modem.at_command("AT+QSSLSTATE")
            qsslstate = [line for line in response.lines if line.startswith("+QSSLSTATE")]
            state_ok = response.final == "OK"
        except Exception as exc:
            qsslstate, state_ok = [f"AT+QSSLSTATE failed: {exc}"], False
        ids_free = (state_ok and not qsslstate and not emu.module.sockets
                    and modem.client_ids.free == modem.client_ids.capacity)
        return {"ids_free": ids_free, "qsslstate": qsslstate,
                "module_state": modem.state.value}

    async def _servers_idle(self) -> None:
        with trio.move_on_after(10):
            await _poll(lambda: not any(s.active for s in self.servers.values()))


async def _poll(predicate: Callable[[], bool], interval: float = 0.1) -> None:
    """Until ``predicate()`` holds (for state owned by code that signals nothing)."""
    while True:
        if predicate():
            return
        await trio.sleep(interval)


async def run_soak(config: SoakConfig) -> dict[str, Any]:
    """Run one soak; the report (``report["passed"]``: every check held)."""
    return await Soak(config).run()


def summary(report: dict[str, Any]) -> str:
    """A few lines for a terminal."""
    book = report.get("channel_book", {})
    lines = [
        f"soak seed={report['seed']} minutes={report['minutes']} load={report['load_s']}s "
        f"wall={report.get('wall_s', '?')}s",
        f"faults: {report['faults_total']} {report['faults']}  module restarts: "
        f"{report['module_restarts']}",
        f"bytes: {report['bytes']} (up {report['bytes_up']}, down {report['bytes_down']})",
        f"connections: {report['connections']} ok={report['connections_ok']} "
        f"failed={report['connections_failed']} vanished={report['connections_vanished']} "
        f"corrupted={report['corrupted']} misdelivered={report['misdelivered']} "
        f"holes={report['holes']} silently_truncated={report['silently_truncated']} "
        f"hung={report['hung']}",
        f"channels: {report['channels']} lives {book.get('lives')} fcs errors "
        f"{book.get('fcs_errors')} fallbacks {book.get('fallbacks')}",
        f"rss MiB: start {report['rss_start_mb']} end {report['rss_end_mb']} "
        f"peak {report['rss_peak_mb']}   fds: start {report['fds_start']} "
        f"end {report['fds_end']}",
        f"ids free at end: {report['ids_free_at_end']}  new connections ok: "
        f"{report['new_connections_ok']}  proxy alive: {report['proxy_alive']}",
        "errors seen: " + "; ".join(f"{n}x {e}" for e, n in
                                    list(report["errors_seen"].items())[:8]),
        "checks: " + ", ".join(f"{k}={'ok' if v else 'FAIL'}"
                               for k, v in report["checks"].items()),
        "PASSED" if report["passed"] else "FAILED",
    ]
    return "\n".join(lines)
