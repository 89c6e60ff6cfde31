"""AT+QSSLCFG settings on real handshakes: seclevel, CA, client certificate,
SNI, versions, cipher suites, certificate validity against the module clock,
negotiatetime."""

from __future__ import annotations

import datetime as dt
import logging
import ssl

import pytest
import trio
import trio.testing
import trustme

from modem.emulator import Emulator, Fault
from tests.helpers import TlsServer, log_fields

from .conftest import Host


async def serve(nursery: trio.Nursery, cert: trustme.LeafCert, **kwargs) -> TlsServer:
    server = TlsServer(cert, handler="echo", **kwargs)
    await nursery.start(server.serve)
    return server


async def cfg(host: Host, *settings: str) -> None:
    for setting in settings:
        assert await host.command(f"AT+QSSLCFG={setting}") == b"\r\nOK\r\n"


async def test_seclevel_1_with_the_right_ca(online: Host, echo_server: TlsServer) -> None:
    await cfg(online, '"seclevel",1,1')
    assert await online.open_ssl(0, "api.example.com", echo_server.port) == 0


async def test_seclevel_1_with_a_wrong_ca_is_566(
    emu: Emulator, online: Host, echo_server: TlsServer, other_ca: trustme.CA
) -> None:
    emu.files.put("UFS:other.pem", other_ca.cert_pem.bytes())
    await cfg(online, '"seclevel",1,1', '"cacert",1,"UFS:other.pem"')
    assert await online.open_ssl(0, "api.example.com", echo_server.port) == 566
    assert echo_server.handshake_failures == 1


async def test_seclevel_1_without_the_ca_file_is_566(
    online: Host, echo_server: TlsServer
) -> None:
    await cfg(online, '"seclevel",1,1', '"cacert",1,"UFS:missing.pem"')
    assert await online.open_ssl(0, "api.example.com", echo_server.port) == 566


async def test_seclevel_0_accepts_any_server(
    online: Host, nursery: trio.Nursery, other_ca: trustme.CA
) -> None:
    server = await serve(nursery, other_ca.issue_cert("elsewhere.example"))
    assert await online.open_ssl(0, "127.0.0.1", server.port) == 0


async def test_host_names_are_not_checked(online: Host, nursery: trio.Nursery, ca) -> None:
    server = await serve(nursery, ca.issue_cert("elsewhere.example"))
    await cfg(online, '"seclevel",1,1')
    assert await online.open_ssl(0, "api.example.com", server.port) == 0


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA()


async def test_seclevel_2_presents_the_client_certificate(
    emu: Emulator, online: Host, nursery: trio.Nursery, server_cert, client_ca: trustme.CA
) -> None:
    server = await serve(nursery, server_cert, client_ca=client_ca)
    client = client_ca.issue_cert("device-17.example")
    emu.files.put("UFS:client.pem", client.cert_chain_pems[0].bytes())
    emu.files.put("UFS:client.key", client.private_key_pem.bytes())
    await cfg(
        online, '"seclevel",1,2', '"clientcert",1,"UFS:client.pem"',
        '"clientkey",1,"UFS:client.key"',
    )
    assert await online.open_ssl(0, "api.example.com", server.port) == 0
    assert await online.send_data(0, b"hello") == b"SEND OK"
    await online.urc(b'+QSSLURC: "recv"')
    assert await online.recv_data(0) == b"hello"
    subject = dict(x[0] for x in server.connections[0].client_cert["subject"])
    assert "device-17.example" in str(server.connections[0].client_cert)
    assert subject


async def test_server_requiring_a_client_certificate_refuses_without_one(
    online: Host, nursery: trio.Nursery, server_cert, client_ca: trustme.CA
) -> None:
    server = await serve(nursery, server_cert, client_ca=client_ca)
    await cfg(online, '"seclevel",1,2')
    assert await online.open_ssl(0, "api.example.com", server.port) == 566


@pytest.mark.parametrize(
    ("sni", "address", "seen"),
    [(1, "api.example.com", "api.example.com"), (0, "api.example.com", None),
     (1, "127.0.0.1", None)],
)
async def test_sni(online: Host, echo_server: TlsServer, sni: int, address: str, seen) -> None:
    await cfg(online, f'"sni",1,{sni}')
    assert await online.open_ssl(0, address, echo_server.port) == 0
    assert echo_server.sni_seen == [seen]


@pytest.mark.parametrize(("version", "err"), [(0, 566), (1, 566), (2, 566), (3, 0), (4, 0)])
async def test_ssl_versions_against_a_tls_1_2_server(
    online: Host, echo_server: TlsServer, version: int, err: int
) -> None:
    await cfg(online, f'"sslversion",1,{version}')
    assert await online.open_ssl(0, "127.0.0.1", echo_server.port) == err


async def test_tls_1_0_against_an_old_server(online: Host, nursery: trio.Nursery, server_cert):
    old = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1)
    with pytest.warns(DeprecationWarning):
        server = TlsServer(server_cert, versions=old)
    await nursery.start(server.serve)
    await cfg(online, '"sslversion",1,1')
    assert await online.open_ssl(0, "127.0.0.1", server.port) == 0


