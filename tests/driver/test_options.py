"""``ModemOptions``: the keywords of ``Modem.open`` and ``Modem``, checked before anything opens."""

from __future__ import annotations

import pytest
import trio

from modem.driver import AccessMode, Modem, ModemOptions, PdpSettings


async def never_opened() -> trio.abc.Stream:
    raise AssertionError("the device was opened")


async def test_the_keywords_become_the_modems_options():
    modem = Modem(never_opened, PdpSettings(), [], ready_timeout=2.0,
                  access_mode=AccessMode.PUSH, push_limit=4096)
    assert modem.options == ModemOptions(ready_timeout=2.0, access_mode=AccessMode.PUSH,
                                         push_limit=4096)
    assert modem.options.send_stall_timeout == ModemOptions().send_stall_timeout


async def test_an_unknown_keyword_is_refused_before_anything_opens():
    with pytest.raises(TypeError, match="ready_timout"):
        async with Modem.open(never_opened, ready_timout=2.0):
            pass


async def test_a_push_limit_under_a_byte_is_refused_before_anything_opens():
    with pytest.raises(ValueError, match="push limit"):
        async with Modem.open(never_opened, access_mode=AccessMode.PUSH, push_limit=0):
            pass
