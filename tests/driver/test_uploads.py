"""Certificate uploads (``AT+QFUPL``): the wait follows the file size and the line rate."""

from __future__ import annotations

import pytest
import trio
import trio.testing
import trustme

from modem.bringup.steps import BringUpError, upload
from modem.core.errors import render
from modem.core.profile import TlsProfile
from modem.emulator import Emulator, EmulatorConfig
from modem.link.channel import AtChannel
from tests.driver.conftest import modem_on
from tests.helpers import TlsServer

from .conftest import open_socket


def bundle(ca: trustme.CA, other_ca: trustme.CA, size: int) -> bytes:
    """A PEM bundle of about ``size`` bytes that verifies ``ca``'s servers."""
    pems = [ca.cert_pem.bytes(), other_ca.cert_pem.bytes()]
    out = b""
    while len(out) < size:
        out += pems[len(out) % 2 == 0]
    return out + ca.cert_pem.bytes()


async def test_a_bundle_that_takes_longer_than_the_firmware_default_uploads(
    ca: trustme.CA, other_ca: trustme.CA, echo_server: TlsServer,
) -> None:
    """Over 5 s on a 9600 baud line: the old fixed 5 s wait failed it (the host
    bundle, ~225 KB at 115200, is the same at ~20 s: tests/proxy, ``-m soak``)."""
    profile = TlsProfile(cacert=bundle(ca, other_ca, 5000))
    assert len(profile.cacert or b"") / (9600 / 10) > 5  # longer than the firmware default
    config = EmulatorConfig(baud=9600, resolve={"echo.test": "127.0.0.1"})
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, line_baud=9600) as modem):
        [(_name, size)] = list(emu.files.listing("*"))
        assert size == len(profile.cacert or b"")
        sock = await open_socket(modem, echo_server.port, profile)
        await sock.aclose()


async def module_that_times_out_uploads(stream: trio.abc.Stream) -> None:
    """Answers AT+QFUPL with CONNECT, takes the bytes, then reports the FILE
    manual's 421 (time out), as a module whose wait ran out does."""
    buf = b""
    while data := await stream.receive_some(65536):
        buf += data
        if b"\r" in buf and buf.startswith(b"AT+QFUPL="):
            await stream.send_all(b"\r\nCONNECT\r\n")
            await trio.sleep(1)
            await stream.send_all(b"\r\n+CME ERROR: 421\r\n")
            buf = b""


async def test_an_upload_timeout_says_timeout_and_what_to_try(autojump_clock) -> None:
    host, module_side = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(module_that_times_out_uploads, module_side)
        channel = AtChannel(host, lambda urc: None)
        nursery.start_soon(channel.read_loop)
        with pytest.raises(BringUpError) as caught:
            await upload(channel, "UFS:sp-0123456789abcdef.pem", b"x" * 225_000, 115200)
        nursery.cancel_scope.cancel()
    message = render(caught.value)
    assert "timed out after 35 s at 115200 baud" in message
    assert "--baud" in message and "--cacert" in message
    assert "free space" not in message
