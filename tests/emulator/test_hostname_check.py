"""Firmware with a server host-name check (``EmulatorConfig.hostname_check``, as
BG9x firmware's ``"checkhost"``): listed by ``AT+QSSLCFG=?``, settable per
context, and then an open fails (566) unless the certificate names the host.
The manual's firmware (the default) has no such setting."""

from __future__ import annotations

import pytest

from modem.emulator import EmulatorConfig
from tests.helpers import TlsServer

CHECK_LINE = b'+QSSLCFG: "checkhost",(0-5),(0,1)'


@pytest.fixture
def config(request: pytest.FixtureRequest) -> EmulatorConfig:
    """Firmware with ``checkhost`` unless a test parametrizes ``config`` with None."""
    return EmulatorConfig(hostname_check=getattr(request, "param", "checkhost"),
                          resolve={"api.example.com": "127.0.0.1"}, real_dns=False)


@pytest.mark.parametrize("config", [None], indirect=True)
async def test_the_manual_firmware_has_no_host_check(host):
    answer = await host.command("AT+QSSLCFG=?")
    assert b'+QSSLCFG: "sni",(0-5),(0,1)' in answer and answer.endswith(b"OK\r\n")
    assert b"checkhost" not in answer
    assert await host.command('AT+QSSLCFG="checkhost",0,1') == b"\r\nERROR\r\n"


async def test_firmware_with_checkhost_lists_and_takes_it(host):
    answer = await host.command("AT+QSSLCFG=?")
    assert CHECK_LINE in answer and b'"sni"' in answer
    assert await host.command('AT+QSSLCFG="checkhost",2') == \
        b'\r\n+QSSLCFG: "checkhost",2,0\r\n\r\nOK\r\n'
    assert await host.command('AT+QSSLCFG="checkhost",2,1') == b"\r\nOK\r\n"
    assert await host.command('AT+QSSLCFG="checkhost",2') == \
        b'\r\n+QSSLCFG: "checkhost",2,1\r\n\r\nOK\r\n'
    assert await host.command('AT+QSSLCFG="checkhost",2,2') == b"\r\nERROR\r\n"


@pytest.mark.parametrize(("cert_name", "check", "err"), [
    ("other.test", 1, 566),     # checked: a valid certificate for another name fails
    ("api.example.com", 1, 0),  # checked: the right name opens
    ("other.test", 0, 0),       # setting off: the chain alone is verified
])
async def test_the_check_compares_the_certificate_with_the_host(ca, nursery, online,
                                                               cert_name, check, err):
    server = TlsServer(ca.issue_cert(cert_name), "echo")
    await nursery.start(server.serve)
    for cmd in ('AT+QSSLCFG="seclevel",1,1', f'AT+QSSLCFG="checkhost",1,{check}'):
        assert await online.command(cmd) == b"\r\nOK\r\n"
    assert await online.open_ssl(0, "api.example.com", server.port, ctx=1) == err


def test_the_command_line_option():
    from modem.emulator.__main__ import build_parser

    assert build_parser().parse_args(["--hostname-check", "checkhost"]).hostname_check == \
        "checkhost"
    assert build_parser().parse_args([]).hostname_check is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--hostname-check", 'check"host'])
