"""The driver on several AT channels: the 07.10 multiplexer's DLCs and the module's
USB AT ports, against the emulator over real ptys (issue 21 item 3)."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import serial
import trio
import trustme

from modem.channels import ExtraPort
from modem.core import commands
from modem.core.channel_plan import ChannelMode
from modem.core.errors import ModemError, ModuleLost
from modem.core.line_health import HealthTimes
from modem.core.profile import TlsProfile
from modem.core.push_flow import AccessMode
from modem.driver import Modem
from modem.emulator import Emulator, EmulatorConfig, Fault
from modem.emulator.line_faults import DlcLag, MuxFcsErrors
from modem.link.serial_stream import open_serial_stream
from modem.nurseries import leaf_exceptions
from modem.options import ModemOptions
from modem.sockets.transparent_channels import LifeChannels
from modem.sockets.transparent_socket import TransparentSocket
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import TlsServer, receive_exactly, source_data, wait_until

RESOLVE = {"echo.test": "127.0.0.1"}


@asynccontextmanager
async def channels_modem(profile: TlsProfile, mode: ChannelMode, emulator: dict[str, Any],
                         **options: Any) -> AsyncIterator[tuple[Emulator, Modem]]:
    """An emulator with ``emulator`` options and a ``Modem`` on it with ``--channels mode``
    (under ``ports`` its ``usbmodem`` pty is the extra port)."""
    async with Emulator.running(EmulatorConfig(resolve=RESOLVE, real_dns=False,
                                               **emulator)) as emu:
        extra = tuple(ExtraPort(name, functools.partial(open_serial_stream, device))
                      for name, device in emu.devices.items() if name != emu.config.port_name)
        async with modem_on(emu.device, profile, channels=mode, extra_ports=extra,
                            urc_port=emu.config.port_name, **options) as modem:
            yield emu, modem


async def echo_each(modem: Modem, server: TlsServer, profile: TlsProfile, count: int,
                    size: int = 20_000) -> list[str]:
    """``count`` sockets echoing ``size`` random bytes at once; the channel each used."""
    used: list[str] = []

    async def one() -> None:
        sock = await open_socket(modem, server.port, profile)
        channels = modem.channels
        assert channels is not None
        used.append(next(ch.name for ch in channels.channels if sock.client_id in ch.sockets))
        payload = os.urandom(size)
        got = bytearray()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sock.send_all, payload)
            got += await receive_exactly(sock, size)
        assert got == payload
        await sock.aclose()

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(one)
    return used


@pytest.mark.parametrize("urcs", ["first", "all", "3"])
@pytest.mark.parametrize("access_mode", ["buffer", "push"])
async def test_cmux_spreads_sockets_over_the_dlcs_wherever_the_urcs_come(
        profile: TlsProfile, echo_server: TlsServer, urcs: str, access_mode: str) -> None:
    async with channels_modem(profile, ChannelMode.CMUX, {"cmux_urcs": urcs},
                              access_mode=AccessMode(access_mode)) as (_, modem):
        book = modem.channel_book
        assert book.kind == "cmux"
        assert book.fallback is None
        used = await echo_each(modem, echo_server, profile, 4)
        # DLC 1 is the control channel; DLC 4 the spare, kept for a transparent
        # session (the URCs come on DLC 1 or 3): the data rotation is DLCs 2-3.
        assert sorted(used) == ["DLC 2", "DLC 2", "DLC 3", "DLC 3"]
        report = book.report()
        assert [ch["name"] for ch in report["channels"]] == ["DLC 1", "DLC 2", "DLC 3", "DLC 4"]
        assert all(ch["frames_to_module"] > 0 for ch in report["channels"])
        assert report["fcs_errors"] == 0
        if urcs == "all":
            assert report["urc_copies_dropped"] > 0


async def test_ports_put_data_on_the_second_usb_port(
        profile: TlsProfile, echo_server: TlsServer) -> None:
    async with channels_modem(profile, ChannelMode.PORTS, {"extra_ports": ("usbmodem",)},
                              ) as (_, modem):
        assert modem.channel_book.kind == "ports"
        used = await echo_each(modem, echo_server, profile, 2)
        assert used == ["usbmodem", "usbmodem"]
        assert modem.channel_book.counts["usbmodem"].lines.to_module > 40_000
        channels = modem.channels
        assert channels is not None and channels.borrow_dedicated() is None  # no spare


async def test_auto_falls_back_to_one_channel_when_the_module_refuses_cmux(
        profile: TlsProfile, echo_server: TlsServer, caplog: pytest.LogCaptureFixture) -> None:
    async with channels_modem(profile, ChannelMode.AUTO, {"absent_commands": {"+CMUX"},
                                                          "port_name": "uart1"},
                              ) as (_, modem):
        book = modem.channel_book
        assert book.kind == "single"
        assert book.fallbacks and "AT+CMUX" in next(iter(book.fallbacks))
        assert await echo_each(modem, echo_server, profile, 2) == ["uart1", "uart1"]
    refusals = [r for r in caplog.records if "refused several AT channels" in r.getMessage()]
    assert len(refusals) == 1


async def test_auto_without_the_second_port_says_why_once(
        profile: TlsProfile, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "modem.driver")
    async with channels_modem(profile, ChannelMode.AUTO, {}) as (_, modem):
        assert modem.channel_book.kind == "single"
        assert modem.channel_book.fallback == (
            "the module's second USB AT port (usbmodem) was not found")
    assert sum("one AT channel" in r.getMessage() for r in caplog.records) == 1


async def test_one_channel_after_a_mux_life_gets_the_module_out_of_mux_mode(
        profile: TlsProfile, echo_server: TlsServer) -> None:
    """A life on one channel under ``--channels auto`` (no second USB port) finds the
    module still in mux mode (an earlier life's close-down was lost): it writes the
    close-down after unanswered ``AT``\\ s, as a cmux life does, instead of failing."""
    async with Emulator.running(EmulatorConfig(resolve=RESOLVE, real_dns=False)) as emu:
        def enter_mux() -> bytes:  # and no close-down: the module stays in mux mode
            with serial.Serial(emu.device, timeout=2) as port:
                port.read_until(b"SMS DONE\r\n")  # booted
                port.write(b"AT+CMUX=0\r")
                return port.read_until(b"OK\r\n")

        assert (await trio.to_thread.run_sync(enter_mux)).endswith(b"OK\r\n")
        async with modem_on(emu.device, profile, channels=ChannelMode.AUTO,
                            urc_port=emu.config.port_name) as modem:
            assert modem.channel_book.kind == "single"
            assert await echo_each(modem, echo_server, profile, 1) == [emu.config.port_name]


async def test_single_has_one_channel_and_no_mux(profile: TlsProfile) -> None:
    async with channels_modem(profile, ChannelMode.SINGLE, {}) as (emu, modem):
        channels = modem.channels
        assert channels is not None
        assert [ch.name for ch in channels.channels] == [emu.config.port_name]
        assert channels.borrow_dedicated() is None


async def test_a_borrowed_dlc_leaves_the_rotation_until_given_back(
        profile: TlsProfile, echo_server: TlsServer) -> None:
    async with channels_modem(profile, ChannelMode.CMUX, {}) as (_, modem):
        await echo_each(modem, echo_server, profile, 1)  # the URC channel is known now
        channels = modem.channels
        assert channels is not None
        lent = channels.borrow_dedicated()
        assert lent is not None and lent is not channels.control
        assert lent is not channels.urc_channel()
        assert lent.name == "DLC 4"  # the spare
        used = await echo_each(modem, echo_server, profile, 3)
        assert lent.name not in used
        channels.give_back(lent)
        assert lent.name not in await echo_each(modem, echo_server, profile, 3)
        assert channels.borrow_dedicated() is lent  # the spare took no socket meanwhile


@pytest.mark.parametrize(("module_max", "expected"), [(32768, 1500), (127, 127)])
async def test_the_frame_size_is_the_one_asked_unless_the_module_lists_a_smaller_one(
        profile: TlsProfile, echo_server: TlsServer, caplog: pytest.LogCaptureFixture,
        module_max: int, expected: int) -> None:
    caplog.set_level(logging.INFO, logger="modem.driver")
    async with channels_modem(profile, ChannelMode.CMUX, {"cmux_n1_max": module_max},
                              mux_n1=1500) as (_, modem):
        assert modem.channel_book.n1 == expected
        await echo_each(modem, echo_server, profile, 2, size=50_000)
        mux = modem.channels.mux if modem.channels else None
        assert mux is not None and mux.counters.bad_fcs == 0
        # 100 kB echoed back: frames of 127 bytes need at least 787 of them.
        assert (mux.counters.frames < 100_000 // 127) == (expected == 1500)
    lowered = [r for r in caplog.records if "frames no larger" in r.getMessage()]
    assert bool(lowered) == (expected < 1500)


async def test_a_transparent_session_on_the_spare_ends_with_the_life(
        profile: TlsProfile, echo_server: TlsServer) -> None:
    """Another channel breaking ends the life; the session on the lent DLC, whose own
    channel did not break, must fail too rather than wait for a reader that is gone."""
    async with channels_modem(profile, ChannelMode.CMUX, {}) as (_, modem):
        await echo_each(modem, echo_server, profile, 1)  # the URC channel is known now
        sock = TransparentSocket(await open_socket(modem, echo_server.port, profile),
                                 LifeChannels(lambda: modem.channels))
        assert await sock.enter()
        await sock.send_all(b"ping")
        assert await receive_exactly(sock, 4) == b"ping"
        channels = modem.channels
        assert channels is not None and "lent" in channels.describe()[3]["roles"]
        channels.channels[2].at.fail(ModuleLost("DLC 3 broke (test)"))
        with trio.fail_after(15), pytest.raises(ModemError):
            while await sock.receive_some(100):
                pass
        await wait_until(lambda: modem.recoveries >= 1, within=30)


async def test_a_frame_lost_while_a_dlc_carries_raw_bytes_is_a_reset_not_a_hole(
        profile: TlsProfile, echo_server: TlsServer) -> None:
    """In transparent mode a DLC's bytes have no framing of their own: a frame the
    multiplexer drops (bad FCS) would be a silent hole, so the session fails."""
    async with channels_modem(profile, ChannelMode.CMUX, {}) as (emu, modem):
        await echo_each(modem, echo_server, profile, 1)  # the URC channel is known now
        sock = TransparentSocket(await open_socket(modem, echo_server.port, profile),
                                 LifeChannels(lambda: modem.channels))
        assert await sock.enter()
        payload = os.urandom(20_000)
        await sock.send_all(payload[:1000])
        assert await receive_exactly(sock, 1000) == payload[:1000]
        await emu.inject(MuxFcsErrors(2))  # the next frames are the echo's, on DLC 4
        got = bytearray()
        with trio.fail_after(20), pytest.raises((ModemError, BaseExceptionGroup)) as raised:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sock.send_all, payload[1000:])
                while chunk := await sock.receive_some(65536):
                    got += chunk
        errors = leaf_exceptions(raised.value)
        assert all(isinstance(exc, ModemError) for exc in errors)
        assert any("lost while it carried raw bytes" in str(exc) for exc in errors)
        assert payload[1000:].startswith(got)  # whatever came is in order, no hole


async def test_a_read_sent_ahead_is_answered_before_its_id_opens_again(
        profile: TlsProfile, server_cert: trustme.LeafCert, nursery: trio.Nursery) -> None:
    """A full read sends the next one ahead on the socket's DLC; the socket closes
    (on DLC 1) before it is collected, and its ID opens again at once (the other 11
    busy).  Nothing orders the DLCs: on a DLC that reads late, that read would run
    after the new open and take the new socket's first 1,500 bytes.  The ID goes
    back only once each other DLC the socket used answered after its close."""
    size = 20_000
    source = TlsServer(server_cert, "source", source_bytes=size)  # the same bytes each time
    await nursery.start(source.serve)
    async with channels_modem(profile, ChannelMode.CMUX, {}) as (emu, modem):
        ids = [await modem.client_ids.acquire() for _ in range(12)]
        sock = await modem.open_ssl_socket(ids[0], "echo.test", source.port, profile)
        await trio.sleep(0.3)  # the module holds more than one read
        for dlci in (2, 3, 4):  # the data DLCs read what they get 0.5 s late
            await emu.inject(DlcLag(dlci, 0.5))
        assert await sock.receive_some(1500) == source_data(size)[:1500]  # one more ahead
        await sock.aclose()
        for dlci in (2, 3, 4):  # what is on its way still lags; nothing after it
            await emu.inject(DlcLag(dlci, 0))
        assert await modem.client_ids.acquire() == ids[0]
        again = await modem.open_ssl_socket(ids[0], "echo.test", source.port, profile)
        await trio.sleep(0.7)  # its bytes wait in the module, for whichever read comes
        got = bytearray()
        with trio.fail_after(20):
            while chunk := await again.receive_some():
                got += chunk
        assert bytes(got) == source_data(size), "the closed socket's read took these bytes"
        await again.aclose()


async def test_under_cmux_every_id_pushes(profile: TlsProfile, echo_server: TlsServer
                                          ) -> None:
    """IDs 1, 10 and 11 read in buffer mode on a line that can lose a byte unseen
    (``push_headers``); a DLC frame that lost one is dropped, so under CMUX they
    push like the others."""
    async with channels_modem(profile, ChannelMode.CMUX, {},
                              access_mode=AccessMode.PUSH) as (_, modem):
        socks = [await open_socket(modem, echo_server.port, profile) for _ in range(12)]
        assert sorted(s.client_id for s in socks) == list(range(12))
        for sock in socks:
            ping = b"ping %d" % sock.client_id
            await sock.send_all(ping)
            assert await receive_exactly(sock, len(ping)) == ping
            assert sock.access_mode is AccessMode.PUSH and sock.pushed_any
            await sock.aclose()


# -- losing the multiplexer ----------------------------------------------------------

async def test_a_storm_of_bad_frames_loses_the_module_and_the_next_life_muxes_again(
        profile: TlsProfile, echo_server: TlsServer) -> None:
    async with channels_modem(profile, ChannelMode.CMUX, {},
                              command_timeout_cap=2.0) as (emu, modem):
        await emu.inject(MuxFcsErrors(40))
        with trio.fail_after(30):
            while modem.recoveries < 1:
                channels = modem.channels
                if channels is not None:  # traffic on every DLC meets the broken frames
                    for ch in channels.channels:
                        with trio.move_on_after(0.2), contextlib.suppress(ModemError):
                            await ch.at.run(commands.at())
                await trio.sleep(0.05)
        assert modem.channel_book.fcs_errors >= 8
        assert modem.channel_book.kind == "cmux"
        assert modem.channel_book.lives["cmux"] == 2
        assert await echo_each(modem, echo_server, profile, 2)


async def test_a_dlc_that_stops_answering_ends_the_life(
        profile: TlsProfile, echo_server: TlsServer) -> None:
    async with channels_modem(profile, ChannelMode.CMUX, {"faults": ("dlc_silent:3@1s",)},
                              command_timeout_cap=2.0,
                              line_health=HealthTimes(idle_probe_after=0.5)) as (_, modem):
        await wait_until(lambda: modem.recoveries >= 1, within=60)
        assert modem.channel_book.kind == "cmux"
        assert sorted(await echo_each(modem, echo_server, profile, 2)) == ["DLC 2", "DLC 3"]


@pytest.mark.long
@pytest.mark.parametrize("mode", [ChannelMode.CMUX, ChannelMode.PORTS])
async def test_a_life_lost_while_the_module_is_silent_gets_its_channels_again(
        profile: TlsProfile, echo_server: TlsServer, caplog: pytest.LogCaptureFixture,
        mode: ChannelMode) -> None:
    """Under cmux the lost life's close-down went unheard: the module is still in
    mux mode when the next life sends its first ``AT``s.  Under ports the second
    port is as silent as the first: no refusal, the next life uses both again."""
    caplog.set_level(logging.INFO, "modem.driver")
    async with channels_modem(profile, mode, {"extra_ports": ("usbmodem",)},
                              command_timeout_cap=1.0) as (emu, modem):
        async with trio.open_nursery() as nursery:
            async def load() -> None:  # its sends time out under the silence
                try:
                    await echo_each(modem, echo_server, profile, 2, size=2_000_000)
                except* (ModemError, trio.BrokenResourceError):
                    pass

            nursery.start_soon(load)
            await trio.sleep(0.3)
            await emu.inject(Fault.silence(12))
            await wait_until(lambda: modem.recoveries >= 1, within=30)
            nursery.cancel_scope.cancel()
        assert modem.channel_book.kind == mode.value
        assert not modem.channel_book.fallbacks
        assert await echo_each(modem, echo_server, profile, 1)
    if mode is ChannelMode.CMUX:
        assert any("answered after the multiplexer's close-down" in r.getMessage()
                   for r in caplog.records)


async def test_firmware_that_hangs_on_an_early_first_frame_is_given_its_quiet_time(
        profile: TlsProfile, echo_server: TlsServer) -> None:
    """A BG95 hangs when the first frame follows AT+CMUX's OK within 100 ms
    (zephyr#63410): the driver waits ``mux_start_delay`` first."""
    async with channels_modem(profile, ChannelMode.CMUX, {"cmux_hang_below_ms": 100}
                              ) as (_, modem):
        assert modem.channel_book.kind == "cmux"
        assert len(await echo_each(modem, echo_server, profile, 2)) == 2


def test_the_mux_options_are_checked() -> None:
    with pytest.raises(ValueError, match="mux_start_delay must be at least 0.1 s"):
        ModemOptions(mux_start_delay=0.05)
    with pytest.raises(ValueError, match="mux_n1 must be 1-32768"):
        ModemOptions(mux_n1=0)
