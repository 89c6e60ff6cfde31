"""A byte lost on the multiplexer's line where the FCS cannot show it: a UIH
frame whose FCS is 0xF9 still ends where its length says after losing one
information byte (``modem.core.mux.frames``).  The proxy drops such a frame,
so its client gets its bytes whole, or a prefix of them and a reset; never
shifted bytes (issue 21, built on integrity)."""

from __future__ import annotations

import os
from pathlib import Path

import trio

from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.fault_spec import FaultPlan, parse_fault_spec
from modem.emulator.line_faults import DlcLag, MuxByteLoss
from tests.helpers import TlsServer, read_until_end, round_trip
from tests.proxy_helpers import connect, start_proxy

RESOLVE = {"echo.test": "127.0.0.1"}


async def test_a_byte_the_fcs_cannot_show_lost_is_a_reset_never_shifted_bytes(
        echo_server: TlsServer, ca_file: Path, nursery: trio.Nursery) -> None:
    config = EmulatorConfig(resolve=RESOLVE, real_dns=False)
    async with Emulator.running(config) as emu:
        service = await start_proxy(nursery, emu, "--channels", "cmux", "--cacert",
                                    str(ca_file), "--map", f"0=echo.test:{echo_server.port}")
        payload = os.urandom(6000)
        async with await connect(service) as stream:
            assert await round_trip(stream, b"ready") == b"ready"
            # The echo's pushes come on DLC 1: its first 127-byte frame is cut
            # to 114 bytes (FCS 0xF9 there) and loses its middle byte (data).
            await emu.inject(MuxByteLoss(1))
            await stream.send_all(payload)
            got, end = await read_until_end(stream, len(payload))  # a stall fails too
        assert emu.module.pending_faults.byte_losses == 0, "the loss was not played"
        assert got == payload[:len(got)], "bytes reached the client shifted"
        assert end == "reset" and len(got) < len(payload)
        async with await connect(service) as again:  # the module serves on
            assert await round_trip(again, b"after") == b"after"
        service.request_shutdown()


def test_the_faults_are_named_on_the_command_line() -> None:
    assert parse_fault_spec("mux_byte_loss:2@5s") == FaultPlan(MuxByteLoss(2), 5.0)
    assert parse_fault_spec("dlc_lag:2,0.5") == FaultPlan(DlcLag(2, 0.5), 0.0)
