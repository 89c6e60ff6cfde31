"""While the module is being recovered the proxy fails fast, and finds the module again.

* A module that vanishes (its emulator stopped) is in ``recovering`` until
  it is back: a new local connection is reset at once and counted
  (``open_failures["ModuleNotReady"]``), the status page answers with the
  state and the last error, the AT console answers with one error line;
  once the module is back, new connections work by themselves.
* Re-enumeration: a ``--device`` symlink (what ``/dev/serial/by-id/...``
  is) re-pointed at the module's new port is followed on the reopen; with
  no ``--device``, discovery runs again on every reopen and finds the
  module at its new path.

Every ``fail_after`` here is a hang guard, not a timing assertion.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from modem.emulator import Emulator, EmulatorConfig, Fault
from proxy.cli import parse_command_line
from proxy.config.build import Endpoint
from proxy.errors import PortLost
from proxy.modems.port_discovery import SerialPort, choose_at_port
from tests.helpers import REPO, free_port, wait_until
from tests.proxy_helpers import (
    build_service,
    console_command,
    start_proxy,
    start_proxy_process,
    status_json,
)

BY_ID = "usb-Quectel_EC25-if02-port0"  # what /dev/serial/by-id/ names an EC25's AT port


async def reset_at_once(port: int) -> None:
    """Connect and read: the proxy must reset the connection (not hang, not FIN)."""
    with trio.fail_after(5), trio.socket.socket() as sock:
        try:
            await sock.connect(("127.0.0.1", port))
        except ConnectionResetError:
            return  # the reset arrived before connect() returned
        with pytest.raises(ConnectionResetError):
            await sock.recv(100)


async def serves(port: int) -> bool:
    """One echo round trip; False when the connection was reset instead."""
    data = b""
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError:
        return False  # reset before connect() returned
    async with stream:
        try:
            await stream.send_all(b"back again")
            while len(data) < 10:
                chunk = await stream.receive_some(100)
                if not chunk:
                    return False
                data += chunk
        except trio.BrokenResourceError:
            return False
    return data == b"back again"


async def wait_serving(port: int) -> None:
    with trio.fail_after(30):
        while not await serves(port):  # noqa: ASYNC110 - another process's state
            await trio.sleep(0.1)


async def start_emulator_process(nursery: trio.Nursery, link: Path) -> trio.Process:
    """``python -m modem.emulator --link LINK`` until its ``device:`` line is out."""
    async def run(task_status=trio.TASK_STATUS_IGNORED):
        await trio.run_process(
            [sys.executable, "-m", "modem.emulator", "--link", str(link), "--no-dns",
             "--resolve", "echo.test=127.0.0.1"],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, check=False, task_status=task_status)
    process: trio.Process = await nursery.start(run)
    with trio.fail_after(20):
        out = b""
        while b"device:" not in out:
            chunk = await process.stdout.receive_some(4096)
            assert chunk, out
            out += chunk
    return process


async def stop(process: trio.Process) -> None:
    process.send_signal(signal.SIGTERM)
    with trio.fail_after(20):
        await process.wait()


async def test_process_fails_fast_while_the_module_is_away_then_serves_again(
        echo_server, ca_file, tmp_path, nursery):
    """The proxy as a user runs it, on a by-id style symlink to an emulator process."""
    link = tmp_path / "by-id" / BY_ID
    link.parent.mkdir()
    module = await start_emulator_process(nursery, link)
    status_port, console_port = free_port(), free_port()

    proxy = await start_proxy_process(
        nursery, tmp_path / "proxy.log", "--device", str(link), "--cacert", str(ca_file),
        "--map", f"0=echo.test:{echo_server.port}", "--status", str(status_port),
        "--at-console", str(console_port), "--grace", "0.5")
    status_at = Endpoint("127.0.0.1", status_port)

    assert await serves(proxy.port), proxy.output.decode()
    first = await status_json(status_at)
    assert first["module"]["state"] == "ready" and first["module"]["last_error"] is None
    with trio.fail_after(10):  # a loaded host may take over 0.8 s to answer the first time
        while "model" not in (await status_json(status_at))["module"]:  # noqa: ASYNC110
            await trio.sleep(0.1)

    await stop(module)  # the module is gone (the emulator removes the link)
    with trio.fail_after(10):
        while (await status_json(status_at))["module"]["state"] != "recovering":  # noqa: ASYNC110
            await trio.sleep(0.05)

    await reset_at_once(proxy.port)
    away = await status_json(status_at)
    assert away["module"]["state"] == "recovering"
    assert away["module"]["last_error"]  # why it was lost, or why it cannot be reopened
    assert away["module"]["model"] == "EC25"  # the last answer, kept
    assert "info_age_s" in away["module"]
    assert away["counters"]["open_failures"] == {"ModuleNotReady": 1}
    with trio.fail_after(5):
        async with await trio.open_tcp_stream("127.0.0.1", console_port) as console:
            (line,) = await console_command(console, "AT+CSQ")
    assert line.startswith("ERROR: module is recovering after: ")
    assert line.endswith(": try again when it is back")

    module = await start_emulator_process(nursery, link)  # a new pty behind the same path
    await wait_serving(proxy.port)
    back = await status_json(status_at)
    assert back["module"]["state"] == "ready"
    assert back["counters"]["opened"] == 2
    async with await trio.open_tcp_stream("127.0.0.1", console_port) as console:
        assert (await console_command(console, "AT"))[-1] == "OK"

    proxy.process.send_signal(signal.SIGTERM)
    assert await proxy.wait() == 0, proxy.output.decode()
    assert b"Traceback" not in proxy.output
    await stop(module)


def quectel_ports(at_port: Path) -> list[SerialPort]:
    """pyserial's view of one EC25: four interfaces, the AT one (interface 2) at ``at_port``."""
    return [SerialPort(str(at_port) if i == 2 else f"/dev/nonexistent{i}", 0x2C7C, 0x0125,
                       f"1-1.4:1.{i}") for i in range(4)]


