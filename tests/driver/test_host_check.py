"""Bring-up reads ``AT+QSSLCFG=?`` and, on firmware with a host-name check
(the emulator's ``hostname_check``), sets it in every context: on where the
profile asks (``check_host``), off elsewhere (a context keeps what an earlier
run set).  On the manual's firmware nothing is set and nothing is checked."""

from __future__ import annotations

import pytest

from modem.core.profile import TlsProfile
from modem.emulator import Emulator, EmulatorConfig
from tests.driver.conftest import modem_on


@pytest.mark.parametrize("setting", ["checkhost", None])
async def test_bring_up_sets_the_check_per_context(ca, setting):
    named = TlsProfile(cacert=ca.cert_pem.bytes(), check_host=True)
    unnamed = TlsProfile(cacert=ca.cert_pem.bytes(), sni=False)
    async with Emulator.running(EmulatorConfig(hostname_check=setting)) as emu:
        contexts = emu.module.ssl_contexts
        contexts[1].hostname_check = 1  # left on by an earlier run
        async with modem_on(emu.device, named, unnamed) as modem:
            assert ("checkhost" in modem.ssl_settings) is (setting is not None)
            assert "sni" in modem.ssl_settings
            assert modem.name_checked(named) is (setting is not None)
            assert modem.name_checked(unnamed) is False
            assert (await modem.module_info()).ssl_settings == modem.ssl_settings
            if setting is not None:
                assert (contexts[0].hostname_check, contexts[1].hostname_check) == (1, 0)


def test_a_check_without_verification_is_refused():
    with pytest.raises(ValueError, match="check_host needs seclevel 1 or 2"):
        TlsProfile(seclevel=0, check_host=True)
