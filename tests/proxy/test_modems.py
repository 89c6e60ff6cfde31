"""Several modems behind one proxy: placement, the shared queue, pinned maps, status, logs.

The modems are emulated (``--emulate-modems N``: one emulator per modem,
each on its own pty) or emulators the test runs itself behind repeated
``--device`` flags.  Assertions are on hashes, the proxy's records (which
modem each connection is on) and the emulators' socket tables.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re

import pytest
import trio

from modem.emulator import Fault
from proxy.cli import parse_command_line
from proxy.connections.registry import OPEN, QUEUED
from proxy.logging_setup import setup_logging
from proxy.service import ProxyService
from tests.helpers import free_port, round_trip, wait_until
from tests.proxy_helpers import build_service, connect, console_command, http_get

NAMES = ("echo.test", "other.test")


async def start_modems(nursery: trio.Nursery, *argv: str, modems: int = 2,
                       modem_options: dict | None = None,
                       pool_options: dict | None = None) -> ProxyService:
    """A ProxyService over ``modems`` emulated modems, configured by flags."""
    resolve = [a for name in NAMES for a in ("--resolve", f"{name}=127.0.0.1")]
    config = parse_command_line(["--emulate-modems", str(modems), *resolve, *argv])
    service = build_service(config, None, linger=0.3, emulator_options={"real_dns": False},
                            modem_options=modem_options, pool_options=pool_options)
    return await nursery.start(service.run)


async def drained(service: ProxyService) -> None:
    """Every connection and module socket closed: nothing left for the teardown to wait
    on (it stops the emulators while the driver's last closes await their answers)."""
    await wait_until(lambda: not len(service.registry) and all(
        not m.emulator.module.sockets for m in service.pool.members))


def modem_of(service: ProxyService) -> dict[int, str | None]:
    return {r.number: r.modem for r in service.registry.connections.values()}


async def all_open_at_once(service: ProxyService, clients: int, size: int) -> None:
    """``clients`` echo connections; each sends only once all are open (a barrier on the
    proxy's records), then checks the echo's hash."""
    everyone_open = trio.Event()
    failures: list[str] = []

    async def watch() -> None:
        await wait_until(lambda: sum(r.state == OPEN for r in
                                     service.registry.connections.values()) == clients)
        per_modem = {m.name: len(m.modem.client_ids.in_use) for m in service.pool.members}
        assert sum(per_modem.values()) == clients, per_modem
        everyone_open.set()

    async def client(n: int) -> None:
        data = os.urandom(size + n)
        async with await connect(service) as stream:
            await everyone_open.wait()
            got = await round_trip(stream, data)
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
            failures.append(f"client {n}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        for n in range(clients):
            nursery.start_soon(client, n)
    assert not failures


async def test_24_connections_open_at_once_over_two_modems(echo_server, ca_file, nursery):
    """More than one module can hold: 12 on each, all open at the same moment."""
    service = await start_modems(nursery, "--cacert", str(ca_file),
                                 "--map", f"0=echo.test:{echo_server.port}")
    assert service.config.max_connections == 24
    await all_open_at_once(service, 24, 3000)
    counters = service.registry.counters
    assert counters.opened == 24 and not counters.open_failures
    assert [m.opened for m in service.pool.members] == [12, 12]
    await wait_until(lambda: all(not m.emulator.module.sockets for m in service.pool.members))


@pytest.mark.long
async def test_24_connections_over_three_paced_modems(echo_server, ca_file, nursery):
    """Three modems on paced 115200 lines with latency: least busy first spreads 24 as 8/8/8."""
    service = await start_modems(nursery, "--cacert", str(ca_file), "--emulate-baud", "115200",
                                 "--emulate-latency-ms", "2",
                                 "--map", f"0=echo.test:{echo_server.port}", modems=3)
    await all_open_at_once(service, 24, 20_000)
    assert [m.opened for m in service.pool.members] == [8, 8, 8]


async def test_least_busy_first_then_the_shared_queue(echo_server, ca_file, nursery):
    """Connections alternate between the modems; the 25th waits until any ID frees,
    and then takes it on whichever modem freed it."""
    service = await start_modems(nursery, "--cacert", str(ca_file),
                                 "--map", f"0=echo.test:{echo_server.port}")
    streams = []
    for n in range(24):
        stream = await connect(service)
        assert await round_trip(stream, b"hello %d" % n) == b"hello %d" % n
        streams.append(stream)
        in_use = [len(m.modem.client_ids.in_use) for m in service.pool.members]
        assert max(in_use) - min(in_use) <= 1, in_use  # least busy first
    last = await connect(service)
    await last.send_all(b"waiting")
    await wait_until(lambda: any(r.state == QUEUED for r in service.registry.connections.values()))
    freed_on = modem_of(service)[2]
    await streams[1].aclose()  # an ID frees on that modem only
    got = b""
    while len(got) < len(b"waiting"):
        got += await last.receive_some(100)
    assert got == b"waiting"
    assert modem_of(service)[25] == freed_on
    for stream in [streams[0], *streams[2:], last]:
        await stream.aclose()
    await drained(service)


async def test_a_pinned_map_stays_on_its_modem_and_waits_for_it(echo_server, ca_file,
                                                                tmp_path, nursery):
    """``modems = ["modem2"]``: every connection goes there, and past its 12 IDs the
    13th waits although modem1 is idle; the other map uses both."""
    config_file = tmp_path / "proxy.toml"
    config_file.write_text(f"""
cacert = "{ca_file}"
[[modem]]
name = "modem1"
[[modem]]
name = "modem2"
[[map]]
listen = 0
connect = "echo.test:{echo_server.port}"
modems = ["modem2"]
[[map]]
listen = 0
connect = "other.test:{echo_server.port}"
""")
    service = await start_modems(nursery, "--config", str(config_file))
    pinned = []
    for n in range(12):
        stream = await connect(service, 0)
        assert await round_trip(stream, b"p%d" % n) == b"p%d" % n
        pinned.append(stream)
    assert set(modem_of(service).values()) == {"modem2"}
    thirteenth = await connect(service, 0)
    await thirteenth.send_all(b"queued")
    await wait_until(lambda: any(r.state == QUEUED for r in service.registry.connections.values()))
    other = await connect(service, 1)  # the unpinned map goes to the idle modem at once
    assert await round_trip(other, b"free") == b"free"
    assert modem_of(service)[14] == "modem1"
    await pinned[0].aclose()
    got = b""
    while len(got) < 6:
        got += await thirteenth.receive_some(100)
    assert got == b"queued" and modem_of(service)[13] == "modem2"
    members = service.pool.members
    assert len(members[0].emulator.module.sockets) == 1
    for stream in [*pinned[1:], thirteenth, other]:
        await stream.aclose()
    await drained(service)


async def test_an_open_the_modem_fails_is_retried_on_the_other(echo_server, ca_file, nursery):
    """modem1 is silent: its open times out (the modem's fault), the same client is
    served by modem2 instead of being reset."""
    service = await start_modems(nursery, "--cacert", str(ca_file),
                                 "--map", f"0=echo.test:{echo_server.port}",
                                 modem_options={"command_timeout_cap": 0.5})
    first, second = service.pool.members
    await wait_until(lambda: first.registered and second.registered)  # their first checks
    await first.emulator.inject(Fault.silence(1.0))
    async with await connect(service) as stream:
        assert await round_trip(stream, b"served anyway") == b"served anyway"
        assert modem_of(service)[1] == "modem2"
    assert first.open_failures == {"ModuleTimeout": 1} and first.retried_elsewhere == 1
    await drained(service)
    assert service.registry.counters.opened == 1 and not service.registry.counters.open_failures


async def test_an_unregistered_modem_takes_no_new_connections(echo_server, ca_file, nursery):
    """modem1 loses its registration: new connections go to modem2 although modem1 is
    idle and first in order; once registered again it takes them again."""
    service = await start_modems(nursery, "--cacert", str(ca_file),
                                 "--map", f"0=echo.test:{echo_server.port}",
                                 pool_options={"registration_interval": 0.1})
    first, second = service.pool.members
    await wait_until(lambda: first.registered and second.registered)
    await first.emulator.inject(Fault.deregister(60))
    await wait_until(lambda: first.registered is False)
    streams = []
    for n in range(3):
        stream = await connect(service)
        assert await round_trip(stream, b"u%d" % n) == b"u%d" % n
        streams.append(stream)
    assert set(modem_of(service).values()) == {"modem2"}
    await first.emulator.inject(Fault.deregister(0))
    await wait_until(lambda: first.registered)
    async with await connect(service) as stream:
        assert await round_trip(stream, b"back") == b"back"
        assert modem_of(service)[4] == "modem1"
    for stream in streams:
        await stream.aclose()
    await drained(service)


async def test_a_modem_failing_its_opens_is_passed_over(echo_server, ca_file, tmp_path,
                                                        nursery):
    """Three opens in a row fail on modem1 with 569 (its carrier times out): modem1 is
    *failing*, and new connections go to modem2 although modem1 is idle.  (The failing
    opens come through a map pinned to modem1, so none is retried elsewhere.)"""
    config_file = tmp_path / "proxy.toml"
    config_file.write_text(f"""
cacert = "{ca_file}"
[[modem]]
name = "modem1"
[[modem]]
name = "modem2"
[[map]]
listen = 0
connect = "echo.test:{echo_server.port}"
[[map]]
listen = 0
connect = "echo.test:{echo_server.port}"
modems = ["modem1"]
""")
    service = await start_modems(nursery, "--config", str(config_file), "--status", "0")
    first, second = service.pool.members
    await first.emulator.inject(Fault.open_fail(569, 3))
    for _ in range(3):
        async with await connect(service, 1) as stream:
            with pytest.raises(trio.BrokenResourceError):  # reset: it had nowhere else to go
                await stream.receive_some(10)
    assert first.health.failing(trio.current_time())
    held = await connect(service, 0)
    assert await round_trip(held, b"one") == b"one"
    other = await connect(service, 0)
    assert await round_trip(other, b"two") == b"two"
    assert [modem_of(service)[n] for n in (4, 5)] == ["modem2", "modem2"]
    page = json.loads((await http_get(service.status_address, "/status.json"))[1])
    assert [(m["failing"], m["open_failures"]) for m in page["modems"]] == [
        (True, {"OperationTimeout": 3}), (False, {})]
    for stream in (held, other):
        await stream.aclose()
    await drained(service)


async def test_a_remote_failure_is_not_retried(server_cert, ca_file, nursery):
    """A refused port (566) would be refused on every modem: reset at once, one try."""
    service = await start_modems(nursery, "--cacert", str(ca_file),
                                 "--map", f"0=echo.test:{free_port()}")
    async with await connect(service) as stream:
        with pytest.raises(trio.BrokenResourceError):
            await stream.receive_some(10)
    assert sum(m.retried_elsewhere for m in service.pool.members) == 0
    assert service.registry.counters.open_failures == {"566": 1}


async def test_status_and_logs_name_each_modem(echo_server, ca_file, nursery):
    """Status JSON and page per modem; log lines (the proxy's formatter) with modem=."""
    logs = io.StringIO()
    setup_logging(1, stream=logs)  # what the program sets up for -v
    service = await start_modems(nursery, "--cacert", str(ca_file), "--status", "0",
                                 "--map", f"0=echo.test:{echo_server.port}")
    streams = []
    for n in range(3):
        stream = await connect(service)
        assert await round_trip(stream, b"s%d" % n) == b"s%d" % n
        streams.append(stream)
    status, body = await http_get(service.status_address, "/status.json")
    assert status == 200
    page = json.loads(body)
    modems = page["modems"]
    assert [m["name"] for m in modems] == ["modem1", "modem2"]
    assert sorted(len(m["ids_in_use"]) for m in modems) == [1, 2]
    assert all(m["state"] == "ready" and m["registration"].startswith("registered")
               for m in modems)
    assert all(isinstance(m["line_busy"], float) and m["signal_dbm"] is not None
               for m in modems)
    assert {c["modem"] for c in page["connections"]} == {"modem1", "modem2"}
    assert page["module"]["state"] == "ready"  # the first modem, as with one
    status, html_page = await http_get(service.status_address, "/")
    assert b"<h2>Modems</h2>" in html_page and b"modem2" in html_page
    for stream in streams:
        await stream.aclose()
    await drained(service)
    log = logs.getvalue()
    opened = re.findall(r"INFO proxy\.connection: opened modem=(modem\d) conn=", log)
    assert len(opened) == 3 and set(opened) == {"modem1", "modem2"}
    assert re.search(r"INFO modem\.driver: module ready (.* )?modem=modem2 ", log)  # the driver's


async def test_each_modem_has_its_own_at_console(ca_file, tmp_path, nursery):
    """``at-console`` in a ``[[modem]]`` table reaches that module's line only; the
    top-level one reaches the first module."""
    config_file = tmp_path / "proxy.toml"
    config_file.write_text(f"""
cacert = "{ca_file}"
at-console = 0
[[modem]]
name = "a"
[[modem]]
name = "b"
at-console = 0
[[map]]
listen = 0
connect = "echo.test:1"
""")
    service = await start_modems(nursery, "--config", str(config_file))
    await wait_until(lambda: all(m.registered for m in service.pool.members))  # quiet now
    lines = {m.name: m.emulator.line for m in service.pool.members}
    for where, name in ((service.console_addresses["b"], "b"), (service.console_address, "a")):
        before = {n: line.bytes_in for n, line in lines.items()}
        async with await trio.open_tcp_stream(where.host, where.port) as console:
            assert (await console_command(console, "AT+CSQ"))[-1] == "OK"
        grew = {n for n, line in lines.items() if line.bytes_in > before[n]}
        assert grew == {name}
