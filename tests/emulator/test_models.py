"""The family presets (``EmulatorConfig.model``): identity, boot line, QSSLCFG settings."""

from __future__ import annotations

import pytest

from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.models import MODELS

from .conftest import Host


@pytest.mark.parametrize("model", ["bg95", "eg25-g", "ec25"])
async def test_a_preset_shows_its_identity_boot_line_and_ssl_settings(model):
    preset = MODELS[model]
    async with Emulator.running(EmulatorConfig(model=model)) as emulator:
        host = Host.open(emulator.device)
        try:
            await emulator.wait_booted()
            boot = await host.read_exact(len(preset.boot_line) + 4)
            assert boot == b"\r\n" + preset.boot_line + b"\r\n"
            ati = await host.command("ATI")
            assert f"{preset.model}\r\nRevision: {preset.revision}".encode() in ati
            assert b"AT+CGMR\r\r\n" + preset.revision.encode() in await host.command("AT+CGMR")
            test = await host.command("AT+QSSLCFG=?")
            assert (b'"checkhost"' in test) is (model == "bg95")
            assert (b'"alpn"' in test) is (model == "eg25-g")  # the EG25-G's own answer
        finally:
            await host.aclose()


def test_an_unknown_model_is_refused():
    with pytest.raises(ValueError, match="model must be one of ec25, eg25-g"):
        EmulatorConfig(model="sim7600")
