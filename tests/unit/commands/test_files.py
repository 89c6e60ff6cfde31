"""File commands: QFUPL and its checksum, QFLST, QFDEL."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem.core import commands as c
from modem.core.protocol import Framing

# -- FILE commands ----


def test_qfupl() -> None:
    cmd = c.qfupl("UFS:cacert.pem", 1758)
    assert cmd.encode() == b'AT+QFUPL="UFS:cacert.pem",1758,5\r'
    assert cmd.framing is Framing.CONNECT_PAYLOAD
    assert cmd.payload_len == 1758
    assert cmd.info_prefixes == ("+QFUPL",)
    assert cmd.timeout > 5 + 1758 / 960
    assert (
        c.qfupl("RAM:client_key.pem", 10, timeout=100).encode()
        == b'AT+QFUPL="RAM:client_key.pem",10,100\r'
    )
    assert c.qfupl("ca.pem", 1).encode() == b'AT+QFUPL="ca.pem",1,5\r'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("UFS:ca.pem", 0), "upload size must be in 1-"),
        (("UFS:ca.pem", 10, 0), "upload timeout must be in 1-65535, got 0"),
        (("UFS:ca.pem", 10, 65536), "upload timeout must be in 1-65535, got 65536"),
        (("SD:ca.pem", 10), "must be [UFS:|RAM:]<name>"),
        (("UFS:", 10), "must be [UFS:|RAM:]<name>"),
        (("UFS:dir/ca.pem", 10), "must be [UFS:|RAM:]<name>"),
        (('UFS:c"a.pem', 10), "must be [UFS:|RAM:]<name>"),
        (("UFS:*.pem", 10), "must be [UFS:|RAM:]<name>"),
        (("UFS:" + "a" * 77, 10), "at most 80 characters, got 81"),
    ],
)
def test_qfupl_rejects(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        c.qfupl(*args)


@pytest.mark.parametrize(
    ("data", "checksum"),
    [
        (b"", 0x0000),
        (b"\x12\x34", 0x1234),
        (b"\x12", 0x1200),
        (b"\x12\x34\x56", 0x1234 ^ 0x5600),
        (b"\xff\xff\xff\xff", 0x0000),
        (b"ABCD", 0x4142 ^ 0x4344),
        (b"0123456789", 0x3031 ^ 0x3233 ^ 0x3435 ^ 0x3637 ^ 0x3839),
    ],
)
def test_qfupl_checksum(data: bytes, checksum: int) -> None:
    assert c.qfupl_checksum(data) == checksum


@given(st.binary(max_size=300))
def test_qfupl_checksum_matches_the_forum_reading(data: bytes) -> None:
    # The Quectel forum's reading: 2-byte chunks as big-endian ints, the last one
    # zero-padded, all XORed together.
    acc = 0
    for i in range(0, len(data), 2):
        chunk = data[i : i + 2]
        if len(chunk) == 1:
            chunk += b"\x00"
        acc ^= int.from_bytes(chunk, "big")
    assert c.qfupl_checksum(data) == acc


def test_parse_qfupl() -> None:
    assert c.parse_qfupl("+QFUPL: 1187,2d19") == c.UploadResult(1187, 0x2D19, "2d19")
    assert c.parse_qfupl("+QFUPL: 10,0x613E").checksum == 0x613E
    assert c.parse_qfupl('+QFUPL: 10,"613e"').checksum == 0x613E
    # all-digit: read as the hex the firmware prints, unless it needs to be decimal
    assert c.parse_qfupl("+QFUPL: 10,1234").checksum == 0x1234
    assert c.parse_qfupl("+QFUPL: 10,65535").checksum == 65535
    for bad in (
        "+QFUPL: 10",
        "+QFUPL: 10,xyz",
        "+QFUPL: 10,1ffff",
        "+QFUPL: a,12",
        "+QFUPL: 10,12,3",
    ):
        with pytest.raises(ValueError):
            c.parse_qfupl(bad)


def test_upload_result_matches() -> None:
    data = b"-----BEGIN CERTIFICATE-----\nMIIB\n"
    cs = c.qfupl_checksum(data)
    assert c.parse_qfupl(f"+QFUPL: {len(data)},{cs:x}").matches(data)
    assert c.parse_qfupl(f"+QFUPL: {len(data)},{cs}").matches(data)  # a decimal printer
    assert not c.parse_qfupl(f"+QFUPL: {len(data) - 1},{cs:x}").matches(data)
    assert not c.parse_qfupl(f"+QFUPL: {len(data)},{cs ^ 1:x}").matches(data)


def test_qflst_and_qfdel() -> None:
    assert c.qflst().encode() == b'AT+QFLST="*"\r'
    assert c.qflst("RAM:*").encode() == b'AT+QFLST="RAM:*"\r'
    assert c.qflst().info_prefixes == ("+QFLST",)
    assert c.qfdel("UFS:cacert.pem").encode() == b'AT+QFDEL="UFS:cacert.pem"\r'
    with pytest.raises(ValueError):
        c.qflst('x"')
    with pytest.raises(ValueError):
        c.qfdel("*")


def test_parse_qflst() -> None:
    entry = c.parse_qflst('+QFLST: "cacert.pem",1758')
    assert entry == c.FileEntry("cacert.pem", 1758)
    assert (entry.storage, entry.bare_name) == ("UFS", "cacert.pem")
    ram = c.parse_qflst('+QFLST: "RAM:key.pem",227')
    assert (ram.storage, ram.bare_name, ram.size) == ("RAM", "key.pem", 227)
    for bad in ('+QFLST: "a.pem"', "+QFLST: 12,12", '+QFLST: "",3'):
        with pytest.raises(ValueError):
            c.parse_qflst(bad)


def test_upload_wait_follows_size_and_line_rate() -> None:
    # the host CA bundle (~225 KB) at 115200 baud: 19.5 s on the line, 5 s was not enough
    assert c.upload_wait(225_000, 115200) == 35
    assert c.upload_wait(225_000, 9600) == 357
    assert c.upload_wait(1, 115200) == c.upload_wait(1, 4_000_000) == 6  # the floor
    assert c.upload_wait(225_000, None) == c.upload_wait(225_000, c.DEFAULT_LINE_BAUD)
    assert c.upload_wait(0x7FFFFFFF, 300) == 65535
    with pytest.raises(ValueError, match="line baud"):
        c.upload_wait(10, 100)
