"""The two-way pump between a local stream and a module socket (here: memory streams)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from proxy.config.build import Endpoint, Mapping
from proxy.connections.connection import Pump
from proxy.connections.endings import Ending
from proxy.connections.registry import HALF_CLOSED, Registry
from tests.helpers import read_all

MAPPING = Mapping(Endpoint("127.0.0.1", 9000), Endpoint("api.example.com", 443))


class StreamSocket:
    """A memory stream as the pump's ``ModuleSocket``: its end of stream is a
    peer close of a socket the module still lists."""

    peer_closed = False
    id_lost = False

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.stream.send_all(data)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        return bytes(await self.stream.receive_some(max_bytes))

    async def drain_for_close(self, max_bytes: int | None = None) -> bytes | None:
        pytest.fail("the pump drains only before an idle close; these tests make none")

    async def aclose(self) -> None:
        await self.stream.aclose()


def setup():
    client, local = trio.testing.memory_stream_pair()
    remote_stream, server = trio.testing.memory_stream_pair()
    remote = StreamSocket(remote_stream)
    registry = Registry()
    record = registry.add(MAPPING, "127.0.0.1:9000", "127.0.0.1:5555")
    return client, local, remote, server, registry, record


async def test_both_ways_then_remote_close():
    client, local, remote, server, registry, record = setup()
    up = bytes(range(256)) * 100
    down = b"\r\nOK\r\n> " * 5000
    result: list[str] = []

    async def run_pump():
        result.append(await Pump(local, remote, record, registry).run())
        await local.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_pump)
        await client.send_all(up)
        got_up = b""
        while len(got_up) < len(up):
            got_up += await server.receive_some(65536)
        await server.send_all(down)
        await server.send_eof()
        assert await read_all(client) == down  # everything, then end of stream
    assert got_up == up
    assert result == ["remote closed"]
    assert (record.bytes_up, record.bytes_down) == (len(up), len(down))
    assert (registry.counters.bytes_up, registry.counters.bytes_down) == (len(up), len(down))


async def test_local_half_close_lets_the_remote_finish(autojump_clock):
    client, local, remote, server, registry, record = setup()
    pump = Pump(local, remote, record, registry, half_close_timeout=2)

    async def run_pump():
        await pump.run()
        await local.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_pump)
        await client.send_all(b"request")
        await client.send_eof()
        assert await server.receive_some(100) == b"request"
        await trio.sleep(1.5)
        assert record.state == HALF_CLOSED
        await server.send_all(b"late ")
        await trio.sleep(1.5)  # quiet for less than the limit since the last byte
        await server.send_all(b"answer")
        await server.send_eof()
        assert await read_all(client) == b"late answer"
    assert pump.ending == Ending.HALF_CLOSE_DONE
    assert not pump.ending.resets


async def test_an_answer_after_a_long_pause_arrives_whole(autojump_clock):
    """The old rule gave up after 2 s of quiet; a server may think for 25 s."""
    client, local, remote, server, registry, record = setup()
    pump = Pump(local, remote, record, registry)  # the default limit, 30 s
    answer = bytes(range(256)) * 40

    async def run_pump():
        await pump.run()
        await local.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_pump)
        await client.send_all(b"request")
        await client.send_eof()
        assert await server.receive_some(100) == b"request"
        await trio.sleep(25)
        await server.send_all(answer)
        await server.send_eof()
        assert await read_all(client) == answer
    assert pump.ending == Ending.HALF_CLOSE_DONE


async def test_a_remote_quiet_past_the_half_close_limit_is_reset(autojump_clock):
    client, local, remote, server, registry, record = setup()
    pump = Pump(local, remote, record, registry, half_close_timeout=10)

    async def chatter():
        for _ in range(5):  # bytes keep the connection alive: the limit is for quiet
            await server.send_all(b".")
            await trio.sleep(3)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(chatter)
        await client.send_eof()
        start = trio.current_time()
        await pump.run()
        assert trio.current_time() - start == pytest.approx(12 + 10)
    assert pump.ending == Ending.HALF_CLOSE_TIMEOUT and pump.ending.resets
    assert await client.receive_some(100) == b"....."


async def test_local_reset_ends_the_pump():
    client, local, remote, server, registry, record = setup()
    async with trio.open_nursery() as nursery:
        pump = Pump(local, remote, record, registry)
        nursery.start_soon(pump.run)
        await client.aclose()
        await server.send_all(b"data for nobody")
    assert pump.reason == "local connection reset"
    assert pump.ending == Ending.CLIENT_RESET
