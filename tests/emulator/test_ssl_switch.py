"""``AT+QISWTMD`` between buffer (0) and direct push (1) mode (manual 1.3).

The SSL manual only says the mode can be switched once connected; what
happens to data at the switch is the emulator's tolerant guess (no module
log shows it): pushes the module decided before the switch come before its
``OK``; data left in the buffer when switching to buffer mode is announced
with ``+QSSLURC: "recv",<id>``; data in the buffer when switching to push
mode is pushed at once.
"""

from __future__ import annotations

import os

import pytest
import trio

from modem.emulator import EmulatorConfig

from .conftest import Host


@pytest.fixture
def config() -> EmulatorConfig:
    # Paced, so the buffer still holds data while a push crosses the line.
    return EmulatorConfig(real_dns=False, baud=115_200)


async def test_switch_to_buffer_mid_push_loses_nothing_and_announces_the_rest(
    online: Host, echo_server
) -> None:
    host = online
    data = os.urandom(6 * 1460)  # six frames to push: the switch back has 0.5 s to spare
    assert await host.open_ssl(0, "127.0.0.1", echo_server.port, mode=0) == 0
    for offset in range(0, len(data), 1460):
        assert await host.send_data(0, data[offset:offset + 1460]) == b"SEND OK"
    await host.urc(b'+QSSLURC: "recv",0')
    while echo_server.connections[0].sent < len(data):  # noqa: ASYNC110
        await trio.sleep(0.01)
    # Push starts (one 1500-byte frame takes 130 ms at 115200 baud); back to
    # buffer at once, with most of the echo still in the module's buffer and
    # no more coming: only the switch itself can announce it.
    assert await host.command("AT+QISWTMD=0,1") == b"\r\nOK\r\n"
    await host.send("AT+QISWTMD=0,0\r")
    assert await host.final() == b"OK"  # pushes on the way land in host.pushed
    pushed_before_ok = len(host.pushed[0])
    assert 0 < pushed_before_ok < len(data)
    assert await host.urc(b'+QSSLURC: "recv"') == b'+QSSLURC: "recv",0'
    got = bytearray(host.pushed[0])
    while len(got) < len(data):
        got += await host.recv_data(0)
    assert bytes(got) == data
    assert len(host.pushed[0]) == pushed_before_ok, "pushed after the switch's OK"
    state = await host.command("AT+QSSLSTATE=0")
    assert state.split(b",")[8] == b"0", state  # <access_mode>: buffer now


async def test_switch_to_push_pushes_the_buffer_and_rearms_the_recv_urc(
    online: Host, echo_server
) -> None:
    host = online
    assert await host.open_ssl(0, "127.0.0.1", echo_server.port, mode=0) == 0
    assert await host.send_data(0, b"abc") == b"SEND OK"
    assert await host.urc(b'+QSSLURC: "recv"') == b'+QSSLURC: "recv",0'
    assert await host.command("AT+QISWTMD=0,1") == b"\r\nOK\r\n"
    assert await host.pushed_data(0, 3) == b"abc"
    assert await host.command("AT+QISWTMD=0,0") == b"\r\nOK\r\n"
    assert await host.send_data(0, b"def") == b"SEND OK"
    assert await host.urc(b'+QSSLURC: "recv"') == b'+QSSLURC: "recv",0'
    assert await host.recv_data(0) == b"def"


async def test_switch_needs_a_connected_socket(online: Host) -> None:
    assert await online.command("AT+QISWTMD=5,0") == b"\r\nERROR\r\n"
    assert await online.command("AT+QISWTMD=5,3") == b"\r\nERROR\r\n"
