"""SslSocket's read policy against a scripted module (autojump clock)."""

from __future__ import annotations

import trio
import trio.testing

from modem.bringup import error_of
from modem.channel import AtChannel
from modem.ssl_socket import RECHECK_AFTER_SHORT_READ, SslSocket


def recv_reply(data: bytes) -> bytes:
    return b"\r\n+QSSLRECV: %d\r\n%s\r\n\r\nOK\r\n" % (len(data), data)


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

    sock_holder = []

    def on_urc(urc):
        sock_holder[0].notify_recv()

    channel = AtChannel(host, on_urc)
    sock = SslSocket(channel, 0, "a.test", 443, error_of=error_of,
                     on_close=lambda s, closed: None)
    sock_holder.append(sock)
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

    holder = []
    channel = AtChannel(host, lambda urc: holder[0].notify_recv())
    sock = SslSocket(channel, 0, "a.test", 443, error_of=error_of,
                     on_close=lambda s, closed: None)
    holder.append(sock)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module)
        assert await sock.receive_some(10) == b"x" * 10
        assert await sock.receive_some(10) == b"y" * 3  # asked 10, got 10: more may wait
        assert times[1] - times[0] < RECHECK_AFTER_SHORT_READ
        nursery.cancel_scope.cancel()
