"""Payloads stay out of logs: ``-vv --trace-at`` shows their lengths only, and
the first bytes appear only with ``--trace-payload``.

The real command (``python -m proxy.cli --emulate``) carries a distinctive
payload both ways through an echo server; the test then searches everything
the process printed.
"""

from __future__ import annotations

import pytest

from tests.helpers import TlsServer, free_port
from tests.proxy_helpers import run_cli, start_proxy_process, talk

# Distinctive: no run of its characters occurs in a log by chance.
PAYLOAD = b"Bearer=zq7TRUSTxk4d1e9bQvPAYLOADw83jf" * 4


async def run_transfer(ca, ca_file, tmp_path, nursery, *extra: str) -> str:
    """The proxy's whole output after one echoed ``PAYLOAD``."""
    server = TlsServer(ca.issue_cert("echo.test"), "echo")
    await nursery.start(server.serve)
    port = free_port()
    proxy = await start_proxy_process(
        nursery, tmp_path / "proxy.log", "--emulate", "-vv", "--trace-at", *extra,
        "--cacert", str(ca_file), "--resolve", "echo.test=127.0.0.1",
        "--map", f"{port}=echo.test:{server.port}", within=30)
    seen = await talk(port, PAYLOAD, want=len(PAYLOAD))
    assert seen.data == PAYLOAD
    await proxy.stop()
    return proxy.output.decode(errors="replace")


def payload_pieces(size: int = 8) -> set[str]:
    """Every run of ``size`` payload characters (the log quotes bytes as text)."""
    text = PAYLOAD.decode()
    return {text[i:i + size] for i in range(len(text) - size + 1)}


@pytest.mark.parametrize("access_mode", ["push", "buffer"])
async def test_trace_at_shows_payload_lengths_only(ca, ca_file, tmp_path, nursery, access_mode):
    log = await run_transfer(ca, ca_file, tmp_path, nursery, "--access-mode", access_mode)
    received = "SslPushData" if access_mode == "push" else "AT+QSSLRECV="
    assert "AT+QSSLSEND=" in log and received in log  # the trace really ran
    assert f"[{len(PAYLOAD)} bytes]" in log
    leaked = sorted(p for p in payload_pieces() if p in log)
    assert leaked == []


async def test_trace_payload_adds_the_first_bytes(ca, ca_file, tmp_path, nursery):
    log = await run_transfer(ca, ca_file, tmp_path, nursery, "--trace-payload")
    assert "--trace-payload" in log  # the start-up warning
    assert repr(PAYLOAD[:24]) in log
    assert PAYLOAD.decode() not in log  # still shortened


@pytest.mark.parametrize("flags", [["--trace-payload"]])
def test_trace_payload_needs_trace_at(flags):
    result = run_cli("--emulate", "--map", "0=a.test:443", "--insecure", *flags)
    assert result.returncode == 2
    assert "give --trace-at too" in result.stderr


def test_payload_events_never_show_their_bytes():
    """Any ``%r`` of an event (debug lines, stray or unhandled URCs) shows no user data."""
    from modem.core import events as ev

    secret = b"zq7TRUSTxk4d1e9b"
    for event in (ev.RecvPayload(secret), ev.TransparentData(secret),
                  ev.SslPushData(3, secret)):
        assert "zq7TRUST" not in repr(event)
        assert event.data == secret
