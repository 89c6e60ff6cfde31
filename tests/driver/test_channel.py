"""AtChannel against a scripted module on an in-memory stream.

The timeouts here run on Trio's autojump clock: no wall time passes.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from modem.core import events as ev
from modem.core.errors import AtProtocolError, ModuleLost, ModuleTimeout
from modem.core.protocol import Command, Framing
from modem.link.answers import ModuleRestarted, RdyMeans
from modem.link.channel import RESYNC_QUIET, AtChannel


class ScriptedModule:
    """Reads command lines; answers each with ``replies[line]`` (bytes or None = silence)."""

    def __init__(self, stream: trio.abc.Stream, replies: dict[str, bytes | None]) -> None:
        self.stream = stream
        self.replies = replies
        self.seen: list[str] = []

    async def serve(self) -> None:
        buf = b""
        while True:
            data = await self.stream.receive_some(4096)
            if not data:
                return
            buf += data
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                text = line.decode()
                self.seen.append(text)
                reply = self.replies.get(text, b"\r\nERROR\r\n")
                if reply is not None:
                    await self.stream.send_all(reply)


async def run_with(replies, body, urcs=None):
    host, module_side = trio.testing.memory_stream_pair()
    module = ScriptedModule(module_side, replies)
    seen_urcs = [] if urcs is None else urcs
    channel = AtChannel(host, seen_urcs.append)
    channel.rdy_means = RdyMeans.SOCKETS_LOST
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module.serve)
        try:
            await body(channel, module)
        finally:
            nursery.cancel_scope.cancel()
    return module


async def test_command_gets_info_lines_and_ok(autojump_clock):
    async def body(channel, module):
        resp = await channel.run(Command("AT+CSQ", info_prefixes=("+CSQ",)))
        assert resp.ok
        assert resp.lines == ["+CSQ: 20,99"]

    await run_with({"AT+CSQ": b'\r\n+QSSLURC: "recv",2\r\n+CSQ: 20,99\r\n\r\nOK\r\n'}, body)


async def test_urcs_between_command_and_result_reach_the_router(autojump_clock):
    urcs = []

    async def body(channel, module):
        resp = await channel.run(Command("AT"))
        assert resp.ok

    await run_with({"AT": b'\r\n+QSSLURC: "closed",4\r\n\r\nOK\r\n'}, body, urcs)
    assert urcs == [ev.SslClosed(4)]


async def test_timeout_then_resync_before_next_command(autojump_clock):
    replies = {"AT+QSSLCLOSE=1,10": None, "AT": b"\r\nOK\r\n",
               "AT+CSQ": b"\r\n+CSQ: 9,99\r\n\r\nOK\r\n"}

    async def body(channel, module):
        start = trio.current_time()
        with pytest.raises(ModuleTimeout, match="no answer within 15 s"):
            await channel.run(Command("AT+QSSLCLOSE=1,10", timeout=15))
        assert trio.current_time() - start == pytest.approx(15)
        resp = await channel.run(Command("AT+CSQ", info_prefixes=("+CSQ",)))
        assert resp.lines == ["+CSQ: 9,99"]
        assert module.seen == ["AT+QSSLCLOSE=1,10", "AT", "AT+CSQ"]

    await run_with(replies, body)


async def test_silent_module_breaks_the_channel(autojump_clock):
    async def body(channel, module):
        with pytest.raises(ModuleTimeout):
            await channel.run(Command("AT+CSQ", timeout=3))
        with pytest.raises(ModuleLost, match="stopped answering"):
            await channel.run(Command("AT+CSQ", timeout=3))
        assert channel.broken.is_set()
        with pytest.raises(ModuleLost):
            await channel.run(Command("AT"))

    await run_with({"AT+CSQ": None, "AT": None}, body)


async def test_rdy_fails_the_command_in_flight(autojump_clock):
    async def body(channel, module):
        with pytest.raises(ModuleRestarted):
            await channel.run(Command("AT+QIACT=1", timeout=150))

    await run_with({"AT+QIACT=1": b"\r\nRDY\r\n"}, body)


async def test_end_of_stream_is_module_lost(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    channel = AtChannel(host, lambda urc: None)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        await module_side.aclose()
        # The reader sees the end first (a free line is taken without a yield,
        # so a command started at once would find the write failing instead).
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(ModuleLost, match="serial device closed"):
            await channel.run(Command("AT", timeout=5))
        nursery.cancel_scope.cancel()


async def test_payload_goes_out_only_after_the_prompt(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    channel = AtChannel(host, lambda urc: None)
    got = bytearray()

    async def module():
        data = await module_side.receive_some(100)
        assert data == b"AT+QSSLSEND=0,7\r"
        await trio.sleep(1)
        await module_side.send_all(b"\r\n> ")
        while len(got) < 7:
            got.extend(await module_side.receive_some(100))
        await module_side.send_all(b"\r\nSEND OK\r\n")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module)
        cmd = Command("AT+QSSLSEND=0,7", framing=Framing.PROMPT_PAYLOAD, payload_len=7)
        resp = await channel.run(cmd, b"\r\nOK\r\n\x1a")
        assert isinstance(resp.final, ev.SendOk)
        assert bytes(got) == b"\r\nOK\r\n\x1a"
        nursery.cancel_scope.cancel()


async def test_commands_take_turns_in_arrival_order(autojump_clock):
    order = []

    async def body(channel, module):
        async def one(i):
            await trio.sleep(i * 0.001)
            await channel.run(Command(f"AT+X{i}"))
            order.append(i)

        async with trio.open_nursery() as nursery:
            for i in range(6):
                nursery.start_soon(one, i)
        assert module.seen == [f"AT+X{i}" for i in range(6)]

    await run_with({f"AT+X{i}": b"\r\nOK\r\n" for i in range(6)}, body)
    assert order == list(range(6))


async def test_framing_violation_fails_the_command_instead_of_losing_data(autojump_clock):
    async def body(channel, module):
        cmd = Command("AT+QSSLRECV=0,10", info_prefixes=("+QSSLRECV",),
                      framing=Framing.RECV_PAYLOAD, recv_limit=10)
        with pytest.raises(AtProtocolError, match="framing") as info:
            await channel.run(cmd)
        assert info.value.side == "module"
        resp = await channel.run(Command("AT+CSQ", info_prefixes=("+CSQ",)))
        assert resp.lines == ["+CSQ: 9,99"]
        assert module.seen[-2:] == ["AT", "AT+CSQ"]

    replies = {"AT+QSSLRECV=0,10": b"\r\n+QSSLRECV: 500\r\n" + b"x" * 500 + b"\r\n\r\nOK\r\n",
               "AT": b"\r\nOK\r\n", "AT+CSQ": b"\r\n+CSQ: 9,99\r\n\r\nOK\r\n"}
    await run_with(replies, body)


@pytest.mark.parametrize("text, shown", [
    ('AT+QICSGP=1,1,"internet","user","s3cret",1', 'AT+QICSGP=1,1,"internet","user","***",1'),
    ('+QICSGP: 1,"internet","user","s3cret",1', '+QICSGP: 1,"internet","user","***",1'),
    ('AT+CSQ', 'AT+CSQ'),
    ('AT+CSQ;+QICSGP=1,1,"a","u","p"', 'AT+CSQ;+QICSGP=1,1,"a","u","***"'),
])
def test_trace_never_shows_an_apn_password(text, shown):
    from modem.core.redaction import redact

    assert redact(text) == shown


async def test_trace_shortens_payloads_and_hides_uploads(autojump_clock, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="modem.at")
    host, module_side = trio.testing.memory_stream_pair()
    channel = AtChannel(host, lambda urc: None, trace=True)
    key = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"

    async def module():
        await module_side.receive_some(100)
        await module_side.send_all(b"\r\nCONNECT\r\n")
        got = b""
        while len(got) < len(key):
            got += await module_side.receive_some(100)
        await module_side.send_all(b"\r\n+QFUPL: %d,1234\r\n\r\nOK\r\n" % len(key))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module)
        cmd = Command(f'AT+QFUPL="UFS:k.pem",{len(key)},5', info_prefixes=("+QFUPL",),
                      framing=Framing.CONNECT_PAYLOAD, payload_len=len(key))
        await channel.run(cmd, key)
        nursery.cancel_scope.cancel()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"[{len(key)} bytes]" in logged
    assert "PRIVATE" not in logged and "MIIEv" not in logged


async def test_command_timeout_cap_bounds_the_wait(autojump_clock):
    host, module_side = trio.testing.memory_stream_pair()
    module = ScriptedModule(module_side, {"AT+QSSLCLOSE=1,10": None, "AT": b"\r\nOK\r\n"})
    channel = AtChannel(host, lambda urc: None, command_timeout_cap=2.0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module.serve)
        start = trio.current_time()
        with pytest.raises(ModuleTimeout, match="no answer within 2 s"):
            await channel.run(Command("AT+QSSLCLOSE=1,10", timeout=15))
        assert trio.current_time() - start == pytest.approx(2)
        # A command shorter than the cap keeps its own time.
        module.replies["AT+CSQ"] = None
        start = trio.current_time()
        with pytest.raises(ModuleTimeout, match="no answer within 1 s"):
            await channel.run(Command("AT+CSQ", timeout=1))
        # (After the resync's OK, which came at once, and its quiet.)
        assert trio.current_time() - start == pytest.approx(1 + RESYNC_QUIET)
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("cap", [0.0, -1.0])
def test_command_timeout_cap_must_be_positive(cap):
    host, _ = trio.testing.memory_stream_pair()
    with pytest.raises(ValueError, match="positive"):
        AtChannel(host, lambda urc: None, command_timeout_cap=cap)


async def test_a_payload_with_no_answer_is_completed_with_nuls_before_the_resync(
        autojump_clock):
    """The module prompted and took the payload, then said nothing (it may have
    dropped some of it while silent): before the resync's ``AT`` the channel
    writes NULs of the payload's length, so no ``AT`` is swallowed as payload."""
    host, module_side = trio.testing.memory_stream_pair()
    got = bytearray()

    async def module() -> None:
        while data := await module_side.receive_some(4096):
            got.extend(data)
            if got.endswith(b"AT+QSSLSEND=0,5\r"):
                await module_side.send_all(b"\r\n> ")
            elif got.endswith(b"\x00AT\r") or got.endswith(b"\rAT\r"):
                await module_side.send_all(b"\r\nOK\r\n")

    channel = AtChannel(host, lambda urc: None, command_timeout_cap=2.0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(channel.read_loop)
        nursery.start_soon(module)
        with pytest.raises(ModuleTimeout):
            await channel.run(Command("AT+QSSLSEND=0,5", framing=Framing.PROMPT_PAYLOAD,
                                      payload_len=5), b"hello")
        assert (await channel.run(Command("AT"))).ok
        nursery.cancel_scope.cancel()
    assert bytes(got) == b"AT+QSSLSEND=0,5\rhello" + bytes(5) + b"AT\rAT\r"
