"""The proxy as a process, on a module that plays every adverse order at once.

The emulator runs in this process over a real pty (``--device``) with every
option of docs/emulator.md's "orders real firmware may choose", in each push
frame style; the proxy is ``python -m proxy.cli`` in push mode.  Downloads
and echoes run side by side on every client ID: each client gets its own
bytes, in order, then a clean end, or a reset; never wrong bytes, never a
clean end before its data (docs/reliability.md, "The rule").
"""

from __future__ import annotations

import pytest
import trio

from modem.emulator import Emulator, EmulatorConfig
from tests.helpers import TlsServer, source_data
from tests.proxy_helpers import start_proxy_process

ADVERSE = {"pushes_after_switch": True, "late_pushes_after_close": True,
           "keep_buffer_on_push": True, "empty_read_error": True, "recv_max": 1499}
SIZE = 150_000


async def fetch(port: int, token: bytes, want: bytes) -> str:
    """What a client of the proxy concluded: ``complete``, ``reset`` or what went wrong."""
    got = bytearray()
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(token)
        try:
            while len(got) <= len(want) and (chunk := await stream.receive_some(65536)):
                got += chunk
                if len(got) % 32768 < len(chunk):
                    await trio.sleep(0.05)  # a slow reader: the socket goes to buffer mode
        except trio.BrokenResourceError:
            if bytes(got) == want:
                return "all, then a reset"  # the end could not be shown (empty_read_error)
            return "reset" if bytes(got) == want[:len(got)] else "wrong bytes, then a reset"
    if bytes(got) == want:
        return "complete"
    if bytes(got) == want[:len(got)]:
        return f"clean end after {len(got)} of {len(want)} bytes"
    return "wrong bytes"


@pytest.mark.parametrize("push_trailer", [True, False], ids=["crlf", "bare"])
async def test_every_client_gets_its_own_bytes_or_a_reset(server_cert, ca_file, tmp_path,
                                                          nursery, push_trailer):
    source = TlsServer(server_cert, "source", source_bytes=SIZE)
    await nursery.start(source.serve)
    config = EmulatorConfig(resolve={"source.test": "127.0.0.1"}, real_dns=False, seed=3,
                            push_trailer=push_trailer, **ADVERSE)
    async with Emulator.running(config) as emu:
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--device", emu.device, "--access-mode", "push",
            "--cacert", str(ca_file), "--map", f"0=source.test:{source.port}", within=60)
        want = source_data(SIZE)
        outcomes: list[str] = []

        async def one(n: int) -> None:
            outcomes.append(await fetch(proxy.port, b"%d" % n, want))

        with trio.fail_after(120):
            for _ in range(2):  # twice round every ID: late pushes meet the next socket
                async with trio.open_nursery() as clients:
                    for n in range(12):
                        clients.start_soon(one, n)
        await proxy.stop()
    shown = " | ".join(outcomes)
    assert all(o in ("complete", "all, then a reset", "reset") for o in outcomes), shown
    # Push-mode sockets end cleanly; buffer-mode ones (IDs 1, 10, 11) meet the
    # ERROR in place of +QSSLRECV: 0 and are reset after their data.
    assert outcomes.count("complete") >= 12, shown
