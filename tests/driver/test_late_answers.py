"""A module that answers late, in order: its late answers are never taken for the
next command's own (``modem.core.answer_shape``, the resync in ``modem.link.channel``).

Found by the 30-minute soaks on CMUX: a read answered by an earlier command's
``OK`` looked empty (a clean end of stream over a hole), a send's late ``OK``
before its prompt made the module take the next command as the socket's data.
An in-memory module on Trio's autojump clock; it reads and answers one command
at a time, as one AT interpreter does.
"""

from __future__ import annotations

import re

import pytest
import trio
import trio.testing

from modem.core.errors import AtProtocolError, ModuleTimeout
from modem.core.protocol import Command, Framing
from modem.link.channel import AtChannel

READ = Command("AT+QSSLRECV=1,1500", framing=Framing.RECV_PAYLOAD, recv_limit=1500)
SEND = Command("AT+QSSLSEND=1,5", framing=Framing.PROMPT_PAYLOAD, payload_len=5)
SLOW_CLOSE = Command("AT+QSSLCLOSE=1,10", timeout=2)


class InOrderModule:
    """Answers each command in turn; ``delays[text]`` seconds before a command's answer
    (it reads nothing meanwhile); ``AT+QSSLSEND=<id>,<n>`` prompts and takes n bytes."""

    def __init__(self, stream: trio.abc.Stream, delays: dict[str, float],
                 early: dict[str, bytes] | None = None) -> None:
        self.stream = stream
        self.delays = delays
        self.early = early or {}  # bytes written before a command's own answer
        self.seen: list[str] = []
        self.payloads: list[bytes] = []
        self._buf = b""

    async def _more(self) -> None:
        data = await self.stream.receive_some(4096)
        if not data:
            raise EOFError
        self._buf += data

    async def serve(self) -> None:
        try:
            while True:
                while b"\r" not in self._buf:
                    await self._more()
                line, self._buf = self._buf.split(b"\r", 1)
                text = line.lstrip(b"\x00").decode()
                self.seen.append(text)
                await trio.sleep(self.delays.pop(text, 0))
                await self.stream.send_all(self.early.pop(text, b""))
                await self._answer(text)
        except EOFError:
            return

    async def _answer(self, text: str) -> None:
        send = re.fullmatch(r"AT\+QSSLSEND=\d+,(\d+)", text)
        if send:
            await self.stream.send_all(b"> ")
            size = int(send.group(1))
            while len(self._buf) < size:
                await self._more()
            self.payloads.append(self._buf[:size])
            self._buf = self._buf[size:]
            await self.stream.send_all(b"\r\nSEND OK\r\n")
        elif text.startswith("AT+QSSLRECV"):
            await self.stream.send_all(b"\r\n+QSSLRECV: 3\r\nabc\r\n\r\nOK\r\n")
        else:
            await self.stream.send_all(b"\r\nOK\r\n")


async def with_module(module_args: dict, body) -> InOrderModule:
    host, module_side = trio.testing.memory_stream_pair()
    module = InOrderModule(module_side, **module_args)
    channel = AtChannel(host, lambda urc: None)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module.serve)
        await body(channel)
        nursery.cancel_scope.cancel()
    return module


async def test_a_late_ok_is_not_taken_for_the_next_reads_answer(autojump_clock):
    """The close times out; its OK comes while the resync's ``AT`` waits, and that
    ``AT``'s own OK after it: the read still gets its own answer, its data."""

    async def body(channel: AtChannel) -> None:
        with pytest.raises(ModuleTimeout):
            await channel.run(SLOW_CLOSE)
        resp = await channel.run(READ)
        assert resp.ok and resp.payload == b"abc"

    module = await with_module({"delays": {SLOW_CLOSE.text: 3.0}}, body)
    assert module.seen == [SLOW_CLOSE.text, "AT", "AT", READ.text]


async def test_a_late_ok_before_the_prompt_fails_the_send_and_the_payload_still_goes(
        autojump_clock):
    """An ``OK`` before the prompt is not the send's refusal: the command fails (its
    socket would be reset) and the module, which prompted after it, gets the
    client's own five bytes before the next command, never that command's text."""

    async def body(channel: AtChannel) -> None:
        with pytest.raises(AtProtocolError, match="before the prompt"):
            await channel.run(SEND, b"hello")
        assert (await channel.run(Command("AT+CSQ"))).ok

    module = await with_module({"delays": {}, "early": {SEND.text: b"\r\nOK\r\n"}}, body)
    assert module.payloads == [b"hello"]
    assert module.seen[-1] == "AT+CSQ"


async def test_a_read_answered_ok_alone_fails_instead_of_reading_empty(autojump_clock):
    """A read's ``+QSSLRECV`` line and data lost (a dropped multiplexer frame), its
    ``OK`` kept: an error, never the empty read that ends a closed peer's stream."""
    host, module_side = trio.testing.memory_stream_pair()

    async def module() -> None:
        assert await module_side.receive_some(100) == b"AT+QSSLRECV=1,1500\r"
        await module_side.send_all(b"ta of the lost frame\r\n\r\nOK\r\n")

    channel = AtChannel(host, lambda urc: None)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module)
        with pytest.raises(AtProtocolError, match="no \\+QSSLRECV line"):
            await channel.run(READ)
        nursery.cancel_scope.cancel()

