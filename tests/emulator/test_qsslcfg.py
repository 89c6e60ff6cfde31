"""AT+QSSLCFG: the nine settings, defaults, the test response, parameter errors."""

from __future__ import annotations

import pytest

from .conftest import Host

DEFAULTS = [
    ("sslversion", b"4"),
    ("ciphersuite", b"0XFFFF"),
    ("cacert", b'"UFS:cacert.pem"'),
    ("clientcert", b'""'),
    ("clientkey", b'""'),
    ("seclevel", b"0"),
    ("ignorelocaltime", b"1"),
    ("negotiatetime", b"300"),
    ("sni", b"0"),
]


@pytest.mark.parametrize(("name", "value"), DEFAULTS)
async def test_defaults(host: Host, name: str, value: bytes) -> None:
    answer = await host.command(f'AT+QSSLCFG="{name}",5')
    assert answer == b'\r\n+QSSLCFG: "%s",5,%s\r\n\r\nOK\r\n' % (name.encode(), value)


async def test_chapter_3_2_configure_an_ssl_context(host: Host) -> None:
    assert await host.command('AT+QSSLCFG="sslversion",1,1') == b"\r\nOK\r\n"
    assert await host.command('AT+QSSLCFG="ciphersuite",1,0X0035') == b"\r\nOK\r\n"
    assert await host.command('AT+QSSLCFG="seclevel",1,1') == b"\r\nOK\r\n"
    assert await host.command('AT+QSSLCFG="cacert",1,"RAM:cacert.pem"') == b"\r\nOK\r\n"
    assert await host.command('AT+QSSLCFG="sslversion",1') == (
        b'\r\n+QSSLCFG: "sslversion",1,1\r\n\r\nOK\r\n'
    )
    assert await host.command('AT+QSSLCFG="ciphersuite",1') == (
        b'\r\n+QSSLCFG: "ciphersuite",1,0X0035\r\n\r\nOK\r\n'
    )
    assert await host.command('AT+QSSLCFG="cacert",1') == (
        b'\r\n+QSSLCFG: "cacert",1,"RAM:cacert.pem"\r\n\r\nOK\r\n'
    )


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("ciphersuite", "0xc02f", b"0XC02F"),
        ("clientcert", '"UFS:client.pem"', b'"UFS:client.pem"'),
        ("clientkey", '"UFS:client.key"', b'"UFS:client.key"'),
        ("seclevel", "2", b"2"),
        ("ignorelocaltime", "0", b"0"),
        ("negotiatetime", "10", b"10"),
        ("sni", "1", b"1"),
    ],
)
async def test_set_then_query(host: Host, name: str, value: str, shown: bytes) -> None:
    assert await host.command(f'AT+QSSLCFG="{name}",0,{value}') == b"\r\nOK\r\n"
    assert await host.command(f'AT+QSSLCFG="{name}",0') == (
        b'\r\n+QSSLCFG: "%s",0,%s\r\n\r\nOK\r\n' % (name.encode(), shown)
    )


async def test_test_command_lists_the_manual_ranges(host: Host) -> None:
    answer = await host.command("AT+QSSLCFG=?")
    lines = answer.split(b"\r\n")
    assert lines[1] == b'+QSSLCFG: "sslversion",(0-5),(0-4)'
    assert lines[2] == (
        b'+QSSLCFG: "ciphersuite",(0-5),(0X0035,0X002F,0X0005,0X0004,0X000A,0X003D,0XC002,'
        b"0XC003,0XC004,0XC005,0XC007,0XC008,0XC009,0XC00A,0XC011,0XC012,0XC013,0XC014,"
        b"0XC00C,0XC00D,0XC00E,0XC00F,0XC023,0XC024,0XC025,0XC026,0XC027,0XC028,0XC029,"
        b"0XC02A,0XC02F,0XFFFF)"
    )
    assert lines[3:10] == [
        b'+QSSLCFG: "cacert",(0-5),<cacertpath>',
        b'+QSSLCFG: "clientcert",(0-5),<client_cert_path>',
        b'+QSSLCFG: "clientkey",(0-5),<client_key_path>',
        b'+QSSLCFG: "seclevel",(0-5),(0-2)',
        b'+QSSLCFG: "ignorelocaltime",(0-5),(0,1)',
        b'+QSSLCFG: "negotiatetime",(0-5),(10-300)',
        b'+QSSLCFG: "sni",(0-5),(0,1)',
    ]
    assert answer.endswith(b'(0,1)\r\n\r\nOK\r\n')


@pytest.mark.parametrize(
    "args",
    [
        '"sslversion",6,1',
        '"sslversion",0,5',
        '"ciphersuite",0,"0xC02F"',
        '"ciphersuite",0,0x1234',
        '"seclevel",0,3',
        '"ignorelocaltime",0,2',
        '"negotiatetime",0,9',
        '"negotiatetime",0,301',
        '"sni",0,2',
        '"cacert",0,UFS',
        '"nosuch",0,1',
        "sslversion,0,1",
        '"sslversion",0,1,2',
    ],
)
async def test_parameter_errors_answer_bare_error_even_with_cmee_2(host: Host, args: str) -> None:
    assert await host.command("AT+CMEE=2") == b"\r\nOK\r\n"
    assert await host.command(f"AT+QSSLCFG={args}") == b"\r\nERROR\r\n"
