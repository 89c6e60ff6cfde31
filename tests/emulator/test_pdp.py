"""PDP contexts: the manual's chapter 3.1 examples and the error paths."""

from __future__ import annotations

import pytest

from modem.emulator import EmulatorConfig

from .conftest import Host, emulator_host


async def test_chapter_3_1_configure_activate_deactivate(host: Host) -> None:
    assert await host.command('AT+QICSGP=1,1,"UNINET","","",1') == b"\r\nOK\r\n"
    assert await host.command("AT+QIACT=1") == b"\r\nOK\r\n"
    assert await host.command("AT+QIACT?") == b'\r\n+QIACT: 1,1,1,"10.7.157.1"\r\n\r\nOK\r\n'
    assert await host.command("AT+QIDEACT=1") == b"\r\nOK\r\n"
    assert await host.command("AT+QIACT?") == b"\r\nOK\r\n"


async def test_qicsgp_query_shows_the_settings(host: Host) -> None:
    assert await host.command('AT+QICSGP=2,1,"internet","me","pw",2') == b"\r\nOK\r\n"
    assert await host.command("AT+QICSGP=2") == (
        b'\r\n+QICSGP: 1,"internet","me","pw",2\r\n\r\nOK\r\n'
    )


async def test_several_active_contexts_are_listed(host: Host) -> None:
    assert await host.command("AT+QIACT=1") == b"\r\nOK\r\n"
    assert await host.command("AT+QIACT=3") == b"\r\nOK\r\n"
    assert await host.command("AT+QIACT?") == (
        b'\r\n+QIACT: 1,1,1,"10.7.157.1"\r\n+QIACT: 3,1,1,"10.7.157.3"\r\n\r\nOK\r\n'
    )


async def test_bad_apn_fails_with_561(host: Host) -> None:
    assert await host.command('AT+QICSGP=1,1,"bad","","",1') == b"\r\nOK\r\n"
    assert await host.command("AT+QIACT=1") == b"\r\nERROR\r\n"
    assert await host.command("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 561,Open PDP context failed\r\n\r\nOK\r\n"
    )


async def test_activating_an_active_context_fails(host: Host) -> None:
    assert await host.command("AT+QIACT=1") == b"\r\nOK\r\n"
    assert await host.command("AT+QIACT=1") == b"\r\nERROR\r\n"


@pytest.mark.parametrize("command", ["AT+QIACT=0", "AT+QIACT=17", "AT+QICSGP=1,4", "AT+QIDEACT=x"])
async def test_out_of_range_context_parameters(host: Host, command: str) -> None:
    assert await host.command(command) == b"\r\nERROR\r\n"
    assert await host.command("AT+QIGETERROR") == (
        b"\r\n+QIGETERROR: 552,Invalid parameter\r\n\r\nOK\r\n"
    )


async def test_dns_configuration(host: Host) -> None:
    assert await host.command('AT+QIDNSCFG=1,"1.1.1.1","9.9.9.9"') == b"\r\nOK\r\n"
    assert await host.command("AT+QIDNSCFG=1") == (
        b'\r\n+QIDNSCFG: 1,"1.1.1.1","9.9.9.9"\r\n\r\nOK\r\n'
    )


async def test_auto_pdp_activates_context_1_at_boot() -> None:
    async with emulator_host(EmulatorConfig(auto_pdp=True)) as (_, host):
        await host.send("AT+QIACT?\r")
        await host.expect(b'AT+QIACT?\r\r\n+QIACT: 1,1,1,"10.7.157.1"\r\n\r\nOK\r\n')
