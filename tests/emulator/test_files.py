"""FILE commands: upload with checksum, listing, deletion, restart keeps UFS only."""

from __future__ import annotations

import pytest

from modem.emulator import Emulator, Fault, qfupl_checksum

from .conftest import BOOT_DONE, Host

PEM = b"-----BEGIN CERTIFICATE-----\r\nOK\r\n> \x1a\x1b\x00\xff" * 20


async def upload(host: Host, name: str, data: bytes) -> bytes:
    await host.send(f'AT+QFUPL="{name}",{len(data)},10\r')
    await host.expect(b"\r\nCONNECT\r\n")
    await host.send(data)
    return await host.read_until(b"OK\r\n")


# Worked by hand from the FILE manual's rule (XOR of big-endian 16-bit words; an
# odd last byte is the high byte of a word whose low byte is 0), not by either
# implementation:
#   12 34 | 56 78 | 9a -> 0x1234 ^ 0x5678 = 0x444c; 0x444c ^ 0x9a00 = 0xde4c
#   "ABC" = 41 42 | 43 -> 0x4142 ^ 0x4300 = 0x0242
CHECKSUMS = [
    (b"", 0x0000),
    (b"\xff", 0xFF00),
    (b"AB", 0x4142),
    (b"ABC", 0x0242),
    (b"\x12\x34\x56\x78\x9a", 0xDE4C),
    (b"\x12\x34\x12\x34", 0x0000),
]


@pytest.mark.parametrize(("data", "checksum"), CHECKSUMS)
def test_the_emulators_checksum_matches_hand_computed_values(data: bytes, checksum: int) -> None:
    assert qfupl_checksum(data) == checksum


async def test_upload_reports_size_and_checksum(emu: Emulator, host: Host) -> None:
    answer = await upload(host, "UFS:small.bin", b"\x12\x34\x56\x78\x9a")
    assert answer == b"\r\n+QFUPL: 5,de4c\r\n\r\nOK\r\n"
    # PEM's unit is 39 bytes (odd): its 20 copies sit alternately at even and odd
    # offsets, ten of each, and ten equal words cancel under XOR.
    answer = await upload(host, "UFS:cacert.pem", PEM)
    assert answer == b"\r\n+QFUPL: %d,0\r\n\r\nOK\r\n" % len(PEM)
    assert emu.files.get("UFS:cacert.pem") == PEM


async def test_listing_and_deleting(host: Host) -> None:
    await upload(host, "UFS:a.pem", b"abc")
    await upload(host, "b.pem", b"12345")
    await upload(host, "RAM:c.pem", b"x")
    assert await host.command('AT+QFLST="*"') == (
        b'\r\n+QFLST: "UFS:a.pem",3\r\n+QFLST: "UFS:b.pem",5\r\n\r\nOK\r\n'
    )
    assert await host.command("AT+QFLST") == (
        b'\r\n+QFLST: "UFS:a.pem",3\r\n+QFLST: "UFS:b.pem",5\r\n\r\nOK\r\n'
    )
    assert await host.command('AT+QFLST="RAM:*"') == b'\r\n+QFLST: "RAM:c.pem",1\r\n\r\nOK\r\n'
    assert await host.command('AT+QFLST="UFS:b.pem"') == (
        b'\r\n+QFLST: "UFS:b.pem",5\r\n\r\nOK\r\n'
    )
    assert await host.command('AT+QFDEL="UFS:a.pem"') == b"\r\nOK\r\n"
    assert await host.command('AT+QFDEL="UFS:a.pem"') == b"\r\n+CME ERROR: 405\r\n"
    assert await host.command('AT+QFDEL="*"') == b"\r\nOK\r\n"
    assert await host.command('AT+QFLST="*"') == b"\r\nOK\r\n"


async def test_existing_file_is_refused_in_each_cmee_mode(host: Host) -> None:
    await upload(host, "UFS:x", b"1")
    command = 'AT+QFUPL="UFS:x",1'
    assert await host.command(command) == b"\r\n+CME ERROR: 407\r\n"
    assert await host.command("AT+CMEE=2") == b"\r\nOK\r\n"
    assert await host.command(command) == b"\r\n+CME ERROR: File already existed\r\n"
    assert await host.command("AT+CMEE=0") == b"\r\nOK\r\n"
    assert await host.command(command) == b"\r\nERROR\r\n"


async def test_upload_timeout_stores_nothing(emu: Emulator, host: Host) -> None:
    await host.send('AT+QFUPL="UFS:slow",10,1\r')
    await host.expect(b"\r\nCONNECT\r\n")
    await host.send(b"12345")
    await host.expect(b"\r\n+CME ERROR: 421\r\n")
    assert not emu.files.exists("UFS:slow")
    assert await host.command("AT") == b"\r\nOK\r\n"


async def test_bad_upload_parameters(host: Host) -> None:
    assert await host.command('AT+QFUPL="UFS:x",0') == b"\r\nERROR\r\n"
    assert await host.command("AT+QFUPL=UFS,1") == b"\r\nERROR\r\n"
    assert await host.command('AT+QFUPL="NVM:x",1') == b"\r\n+CME ERROR: 406\r\n"


async def test_restart_keeps_ufs_and_loses_ram(emu: Emulator, host: Host) -> None:
    await upload(host, "UFS:keep.pem", b"keep")
    await upload(host, "RAM:lose.pem", b"lose")
    await emu.inject(Fault.restart())
    await host.read_until(BOOT_DONE)
    await host.send('AT+QFLST="*"\r')
    await host.expect(b'AT+QFLST="*"\r\r\n+QFLST: "UFS:keep.pem",4\r\n\r\nOK\r\n')
    await host.send('AT+QFLST="RAM:*"\r')
    await host.expect(b'AT+QFLST="RAM:*"\r\r\nOK\r\n')
