"""The AT console: which lines may reach the module, and the line protocol."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import trio
import trio.testing

from modem.core.errors import ModuleTimeout
from modem.link.console import console_command, split_outside_quotes
from proxy.ops.at_console import MAX_LINE, handle_console, refusal, serve_at_console


@pytest.mark.parametrize("line", [
    "AT", "at", "AT+CSQ", "AT+CEREG?", "AT+QIACT?", "AT+QIACT=?", "ATI", "ATI0",
    "AT+CSQ;+CEREG?", "AT+CCLK?", "AT+QIDNSCFG=1", "AT+QENG=\"servingcell\"",
    "AT&V", "AT+COPS?", 'AT+QCFG="band"', "AT+QICSGP=1", "AT+QICSGP=?", "AT+GSN",
    'AT+QPING=1,"a;b"', "AT+QSSLSTATE", "AT+QSSLSTATE=3", "AT+QSSLOPEN=?",
    'AT+QSSLCFG="sslversion",0', 'AT+QSSLCFG="cacert",1', "AT+QSSLCFG=?",
    "AT+QISWTMD=0,0", "AT+QISWTMD=11,1", "AT+QISWTMD=?",
])
def test_allowed(line):
    assert refusal(line) is None


def test_one_quote_aware_splitter_serves_the_console_and_the_driver():
    assert split_outside_quotes('+QPING=1,"a;b";+CSQ', ";") == ['+QPING=1,"a;b"', "+CSQ"]
    assert split_outside_quotes('"sni,x",1', ",") == ['"sni,x"', "1"]
    assert split_outside_quotes("", ";") == [""]
    assert refusal('AT+QSSLCFG="cacert,x",1') is None     # two fields: a query
    assert console_command('AT+QPING=1,"a;+CSQ"', 5.0).info_prefixes == ("+QPING",)


@pytest.mark.parametrize(("line", "words"), [
    ("AT+QSSLCLOSE=0", "AT+QSSLCLOSE refused"),
    ("at+qsslcfg=\"sni\",0,0", "AT+QSSLCFG refused"),
    ("AT+QSSLOPEN=1,0,3,\"a.test\",443,0", "SSL sockets"),
    ('AT+QSSLCFG="cacert",1,"UFS:x.pem"', "AT+QSSLCFG refused"),
    ("AT+QSSLRECV=0,1500", "SSL sockets"),
    ("ATE1", "echo"),
    ("ATE0", "echo"),
    ("ATZ", "resets"),
    ("AT&F", "resets"),
    ("AT&F0", "resets"),
    ("AT+CFUN=1,1", "function level"),
    ("AT+QIDEACT=1", "PDP context"),
    ("AT+QIACT=1", "activates the PDP context itself"),
    ('AT+QICSGP=1,1,"other","","",0', "--apn"),
    ('AT+QFUPL="UFS:x.pem",10', "certificate files"),
    ('AT+QFDEL="*"', "certificate files"),
    ("ATO", "data mode"),
    ("ATD*99#", "dials"),
    ("AT+QISWTMD=0,2", "access mode"),
    ("AT+QISWTMD=0", "access mode"),
    ("+++", "+++"),
    ("AT+CSQ;+CFUN=0", "AT+CFUN refused"),
    ("AT+CSQ;E0", "echo"),
    ("ATIE0", "only extended"),
    ("ATV0", "result codes"),
    ("ATS3=10", "S-registers"),
    ("AT+IPR=921600", "speed"),
    ("AT+CMEE=0", "error format"),
    ('AT+QURCCFG="urcport","uart1"', "URCs"),
    ("AT+CMGS=\"123\"", "prompt"),
    ("AT+CSQ;AT+CEREG?", "one AT"),
    ("AT+CSQ;;+CEREG?", "empty command"),
    ("A/", "repeats"),
    ("CSQ", "starts with AT"),
    ("AT+CSQ\x1a", "printable ASCII"),
    ("AT+" + "X" * MAX_LINE, "longer than"),
])
def test_refused(line, words):
    why = refusal(line)
    assert why is not None and words in why


@dataclass
class Answer:
    lines: list[str]
    final: str


class RecordingModule:
    """Stands in for Modem.at_command: records lines, answers like a module."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def at_command(self, text: str) -> Answer:
        self.sent.append(text)
        await trio.lowlevel.checkpoint()
        if text == "AT+SLOW":
            raise ModuleTimeout("AT+SLOW got no answer")
        if text == "AT+BUG":
            raise RuntimeError("a bug in the command path")
        if text.upper() == "AT+CSQ":
            return Answer(["+CSQ: 20,99"], "OK")
        return Answer([], "ERROR")


async def read_lines(stream: trio.abc.Stream, count: int) -> list[str]:
    data = b""
    while data.count(b"\r\n") < count:
        chunk = await stream.receive_some(4096)
        assert chunk, data
        data += chunk
    return data.decode().split("\r\n")[:count]


async def test_console_protocol():
    module = RecordingModule()
    client, server = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(handle_console, server, module.at_command)
        await client.send_all(b"AT+CSQ\r\n\r\nATE1\nAT+QSSLCLOSE=1\rAT+NOPE\r\nAT+SLOW\r\n")
        lines = await read_lines(client, 6)
        assert lines[:2] == ["+CSQ: 20,99", "OK"]
        assert lines[2].startswith("ERROR: ATE1 refused")
        assert lines[3].startswith("ERROR: AT+QSSLCLOSE refused")
        assert lines[4] == "ERROR"
        assert lines[5].startswith("ERROR: AT+SLOW got no answer")
        # a line split across writes, and an overlong one that is skipped to its end
        await client.send_all(b"AT+C")
        await client.send_all(b"SQ\r\n" + b"A" * (MAX_LINE + 10))
        await client.send_all(b"TTT\r\nAT+CSQ\r\n")
        lines = await read_lines(client, 5)
        assert lines[:2] == ["+CSQ: 20,99", "OK"]
        assert lines[2] == f"ERROR: line longer than {MAX_LINE} characters"
        assert lines[3:] == ["+CSQ: 20,99", "OK"]
        await client.send_eof()
        assert await client.receive_some(10) == b""
    assert module.sent == ["AT+CSQ", "AT+NOPE", "AT+SLOW", "AT+CSQ", "AT+CSQ"]


async def test_a_bug_ends_that_console_client_not_the_console(caplog):
    module = RecordingModule()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(serve_at_console,
                                        await trio.open_tcp_listeners(0, host="127.0.0.1"),
                                        module.at_command)
        port = listeners[0].socket.getsockname()[1]
        async with await trio.open_tcp_stream("127.0.0.1", port) as first:
            await first.send_all(b"AT+BUG\r\n")
            assert await first.receive_some(100) == b""
        async with await trio.open_tcp_stream("127.0.0.1", port) as second:
            await second.send_all(b"AT+CSQ\r\n")
            assert await read_lines(second, 2) == ["+CSQ: 20,99", "OK"]
        nursery.cancel_scope.cancel()
    (record,) = [r for r in caplog.records if r.getMessage() == "at console failed unexpectedly"]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
