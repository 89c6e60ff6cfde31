"""Failover: one modem's emulator killed mid-transfer, the others carry on.

The emulators run in the test, each behind a symlink given to the proxy as
``--device`` (what ``/dev/serial/by-id/...`` is); killing one closes its pty
under the driver (the module vanished), reviving it puts a new pty behind
the same path.  Shown: the killed modem's connections are reset, the other
modems' connections finish intact (hash-checked), new connections go to a
survivor at once, and the killed modem takes connections again once back.

Every ``fail_after`` here is a hang guard, not a timing assertion.
"""

from __future__ import annotations

import re
import signal

import pytest
import trio

from modem.driver import ModuleState
from modem.emulator import EmulatorConfig
from proxy.cli import parse_command_line
from proxy.config.build import Endpoint
from proxy.runner import RuntimeFailure, runtime_failures
from proxy.service import ProxyService
from tests.helpers import free_port, round_trip, wait_until
from tests.proxy_helpers import (
    Client,
    KillableModule,
    build_service,
    echo_on_new_connection,
    held_connection,
    start_killable,
    start_proxy_process,
    status_json,
)


def proxy_service(modules: list[KillableModule], *argv: str) -> ProxyService:
    devices = [a for m in modules for a in ("--device", str(m.link))]
    config = parse_command_line([*devices, *argv])
    return build_service(config, config.device, linger=0.3,
                         modem_options={"reopen_backoff_max": 0.2},
                         pool_options={"start_retry": 0.2, "start_retry_max": 0.2})


async def start_on_modules(nursery: trio.Nursery, modules: list[KillableModule], *argv: str
                           ) -> ProxyService:
    return await nursery.start(proxy_service(modules, *argv).run)


async def kill_one_mid_transfer(service: ProxyService, modules: list[KillableModule],
                                clients: int, size: int) -> None:
    victim = service.pool.members[0]
    killed = trio.Event()
    running = [Client(service, size) for _ in range(clients)]
    async with trio.open_nursery() as nursery:
        for client in running:
            # The victim's clients hold at half way, so each is surely mid-transfer when
            # the module dies; the others run on through the kill.
            nursery.start_soon(client.run, killed)
        with trio.fail_after(30):
            for client in running:
                await client.halfway.wait()
        assert {c.modem for c in running} == {m.name for m in service.pool.members}
        modules[0].kill()
        await wait_until(lambda: victim.modem.state.value is not ModuleState.READY)
        # New connections go to a survivor at once, while the transfers go on.
        assert await echo_on_new_connection(service) != victim.name
        killed.set()
    for client in running:
        expected = "reset" if client.modem == victim.name else "intact"
        assert client.outcome == expected, (client.modem, client.outcome)
    counters = service.registry.counters
    assert sum(counters.socket_failures.values()) == sum(c.modem == victim.name
                                                        for c in running)


async def rejoins(service: ProxyService, module: KillableModule, nursery: trio.Nursery) -> None:
    victim = service.pool.members[0]
    held, survivor = await held_connection(service)  # the victim is away: a survivor
    assert survivor != victim.name
    await module.start(nursery)
    with trio.fail_after(30):
        await victim.modem.state.wait_value(ModuleState.READY)
    # Least busy first: the survivor holds one ID, the victim none.
    assert await echo_on_new_connection(service) == victim.name
    await held.aclose()


async def test_a_killed_modem_resets_only_its_connections_and_rejoins(
        echo_server, ca_file, tmp_path, nursery):
    modules = await start_killable(nursery, tmp_path, 2)
    service = await start_on_modules(nursery, modules, "--cacert", str(ca_file),
                                     "--map", f"0=echo.test:{echo_server.port}")
    await kill_one_mid_transfer(service, modules, clients=6, size=60_000)
    await rejoins(service, modules[0], nursery)


@pytest.mark.long
async def test_a_killed_modem_of_three_paced_ones(echo_server, ca_file, tmp_path, nursery):
    """Three modules on paced 115200 lines (2 ms turnaround), 24 connections."""
    modules = await start_killable(nursery, tmp_path, 3, baud=115200, latency_ms=2)
    service = await start_on_modules(nursery, modules, "--cacert", str(ca_file),
                                     "--map", f"0=echo.test:{echo_server.port}")
    await kill_one_mid_transfer(service, modules, clients=24, size=30_000)
    await rejoins(service, modules[0], nursery)


