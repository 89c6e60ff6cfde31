"""``/metrics`` on the ``--status`` listener, read with prometheus_client's own parser.

The proxy runs over the emulator on a pty with real TLS servers; the
assertions compare the scraped counters with what the test did (bytes
sent, failures caused, faults injected).
"""

from __future__ import annotations

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from modem.core.line_counts import BITS_PER_BYTE
from modem.emulator import Fault
from tests.helpers import TlsServer, read_all, round_trip, wait_until
from tests.proxy_helpers import connect, http_get, start_proxy, status_json

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(service) -> tuple[Samples, dict[str, str]]:
    """Every sample by (name, labels), and each family's type."""
    status, body = await http_get(service.status_address, "/metrics")
    assert status == 200, body
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(body.decode()):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_counters_move_after_a_transfer(emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}",
                                "--map", "0=nowhere.test:443", "--status", "127.0.0.1:0")
    echo_map = f"{list(service.listen_addresses.values())[0]} -> echo.test:{echo_server.port}"
    before, types = await scrape(service)
    assert types["ssl_proxy_connections"] == "counter"
    assert types["ssl_proxy_module_state"] == "gauge"
    assert value(before, "ssl_proxy_module_state", modem="modem1", state="ready") == 1
    assert value(before, "ssl_proxy_module_state", modem="modem1", state="recovering") == 0
    assert value(before, "ssl_proxy_module_sockets", modem="modem1") == 12
    assert -113 <= value(before, "ssl_proxy_module_signal_dbm", modem="modem1") <= -51
    assert value(before, "ssl_proxy_bytes_total", map=echo_map, direction="up") == 0

    async with await connect(service, 1) as failing:
        with pytest.raises(trio.BrokenResourceError):
            await read_all(failing)
    await emulator.inject(Fault.send_fail(2))
    async with await connect(service) as stream:
        assert await round_trip(stream, b"m" * 5000) == b"m" * 5000
        during, _ = await scrape(service)
        assert value(during, "ssl_proxy_module_sockets_in_use", modem="modem1") == 1
        assert value(during, "ssl_proxy_connections_active", map=echo_map, state="open") == 1
        assert value(during, "ssl_proxy_bytes_total", map=echo_map, direction="down") == 5000
    await wait_until(lambda: len(service.registry) == 0)

    after, _ = await scrape(service)
    # The client closed its side and the echo server never closes: ended at the
    # half-close limit (0.3 s in this proxy), a reset.
    assert value(after, "ssl_proxy_connections_total", map=echo_map,
                 outcome="half_close_timeout") == 1
    assert value(after, "ssl_proxy_bytes_total", map=echo_map, direction="up") == 5000
    assert value(after, "ssl_proxy_bytes_total", map=echo_map, direction="down") == 5000
    assert value(after, "ssl_proxy_open_failures_total", code="565") == 1
    assert value(after, "ssl_proxy_connection_ends_total", ending="open_failed") == 1
    assert value(after, "ssl_proxy_resets_total") >= 1  # the failed open's client
    assert value(after, "ssl_proxy_queue_max") == 64
    assert ("ssl_proxy_idle_releases_total", frozenset()) in after  # none yet, but listed
    assert value(after, "ssl_proxy_send_fail_retries_total", modem="modem1") == 2
    assert value(after, "ssl_proxy_module_sockets_in_use", modem="modem1") == 0
    assert value(after, "ssl_proxy_queue_length") == 0
    for direction in ("to_module", "from_module"):
        moved = value(after, "ssl_proxy_serial_bytes_total", modem="modem1", direction=direction)
        assert moved > value(before, "ssl_proxy_serial_bytes_total", modem="modem1",
                             direction=direction) + 5000
        assert value(after, "ssl_proxy_serial_busy_seconds_total", modem="modem1",
                     direction=direction) > 0


async def test_busy_seconds_never_exceed_the_time_that_passed(emulator, server_cert, ca_file,
                                                              nursery):
    """The emulator is unpaced: it moves a megabyte in well under a second, which a
    115200 line (the proxy's default baud) needs 87 s for.  The busy time still grows
    by at most the time between two scrapes, and the status page's ``line_busy``, the
    same measure, stays a share."""
    source = TlsServer(server_cert, "source", source_bytes=1_000_000)
    await nursery.start(source.serve)
    since = trio.current_time()
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=source.test:{source.port}", "--status", "127.0.0.1:0")
    first = trio.current_time()
    before, _ = await scrape(service)
    async with await connect(service) as stream:
        assert len(await read_all(stream)) == 1_000_000
    after, _ = await scrape(service)
    second = trio.current_time()
    moved = sum(value(after, "ssl_proxy_serial_bytes_total", modem="modem1", direction=d)
                - value(before, "ssl_proxy_serial_bytes_total", modem="modem1", direction=d)
                for d in ("to_module", "from_module"))
    assert moved * BITS_PER_BYTE / 115200 > 80  # line time at the nominal rate
    for direction in ("to_module", "from_module"):
        busy = [value(samples, "ssl_proxy_serial_busy_seconds_total", modem="modem1",
                      direction=direction) for samples in (before, after)]
        assert 0 <= busy[1] - busy[0] <= second - first
        assert busy[1] <= second - since
    assert value(after, "ssl_proxy_serial_baud", modem="modem1") == 115200
    status = await status_json(service.status_address)
    (modem,) = status["modems"]
    assert modem["name"] == status["module"]["name"] == "modem1"  # the metrics' label
    assert 0 <= modem["line_busy"] <= 1


async def test_module_lives_are_counted(emulator, echo_server, ca_file, nursery):
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}",
                                "--status", "127.0.0.1:0")
    await emulator.inject(Fault.pdp_deact(1))
    await wait_until(lambda: service.modem.pdp_reactivations == 1)
    await emulator.inject(Fault.restart())
    await wait_until(lambda: service.modem.recoveries == 1)
    samples, _ = await scrape(service)
    assert value(samples, "ssl_proxy_pdp_reactivations_total", modem="modem1") == 1
    assert value(samples, "ssl_proxy_module_recoveries_total", modem="modem1") == 1
    assert value(samples, "ssl_proxy_module_restarts_total", modem="modem1") == 0


async def test_metrics_is_404_without_a_metrics_page():
    from proxy.ops.status_page import answer

    async def snapshot():
        await trio.lowlevel.checkpoint()
        return {}

    reply = await answer(b"GET /metrics HTTP/1.0", snapshot)
    assert reply.startswith(b"HTTP/1.0 404 ")


async def test_what_the_urc_router_refused_is_counted(emulator, echo_server, ca_file, nursery):
    """A push frame that lost a byte fails its socket (the client is reset) and is
    counted on /metrics and the status page (docs/reliability.md, "The rule")."""
    import json

    from modem.emulator import parse_fault_spec

    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}",
                                "--access-mode", "push", "--status", "127.0.0.1:0")
    async with await connect(service) as stream:  # whole frames: the style is learned
        assert await round_trip(stream, b"y" * 100) == b"y" * 100
    await emulator.inject(parse_fault_spec("push_byte_loss:1").fault)
    async with await connect(service) as stream:
        await stream.send_all(b"x" * 3000)
        with pytest.raises(trio.BrokenResourceError):
            await read_all(stream)
    samples, _ = await scrape(service)
    assert value(samples, "ssl_proxy_broken_push_frames_total", modem="modem1") >= 1
    status, body = await http_get(service.status_address, "/status.json")
    integrity = json.loads(body)["module"]["integrity"]
    assert integrity["broken_frames"] >= 1 and integrity["push_frame_style"] == "trailer"
