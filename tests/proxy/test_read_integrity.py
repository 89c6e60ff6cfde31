"""A read whose answer lost its ``+QSSLRECV`` line (a dropped multiplexer frame,
or a late ``OK`` taken for its answer) resets its client: never a hole, never a
clean end over missing bytes (``modem.core.answer_shape``).

Found by the 30-minute soak on CMUX with seed 10: a download ended clean after
1,499 of 51,362 bytes, another lost its first 1,499 bytes; both sockets read
in buffer mode (client IDs 1 and 11).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trustme

from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.fault_spec import FaultPlan, parse_fault_spec
from modem.emulator.line_faults import RecvHeadLoss
from tests.helpers import TlsServer, read_until_end, source_data
from tests.proxy_helpers import connect, start_proxy


@pytest.mark.parametrize("size", [1000, 20000], ids=["whole-stream-in-the-lost-read",
                                                     "a-read-among-many"])
async def test_a_read_that_lost_its_head_resets_the_client(
        size: int, server_cert: trustme.LeafCert, ca_file: Path, nursery: trio.Nursery
) -> None:
    source = TlsServer(server_cert, "source", source_bytes=size)
    await nursery.start(source.serve)
    config = EmulatorConfig(resolve={"source.test": "127.0.0.1"}, real_dns=False)
    async with Emulator.running(config) as emu:
        service = await start_proxy(nursery, emu, "--access-mode", "buffer", "--cacert",
                                    str(ca_file), "--map", f"0=source.test:{source.port}")
        await emu.inject(RecvHeadLoss(1))  # the first read that carries data
        async with await connect(service) as stream:
            got, end = await read_until_end(stream)  # a stall fails too
        assert emu.module.pending_faults.recv_head_losses == 0, "the loss was not played"
        expected = source_data(size)
        assert got == expected[:len(got)], "a hole: bytes missing before the ones that came"
        assert end == "reset" and len(got) < size
        service.request_shutdown()


def test_the_fault_is_named_on_the_command_line() -> None:
    assert parse_fault_spec("recv_head_loss:2@1s") == FaultPlan(RecvHeadLoss(2), 1.0)
