"""The first-day failures, as a user meets them: the proxy process against an
emulated module with a SIM PIN, a UART at another speed, a silent spell.

Each ends in one line that says what to do, or in a proxy that serves.  The
transcript excerpts in docs/troubleshooting.md come from these runs."""

from __future__ import annotations

import os
import time

import pytest
import trio

from modem.emulator import Emulator, EmulatorConfig, Fault
from tests.helpers import round_trip
from tests.proxy_helpers import start_proxy_process, talk

PIN = "2468"
NAMES = {"echo.test": "127.0.0.1"}


def module(**options: object) -> EmulatorConfig:
    return EmulatorConfig(resolve=NAMES, real_dns=False, **options)  # type: ignore[arg-type]


async def echo_works(port: int) -> None:
    with trio.fail_after(20):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            assert await round_trip(stream, b"first day" * 100) == b"first day" * 100


async def ending(port: int, data: bytes) -> str:
    """How a new connection ends ("reset", "eof", "data", "open"); a reset so
    quick that it lands during the connect counts too."""
    try:
        return (await talk(port, data, want=len(data), within=20)).end
    except OSError:
        return "reset"


def with_pin(pin: str) -> dict[str, str]:
    return {**os.environ, "SSL_PROXY_SIM_PIN": pin}


async def test_a_sim_with_a_pin_serves_with_the_pin_from_the_environment(
        echo_server, ca_file, tmp_path, nursery):
    async with Emulator.running(module(sim_pin=PIN)) as emulator:
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--device", emulator.device, "--cacert",
            str(ca_file), "--map", f"0=echo.test:{echo_server.port}", "--trace-at",
            env=with_pin(PIN), within=30)
        await echo_works(proxy.port)
        assert await proxy.stop() == 0
        assert emulator.sim.pins_entered == 1
    log = proxy.output.decode()
    assert 'AT+CPIN="****"' in log and PIN not in log


async def test_a_wrong_pin_is_tried_once_and_the_start_stops_with_one_line(
        ca_file, tmp_path, nursery):
    async with Emulator.running(module(sim_pin=PIN)) as emulator:
        for run in (1, 2):  # a restarted service (systemd) must not try again
            proxy = await start_proxy_process(
                nursery, tmp_path / f"proxy{run}.log", "--device", emulator.device,
                "--cacert", str(ca_file), "--map", "0=echo.test:443", env=with_pin("1111"),
                ready=None)
            assert await proxy.wait() == 1
        assert emulator.sim.pins_entered == 1 and emulator.sim.pin_tries == 2
    first = (tmp_path / "proxy1.log").read_text().strip().splitlines()[-1]
    second = (tmp_path / "proxy2.log").read_text().strip().splitlines()[-1]
    assert first.startswith("ssl-proxy: error: the SIM refused the PIN: 2 of 3 tries left")
    assert second.startswith("ssl-proxy: error: the SIM wants its PIN and 2 of 3 tries are "
                             "left: a wrong PIN was tried, so the proxy will not enter one")


@pytest.mark.long  # 30 unanswered ATs (9 s) before the speeds are tried
async def test_a_module_at_another_speed_is_named_with_the_flag_to_give(
        ca_file, tmp_path, nursery):
    async with Emulator.running(module(baud=921600, uart=True)) as emulator:
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--device", emulator.device, "--cacert",
            str(ca_file), "--map", "0=echo.test:443", ready=None)
        assert await proxy.wait(within=60) == 1
    assert proxy.output.decode().strip().splitlines()[-1] == (
        "ssl-proxy: error: the module does not answer at 115200 baud but does at 921600 baud "
        "(the speed its AT+IPR keeps): give --baud 921600 (or --baud auto to find it at every "
        "start)")


@pytest.mark.long  # 30 unanswered ATs (9 s) before the speeds are tried
async def test_baud_auto_serves_a_module_at_another_speed(
        echo_server, ca_file, tmp_path, nursery):
    async with Emulator.running(module(baud=921600, uart=True)) as emulator:
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--device", emulator.device, "--baud", "auto",
            "--cacert", str(ca_file), "--map", f"0=echo.test:{echo_server.port}", within=60)
        await echo_works(proxy.port)
        assert await proxy.stop() == 0
    (line,) = [line for line in proxy.output.decode().splitlines()
               if "module answers at another speed: using it" in line]
    assert "baud=921600" in line.split() and "not_at=115200" in line.split()


@pytest.mark.long  # six seconds of silence, then a recovery
async def test_a_silent_module_resets_new_connections_at_once_then_serves_again(
        echo_server, ca_file, tmp_path, nursery):
    async with Emulator.running(module()) as emulator:
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--device", emulator.device, "--cacert",
            str(ca_file), "--map", f"0=echo.test:{echo_server.port}", within=30)
        await echo_works(proxy.port)
        await emulator.inject(Fault.silence(6.0))
        seen: list[str] = []

        async def first() -> None:  # its AT+QSSLOPEN meets the silence
            seen.append(await ending(proxy.port, b"into the silence"))

        async with trio.open_nursery() as clients:
            clients.start_soon(first)
            await proxy.wait_for(b"module silent")
            started = time.monotonic()
            second = await ending(proxy.port, b"while it is silent")
            waited = time.monotonic() - started
        assert (seen, second) == (["reset"], "reset")
        print(f"a connection while the module was known silent was reset after {waited:.2f} s")
        with trio.fail_after(30):  # the module answers again; the proxy takes connections
            while await ending(proxy.port, b"back") != "data":  # noqa: ASYNC110
                await trio.sleep(0.5)
        assert await proxy.stop() == 0
    assert "module silent: new connections fail at once" in proxy.output.decode()
