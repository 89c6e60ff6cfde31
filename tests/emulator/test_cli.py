"""``python -m modem.emulator`` as a program: device line, --link, signals, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import trio

from tests.helpers import REPO

from .conftest import Host


async def read_first_line(stream: trio.abc.ReceiveStream) -> bytes:
    data = b""
    with trio.fail_after(20):
        while b"\n" not in data:
            chunk = await stream.receive_some(1024)
            assert chunk, f"stdout closed after {data!r}"
            data += chunk
    return data.split(b"\n", 1)[0]


async def run_and_stop(tmp_path: Path, signum: int) -> None:
    link = tmp_path / "ttyEMU"
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "modem.emulator", "--link", str(link), "--baud", "115200",
         "--fault", "noise:1@60s"],
        cwd=REPO, stdout=subprocess.PIPE,
    )
    try:
        line = await read_first_line(proc.stdout)
        assert line.startswith(b"device: /dev/")
        device = line.split(b": ", 1)[1].decode()
        assert os.readlink(link) == device
        host = Host.open(str(link))
        try:
            await host.read_until(b"\r\n+QIND: SMS DONE\r\n")
            await host.send("AT\r")
            await host.expect(b"AT\r\r\nOK\r\n")
        finally:
            await host.aclose()
        proc.send_signal(signum)
        with trio.fail_after(20):
            assert await proc.wait() == 0
        assert not link.exists()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await proc.stdout.aclose()


async def test_sigint_stops_cleanly(tmp_path: Path) -> None:
    await run_and_stop(tmp_path, signal.SIGINT)


async def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    await run_and_stop(tmp_path, signal.SIGTERM)


async def test_bad_fault_spec_is_a_usage_error() -> None:
    result = await trio.run_process(
        [sys.executable, "-m", "modem.emulator", "--fault", "explode:1"],
        cwd=REPO, capture_stdout=True, capture_stderr=True, check=False,
    )
    assert result.returncode == 2
    assert b"bad fault spec 'explode:1'" in result.stderr
    assert result.stdout == b""


async def test_runs_with_the_runtime_dependencies_only(tmp_path: Path) -> None:
    """pyproject's runtime dependencies are pyserial, trio and trio-util: no test packages."""
    blocked = tmp_path / "blocked"
    for name in ("cryptography", "trustme", "hypothesis", "OpenSSL", "pytest"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError({name!r})\n")
    env = {**os.environ, "PYTHONPATH": str(blocked)}
    result = await trio.run_process(
        [sys.executable, "-c", "import modem.emulator.__main__, modem.emulator.tls"],
        cwd=REPO, env=env, capture_stderr=True, check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
