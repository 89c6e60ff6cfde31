"""Keep ``setup_logging`` (run by ``main()`` and the runner) from leaking into other tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

_LOGGERS = ("", "proxy", "modem", "modem.at")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers))
             for name in _LOGGERS}
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