async def test_a_modem_missing_at_start_joins_when_it_appears(echo_server, ca_file, tmp_path,
                                                              nursery):
    """One carrier's module is not there at start: the proxy serves through the other,
    shows why the first is not up, and takes it in once it appears."""
    modules = await start_killable(nursery, tmp_path, 2)
    modules[0].kill()
    await wait_until(lambda: not modules[0].link.exists())
    service = await start_on_modules(nursery, modules, "--cacert", str(ca_file),
                                     "--map", f"0=echo.test:{echo_server.port}", "--status", "0")
    first = service.pool.members[0]
    assert first.modem is None and "no such device" in str(first.start_error)
    page = await status_json(service.status_address)
    assert [(m["name"], m["state"]) for m in page["modems"]] == [("modem1", "starting"),
                                                                 ("modem2", "ready")]
    assert "no such device" in page["modems"][0]["last_error"]
    assert page["module"]["state"] == "ready"  # the first modem that is up
    held, on = await held_connection(service)
    assert on == "modem2"
    await modules[0].start(nursery)
    with trio.fail_after(20):
        while first.modem is None:  # noqa: ASYNC110 - the pool offers no event for it
            await trio.sleep(0.05)
        await first.modem.state.wait_value(ModuleState.READY)
    assert await echo_on_new_connection(service) == "modem1"
    await held.aclose()


async def test_the_start_fails_when_no_modem_comes_up(ca_file, tmp_path):
    modules = [KillableModule(tmp_path / f"missing{n}", EmulatorConfig()) for n in range(2)]
    service = proxy_service(modules, "--cacert", str(ca_file), "--map", "0=echo.test:1")
    with pytest.raises(RuntimeFailure, match="no such device .*missing0"), runtime_failures():
        await service.run()  # the first modem's error, the one line the user sees


@pytest.mark.long
async def test_the_program_with_two_devices_fails_over(echo_server, ca_file, tmp_path, nursery):
    """``ssl-proxy --device A --device B`` as a user runs it: a module unplugged under it
    resets its connections only, and the status page and logs say which one."""
    modules = await start_killable(nursery, tmp_path, 2)
    status_port = free_port()
    proxy = await start_proxy_process(
        nursery, tmp_path / "proxy.log", "--device", str(modules[0].link),
        "--device", str(modules[1].link), "--cacert", str(ca_file),
        "--map", f"0=echo.test:{echo_server.port}", "--status", str(status_port), "-v",
        "--grace", "0.5")
    streams = []
    for n in range(4):
        stream = await trio.open_tcp_stream("127.0.0.1", proxy.port)
        assert await round_trip(stream, b"x%d" % n) == b"x%d" % n
        streams.append(stream)
    page = await status_json(Endpoint("127.0.0.1", status_port))
    on = {c["peer"].rsplit(":", 1)[1]: c["modem"] for c in page["connections"]}
    placed = [on[str(s.socket.getsockname()[1])] for s in streams]
    assert sorted(placed) == ["modem1", "modem1", "modem2", "modem2"]
    modules[0].kill()
    for stream, modem in zip(streams, placed, strict=True):
        if modem == "modem1":
            with trio.fail_after(10), pytest.raises(trio.BrokenResourceError):
                await stream.receive_some(10)
        else:
            assert await round_trip(stream, b"still here") == b"still here"
        await stream.aclose()
    status_at = Endpoint("127.0.0.1", status_port)
    with trio.fail_after(10):
        while (await status_json(status_at))["modems"][0]["state"] == "ready":  # noqa: ASYNC110
            await trio.sleep(0.05)
    proxy.process.send_signal(signal.SIGTERM)
    assert await proxy.wait() == 0
    log = proxy.output.decode()
    assert re.search(r"WARNING modem\.driver: module lost, recovering modem=modem1 error=",
                     log), log
    assert "Traceback" not in log
