"""Fault injection: silence, noise, restart with sockets open, scheduled and
random faults, and the --fault spec syntax."""

from __future__ import annotations

import pytest
import trio

from modem.emulator import Emulator, EmulatorConfig, Fault, parse_fault_spec
from modem.emulator.fault_spec import FaultPlan
from modem.emulator.faults import NOISE_LINES, FaultState

from .conftest import BOOT_DONE, Host, emulator_host

NOISE = {line.strip(b"\r\n") for line in NOISE_LINES} - {b""}


async def test_silence_drops_commands_then_the_module_answers_again(
    emu: Emulator, host: Host
) -> None:
    await emu.inject(Fault.silence(0.3))
    await host.send("AT+CSQ\r")
    with trio.move_on_after(0.2):
        await host.read_exact(1)
        pytest.fail("the module answered while silent")
    await trio.sleep(0.2)
    assert await host.command("AT") == b"\r\nOK\r\n"


async def test_with_rtscts_a_silent_module_holds_the_hosts_bytes_instead_of_dropping_them(
) -> None:
    async with emulator_host(EmulatorConfig(rtscts=True)) as (emu, host):
        await emu.inject(Fault.silence(0.3))
        await host.send("AT+CSQ\r")  # CTS low: it waits, and is answered after
        with trio.fail_after(3):
            assert b"+CSQ:" in await host.read_until(b"OK\r\n")


async def test_deregister_makes_registration_reads_search_until_it_ends(
    emu: Emulator, host: Host
) -> None:
    await emu.inject(Fault.deregister(60))
    for name in ("CREG", "CGREG", "CEREG"):
        assert await host.command(f"AT+{name}?") == f"\r\n+{name}: 0,2\r\n\r\nOK\r\n".encode()
    await emu.inject(Fault.deregister(0))
    assert await host.command("AT+CEREG?") == b"\r\n+CEREG: 0,1\r\n\r\nOK\r\n"


async def test_noise_lines_come_between_responses(emu: Emulator, host: Host) -> None:
    expected = [
        line.strip(b"\r\n") for _, line in FaultState(0).noise_lines(30) if line.strip(b"\r\n")
    ]
    await emu.inject(Fault.noise(30))
    seen: list[bytes] = []
    while len(seen) < len(expected):
        await host.send("AT+CSQ\r")
        answer = []
        while (line := await host.line()) != b"OK":
            answer.append(line)
        seen += [line for line in answer if line != b"+CSQ: 20,99"]
        assert answer.count(b"+CSQ: 20,99") == 1
    assert seen == expected


async def test_restart_drops_sockets_and_the_server_sees_the_close(
    emu: Emulator, online: Host, echo_server
) -> None:
    host = online
    assert await host.open_ssl(0, "127.0.0.1", echo_server.port) == 0
    assert await host.command('AT+QSSLCFG="sni",1,1') == b"\r\nOK\r\n"
    await emu.inject(Fault.restart())
    await host.read_until(b"\r\nRDY\r\n")
    await host.read_until(BOOT_DONE)
    with trio.fail_after(10):
        await echo_server.connections[0].finished.wait()
    await host.send("AT+QSSLSTATE\r")
    await host.expect(b"AT+QSSLSTATE\r\r\nOK\r\n")  # echo is back on, no sockets
    await host.send('AT+QSSLCFG="sni",1\r')
    await host.read_until(b'+QSSLCFG: "sni",1,0\r\n\r\nOK\r\n')  # settings are gone
    await host.send("AT+QIACT?\r")
    await host.expect(b"AT+QIACT?\r\r\nOK\r\n")


async def test_nothing_is_answered_while_booting(emu: Emulator, host: Host) -> None:
    await emu.inject(Fault.restart())
    await host.send("AT\r")  # lost: the module is booting
    await host.expect(b"\r\nRDY\r\n")
    await host.read_until(BOOT_DONE)
    await host.send("AT\r")
    await host.expect(b"AT\r\r\nOK\r\n")


async def test_scheduled_faults_from_the_config() -> None:
    config = EmulatorConfig(faults=("restart@0.3s", "noise:2@100ms"))
    async with emulator_host(config) as (emu, host):
        await host.read_until(b"\r\nRDY\r\n")
        await host.read_until(BOOT_DONE)
        assert emu.restarts == 1


async def random_run(seed: int) -> list[Fault]:
    """Ten commands at fault rate 1; returns the faults drawn."""
    config = EmulatorConfig(faults=("random:1",), seed=seed)
    async with emulator_host(config) as (emu, host):
        await host.send("ATE0\r")
        await host.read_until(b"ATE0\r\r\nOK\r\n")
        for _ in range(10):
            await host.send("AT\r")
            assert await host.final() == b"OK"
        return emu.faults.history


async def test_random_faults_are_reproducible_with_a_seed() -> None:
    first = await random_run(3)
    assert first == await random_run(3)
    assert len(first) == 11  # ATE0 and ten ATs, each followed by one fault
    assert {f.kind for f in first} <= {"noise", "send_fail"}  # no sockets to drop


@pytest.mark.parametrize(
    ("spec", "plan"),
    [
        ("peer_close:3@5s", FaultPlan(Fault.peer_close(3), at=5)),
        ("restart@10s", FaultPlan(Fault.restart(), at=10)),
        ("noise:20", FaultPlan(Fault.noise(20))),
        ("silence:2.5@250ms", FaultPlan(Fault.silence(2.5), at=0.25)),
        ("pdp_deact@1", FaultPlan(Fault.pdp_deact(1), at=1)),
        ("pdp_deact:2", FaultPlan(Fault.pdp_deact(2))),
        ("send_fail:4", FaultPlan(Fault.send_fail(4))),
        ("slow_handshake:20,2", FaultPlan(Fault.slow_handshake(20, 2))),
        ("random:0.05", FaultPlan(None, random_rate=0.05)),
        ("deregister:30@5s", FaultPlan(Fault.deregister(30), at=5)),
        ("open_fail:569,3", FaultPlan(Fault.open_fail(569, 3))),
    ],
)
def test_fault_specs(spec: str, plan: FaultPlan) -> None:
    assert parse_fault_spec(spec) == plan


@pytest.mark.parametrize(
    "spec",
    ["", "boom", "peer_close", "peer_close:x", "restart:1", "noise@", "slow_handshake",
     "open_fail", "open_fail:200"],
)
def test_bad_fault_specs(spec: str) -> None:
    with pytest.raises(ValueError, match="fault spec"):
        parse_fault_spec(spec)
