"""A module that prompted for a payload the host never wrote waits for it with no
time limit; the driver writes it before its next ``AT`` (``modem/link/owed_payload.py``),
so the module answers again and the server gets the client's own bytes."""

from __future__ import annotations

import hashlib

import pytest
import trio

from modem.core.errors import ModemError, ModuleNotReady
from modem.core.profile import TlsProfile
from modem.driver import Modem
from modem.emulator import Emulator, EmulatorConfig, parse_fault_spec
from modem.sockets.ssl_socket import SslSocket
from tests.driver.conftest import modem_on
from tests.helpers import TlsServer, receive_exactly, source_data, wait_until

RESOLVE = {"echo.test": "127.0.0.1"}


TEXT = bytes(range(32, 127)) * 11  # longer than every AT of a resync and a bring-up
BINARY = source_data(1000)  # CRs and LFs, but no line starts with AT or A/
COMMANDS = b"x" * 500 + b"\r at+cfun=0\r" + b"y" * 488  # a line a module would run


async def send_with_its_prompt_lost(emu: Emulator, modem: Modem, profile: TlsProfile,
                                    sink: TlsServer, payload: bytes) -> SslSocket:
    """A socket to ``sink`` whose send of ``payload`` met a lost prompt and gave up."""
    sock = await modem.open_ssl_socket(await modem.client_ids.acquire(), "echo.test",
                                       sink.port, profile)
    await emu.inject(parse_fault_spec("lost_prompt").fault)
    with pytest.raises(ModemError):
        await sock.send_all(payload)  # no prompt: the send gives up
    return sock


def received_at_least(sink: TlsServer, size: int) -> bool:
    return bool(sink.connections) and sink.connections[0].received >= size


@pytest.mark.parametrize(("payload", "owed"), [(TEXT, TEXT), (BINARY, BINARY),
                                               (COMMANDS, bytes(len(COMMANDS)))],
                         ids=["text", "binary", "command-like"])
async def test_a_payload_whose_prompt_was_lost_is_completed_before_the_next_at(
        server_cert, nursery, profile, payload, owed):
    """The payload goes as the client's own bytes unless a line of it could run as a
    command on a module that was not waiting: then NULs of its length (the socket
    fails either way: its client is reset)."""
    sink = TlsServer(server_cert, "sink")
    await nursery.start(sink.serve)
    echo_server = TlsServer(server_cert, "echo")
    await nursery.start(echo_server.serve)
    async with (Emulator.running(EmulatorConfig(resolve=RESOLVE)) as emu,
                modem_on(emu.device, profile, command_timeout_cap=1.0) as modem):
        sock = await send_with_its_prompt_lost(emu, modem, profile, sink, payload)
        await wait_until(lambda: received_at_least(sink, len(payload)))
        assert sink.connections[0].received == len(payload)
        assert sink.connections[0].sha256.digest() == hashlib.sha256(owed).digest()
        await sock.aclose()
        with trio.fail_after(20):  # the module answers commands again
            cid = await modem.client_ids.acquire()
            while True:
                try:
                    other = await modem.open_ssl_socket(cid, "echo.test", echo_server.port,
                                                        profile)
                    break
                except ModuleNotReady:  # the probe heard the silence: opens fail at once
                    await trio.sleep(0.2)
            await other.send_all(b"after the lost prompt")
            assert await receive_exactly(other, 21) == b"after the lost prompt"
            await other.aclose()


async def test_a_payload_settled_into_a_silent_module_is_written_again(
        server_cert, nursery, profile):
    """The module falls silent as the channel settles the payload it may owe (a silent
    module drops its input): the payload stays owed until an ``AT`` is answered, so the
    next life writes it again and the module answers.  What the server got is no longer
    the client's bytes alone (``AT`` lines sent after the silence went in as payload):
    that socket's client was reset; the payload is complete and the module serves."""
    sink = TlsServer(server_cert, "sink")
    await nursery.start(sink.serve)
    async with (Emulator.running(EmulatorConfig(resolve=RESOLVE)) as emu,
                modem_on(emu.device, profile, command_timeout_cap=1.0) as modem):
        sock = await send_with_its_prompt_lost(emu, modem, profile, sink, TEXT)
        await emu.inject(parse_fault_spec("silence:2").fault)
        with trio.fail_after(40):
            await sock.aclose()  # its close resynchronises the line first
            await wait_until(lambda: received_at_least(sink, len(TEXT)), within=40)
            await modem.state.wait_value("ready")
        assert sink.connections[0].received == len(TEXT)
