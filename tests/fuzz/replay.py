"""``python -m tests.fuzz.replay [--target at|mux] FILE...``: run saved fuzz inputs
(e.g. libFuzzer's crash-*) through the AT target (default) or the multiplexer's."""

from __future__ import annotations

import sys
from pathlib import Path

from .mux_session import run_mux_session
from .protocol_session import run_session
from .targets import pick_target

TARGETS = {"at": run_session, "mux": run_mux_session}

if __name__ == "__main__":
    target, files = pick_target(sys.argv[1:], TARGETS)
    for name in files:
        TARGETS[target](Path(name).read_bytes())
        print(f"{name}: ok")
