"""Host names: what the module checks of a server, against both firmware kinds.

The module verifies the chain against the map's CA file.  The manual's
firmware does not check the certificate's name: a map that trusts the host's
CA bundle accepts a valid certificate for any name, and the proxy says so
(one warning per map, ``name_checked: false``).  Firmware that lists a
host-name check in ``AT+QSSLCFG=?`` (the emulator's ``hostname_check``,
BG9x's ``"checkhost"``) gets it turned on: a wrong-name server is refused.

``SSL_CERT_FILE`` makes the test CA the "host bundle" (OpenSSL's default,
which ``proxy.config.certificates.host_ca_bundle`` reads).
"""

from __future__ import annotations

import pytest

from proxy.config.trust import UNCHECKED_BUNDLE
from tests.helpers import TlsServer
from tests.proxy_helpers import address, messages, proxy_on_emulator, talk

CHECKHOST = {"hostname_check": "checkhost"}
MESSAGE = b"hello, is this really api.example.com?"


@pytest.fixture
def host_bundle_is_the_test_ca(monkeypatch, ca_file):
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))


async def server_for(ca, nursery, name: str) -> TlsServer:
    server = TlsServer(ca.issue_cert(name), "echo")
    await nursery.start(server.serve)
    return server


def flags(server: TlsServer, **more) -> dict:
    return {"map": [f"0=api.example.com:{server.port}"],
            "resolve": ["api.example.com=127.0.0.1"], **more}


async def test_manual_firmware_warns_and_a_wrong_name_gets_through(
        ca, nursery, caplog, host_bundle_is_the_test_ca):
    server = await server_for(ca, nursery, "evil.test")  # valid chain, another name
    async with proxy_on_emulator(flags(server)) as service:
        status = await service.status_snapshot()
        seen = await talk(address(service).port, MESSAGE, want=len(MESSAGE))
    assert seen.data == MESSAGE  # what the warning is about
    assert status["maps"][0]["name_checked"] is False
    assert "checkhost" not in status["module"]["ssl_settings"]
    assert "sni" in status["module"]["ssl_settings"]
    warnings = [line for line in messages(caplog).splitlines() if UNCHECKED_BUNDLE in line]
    assert len(warnings) == 1
    assert f"map=127.0.0.1:0 -> api.example.com:{server.port}" in warnings[0]
    assert "--cacert" in warnings[0]


async def test_checkhost_firmware_refuses_a_wrong_name(ca, nursery, caplog,
                                                       host_bundle_is_the_test_ca):
    server = await server_for(ca, nursery, "evil.test")
    async with proxy_on_emulator(flags(server), emulator_options=CHECKHOST) as service:
        status = await service.status_snapshot()
        seen = await talk(address(service).port, MESSAGE)
    assert seen.data == b"" and seen.end in ("reset", "eof")
    assert server.connections == [] or all(not c.received for c in server.connections)
    assert status["maps"][0]["name_checked"] is True
    assert "checkhost" in status["module"]["ssl_settings"]
    assert UNCHECKED_BUNDLE not in messages(caplog)


async def test_checkhost_firmware_lets_the_right_name_through(ca, nursery,
                                                              host_bundle_is_the_test_ca):
    server = await server_for(ca, nursery, "api.example.com")
    async with proxy_on_emulator(flags(server), emulator_options=CHECKHOST) as service:
        seen = await talk(address(service).port, MESSAGE, want=len(MESSAGE))
    assert seen.data == MESSAGE


async def test_a_map_with_its_own_ca_is_not_warned(ca, ca_file, nursery, caplog):
    server = await server_for(ca, nursery, "api.example.com")
    async with proxy_on_emulator(flags(server, cacert=str(ca_file))) as service:
        status = await service.status_snapshot()
    assert status["maps"][0]["name_checked"] is False
    assert UNCHECKED_BUNDLE not in messages(caplog)


async def test_ip_literal_maps_are_not_name_checked(ca, nursery, caplog,
                                                    host_bundle_is_the_test_ca):
    """Certificates rarely name addresses: the check stays off for an IP literal."""
    server = await server_for(ca, nursery, "api.example.com")
    async with proxy_on_emulator({"map": [f"0=127.0.0.1:{server.port}"]},
                                 emulator_options=CHECKHOST) as service:
        status = await service.status_snapshot()
        seen = await talk(address(service).port, MESSAGE, want=len(MESSAGE))
    assert seen.data == MESSAGE
    assert status["maps"][0]["name_checked"] is False
    assert UNCHECKED_BUNDLE in messages(caplog)
