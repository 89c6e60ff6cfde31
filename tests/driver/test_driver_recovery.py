"""Failures the soak found in the driver, each reduced to a short test.

Each test runs the real driver on the emulator over a real pseudo-terminal.
"""

from __future__ import annotations

import pytest
import trio

from modem.core.errors import ModemError
from modem.driver import Modem, ModuleState
from modem.emulator import Fault


@pytest.fixture
def modem(capped_modem: Modem) -> Modem:
    """Every test here silences the module: commands are capped (see conftest)."""
    return capped_modem


async def test_cancelled_command_leaves_the_channel_usable(emulator, modem):
    """A caller cancelled while its command is in flight (a pump whose other
    direction failed) must not wedge the channel for every later command."""
    await emulator.inject(Fault.silence(1.0))
    with trio.move_on_after(0.3):
        try:
            await modem.at_command("AT+CSQ", max_response_s=3)
        except ModemError:
            pass  # a timeout instead of the cancellation is fine too
    await trio.sleep(1.0)  # the silence is over
    with trio.fail_after(10):
        # Commands are refused while the module counts as silent (the health
        # probe); once an AT is answered again, they work.
        await modem.state.wait_value(ModuleState.READY)
        response = await modem.at_command("AT")
    assert response.final == "OK"


async def test_cancelled_send_leaves_the_socket_pool_usable(emulator, modem, echo_server,
                                                            profile):
    """The soak's case: a send cancelled at its prompt; later opens must work."""
    cid = await modem.client_ids.acquire()
    sock = await modem.open_ssl_socket(cid, "echo.test", echo_server.port, profile)
    await emulator.inject(Fault.silence(1.0))
    with trio.move_on_after(0.3):
        try:
            await sock.send_all(b"x" * 5000)
        except ModemError:
            pass  # a timeout instead of the cancellation is fine too
    await sock.aclose()
    await trio.sleep(1.0)
    with trio.fail_after(20):
        cid = await modem.client_ids.acquire()
        sock = await modem.open_ssl_socket(cid, "echo.test", echo_server.port, profile)
        await sock.send_all(b"ping")
        data = b""
        while len(data) < 4:
            data += await sock.receive_some(100)
        await sock.aclose()
    assert data == b"ping"
