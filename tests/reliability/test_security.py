"""Security properties: no open proxy by accident, no secret in the logs, warnings
for what weakens TLS, checked certificate files, a read-only status page.

The secrets test runs the real command (``python -m proxy.cli --emulate
--trace-at -vv``) with an APN password and a client key, drives a
connection through it to a server that requires the client certificate,
uses the AT console, and searches everything the process printed.
"""

from __future__ import annotations

import logging

import pytest
import trio

from proxy.config.build import build_config
from tests.helpers import TlsServer, free_port
from tests.proxy_helpers import (
    console_command,
    messages,
    proxy_on_emulator,
    start_proxy_process,
    talk,
)

PASSWORD = "Pa55-w0rd-7f3c9e"


# -- binding -------------------------------------------------------------------------


def test_listeners_default_to_loopback():
    config = build_config({"map": ["9000=api.example.com:443"], "status": "8080",
                           "at-console": "8081"})
    assert config.maps[0].listen.host == "127.0.0.1"
    assert config.status.host == "127.0.0.1" and config.at_console.host == "127.0.0.1"


@pytest.mark.parametrize("bind", ["0.0.0.0", "::"])
async def test_a_non_loopback_bind_needs_bind_and_logs_a_warning(caplog, bind):
    """Only an explicit BIND reaches other hosts, and the start-up log says so."""
    spec = f"[{bind}]:0" if ":" in bind else f"{bind}:0"
    async with proxy_on_emulator({"map": [f"{spec}=api.example.com:443"], "insecure": True,
                                  "status": spec, "at-console": spec}):
        pass
    log = messages(caplog)
    assert "listener reachable from other hosts" in log
    assert "--status reachable from other hosts" in log
    assert "--at-console reachable from other hosts" in log


async def test_loopback_binds_log_no_exposure_warning(caplog, ca_file):
    async with proxy_on_emulator({"map": ["0=api.example.com:443"], "cacert": str(ca_file),
                                  "status": "0", "at-console": "0"}):
        pass
    assert "reachable from other hosts" not in messages(caplog)


async def test_insecure_is_warned(caplog):
    async with proxy_on_emulator({"map": ["0=api.example.com:443"], "insecure": True}):
        pass
    log = messages(caplog)
    assert "not verified (--insecure)" in log and "api.example.com:443" in log


# -- the status page is read-only ------------------------------------------------------


async def http(port: int, request: bytes) -> tuple[str, bytes]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        data = b""
        with trio.fail_after(10):
            while chunk := await stream.receive_some(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body


async def test_status_endpoint_is_read_only(ca_file):
    async with proxy_on_emulator({"map": ["0=api.example.com:443"], "cacert": str(ca_file),
                                  "status": "0", "apn": "internet",
                                  "apn-password": PASSWORD, "apn-user": "u"}) as service:
        port = service.status_address.port
        status, body = await http(port, b"GET /status.json HTTP/1.0\r\n\r\n")
        assert status.endswith("200 OK") and b'"state": "serving"' in body
        assert PASSWORD.encode() not in body
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            status, _ = await http(port, f"{method} /status.json HTTP/1.0\r\n"
                                         "Content-Length: 2\r\n\r\n{}".encode())
            assert status.endswith("405 Method Not Allowed"), (method, status)
        assert service.state == "serving"


# -- secrets never logged ----------------------------------------------------------------


@pytest.fixture
def client_pair(ca, tmp_path):
    leaf = ca.issue_cert("gateway@example.com")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return cert, key


def pem_body_lines(path) -> list[str]:
    return [line for line in path.read_text().splitlines()
            if line and not line.startswith("-----")]


async def console(port: int, line: str) -> str:
    """The AT console's answer to ``line``, its lines joined."""
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        with trio.fail_after(20):
            return "\n".join(await console_command(stream, line))


async def test_no_secret_reaches_the_log(ca, ca_file, client_pair, tmp_path, nursery):
    cert, key = client_pair
    server = TlsServer(ca.issue_cert("echo.test"), "echo", client_ca=ca)
    await nursery.start(server.serve)
    port, console_port = free_port(), free_port()
    proxy = await start_proxy_process(
        nursery, tmp_path / "proxy.log", "--emulate", "--trace-at", "-vv",
        "--apn", "internet", "--apn-user", "gw", "--apn-password", PASSWORD,
        "--cacert", str(ca_file), "--clientcert", str(cert), "--clientkey", str(key),
        "--resolve", "echo.test=127.0.0.1", "--map", f"{port}=echo.test:{server.port}",
        "--at-console", str(console_port), "--status", "0", within=30)
    seen = await talk(port, b"hello through a client certificate", want=34)
    assert seen.data == b"hello through a client certificate"
    assert server.connections[0].client_cert is not None
    await console(console_port, "AT+QICSGP=1")  # its answer holds the password
    await proxy.stop()
    log = proxy.output.decode(errors="replace")
    assert "AT+QICSGP" in log and "QFUPL" in log  # the trace really ran
    assert PASSWORD not in log
    for line in pem_body_lines(key):
        assert line not in log
    assert "PRIVATE KEY" not in log


async def test_a_password_typed_at_the_console_is_not_logged(caplog, ca_file):
    caplog.set_level(logging.DEBUG)
    async with proxy_on_emulator({"map": ["0=api.example.com:443"], "cacert": str(ca_file),
                                  "at-console": "0", "trace-at": True}) as service:
        answer = await console(service.console_address.port,
                               f'AT+QICSGP=1,1,"internet","gw","{PASSWORD}",1')
    assert "refused" in answer
    assert PASSWORD not in messages(caplog, logging.DEBUG)


async def test_the_console_does_not_show_the_apn_password(ca_file):
    async with proxy_on_emulator({"map": ["0=api.example.com:443"], "cacert": str(ca_file),
                                  "at-console": "0", "apn": "internet", "apn-user": "gw",
                                  "apn-password": PASSWORD}) as service:
        answer = await console(service.console_address.port, "AT+QICSGP=1")
    assert "+QICSGP: 1" in answer
    assert PASSWORD not in answer


def test_apn_password_is_not_in_the_config_repr():
    config = build_config({"map": ["9000=api.example.com:443"], "apn": "internet",
                           "apn-user": "gw", "apn-password": PASSWORD})
    assert PASSWORD not in repr(config) and PASSWORD not in str(config)



