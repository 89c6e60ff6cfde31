"""``python -m tests.fuzz.replay FILE...``: run saved fuzz inputs (e.g. libFuzzer's crash-*)."""

from __future__ import annotations

import sys
from pathlib import Path

from .protocol_session import run_session

if __name__ == "__main__":
    for name in sys.argv[1:]:
        run_session(Path(name).read_bytes())
        print(f"{name}: ok")
