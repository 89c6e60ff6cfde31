"""SSL commands: QSSLCFG, the cipher table, QSSLOPEN/SEND/RECV/CLOSE/STATE, QISWTMD, ATO."""

from __future__ import annotations

import re

import pytest

from modem.core import commands as c
from modem.core.protocol import Framing

# -- QSSLCFG ----


def test_qsslcfg_manual_examples() -> None:
    # manual 3.2; the manual writes 0X0035, we print 0x + upper-case hex (module reads both)
    assert c.qsslcfg_sslversion(1, 1).encode() == b'AT+QSSLCFG="sslversion",1,1\r'
    assert c.qsslcfg_ciphersuite(1, 0x0035).encode() == b'AT+QSSLCFG="ciphersuite",1,0x0035\r'
    assert c.qsslcfg_seclevel(1, 1).encode() == b'AT+QSSLCFG="seclevel",1,1\r'
    assert (
        c.qsslcfg_cacert(1, "RAM:cacert.pem").encode()
        == b'AT+QSSLCFG="cacert",1,"RAM:cacert.pem"\r'
    )


def test_qsslcfg_typed_helpers() -> None:
    assert c.qsslcfg_ciphersuite(0, 0xFFFF).text == 'AT+QSSLCFG="ciphersuite",0,0xFFFF'
    assert c.qsslcfg_ciphersuite(5, [0xC02F]).text == 'AT+QSSLCFG="ciphersuite",5,0xC02F'
    assert (
        c.qsslcfg_ciphersuite(2, (0xC02F, 0xC027, 0x002F)).text
        == 'AT+QSSLCFG="ciphersuite",2,0xC02F:0xC027:0x002F'
    )
    assert (
        c.qsslcfg_clientcert(2, "UFS:client.pem").text
        == 'AT+QSSLCFG="clientcert",2,"UFS:client.pem"'
    )
    assert (
        c.qsslcfg_clientkey(2, "UFS:user_key.pem").text
        == 'AT+QSSLCFG="clientkey",2,"UFS:user_key.pem"'
    )
    assert c.qsslcfg_ignorelocaltime(0, True).text == 'AT+QSSLCFG="ignorelocaltime",0,1'
    assert c.qsslcfg_ignorelocaltime(0, False).text == 'AT+QSSLCFG="ignorelocaltime",0,0'
    assert c.qsslcfg_negotiatetime(3, 10).text == 'AT+QSSLCFG="negotiatetime",3,10'
    assert c.qsslcfg_negotiatetime(3, 300).text == 'AT+QSSLCFG="negotiatetime",3,300'
    assert c.qsslcfg_sni(4, True).text == 'AT+QSSLCFG="sni",4,1'
    assert c.qsslcfg_sslversion(0, 4).text == 'AT+QSSLCFG="sslversion",0,4'
    assert c.qsslcfg_seclevel(0, 2).text == 'AT+QSSLCFG="seclevel",0,2'


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: c.qsslcfg_sslversion(6, 1), "SSL context id must be in 0-5, got 6"),
        (lambda: c.qsslcfg_sslversion(-1, 1), "SSL context id must be in 0-5, got -1"),
        (lambda: c.qsslcfg_sslversion(0, 5), "SSL version must be in 0-4, got 5"),
        (lambda: c.qsslcfg_seclevel(0, 3), "security level must be in 0-2, got 3"),
        (lambda: c.qsslcfg_negotiatetime(0, 9), "negotiate time must be in 10-300, got 9"),
        (lambda: c.qsslcfg_negotiatetime(0, 301), "negotiate time must be in 10-300, got 301"),
        (lambda: c.qsslcfg_sni(0, 2), "sni must be a bool"),
        (lambda: c.qsslcfg_ciphersuite(0, 0xC030), "cipher suite 0xC030 is not in"),
        (lambda: c.qsslcfg_ciphersuite(0, 0x10035), "cipher suite 0x10035 is not in"),
        (lambda: c.qsslcfg_ciphersuite(0, []), "must not be empty"),
        (lambda: c.qsslcfg_ciphersuite(0, [0xFFFF, 0x0035]), "cannot be combined"),
        (lambda: c.qsslcfg_ciphersuite(0, [0x0035, 0x0035]), "repeat"),
        (lambda: c.qsslcfg_cacert(0, 'UFS:"x'), "cacert path"),
        (lambda: c.qsslcfg_cacert(0, "/etc/ssl/ca.pem"), "cacert path"),
        (lambda: c.qsslcfg_set("alpn", 0, "h2"), "SSL setting must be one of sslversion"),
    ],
)
def test_qsslcfg_range_errors(build, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_qsslcfg_set_dispatches_to_the_typed_helpers() -> None:
    pairs = [
        ("sslversion", 3, c.qsslcfg_sslversion(1, 3)),
        (c.SslSetting.CIPHERSUITE, 0xC02F, c.qsslcfg_ciphersuite(1, 0xC02F)),
        ("ciphersuite", [0xC013, 0xC014], c.qsslcfg_ciphersuite(1, [0xC013, 0xC014])),
        ("cacert", "UFS:ca.pem", c.qsslcfg_cacert(1, "UFS:ca.pem")),
        ("clientcert", "UFS:cc.pem", c.qsslcfg_clientcert(1, "UFS:cc.pem")),
        ("clientkey", "UFS:ck.pem", c.qsslcfg_clientkey(1, "UFS:ck.pem")),
        ("seclevel", 2, c.qsslcfg_seclevel(1, 2)),
        ("ignorelocaltime", True, c.qsslcfg_ignorelocaltime(1, True)),
        ("negotiatetime", 60, c.qsslcfg_negotiatetime(1, 60)),
        ("sni", True, c.qsslcfg_sni(1, True)),
    ]
    assert {str(s) for s, _v, _cmd in pairs} == {s.value for s in c.SslSetting}
    for setting, value, expected in pairs:
        assert c.qsslcfg_set(setting, 1, value) == expected
    with pytest.raises(ValueError, match=re.escape("SSL version must be in 0-4, got 9")):
        c.qsslcfg_set("sslversion", 1, 9)


def test_qsslcfg_query_and_test() -> None:
    q = c.qsslcfg_query("sni", 2)
    assert q.encode() == b'AT+QSSLCFG="sni",2\r'
    assert q.info_prefixes == ("+QSSLCFG",)
    assert c.qsslcfg_query(c.SslSetting.CACERT, 0).text == 'AT+QSSLCFG="cacert",0'
    t = c.qsslcfg_test()
    assert t.encode() == b"AT+QSSLCFG=?\r"
    assert t.info_prefixes == ("+QSSLCFG",)
    with pytest.raises(ValueError):
        c.qsslcfg_query("dtls", 0)


def test_parse_qsslcfg() -> None:
    v = c.parse_qsslcfg('+QSSLCFG: "sslversion",1,1')
    assert v == c.SslConfigValue(c.SslSetting.SSLVERSION, 1, 1)
    assert v.setting == "sslversion"
    assert c.parse_qsslcfg('+QSSLCFG: "ciphersuite",1,0X0035').value == 0x0035
    assert c.parse_qsslcfg('+QSSLCFG: "ciphersuite",1,0xC02F:0XC027').value == (0xC02F, 0xC027)
    assert c.parse_qsslcfg('+QSSLCFG: "ciphersuite",1,0xC02F;0xC027').value == (0xC02F, 0xC027)
    assert c.parse_qsslcfg('+QSSLCFG: "cacert",1,"RAM:cacert.pem"').value == "RAM:cacert.pem"
    assert c.parse_qsslcfg('+QSSLCFG: "cacert",1,""').value == ""
    # newer firmware: a key password after the path; unknown settings stay strings
    assert c.parse_qsslcfg('+QSSLCFG: "clientkey",0,"UFS:k.pem",""').value == "UFS:k.pem"
    dtls = c.parse_qsslcfg('+QSSLCFG: "dtls",0,0')
    assert (dtls.setting, dtls.value) == ("dtls", 0)
    assert not isinstance(dtls.setting, c.SslSetting)
    assert c.parse_qsslcfg('+QSSLCFG: "sni",5').value is None
    for bad in ('+QSSLCFG: "sslversion",(0-5),(0-4)', "+QSSLCFG: 1,1,1", "+QSSLCFG: "):
        with pytest.raises(ValueError):
            c.parse_qsslcfg(bad)


# The test-form answer of manual 2.1.1 with the OCR slips fixed.
_MANUAL_CIPHER_LINE = (
    '+QSSLCFG: "ciphersuite",(0-5),(0X0035,0X002F,0X0005,0X0004,0X000A,0X003D,0XC002,'
    "0XC003,0XC004,0XC005,0XC007,0XC008,0XC009,0XC00A,0XC011,0XC012,0XC013,0XC014,"
    "0XC00C,0XC00D,0XC00E,0XC00F,0XC023,0XC024,0XC025,0XC026,0XC027,0XC028,0XC029,"
    "0XC02A,0XC02F,0XFFFF)"
)


def test_cipher_suites_table() -> None:
    name, ctx, codes = c.split_fields(_MANUAL_CIPHER_LINE.removeprefix("+QSSLCFG:"))
    assert (name, ctx) == ("ciphersuite", "(0-5)")
    assert isinstance(codes, str)
    manual = [int(x, 16) for x in codes.strip("()").split(",")]
    assert sorted(manual) == sorted(c.CIPHER_SUITES)
    assert len(c.CIPHER_SUITES) == 32
    assert c.CIPHER_SUITES[0xFFFF] == "all"
    assert c.CIPHER_SUITES[0xC02F] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert c.CIPHER_SUITES[0xC00A] == "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
    assert c.CIPHER_SUITES[0x000A] == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    names = [n for code, n in c.CIPHER_SUITES.items() if code != 0xFFFF]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"TLS_[A-Z0-9]+(_[A-Z0-9]+)*_WITH_[A-Z0-9_]+", n) for n in names)
    for code in c.CIPHER_SUITES:
        assert c.qsslcfg_ciphersuite(0, code).text.endswith(f",0x{code:04X}")


