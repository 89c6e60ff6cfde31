"""Structured logging: a short message, then ``key=value`` pairs.

Code logs with the standard ``logging`` module and passes its fields as
``extra=kv(...)``::

    log.info("closed", extra=kv(conn=7, id=3, reason="remote closed"))
    # 2024-05-01 12:00:00,000 INFO proxy.connection: closed conn=7 id=3 reason="remote closed"

Levels: quiet by default (warnings and errors, plus ``NOTICE`` lines such
as "listening on ..."), ``-v`` adds ``INFO`` (each connection's life),
``-vv`` ``DEBUG``; ``--trace-at`` lets the driver's AT traffic
(``modem.at``, DEBUG) through.  Nothing secret is ever passed as a field.

``--log-format json`` writes one JSON object per line with the same
content: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, then
the fields (numbers stay numbers), and ``traceback`` when there is one.
Under systemd (``$JOURNAL_STREAM`` names our stderr, systemd.exec(5)) the
text form leaves the timestamp out: the journal stamps every line itself;
and every line, in either form, starts with its syslog priority (``<4>``
for a warning, ``<3>`` an error, ``JOURNAL_PRIORITIES``), which the journal
reads and strips (``SyslogLevelPrefix=``, on by default), so ``journalctl
-p warning`` finds the warnings.

The fields come from ``modem.core.log_fields.kv`` (re-exported here), so
the driver's lines (``modem.*``) carry theirs the same way.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from modem.core.log_fields import FIELDS_ATTRIBUTE, kv
from proxy.modems.names import ModemNameFilter

__all__ = ["JOURNAL_PRIORITIES", "NOTICE", "JournalPrefix", "JsonFormatter", "KeyValueFormatter",
           "LogFormat", "journal_priority", "journal_stream", "kv", "setup_logging"]

NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")

JOURNAL_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (NOTICE, 5),
                      (logging.INFO, 6))
"""syslog(3) priorities by level: the first whose level a record reaches; 7 (debug) below."""


class LogFormat(enum.StrEnum):
    """``--log-format``: how each record is written."""

    TEXT = "text"
    """``KeyValueFormatter``: a message, then ``key=value`` fields."""
    JSON = "json"
    """``JsonFormatter``: one JSON object per line."""


def _quote(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\\') or not text.isprintable():
        return json.dumps(text)
    return text


class KeyValueFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message> k=v k2="v 2"`` (no time: ``timestamps=False``)."""

    def __init__(self, timestamps: bool = True) -> None:
        super().__init__(("%(asctime)s " if timestamps else "")
                         + "%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, FIELDS_ATTRIBUTE, None)
        if fields:
            pairs = " ".join(f"{k}={_quote(v)}" for k, v in fields.items() if v is not None)
            first, newline, rest = line.partition("\n")  # a traceback follows the first line
            if pairs:
                line = f"{first} {pairs}{newline}{rest}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the fields."""

    _BASE = ("time", "level", "logger", "message", "traceback")

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in (getattr(record, FIELDS_ATTRIBUTE, None) or {}).items():
            if value is None:
                continue
            plain = isinstance(value, int | float | bool | str)
            out[f"{key}_" if key in self._BASE else key] = value if plain else str(value)
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def journal_stream(stream: TextIO) -> bool:
    """Whether ``stream`` is systemd's journal (``$JOURNAL_STREAM`` is its ``dev:inode``)."""
    expected = os.environ.get("JOURNAL_STREAM")
    if not expected:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


def journal_priority(level: int) -> int:
    """The syslog priority of a record at ``level`` (``JOURNAL_PRIORITIES``)."""
    return next((priority for least, priority in JOURNAL_PRIORITIES if level >= least), 7)


class JournalPrefix(logging.Formatter):
    """``inner``'s lines, each (a traceback's too) led by the record's ``<N>`` priority."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{journal_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in self.inner.format(record).split("\n"))


class _ProxyHandler(logging.StreamHandler[TextIO]):
    """Marks the handler ``setup_logging`` installed, so a second call replaces it."""


def setup_logging(verbose: int = 0, trace_at: bool = False,
                  stream: TextIO | None = None, log_format: str = LogFormat.TEXT) -> None:
    """Send ``proxy`` and ``modem`` logs to ``stream`` (stderr) at the chosen
    levels, as ``log_format`` (a ``LogFormat``) says."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _ProxyHandler):
            root.removeHandler(handler)
    out = stream if stream is not None else sys.stderr
    journal = journal_stream(out)
    formatter: logging.Formatter = (JsonFormatter() if log_format == LogFormat.JSON
                                    else KeyValueFormatter(timestamps=not journal))
    handler = _ProxyHandler(out)
    handler.setFormatter(JournalPrefix(formatter) if journal else formatter)
    handler.addFilter(ModemNameFilter())  # modem=<name> in a module's tasks
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    proxy_level = {0: NOTICE, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.getLogger("proxy").setLevel(proxy_level)
    logging.getLogger("modem").setLevel(proxy_level if verbose else logging.WARNING)
    # The driver logs the AT traffic at DEBUG on "modem.at" when trace_at is set.
    logging.getLogger("modem.at").setLevel(logging.DEBUG if trace_at else logging.NOTSET)