@pytest.mark.parametrize(
    ("suite", "err"),
    [("0XC023", 0), ("0XC02F", 566), ("0X0004", 566), ("0X000A", 566), ("0xC009", 566)],
)
async def test_cipher_suites_with_an_ecdsa_server(
    online: Host, echo_server: TlsServer, suite: str, err: int
) -> None:
    # 0xC02F needs an RSA certificate; RC4 and 3DES are gone from OpenSSL; the
    # server's default cipher list refuses SHA-1 suites such as 0xC009.
    await cfg(online, f'"ciphersuite",1,{suite}')
    assert await online.open_ssl(0, "127.0.0.1", echo_server.port) == err


async def test_validity_against_the_module_clock(
    emu: Emulator, online: Host, echo_server: TlsServer
) -> None:
    await cfg(online, '"seclevel",1,1', '"ignorelocaltime",1,0')
    assert await online.open_ssl(0, "api.example.com", echo_server.port) == 566  # 1980
    now = dt.datetime.now(dt.UTC)
    assert await online.command(f'AT+CCLK="{now:%y/%m/%d,%H:%M:%S}+00"') == b"\r\nOK\r\n"
    assert await online.open_ssl(0, "api.example.com", echo_server.port) == 0


def expired_cert(ca: trustme.CA) -> trustme.LeafCert:
    """A certificate for api.example.com that was valid in 2001 only."""
    return ca.issue_cert(
        "api.example.com",
        not_before=dt.datetime(2001, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2002, 1, 1, tzinfo=dt.UTC),
    )


async def test_expired_certificate_passes_only_when_time_is_ignored(
    online: Host, nursery: trio.Nursery, ca: trustme.CA
) -> None:
    server = await serve(nursery, expired_cert(ca))
    await cfg(online, '"seclevel",1,1')
    assert await online.open_ssl(0, "api.example.com", server.port) == 0
    await cfg(online, '"ignorelocaltime",1,0')
    assert await online.command('AT+CCLK="01/06/01,00:00:00+00"') == b"\r\nOK\r\n"
    # the module clock says 2001, but OpenSSL still checks the host clock: 2026 > 2002
    assert await online.open_ssl(1, "api.example.com", server.port) == 566


async def test_the_reason_behind_a_566_is_logged(
    online: Host, nursery: trio.Nursery, ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    server = await serve(nursery, expired_cert(ca))
    await cfg(online, '"seclevel",1,1', '"ignorelocaltime",1,0')
    with caplog.at_level(logging.WARNING, "modem.emulator"):
        assert await online.open_ssl(0, "api.example.com", server.port) == 566
    [record] = [r for r in caplog.records if r.name == "modem.emulator"]
    fields = log_fields(record)
    assert record.getMessage() == "emulated open failed" and fields["error"] == 566
    assert "CERTIFICATE_VERIFY_FAILED: certificate has expired" in fields["reason"]


@pytest.fixture
def jumpy_clock() -> trio.testing.MockClock:
    """Virtual time that jumps once everything has waited 0.2 s of real time."""
    return trio.testing.MockClock(autojump_threshold=0.2)


async def serve_silent_tcp(task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Accepts TCP connections and never says a word (no TLS handshake)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    held: list[trio.SocketStream] = []
    try:
        async with listeners[0]:
            while True:
                held.append(await listeners[0].accept())
    finally:
        for stream in held:
            await trio.aclose_forcefully(stream)


async def test_negotiatetime_bounds_the_handshake(
    jumpy_clock, online: Host, nursery: trio.Nursery
) -> None:
    port = await nursery.start(serve_silent_tcp)
    await cfg(online, '"negotiatetime",1,10')
    start = trio.current_time()
    assert await online.open_ssl(0, "127.0.0.1", port) == 566
    assert 10 <= trio.current_time() - start < 20


async def test_slow_handshake_fault_beyond_negotiatetime(
    jumpy_clock, emu: Emulator, online: Host, echo_server: TlsServer
) -> None:
    await cfg(online, '"negotiatetime",1,10')
    await emu.inject(Fault.slow_handshake(11))
    assert await online.open_ssl(0, "127.0.0.1", echo_server.port) == 566
    await emu.inject(Fault.slow_handshake(5))
    assert await online.open_ssl(0, "127.0.0.1", echo_server.port) == 0


async def test_close_while_the_handshake_is_pending(
    online: Host, nursery: trio.Nursery, echo_server: TlsServer
) -> None:
    port = await nursery.start(serve_silent_tcp)
    assert await online.command(f'AT+QSSLOPEN=1,1,0,"127.0.0.1",{port},0') == b"\r\nOK\r\n"
    assert b",1,1,0,0," in await online.command("AT+QSSLSTATE=0")  # opening
    assert await online.command("AT+QSSLCLOSE=0") == b"\r\nOK\r\n"
    assert await online.command("AT+QSSLSTATE") == b"\r\nOK\r\n"
    assert await online.open_ssl(0, "127.0.0.1", echo_server.port) == 0
    assert not any(u.startswith(b"+QSSLOPEN: 0,566") for u in online.urcs)
