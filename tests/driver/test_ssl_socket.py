"""SslSocket's read and send policies against a scripted module (autojump clock)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from modem.core.errors import ModemError, SendStalled
from modem.core.stream_errors import EndUnconfirmed
from modem.link.channel import AtChannel
from modem.link.response_errors import error_of
from modem.sockets.ssl_socket import RECHECK_AFTER_SHORT_READ, SslSocket


def recv_reply(data: bytes) -> bytes:
    return b"\r\n+QSSLRECV: %d\r\n%s\r\n\r\nOK\r\n" % (len(data), data)


def scripted_socket(host: trio.abc.Stream, client_id: int = 0,
                    **options: float) -> tuple[AtChannel, SslSocket]:
    """A channel on ``host`` and a socket on it that every URC wakes (as the driver routes)."""
    sockets: list[SslSocket] = []
    channel = AtChannel(host, lambda urc: sockets[0].notify_recv())
    sock = SslSocket(channel, client_id, "a.test", 443, error_of=error_of,
                     on_close=lambda s, closed: None, **options)
    sockets.append(sock)
    return channel, sock


async def test_short_read_waits_for_the_urc_and_rechecks_once_without_one(autojump_clock):
    """Firmware that re-arms the recv URC only after an empty read still gets read."""
    host, module_side = trio.testing.memory_stream_pair()
    seen: list[tuple[float, str]] = []
    replies = [recv_reply(b"hello"), recv_reply(b"world"), recv_reply(b"")]

    async def module():
        await module_side.send_all(b'\r\n+QSSLURC: "recv",0\r\n')
        while True:
            line = await module_side.receive_some(100)
            seen.append((trio.current_time(), line.decode().strip()))
            await module_side.send_all(replies.pop(0))

    channel, sock = scripted_socket(host)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module)
        start = trio.current_time()
        with trio.fail_after(10):
            assert await sock.receive_some() == b"hello"
        # 5 < 1500: the buffer is empty; no second read until the URC... which this
        # firmware never sends, so one confirming read comes after the recheck time.
        with trio.fail_after(10):
            assert await sock.receive_some() == b"world"
        assert [cmd for _, cmd in seen] == ["AT+QSSLRECV=0,1500"] * 2
        assert seen[1][0] - start >= RECHECK_AFTER_SHORT_READ
        nursery.cancel_scope.cancel()


async def test_full_read_reads_again_at_once(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    replies = [recv_reply(b"x" * 10), recv_reply(b"y" * 3)]
    times = []

    async def module():
        await module_side.send_all(b'\r\n+QSSLURC: "recv",0\r\n')
        while replies:
            await module_side.receive_some(100)
            times.append(trio.current_time())
            await module_side.send_all(replies.pop(0))

    channel, sock = scripted_socket(host)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module)
        assert await sock.receive_some(10) == b"x" * 10
        assert await sock.receive_some(10) == b"y" * 3  # asked 10, got 10: more may wait
        assert times[1] - times[0] < RECHECK_AFTER_SHORT_READ
        nursery.cancel_scope.cancel()


async def scripted_sends(module_side: trio.abc.Stream,
                         finals: list[bytes], seen: list[float]) -> None:
    """Answer each ``AT+QSSLSEND=<id>,<len>`` with a prompt, take ``len`` bytes,
    then answer the next of ``finals`` (the last one for ever)."""
    buffer = b""

    async def more() -> None:
        nonlocal buffer
        buffer += await module_side.receive_some(4096)

    while True:
        while b"\r" not in buffer:
            await more()
        line, buffer = buffer.split(b"\r", 1)
        length = int(line.rsplit(b",", 1)[1])
        await module_side.send_all(b"\r\n> ")
        while len(buffer) < length:
            await more()
        buffer = buffer[length:]
        seen.append(trio.current_time())
        await module_side.send_all(finals.pop(0) if len(finals) > 1 else finals[0])


@pytest.mark.parametrize("stall_limit", [0.5, 3.0])
async def test_a_send_refused_past_the_stall_limit_fails_the_socket(autojump_clock,
                                                                    stall_limit):
    """SEND FAIL for ever: ``SendStalled`` (a ``ModemError``), and the socket stays failed."""
    host, module_side = trio.testing.memory_stream_pair()
    seen: list[float] = []
    channel, sock = scripted_socket(host, 3, send_stall_timeout=stall_limit)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(scripted_sends, module_side, [b"\r\nSEND FAIL\r\n"], seen)
        start = trio.current_time()
        with pytest.raises(SendStalled) as caught:
            await sock.send_all(b"hello")
        assert isinstance(caught.value, ModemError)
        assert caught.value.client_id == 3 and caught.value.seconds == stall_limit
        assert "socket 3 stalled" in str(caught.value)
        assert isinstance(caught.value.__cause__, trio.TooSlowError)
        assert trio.current_time() - start == pytest.approx(stall_limit)
        assert len(seen) >= 2 and sock.send_fails == len(seen) and sock.bytes_sent == 0
        assert sock.failure is caught.value
        with pytest.raises(SendStalled):
            await sock.send_all(b"more")
        with pytest.raises(SendStalled):
            await sock.receive_some()
        nursery.cancel_scope.cancel()


async def test_a_send_taken_within_the_stall_limit_goes_through(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    seen: list[float] = []
    finals = [b"\r\nSEND FAIL\r\n"] * 3 + [b"\r\nSEND OK\r\n"]
    channel, sock = scripted_socket(host, send_stall_timeout=1.0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(scripted_sends, module_side, finals, seen)
        await sock.send_all(b"hello")
        assert (sock.send_fails, sock.bytes_sent, sock.failure) == (3, 5, None)
        nursery.cancel_scope.cancel()


async def test_a_read_refused_on_a_socket_the_module_dropped_ends_unconfirmed(autojump_clock):
    """Firmware that answers ERROR to AT+QSSLRECV once the peer closed (the
    emulator answers +QSSLRECV: 0): the state query finds it gone, but nothing
    showed the buffer empty, so the stream ends as a hole (its client is reset),
    never as a clean end of stream."""
    host, module_side = trio.testing.memory_stream_pair()
    seen: list[str] = []
    replies = {
        "AT+QSSLRECV=0,1500": b"\r\nERROR\r\n",
        "AT+QIGETERROR": b"\r\n+QIGETERROR: 0,operation successful\r\n\r\nOK\r\n",
        "AT+QSSLSTATE=0": b"\r\nOK\r\n",
    }

    async def module():
        await module_side.send_all(b'\r\n+QSSLURC: "recv",0\r\n')
        while True:
            line = (await module_side.receive_some(100)).decode().strip()
            seen.append(line)
            await module_side.send_all(replies[line])

    channel, sock = scripted_socket(host)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module)
        with trio.fail_after(10), pytest.raises(EndUnconfirmed):
            await sock.receive_some()
        assert seen[:3] == ["AT+QSSLRECV=0,1500", "AT+QIGETERROR", "AT+QSSLSTATE=0"]
        assert isinstance(sock.failure, EndUnconfirmed)
        nursery.cancel_scope.cancel()


async def test_a_read_cancelled_on_the_wire_still_returns_its_bytes(autojump_clock):
    """The proxy's idle stop cancels a waiting receive_some: a cancel that lands
    while AT+QSSLRECV is on the wire must not lose the bytes it read."""
    host, module_side = trio.testing.memory_stream_pair()
    reader_scope = trio.CancelScope()

    async def module():
        await module_side.send_all(b'\r\n+QSSLURC: "recv",0\r\n')
        line = await module_side.receive_some(100)
        assert line.strip() == b"AT+QSSLRECV=0,1500"
        reader_scope.cancel()  # the command is on the wire now
        await trio.sleep(0.1)
        await module_side.send_all(recv_reply(b"hello"))

    channel, sock = scripted_socket(host)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module)
        got = None
        with reader_scope:
            got = await sock.receive_some()
        assert got == b"hello" and not reader_scope.cancelled_caught
        with trio.CancelScope() as waiting:  # a cancel while it waits takes nothing
            waiting.cancel()
            await sock.receive_some()
        assert waiting.cancelled_caught
        nursery.cancel_scope.cancel()
