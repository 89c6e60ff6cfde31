"""Reading ahead: after a full ``AT+QSSLRECV`` the next one goes out at once.

Against a scripted module on a memory stream (autojump clock): the next read
is on the line before the caller has the data; nothing is lost, duplicated or
reordered; a command of another task waits for the answer in flight; no
read goes ahead of a waiting task; a smaller ``max_bytes`` gets the rest of a
read ahead in order; a read ahead that is never answered fails the socket.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from modem.core.at_command import Command
from modem.core.errors import ModuleTimeout
from modem.core.limits import MAX_RECV
from modem.link.channel import AtChannel
from modem.link.response_errors import error_of
from modem.sockets.ssl_socket import SslSocket

A, B, C = b"a" * MAX_RECV, b"b" * MAX_RECV, b"c" * 100


def recv_reply(data: bytes) -> bytes:
    return b"\r\n+QSSLRECV: %d\r\n%s\r\n\r\nOK\r\n" % (len(data), data)


class ScriptedModule:
    """Answers ``AT+QSSLRECV`` with the next of ``replies`` (None: never) and
    ``AT`` with ``OK``; ``seen`` lists the command lines in arrival order."""

    def __init__(self, stream: trio.abc.Stream, replies: list[bytes | None],
                 answer_delay: float = 0.0) -> None:
        self.stream = stream
        self.replies = replies
        self.answer_delay = answer_delay
        self.seen: list[str] = []

    async def run(self) -> None:
        await self.stream.send_all(b'\r\n+QSSLURC: "recv",0\r\n')
        buffer = b""
        while True:
            while b"\r" not in buffer:
                buffer += await self.stream.receive_some(4096)
            line, buffer = buffer.split(b"\r", 1)
            text = line.decode().strip()
            self.seen.append(text)
            await trio.sleep(self.answer_delay)
            if text == "AT":
                await self.stream.send_all(b"\r\nOK\r\n")
                continue
            reply = self.replies.pop(0)
            if reply is None:
                await trio.sleep_forever()
            await self.stream.send_all(reply)


def socket_on(host: trio.abc.Stream, **channel_options: float) -> tuple[AtChannel, SslSocket]:
    sockets: list[SslSocket] = []
    channel = AtChannel(host, lambda urc: sockets[0].notify_recv(), **channel_options)
    sock = SslSocket(channel, 0, "a.test", 443, error_of=error_of,
                     on_close=lambda s, closed: None)
    sockets.append(sock)
    return channel, sock


async def test_the_next_read_is_on_the_line_before_the_caller_has_the_data(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    module = ScriptedModule(module_side, [recv_reply(A), recv_reply(B), recv_reply(C)])
    channel, sock = socket_on(host)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module.run)
        assert await sock.receive_some() == A
        await trio.testing.wait_all_tasks_blocked()
        assert module.seen == ["AT+QSSLRECV=0,1500"] * 2  # the second one went ahead
        assert await sock.receive_some() == B
        assert await sock.receive_some() == C
        await trio.testing.wait_all_tasks_blocked()
        # 100 < 1500: the buffer is empty, nothing more goes ahead.
        assert module.seen == ["AT+QSSLRECV=0,1500"] * 3
        assert sock.bytes_received == len(A + B + C)
        nursery.cancel_scope.cancel()


async def test_another_task_waiting_for_the_line_goes_first(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    module = ScriptedModule(module_side, [recv_reply(A), recv_reply(C)], answer_delay=0.01)
    channel, sock = socket_on(host)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module.run)
        await trio.testing.wait_all_tasks_blocked()
        async with trio.open_nursery() as both:
            both.start_soon(sock.receive_some)
            await trio.testing.wait_all_tasks_blocked()  # the read is in flight
            both.start_soon(channel.run, Command("AT"))
        assert module.seen == ["AT+QSSLRECV=0,1500", "AT"]
        assert await sock.receive_some() == C
        assert module.seen == ["AT+QSSLRECV=0,1500", "AT", "AT+QSSLRECV=0,1500"]
        nursery.cancel_scope.cancel()


async def test_a_command_after_a_read_ahead_waits_for_its_answer(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    module = ScriptedModule(module_side, [recv_reply(A), recv_reply(B), recv_reply(C)],
                            answer_delay=0.5)
    channel, sock = socket_on(host)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module.run)
        assert await sock.receive_some() == A
        # The read ahead is unanswered for 0.5 s; AT must not cut into it.
        assert (await channel.run(Command("AT"))).ok
        assert module.seen == ["AT+QSSLRECV=0,1500"] * 2 + ["AT"]
        assert await sock.receive_some() == B  # kept for us meanwhile
        assert await sock.receive_some() == C
        nursery.cancel_scope.cancel()


async def test_a_smaller_read_gets_the_rest_of_a_read_ahead_in_order(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    second = bytes(range(256)) * 5 + bytes(220)  # 1500 bytes, order visible
    module = ScriptedModule(module_side, [recv_reply(A), recv_reply(second), recv_reply(C)])
    channel, sock = socket_on(host)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module.run)
        assert await sock.receive_some() == A
        got = b""
        while len(got) < len(second):
            got += await sock.receive_some(700)
        assert got == second
        assert await sock.receive_some() == C
        nursery.cancel_scope.cancel()


async def test_a_read_ahead_that_is_never_answered_fails_the_socket(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    module = ScriptedModule(module_side, [recv_reply(A), None])
    channel, sock = socket_on(host, command_timeout_cap=2.0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module.run)
        assert await sock.receive_some() == A
        with pytest.raises(ModuleTimeout):
            await sock.receive_some()
        assert isinstance(sock.failure, ModuleTimeout)
        nursery.cancel_scope.cancel()
