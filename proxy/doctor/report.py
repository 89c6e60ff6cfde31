"""What ``ssl-proxy doctor`` prints and writes: one line per check, and the transcript.

A check's line is ``PASS|FAIL|SKIP  <check>  <what was found>[: <what to do>]``
(a check that failed with an error, ``failed``, shows it as
``modem.core.errors.render`` words it: what failed and the error's hint);
the transcript (``--transcript``) holds the same lines, the options and the
whole AT exchange, with secrets redacted (``modem.core.redaction``): the file to
attach to a bug report.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from modem.core.errors import ExplainedError, render
from modem.core.redaction import redact
from proxy.logging_setup import KeyValueFormatter
from proxy.modems.names import ModemNameFilter


class Outcome(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"  # not run: an earlier check failed, or nothing to check with


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, the outcome, what was found and (failing) what to do."""

    name: str
    outcome: Outcome
    found: str
    advice: str = ""

    def line(self) -> str:
        text = f"{self.outcome.value}  {self.name:<12}  {self.found}"
        return f"{text}: {self.advice}" if self.advice else text


def failed(name: str, exc: ExplainedError, advice: str = "") -> CheckResult:
    """The check ``name`` failed with ``exc``: found is the error as ``render``
    words it (with its hint); ``advice`` is for an error without a hint."""
    return CheckResult(name, Outcome.FAIL, render(exc), "" if exc.hint else advice)


class _Redacted(KeyValueFormatter):
    """The proxy's text form (a line's fields after its message), secrets redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class Report:
    """Collects the results; prints each line at once to ``out``; keeps the transcript."""

    def __init__(self, out: TextIO, transcript: Path | None) -> None:
        self.results: list[CheckResult] = []
        self._out = out
        self._transcript_path = transcript
        self._lines: list[str] = []
        self._started = time.monotonic()

    def note(self, text: str) -> None:
        """A line for the transcript only (options, the tool's version)."""
        self._lines.append(redact(text))

    def add(self, result: CheckResult) -> CheckResult:
        self.results.append(result)
        print(result.line(), file=self._out, flush=True)
        self._lines.append(f"{self._elapsed()} == {result.line()}")
        return result

    @property
    def passed(self) -> bool:
        return all(r.outcome is not Outcome.FAIL for r in self.results)

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self._started:8.3f}"

    @contextmanager
    def capturing(self) -> Iterator[None]:
        """The driver's logs (``modem.*``, the AT trace included) go to the
        transcript, not to stderr, while the checks run."""
        report = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                report._lines.append(f"{report._elapsed()} {self.format(record)}")

        handler = Handler(logging.DEBUG)
        handler.setFormatter(_Redacted(timestamps=False))
        handler.addFilter(ModemNameFilter())
        logger = logging.getLogger("modem")
        saved = (logger.level, logger.propagate)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]

    def write_transcript(self) -> Path | None:
        """Write the transcript file (if asked for); its path."""
        if self._transcript_path is None:
            return None
        summary = "all checks passed" if self.passed else "some checks failed"
        self._transcript_path.write_text("\n".join([*self._lines, f"== {summary}", ""]),
                                         encoding="utf-8")
        return self._transcript_path
