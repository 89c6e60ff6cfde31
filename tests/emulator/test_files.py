"""FILE commands: upload with checksum, listing, deletion, restart keeps UFS only."""

from __future__ import annotations

from modem.commands import qfupl_checksum
from modem.emulator import Emulator, Fault

from .conftest import BOOT_DONE, Host

PEM = b"-----BEGIN CERTIFICATE-----\r\nOK\r\n> \x1a\x1b\x00\xff" * 20


async def upload(host: Host, name: str, data: bytes) -> bytes:
    await host.send(f'AT+QFUPL="{name}",{len(data)},10\r')
    await host.expect(b"\r\nCONNECT\r\n")
    await host.send(data)
    return await host.read_until(b"OK\r\n")


async def test_upload_reports_size_and_checksum(emu: Emulator, host: Host) -> None:
    answer = await upload(host, "UFS:cacert.pem", PEM)
    assert answer == b"\r\n+QFUPL: %d,%x\r\n\r\nOK\r\n" % (len(PEM), qfupl_checksum(PEM))
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
