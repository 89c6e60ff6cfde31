"""Fixtures of the proxy tests.

* ``emulator``: an emulated module on a pty, resolving ``NAMES`` to 127.0.0.1
  (a test module that needs other names has its own);
* ``_restore_logging`` (autouse): ``setup_logging`` (run by ``main()`` and the
  runner) does not leak into other tests.

The helpers (``start_proxy``, ``connect``, ...) are in ``tests/proxy_helpers.py``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from modem.emulator import Emulator, EmulatorConfig

NAMES = ("echo.test", "other.test", "source.test")
_LOGGERS = ("", "proxy", "modem", "modem.at")


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    config = EmulatorConfig(resolve=dict.fromkeys(NAMES, "127.0.0.1"), real_dns=False)
    async with Emulator.running(config) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers))
             for name in _LOGGERS}
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
