"""``ModemOptions``: what ``Modem.open`` and ``Modem`` run with, checked before anything opens."""

from __future__ import annotations

import pytest
import trio

from modem.driver import AccessMode, Modem, ModemOptions, PdpSettings


async def never_opened() -> trio.abc.Stream:
    raise AssertionError("the device was opened")


async def test_the_given_options_are_the_modems():
    modem = Modem(
        never_opened,
        PdpSettings(),
        [],
        options=ModemOptions(ready_timeout=2.0, access_mode=AccessMode.PUSH, push_limit=4096),
    )
    assert modem.options == ModemOptions(ready_timeout=2.0, access_mode=AccessMode.PUSH,
                                         push_limit=4096)
    assert modem.options.send_stall_timeout == ModemOptions().send_stall_timeout


async def test_no_options_means_the_production_defaults():
    modem = Modem(never_opened, PdpSettings(), [])
    assert modem.options == ModemOptions()
    assert modem.options.access_mode is AccessMode.BUFFER


async def test_a_push_limit_under_a_byte_is_refused_before_anything_opens():
    with pytest.raises(ValueError, match="push limit"):
        async with Modem.open(
            never_opened, options=ModemOptions(access_mode=AccessMode.PUSH, push_limit=0)
        ):
            pass
