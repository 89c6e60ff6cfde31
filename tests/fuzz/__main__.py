"""Coverage-guided fuzzing of the protocol layer with atheris (``tox -e fuzz``).

    python -m tests.fuzz [-max_total_time=S] [-runs=N] [libFuzzer flags...] [CORPUS_DIR]

The target is ``protocol_session.run_session``: a crash is a
``SessionViolation`` (an exception other than the protocol's own error
type, an unbounded buffer) or any other exception; ``-timeout`` turns a
hang into a crash and ``-rss_limit_mb`` unbounded memory.  The seed corpus
is the golden transcripts (``tests/unit/transcripts.py``), written to a
temporary directory unless a corpus directory is given.  Defaults:
``-max_total_time=300 -timeout=5 -rss_limit_mb=1024``.  libFuzzer ends with
``Done N runs in S second(s)`` (no crash, exit status 0); a crash prints
the traceback, saves the input as ``crash-<sha1>`` in the working directory
and exits non-zero.  Replay a saved input with ``python -m tests.fuzz.replay FILE``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["modem"]):
    from modem.core import commands, errors, events, protocol  # noqa: F401

from .protocol_session import TRANSCRIPT_BYTES, run_session  # noqa: E402


def test_one_input(data: bytes) -> None:
    run_session(data)


def seed_corpus(directory: Path) -> None:
    """One seed per golden transcript: "receive transcript i whole", then recover."""
    for i in range(len(TRANSCRIPT_BYTES)):
        (directory / f"transcript-{i:02d}").write_bytes(bytes([5, i, 0, 0, 0, 0, 0, 8]))


def main(argv: list[str]) -> None:
    flags = [a for a in argv[1:] if a.startswith("-")]
    dirs = [a for a in argv[1:] if not a.startswith("-")]
    defaults = {"-max_total_time": "300", "-timeout": "5", "-rss_limit_mb": "1024"}
    for name, value in defaults.items():
        if not any(f.startswith(name + "=") for f in flags):
            flags.append(f"{name}={value}")
    if not dirs:
        corpus = Path(tempfile.mkdtemp(prefix="fuzz-corpus-"))
        seed_corpus(corpus)
        dirs = [str(corpus)]
    else:
        for d in dirs:
            Path(d).mkdir(parents=True, exist_ok=True)
            if not any(Path(d).iterdir()):
                seed_corpus(Path(d))
    atheris.Setup([argv[0], *flags, *dirs], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)