# -- SSL sockets ----


@pytest.mark.parametrize(
    ("args", "wire", "data_mode"),
    [
        (
            (1, 1, 4, "220.180.239.212", 8010, 0),
            b'AT+QSSLOPEN=1,1,4,"220.180.239.212",8010,0\r',
            False,
        ),
        (
            (1, 1, 4, "220.180.239.212", 8011, 1),
            b'AT+QSSLOPEN=1,1,4,"220.180.239.212",8011,1\r',
            False,
        ),
        (
            (1, 1, 4, "220.180.239.212", 8011, 2),
            b'AT+QSSLOPEN=1,1,4,"220.180.239.212",8011,2\r',
            True,
        ),
        (
            (16, 5, 11, "api.example.com", 443),
            b'AT+QSSLOPEN=16,5,11,"api.example.com",443,0\r',
            False,
        ),
    ],
)
def test_qsslopen_manual_examples(args: tuple, wire: bytes, data_mode: bool) -> None:
    cmd = c.qsslopen(*args)
    assert cmd.encode() == wire
    assert cmd.framing is (Framing.DATA_MODE if data_mode else Framing.LINES)
    assert cmd.timeout == 150 + 300


def test_qsslopen_timeout_follows_negotiate_time() -> None:
    assert c.qsslopen(1, 0, 0, "h", 443, negotiate_time=30).timeout == 180


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 0, 0, "h", 443), "PDP context id must be in 1-16, got 0"),
        ((17, 0, 0, "h", 443), "PDP context id must be in 1-16, got 17"),
        ((1, 6, 0, "h", 443), "SSL context id must be in 0-5, got 6"),
        ((1, 0, 12, "h", 443), "client id must be in 0-11, got 12"),
        ((1, 0, -1, "h", 443), "client id must be in 0-11, got -1"),
        ((1, 0, 0, "h", 0), "port must be in 1-65535, got 0"),
        ((1, 0, 0, "h", 65536), "port must be in 1-65535, got 65536"),
        ((1, 0, 0, "h", 443, 3), "access mode must be in 0-2, got 3"),
        ((1, 0, 0, "h", 443, 0, 9), "negotiate time must be in 10-300, got 9"),
        ((1, 0, 0, "", 443), "host must not be empty"),
        ((1, 0, 0, "h" * 254, 443), "host must be at most 253 characters, got 254"),
        ((1, 0, 0, "h", "443"), "port must be an int in 1-65535, got '443'"),
    ],
)
def test_qsslopen_range_errors(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        c.qsslopen(*args)


def test_qsslsend() -> None:
    cmd = c.qsslsend(4, 18)
    assert cmd.encode() == b"AT+QSSLSEND=4,18\r"
    assert cmd.framing is Framing.PROMPT_PAYLOAD
    assert cmd.payload_len == 18
    assert c.qsslsend(0, 1460).payload_len == 1460
    for bad, message in (
        (0, "send length must be in 1-1460, got 0"),
        (1461, "send length must be in 1-1460, got 1461"),
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            c.qsslsend(4, bad)
    with pytest.raises(ValueError, match="client id"):
        c.qsslsend(12, 1)


def test_qsslsend_ctrlz() -> None:
    cmd = c.qsslsend_ctrlz(4)
    assert cmd.encode() == b"AT+QSSLSEND=4\r"
    assert cmd.framing is Framing.PROMPT_PAYLOAD
    assert cmd.payload_len is None
    assert c.ctrlz_payload(b"Test data from SSL") == b"Test data from SSL\x1a"
    for bad in (b"", b"a\x1ab", b"a\x1bb", b"x" * 1461):
        with pytest.raises(ValueError):
            c.ctrlz_payload(bad)


def test_qsslrecv() -> None:
    cmd = c.qsslrecv(4, 1500)
    assert cmd.encode() == b"AT+QSSLRECV=4,1500\r"
    assert cmd.framing is Framing.RECV_PAYLOAD
    assert cmd.recv_limit == 1500
    assert cmd.info_prefixes == ("+QSSLRECV",)
    assert c.qsslrecv(4) == cmd
    assert c.qsslrecv(0, 1).recv_limit == 1
    for bad in (0, 1501):
        with pytest.raises(
            ValueError, match=re.escape(f"receive length must be in 1-1500, got {bad}")
        ):
            c.qsslrecv(4, bad)


def test_qsslclose() -> None:
    cmd = c.qsslclose(4)
    assert cmd.encode() == b"AT+QSSLCLOSE=4\r"  # manual 3.3.4: the default 10 s left out
    assert cmd.timeout == 15.0
    now = c.qsslclose(4, 0)
    assert now.encode() == b"AT+QSSLCLOSE=4,0\r"
    assert now.timeout == 5.0
    assert c.qsslclose(11, 65535).encode() == b"AT+QSSLCLOSE=11,65535\r"
    with pytest.raises(ValueError, match=re.escape("close timeout must be in 0-65535, got 65536")):
        c.qsslclose(4, 65536)


def test_qsslstate() -> None:
    assert c.qsslstate().encode() == b"AT+QSSLSTATE\r"
    assert c.qsslstate(4).encode() == b"AT+QSSLSTATE=4\r"
    assert c.qsslstate().info_prefixes == ("+QSSLSTATE",)
    with pytest.raises(ValueError):
        c.qsslstate(12)


def test_parse_qsslstate_manual_lines() -> None:
    s = c.parse_qsslstate(
        '+QSSLSTATE: 4,"SSLClient","220.180.239.212",8010,65344,2,1,4,0,"usbmodem",1'
    )
    assert s == c.SslSocketState(
        client_id=4,
        kind="SSLClient",
        address="220.180.239.212",
        remote_port=8010,
        local_port=65344,
        state=2,
        pdp_ctx=1,
        server_id=4,
        access_mode=0,
        at_port="usbmodem",
        ssl_ctx=1,
    )
    assert s.state is c.SocketState.CONNECTED and s.state_name == "connected"
    push = c.parse_qsslstate(
        '+QSSLSTATE: 4,"SSLClient","220.180.239.212",8011,65047,2,1,4,1,"usbmodem",1'
    )
    assert (push.remote_port, push.local_port, push.access_mode) == (8011, 65047, 1)


def test_parse_qsslstate_tolerates_firmware_variants() -> None:
    zero = c.parse_qsslstate('+QSSLSTATE: 0,"SSLClient","10.0.0.1",443,0,4,1,0,0,"uart1",2')
    assert (zero.local_port, zero.state, zero.state_name) == (0, 4, "closing")
    assert zero.state is c.SocketState.CLOSING
    extra = c.parse_qsslstate(
        '+QSSLSTATE: 1,"SSLClient","h.example",443,5000,2,1,0,0,"usbat",0,7,"x"'
    )
    assert (extra.client_id, extra.ssl_ctx) == (1, 0)
    short = c.parse_qsslstate('+QSSLSTATE: 3,"SSLClient","10.0.0.1",443,1,7')
    assert (short.client_id, short.state, short.state_name) == (3, 7, "state 7")
    assert not isinstance(short.state, c.SocketState)  # not a state of the manual: kept as is
    assert (short.pdp_ctx, short.access_mode, short.at_port, short.ssl_ctx) == (
        None,
        None,
        None,
        None,
    )
    odd = c.parse_qsslstate('+QSSLSTATE: 2,"SSLClient","",x,,2,1,,0,usbmodem,"1"')
    assert (odd.address, odd.remote_port, odd.local_port, odd.server_id) == (None, None, None, None)
    assert (odd.at_port, odd.ssl_ctx) == ("usbmodem", None)


@pytest.mark.parametrize(
    "bad",
    [
        '+QSSLSTATE: "x",1',
        '+QSSLSTATE: 4,"SSLClient","h",1,2',
        "+QSSLSTATE: ",
        '+QSSLSTATE: 4,"SSLClient","h",1,2,"connected"',
        '+QIACT: 1,1,1,"h"',
    ],
)
def test_parse_qsslstate_needs_id_and_state(bad: str) -> None:
    with pytest.raises(ValueError):
        c.parse_qsslstate(bad)


def test_qiswtmd_and_ato() -> None:
    to_buffer = c.qiswtmd(4, 0)
    assert to_buffer.encode() == b"AT+QISWTMD=4,0\r"
    assert to_buffer.framing is Framing.LINES
    to_transparent = c.qiswtmd(4, 2)
    assert to_transparent.encode() == b"AT+QISWTMD=4,2\r"
    assert to_transparent.framing is Framing.DATA_MODE
    with pytest.raises(ValueError, match=re.escape("access mode must be in 0-2, got 3")):
        c.qiswtmd(4, 3)
    ato = c.ato()
    assert ato.encode() == b"ATO\r"
    assert ato.framing is Framing.DATA_MODE
