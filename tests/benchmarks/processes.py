"""The emulator and the proxy as processes of their own, and what /proc says about them.

``emulator_process(baud, latency_ms)`` runs ``python -m modem.emulator`` and
yields the pty path it prints first (``device: <path>``).
``proxy_process(device, baud, maps, cacert)`` runs ``python -m proxy.cli``
against that pty and yields a ``ProxyProcess`` once every map listens (its
ports are read from the ``listening on`` lines it logs).  Both are stopped
with SIGINT on exit.  ``ProcStats`` reads a process's CPU seconds and its
resident set (current and peak) from ``/proc/<pid>`` (Linux only, hence no
psutil dependency).
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trio

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_LISTENING = re.compile(r"listening on (\S+):(\d+) -> (\S+):(\d+)")


@dataclass
class ProcStats:
    """A snapshot of one process: CPU seconds (user + system), RSS now and at peak, in MB."""

    cpu_s: float
    rss_mb: float
    peak_rss_mb: float

    @classmethod
    def read(cls, pid: int) -> ProcStats:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime
        rss = peak = 0.0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
        return cls(cpu, rss, peak)


def _emulator_command(trace_file: Path | None) -> list[str]:
    # The project's program; our launcher for the timestamped trace, which
    # only the launcher has.
    if not trace_file and importlib.util.find_spec("modem.emulator.__main__") is not None:
        return [sys.executable, "-m", "modem.emulator"]
    cmd = [sys.executable, "-m", "tests.benchmarks.emulator_launcher"]
    return [*cmd, "--trace-file", str(trace_file)] if trace_file else cmd


async def _first_lines(stream: trio.abc.ReceiveStream, what: str, count: int = 1
                       ) -> list[str]:
    buf = bytearray()
    with trio.fail_after(START_TIMEOUT):
        while buf.count(b"\n") < count:
            chunk = await stream.receive_some(4096)
            if not chunk:
                raise RuntimeError(f"{what} exited before saying anything")
            buf += chunk
    return [line.decode() for line in buf.split(b"\n")[:count]]


async def _stop(proc: trio.Process) -> None:
    with trio.CancelScope(shield=True):
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            with trio.move_on_after(STOP_TIMEOUT):
                await proc.wait()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@dataclass
class EmulatorProcess:
    """A running emulator: its pty path and pid; ``ports``: its ``--extra-port``
    ptys by name."""

    device: str
    pid: int
    ports: dict[str, str] = field(default_factory=dict)

    def stats(self) -> ProcStats:
        return ProcStats.read(self.pid)


@asynccontextmanager
async def emulator_process(baud: int, latency_ms: float,
                           resolve: str = "bench.test=127.0.0.1", *,
                           trace_file: Path | None = None,
                           extra: tuple[str, ...] = ()) -> AsyncIterator[EmulatorProcess]:
    """Run the emulator; yields its pty path and pid.  ``extra``: more of its
    flags (``--recv-urc-rearm empty``, ``--fault urc_loss:0.3,recv``)."""
    cmd = [*_emulator_command(trace_file), "--baud", str(baud),
           "--latency-ms", str(latency_ms), "--resolve", resolve, *extra]
    proc = await trio.lowlevel.open_process(cmd, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line, *more = await _first_lines(proc.stdout, "the emulator",
                                         1 + extra.count("--extra-port"))
        if not line.startswith("device: "):
            raise RuntimeError(f"the emulator said {line!r}, not 'device: <path>'")
        ports = dict(m.removeprefix("port ").split(": ", 1) for m in more)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_drain, proc.stdout)
            yield EmulatorProcess(line.removeprefix("device: ").strip(), proc.pid,
                                  {name: path.strip() for name, path in ports.items()})
            nursery.cancel_scope.cancel()
    finally:
        await _stop(proc)


async def _drain(stream: trio.abc.ReceiveStream, sink: list[str] | None = None,
                 ports: dict[int, int] | None = None, ready: trio.Event | None = None,
                 expected: int = 0) -> None:
    """Read a child's output so it never blocks; collect lines and listening ports."""
    buf = b""
    while chunk := await stream.receive_some(65536):
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for raw in lines:
            text = raw.decode(errors="replace")
            if sink is not None:
                sink.append(text)
                del sink[:-200]
            m = _LISTENING.search(text)
            if m and ports is not None:
                ports[int(m[4])] = int(m[2])
                if ready is not None and len(ports) >= expected:
                    ready.set()


@dataclass
class ProxyProcess:
    """A running ``ssl-proxy``: ``ports`` maps a remote port to its local port."""

    pid: int
    ports: dict[int, int]
    log: list[str] = field(default_factory=list)

    def stats(self) -> ProcStats:
        return ProcStats.read(self.pid)


def maps_toml(host: str, remote_ports: list[int], keys: dict[str, str]) -> str:
    """A settings file's ``[[map]]`` tables: one per remote port, local port 0, ``keys``."""
    return "".join(f'[[map]]\nlisten = 0\nconnect = "{host}:{port}"\n'
                   + "".join(f'{key} = "{value}"\n' for key, value in keys.items())
                   for port in remote_ports)


@asynccontextmanager
async def proxy_process(device: str, baud: int, remote_ports: list[int], cacert: Path,
                        host: str = "bench.test", extra: tuple[str, ...] = (),
                        program: str = "proxy.cli", map_keys: dict[str, str] | None = None
                        ) -> AsyncIterator[ProxyProcess]:
    """Run ``ssl-proxy`` on ``device`` with one map per remote port (local port 0).

    ``program`` is the module run with ``python -m``: a variant of the proxy
    (a proposed change patched in) takes the same flags.  ``map_keys``: keys
    every map gets that have no flag; the maps then come from a settings file
    (``[[map]]`` tables, written next to ``cacert``) instead of ``--map``.
    """
    cmd = [sys.executable, "-m", program, "--device", device, "--baud", str(baud),
           "--cacert", str(cacert), "--apn", "internet", "--grace", "1", *extra]
    if map_keys:
        settings = cacert.parent / "bench-maps.toml"
        settings.write_text(maps_toml(host, remote_ports, map_keys))
        cmd += ["--config", str(settings)]
    else:
        for port in remote_ports:
            cmd += ["--map", f"0={host}:{port}"]
    proc = await trio.lowlevel.open_process(cmd, stderr=subprocess.PIPE)
    handle = ProxyProcess(proc.pid, {})
    ready = trio.Event()
    try:
        async with trio.open_nursery() as nursery:
            assert proc.stderr is not None
            nursery.start_soon(_drain, proc.stderr, handle.log, handle.ports, ready,
                               len(remote_ports))
            with trio.move_on_after(START_TIMEOUT):
                async with trio.open_nursery() as wait:
                    wait.start_soon(_set_when_exited, proc, ready)
                    await ready.wait()
                    wait.cancel_scope.cancel()
            if len(handle.ports) < len(remote_ports):
                tail = "\n".join(handle.log[-20:])
                raise RuntimeError(f"ssl-proxy did not start (exit {proc.returncode}):\n{tail}")
            yield handle
            nursery.cancel_scope.cancel()
    finally:
        await _stop(proc)


async def _set_when_exited(proc: trio.Process, event: trio.Event) -> None:
    await proc.wait()
    event.set()
