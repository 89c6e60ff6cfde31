"""The zero-config run's upload: a host-sized CA bundle (~225 KB) at 115200 baud.

About 20 s on the line, so it runs with the soak (``pytest -m soak``);
tests/driver/test_uploads.py shows the same scaling in the default run.
"""

from __future__ import annotations

import signal

import pytest
import trio
import trustme

from tests.helpers import TlsServer, read_all, round_trip
from tests.proxy_helpers import start_proxy_process

pytestmark = pytest.mark.soak


async def test_a_host_sized_bundle_uploads_at_115200(
    ca: trustme.CA, other_ca: trustme.CA, server_cert, tmp_path, nursery: trio.Nursery,
) -> None:
    pems = (other_ca.cert_pem.bytes(), ca.cert_pem.bytes())
    content = b"".join(pems[i % 2] for i in range(225_000 // len(pems[0]) + 1))
    (tmp_path / "bundle.pem").write_bytes(content)
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    proxy = await start_proxy_process(
        nursery, tmp_path / "proxy.log", "--emulate", "--emulate-baud", "115200",
        "--resolve", "echo.test=127.0.0.1", "--cacert", str(tmp_path / "bundle.pem"),
        "--map", f"0=echo.test:{echo.port}", "-v", within=120)
    assert b"uploaded file" in proxy.output and b"wait=35" in proxy.output
    async with await trio.open_tcp_stream("127.0.0.1", proxy.port) as stream:
        assert await round_trip(stream, b"zero config") == b"zero config"
        proxy.process.send_signal(signal.SIGTERM)
        # The echo server never closes: the grace period cuts it, and a cut is a reset.
        with pytest.raises(trio.BrokenResourceError):
            await read_all(stream)
    assert await proxy.wait() == 0, proxy.output.decode()
