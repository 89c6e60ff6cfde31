"""Small things a newcomer met (issue 12 item 8) that need a running proxy.

* ``--status`` / ``--at-console`` with port 0: the real bound address is
  logged, and it is the one that answers;
* a config file that sets ``device`` can be tried with ``--emulate``: the
  flag wins, with a one-line notice;
* an error reads once: no "module: " before "module does not answer AT";
* the console commands the docs show answer on the emulator (a line of two
  commands brings both answers);
* a second signal stops at once even while a command is on the line and
  the module does not answer it (before: the command ran to its own
  timeout, seconds, because the line's command is shielded).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import trio

from modem.core.errors import ModuleLost, ModuleTimeout, render
from modem.emulator import Fault
from proxy.cli import parse_command_line
from proxy.config.build import Endpoint, build_config
from proxy.config.profiles import build_profiles, load_all_material
from proxy.service import ProxyService, ServiceState

from .test_end_to_end import (
    REPO,
    connect,
    console_command,
    http_get,
    round_trip,
    start_proxy,
    wait_until,
)
from .test_end_to_end import emulator as emulator  # the fixture


async def test_bound_addresses_are_logged_and_a_file_device_yields_to_emulate(
        tmp_path, ca_file):
    config = tmp_path / "proxy.toml"
    config.write_text(f'device = "/dev/ttyUSB2"\ncacert = "{ca_file}"\n'
                      '[[map]]\nlisten = 0\nconnect = "echo.test:443"\n')
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "proxy.cli", "--config", str(config), "--emulate",
         "--status", "127.0.0.1:0", "--at-console", "127.0.0.1:0"],
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = ""
    try:
        with trio.fail_after(30):
            while "AT console on" not in log:
                chunk = await process.stderr.receive_some(4096)
                assert chunk, log
                log += chunk.decode()
            status = re.search(r"status page on http://127\.0\.0\.1:(\d+)/", log)
            console = re.search(r"AT console on 127\.0\.0\.1:(\d+)", log)
            assert status and console, log
            assert int(status[1]) != 0 and int(console[1]) != 0
            code, body = await http_get(Endpoint("127.0.0.1", int(status[1])), "/status.json")
            assert code == 200 and json.loads(body)["module"]["state"] == "ready"
            async with await trio.open_tcp_stream("127.0.0.1", int(console[1])) as stream:
                await stream.send_all(b"AT\r\n")
                answer = b""
                while b"OK" not in answer:
                    answer += await stream.receive_some(100)
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    notices = [line for line in log.splitlines() if "is not used" in line]
    assert len(notices) == 1
    assert "--emulate given: the config file's device = '/dev/ttyUSB2' is not used" in notices[0]


def test_a_module_error_reads_well():
    assert render(ModuleLost("module does not answer AT (30 tries): check the device path")
                  ) == "module does not answer AT (30 tries): check the device path"
    assert render(ModuleTimeout("AT+CSQ: no answer within 1 s")
                  ) == "AT+CSQ: no answer within 1 s"


def test_the_flag_beats_the_files_opposite_choice():
    config = build_config({"emulate": True}, {"device": "/dev/ttyUSB2",
                                              "map": [{"listen": 9000, "connect": "a.b:443"}]})
    assert config.emulate and config.device is None and len(config.notices) == 1
    config = build_config({"device": "/dev/ttyUSB2"}, {"emulate": True, "resolve": {},
                                                      "map": [{"listen": 9000,
                                                               "connect": "a.b:443"}]})
    assert not config.emulate and config.device == "/dev/ttyUSB2"
    assert config.notices == ("--device given: the config file's emulate = true is not used",)


async def test_a_second_signal_does_not_wait_for_the_command_on_the_line(
        emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}")
    stream = await connect(service)
    assert await round_trip(stream, b"before") == b"before"
    channel = service.modem._supervisor.channel  # the life whose command is cut short
    await emulator.inject(Fault.silence(600))
    await stream.send_all(b"x" * 3000)  # an AT+QSSLSEND that gets no answer
    await trio.sleep(0.2)  # let the pump put it on the line
    service.request_shutdown()
    await wait_until(lambda: service.state is ServiceState.STOPPING)
    service.stop_now()
    with trio.fail_after(30):  # a hang guard: the old way waited out every timeout
        await wait_until_stopped(service)
    assert isinstance(channel.failure, ModuleLost)
    assert "stopping at once" in str(channel.failure)
    await stream.aclose()


async def wait_until_stopped(service) -> None:
    while service.state is not ServiceState.STOPPED:  # noqa: ASYNC110 - no event for it
        await trio.sleep(0.01)


async def test_the_console_commands_the_docs_show_answer(emulator, echo_server, ca_file,
                                                        nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}", "--at-console", "0")
    where = service.console_address
    async with await trio.open_tcp_stream(where.host, where.port) as console:
        cell, final = await console_command(console, 'AT+QENG="servingcell"')
        assert cell.startswith('+QENG: "servingcell","NOCONN","LTE",') and final == "OK"
        space, final = await console_command(console, 'AT+QFLDS="UFS"')
        free, total = map(int, space.removeprefix("+QFLDS: ").split(","))
        assert 0 < free < total and final == "OK"  # the proxy's CA file is stored
        # Both answers of a line of two: the second is not taken for a URC.
        assert await console_command(console, "AT+CSQ;+CEREG?") == [
            "+CSQ: 20,99", "+CEREG: 0,1", "OK"]


def test_the_demos_trace_excerpt_shows_one_connection_only():
    import importlib.util

    spec = importlib.util.spec_from_file_location("demo", REPO / "examples" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    log = "\n".join(f"2026-05-01 12:00:00,000 {line}" for line in [
        "INFO proxy.service: accepted conn=1 listen=127.0.0.1:9000",
        'DEBUG modem.at: > AT+QSSLOPEN=1,0,3,"api.example.com",443,0',
        "DEBUG modem.at: < Ok()",
        "DEBUG modem.at: < SslOpened(client_id=3, err=0)",
        "INFO proxy.connection: opened conn=1 id=3 remote=api.example.com:443",
        "DEBUG modem.at: > AT+QSSLSEND=3,75",
        "DEBUG modem.at: < Prompt()",
        "DEBUG modem.at: < SslRecv(client_id=4)",  # another socket's URC, mid-command
        "DEBUG modem.at: > [75 bytes b'GET /']",
        "DEBUG modem.at: < SendOk()",
        "DEBUG modem.at: > AT+QSSLRECV=4,1500",  # another connection's read
        "DEBUG modem.at: < RecvPayload [5 bytes b'other']",
        "DEBUG modem.at: < Ok()",
        "DEBUG modem.at: > AT+CSQ",  # the status page
        "DEBUG modem.at: < +CSQ: 20,99",
        "DEBUG modem.at: < Ok()",
        "DEBUG modem.at: > AT+QSSLCLOSE=3,1",
        "DEBUG modem.at: < Ok()",
        'INFO proxy.connection: closed conn=1 id=3 reason="remote closed"',
        "DEBUG modem.at: > AT+QSSLCLOSE=4,1",
    ])
    excerpt = demo.serial_excerpt(log)
    assert "client_id=4" not in excerpt and "=4," not in excerpt
    assert "other" not in excerpt and "CSQ" not in excerpt
    assert excerpt.count("< Ok()") == 2 and "SendOk()" in excerpt and "[75 bytes" in excerpt


async def test_a_second_signal_during_an_upload_does_not_wait_for_it(nursery):
    """The host's CA bundle (~200 KB) takes 20 s to upload at 115200 baud (minutes at 9600); the
    line's send is stuck in the pty meanwhile, and must not hold the stop."""
    from modem.emulator import Emulator, EmulatorConfig

    config = EmulatorConfig(baud=115200, real_dns=False)
    async with Emulator.running(config) as slow:
        cli = parse_command_line(["--device", slow.device, "--map", "0=echo.test:443"])
        service = ProxyService(cli, build_profiles(cli, load_all_material(cli)), cli.device)
        done = trio.Event()

        async def run() -> None:
            try:
                await service.run()
            finally:
                done.set()

        nursery.start_soon(run)
        await wait_until(lambda: slow.module.line.bytes_in > 3_000)  # the upload is on
        service.request_shutdown()
        service.stop_now()
        with trio.fail_after(10):  # a hang guard: the rest of the upload needs more
            await done.wait()
        assert service.hard_stopped
        assert not slow.module.files.listing("UFS:sp-*")  # cut short, nothing stored
