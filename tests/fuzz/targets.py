"""``--target at|mux``: which fuzz target a command line asks for (atheris and the replayer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def pick_target(args: Sequence[str], targets: Mapping[str, object]) -> tuple[str, list[str]]:
    """The target named by ``--target NAME`` or ``--target=NAME`` (default ``at``), and
    the other arguments; ``SystemExit`` for a name not in ``targets``."""
    rest, target = list(args), "at"
    for i, arg in enumerate(rest):
        if arg == "--target" and i + 1 < len(rest):
            target = rest[i + 1]
            del rest[i:i + 2]
            break
        if arg.startswith("--target="):
            target = arg.partition("=")[2]
            del rest[i]
            break
    if target not in targets:
        raise SystemExit(f"--target must be one of {', '.join(targets)}, not {target!r}")
    return target, rest
