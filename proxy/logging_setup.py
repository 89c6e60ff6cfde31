"""Structured logging: a short message, then ``key=value`` pairs.

Code logs with the standard ``logging`` module and passes its fields as
``extra=kv(...)``::

    log.info("closed", extra=kv(conn=7, id=3, reason="remote closed"))
    # 2024-05-01 12:00:00,000 INFO proxy.connection: closed conn=7 id=3 reason="remote closed"

Levels: quiet by default (warnings and errors, plus ``NOTICE`` lines such
as "listening on ..."), ``-v`` adds ``INFO`` (each connection's life),
``-vv`` ``DEBUG``; ``--trace-at`` lets the driver's AT traffic
(``modem.at``, DEBUG) through.  Nothing secret is ever passed as a field.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

from .modem_names import ModemNameFilter

NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")

_FIELDS = "kv_fields"


def kv(**fields: Any) -> dict[str, Any]:
    """The ``extra=`` argument that carries ``fields`` to the formatter."""
    return {_FIELDS: fields}


def _quote(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\\') or not text.isprintable():
        return json.dumps(text)
    return text


class KeyValueFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message> k=v k2="v 2"``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, _FIELDS, None)
        if fields:
            pairs = " ".join(f"{k}={_quote(v)}" for k, v in fields.items() if v is not None)
            first, newline, rest = line.partition("\n")  # a traceback follows the first line
            if pairs:
                line = f"{first} {pairs}{newline}{rest}"
        return line


class _ProxyHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler ``setup_logging`` installed, so a second call replaces it."""


def setup_logging(verbose: int = 0, trace_at: bool = False,
                  stream: TextIO | None = None) -> None:
    """Send ``proxy`` and ``modem`` logs to ``stream`` (stderr) at the chosen levels."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _ProxyHandler):
            root.removeHandler(handler)
    handler = _ProxyHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(ModemNameFilter())  # modem=<name> with several modems
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    proxy_level = {0: NOTICE, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.getLogger("proxy").setLevel(proxy_level)
    logging.getLogger("modem").setLevel(proxy_level if verbose else logging.WARNING)
    # The driver logs the AT traffic at DEBUG on "modem.at" when trace_at is set.
    logging.getLogger("modem.at").setLevel(logging.DEBUG if trace_at else logging.NOTSET)
