"""``python -m tests.soak --minutes N --seed S [--json PATH]``: run the soak.

Prints a summary; exit status 0 when every check held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import trio

from .harness import SoakConfig, run_soak, summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    p.add_argument("--minutes", type=float, default=1.0, help="minutes of load (default 1)")
    p.add_argument("--seed", type=int, default=1, help="seed of every random choice")
    p.add_argument("--json", type=Path, metavar="PATH", help="write the report here")
    p.add_argument("--concurrency", type=int, default=16, help="client loops (default 16)")
    p.add_argument("--max-size", type=int, default=256 * 1024, help="largest payload, bytes")
    p.add_argument("--fault-gap", type=float, default=4.0,
                   help="mean seconds between injected faults (default 4)")
    p.add_argument("--baud", type=int, default=0, help="emulated line rate (0: unpaced)")
    p.add_argument("--log", type=Path, metavar="PATH", help="append the proxy's log here")
    p.add_argument("--access-mode", choices=["buffer", "push"], default="push",
                   help="the proxy's --access-mode (default push, as the proxy's)")
    p.add_argument("--plain-firmware", action="store_true",
                   help="the emulator's helpful orders only (default: every adverse one)")
    p.add_argument("--channels", choices=["single", "cmux", "ports", "auto"], default="single",
                   help="the proxy's --channels (default single, as the proxy's); the "
                        "emulator offers what it needs, and cmux adds the mux faults")
    args = p.parse_args(argv)
    config = SoakConfig(minutes=args.minutes, seed=args.seed, concurrency=args.concurrency,
                        max_size=args.max_size, fault_gap=args.fault_gap, baud=args.baud,
                        log_path=args.log, access_mode=args.access_mode,
                        adverse_firmware=not args.plain_firmware, channels=args.channels)
    report = trio.run(run_soak, config)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