async def test_discovery_runs_again_on_every_reopen(echo_server, ca_file, tmp_path, nursery):
    """No ``--device``: the module comes back as ttyUSB6 and is found there."""
    config = parse_command_line(["--cacert", str(ca_file),
                                 "--map", f"0=echo.test:{echo_server.port}"])
    emulator_config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, real_dns=False)
    seen: list[SerialPort] = []  # what the host lists now: the test plugs and unplugs

    first_gone = trio.Event()

    async def first_module(task_status=trio.TASK_STATUS_IGNORED):
        async with Emulator.running(emulator_config) as emu:
            (tmp_path / "ttyUSB2").symlink_to(emu.device)
            seen[:] = quectel_ports(tmp_path / "ttyUSB2")
            task_status.started()
            await first_gone.wait()
            seen.clear()  # unplugged: nothing to find while it is away
            (tmp_path / "ttyUSB2").unlink()

    await nursery.start(first_module)
    service = build_service(config, choose_at_port(seen), linger=0.1,
                            modem_options={"reopen_backoff_max": 0.2},
                            rediscover=lambda: choose_at_port(list(seen)))
    await nursery.start(service.run)
    port = list(service.listen_addresses.values())[0].port
    assert await serves(port)

    first_gone.set()
    modem = service.modem
    assert modem is not None
    await wait_until(lambda: isinstance(modem.last_error, PortLost), within=10)
    assert "no serial ports found" in str(modem.last_error)  # discovery ran, found nothing
    await reset_at_once(port)

    async with Emulator.running(emulator_config) as emu:
        (tmp_path / "ttyUSB6").symlink_to(emu.device)
        seen[:] = quectel_ports(tmp_path / "ttyUSB6")
        await wait_serving(port)
        assert service.registry.counters.open_failures["ModuleNotReady"] >= 1
        service.request_shutdown()
        await wait_until(lambda: service.state == "stopped")


async def test_status_page_answers_while_the_module_is_silent(emulator, echo_server, ca_file,
                                                              nursery):
    """A module that does not answer (yet to be declared lost) must not make the page
    time out (it did: a 408 after 10 s); the page says so instead, at once."""
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}", "--status", "0")
    await emulator.inject(Fault.silence(2.0))
    with trio.fail_after(5):  # a hang guard, far below the 10 s of the old 408
        page = await status_json(service.status_address)
    assert page["module"]["state"] == "ready"
    assert page["module"]["error"]  # a timeout, ours or the command's
    assert page["module"]["last_error"] is None
