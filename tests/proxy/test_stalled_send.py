"""A send that stalls past its limit, end to end: the client is reset, the log stays clean.

Proxy + emulated module on a real pseudo-terminal + a real TLS echo server.
After one round trip the module starts answering every ``AT+QSSLSEND`` with
``SEND FAIL`` (its send buffer "stays full", manual 2.1.3); with the stall
limit made small (``send_stall_timeout``, 120 s in production) the socket
fails with ``SendStalled``.  The client must see a reset (RST), never a clean
end of stream, the log must carry no traceback, and the status page must
count the failure.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest
import trio
import trustme

from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.fault_spec import parse_fault_spec
from tests.helpers import wait_until
from tests.proxy_helpers import connect, start_proxy, status_json

NAME = "stall.test"
STALL_LIMIT = 0.5


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def echo_port(ca: trustme.CA, nursery: trio.Nursery) -> int:
    """A real TLS echo server on 127.0.0.1; its port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME).configure_cert(context)

    async def echo(tcp: trio.SocketStream) -> None:
        stream = trio.SSLStream(tcp, context, server_side=True)
        try:
            while data := await stream.receive_some(65536):
                await stream.send_all(data)
        except (trio.BrokenResourceError, ssl.SSLError):
            pass
        finally:
            await trio.aclose_forcefully(stream)

    listeners = await nursery.start(trio.serve_tcp, echo, 0)
    return int(listeners[0].socket.getsockname()[1])


async def test_a_stalled_send_resets_the_client_without_a_traceback(
        ca: trustme.CA, echo_port: int, tmp_path: Path, nursery: trio.Nursery,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="proxy")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    emulator_config = EmulatorConfig(resolve={NAME: "127.0.0.1"}, real_dns=False)
    async with Emulator.running(emulator_config) as emulator:  # noqa: SIM117
        async with trio.open_nursery() as proxy_nursery:
            service = await start_proxy(proxy_nursery, emulator, "--cacert", str(ca_file),
                                        "--map", f"0={NAME}:{echo_port}", "--status", "0",
                                        linger=None,
                                        modem_options={"send_stall_timeout": STALL_LIMIT})
            async with await connect(service) as client:
                await client.send_all(b"ping")
                assert await client.receive_some(100) == b"ping"

                fault = parse_fault_spec("send_fail:1000000").fault
                assert fault is not None
                await emulator.inject(fault)
                started = trio.current_time()
                await client.send_all(b"this never reaches the server")
                with trio.fail_after(10), pytest.raises(trio.BrokenResourceError) as reset:
                    while True:
                        data = await client.receive_some(100)
                        assert data, "a clean end of stream instead of a reset"
                assert isinstance(reset.value.__cause__, ConnectionResetError)
                assert trio.current_time() - started >= STALL_LIMIT

            modem = service.modem
            assert modem is not None
            await wait_until(lambda: not len(service.registry) and modem.client_ids.free == 12)
            status = await status_json(service.status_address)
            counters = status["counters"]
            assert isinstance(counters, dict)
            assert counters["opened"] == 1
            assert counters["open_failures"] == {}
            assert counters["socket_failures"] == {"SendStalled": 1}
            assert not emulator.module.sockets
            service.request_shutdown()

    closed = [r for r in caplog.records if r.getMessage() == "closed"]
    assert len(closed) == 1
    assert "stalled" in closed[0].kv_fields["reason"]  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.exc_info is not None]
    assert "Traceback" not in caplog.text
