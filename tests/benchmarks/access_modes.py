"""Which access mode the benchmarked proxy runs in, and the flags that select it.

With no ``--access-modes`` the benchmark passes no ``--access-mode`` at all,
so it measures whatever the proxy's default is today; the records still name
the mode, read from the proxy's own ``--help`` (``(default: push)``, from the
settings table).  A proxy without the flag (before issue 15 item 2) runs
buffer mode only.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from dataclasses import dataclass

ACCESS_MODES = ("buffer", "push")
FLAG = "--access-mode"
_OPTION = re.compile(rf"^ +{FLAG}\b", re.MULTILINE)  # its entry, not the usage line
_DEFAULT = re.compile(r"\(default: ([\w-]+)\)")


@dataclass(frozen=True)
class ProxyMode:
    """``name``: the mode the proxy runs; ``args``: its flags for it (none for
    its default); ``default``: True when the proxy chose the mode itself."""

    name: str
    args: tuple[str, ...]
    default: bool


@functools.cache
def _help(program: str) -> str:
    return subprocess.run([sys.executable, "-m", program, "--help"], capture_output=True,
                          text=True, check=False).stdout


def default_mode(program: str = "proxy.cli") -> str:
    """The access mode ``program`` runs when given no ``--access-mode``.

    ValueError when its ``--help`` lists the flag without a default.
    """
    text = _help(program)
    option = _OPTION.search(text)
    if not option:
        return "buffer"
    # The flag's help runs to the next option; argparse may wrap "(default: X)".
    block = re.split(r"\n {2}-|\n\n", text[option.end():], maxsplit=1)[0]
    found = _DEFAULT.search(" ".join(block.split()))
    if not found:
        raise ValueError(f"cannot read the default of {FLAG} from `python -m {program} "
                         "--help`; name the modes with --access-modes buffer,push")
    return found[1]


def proxy_mode(requested: str | None, program: str = "proxy.cli") -> ProxyMode:
    """The proxy's flags for ``requested`` (None: its own default).

    ValueError when the proxy cannot run that mode.
    """
    if requested is None:
        return ProxyMode(default_mode(program), (), True)
    if _OPTION.search(_help(program)):
        return ProxyMode(requested, (FLAG, requested), False)
    if requested == "buffer":
        return ProxyMode("buffer", (), False)
    raise ValueError(f"this ssl-proxy has no {FLAG}, so it cannot run {requested} mode "
                     "(merge issue 15 item 2 first, or use --access-modes buffer)")
