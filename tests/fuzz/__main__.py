"""Coverage-guided fuzzing of the protocol layers with atheris (``tox -e fuzz``).

    python -m tests.fuzz [--target at|mux] [-max_total_time=S] [-runs=N] [libFuzzer flags...]
                         [CORPUS_DIR]

``--target at`` (the default) fuzzes the AT protocol, ``--target mux`` the
07.10 multiplexer (``mux_session.run_mux_session``, seeded with the golden
frames of ``tests/unit/mux/vectors.py``: same contract, its own checks).
The AT target is ``protocol_session.run_session``: a crash is a
``SessionViolation`` (an exception other than the protocol's own error
type, an unbounded buffer) or any other exception; ``-timeout`` turns a
hang into a crash and ``-rss_limit_mb`` unbounded memory.  The seed corpus
is the golden transcripts (``tests/unit/transcripts.py``), written to a
temporary directory unless a corpus directory is given.  Defaults:
``-max_total_time=300 -timeout=5 -rss_limit_mb=1024``.  libFuzzer ends with
``Done N runs in S second(s)`` (no crash, exit status 0); a crash prints
the traceback, saves the input as ``crash-<sha1>`` in the working directory
and exits non-zero.  Replay a saved input with
``python -m tests.fuzz.replay [--target mux] FILE``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["modem"]):
    from modem.core import commands, errors, events, mux, protocol  # noqa: F401

from .mux_session import GOLDEN, run_mux_session  # noqa: E402
from .protocol_session import TRANSCRIPT_BYTES, run_session  # noqa: E402
from .targets import pick_target  # noqa: E402


def seed_at(directory: Path) -> None:
    """One seed per golden transcript: "receive transcript i whole", then recover."""
    for i in range(len(TRANSCRIPT_BYTES)):
        (directory / f"transcript-{i:02d}").write_bytes(bytes([5, i, 0, 0, 0, 0, 0, 8]))


def seed_mux(directory: Path) -> None:
    """One seed per golden frame: start, the module's UA, open DLC 1, then the frame."""
    start = bytes([0, 0, 9, 1, 0, 0, 1, 0, 9, 1, 1, 0])
    for i, frame in enumerate(GOLDEN):
        even = frame + b"\xf9" * (len(frame) % 2)  # op 8 takes bytes in pairs; a flag is harmless
        (directory / f"frame-{i:02d}").write_bytes(start + bytes([8, len(even) // 2]) + even
                                                   + bytes([15]))


TARGETS = {"at": (run_session, seed_at), "mux": (run_mux_session, seed_mux)}


def main(argv: list[str]) -> None:
    target, args = pick_target(argv[1:], TARGETS)
    run, seed_corpus = TARGETS[target]
    flags = [a for a in args if a.startswith("-")]
    dirs = [a for a in args if not a.startswith("-")]
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
    atheris.Setup([argv[0], *flags, *dirs], run)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)

