"""The benchmark's own defaults (``tests/benchmarks``; docs/benchmarks.md).

The benchmarks are not tests, but the access mode they name in each record
must be right: the mode the benchmark reports for "the proxy's default" is
the one the settings table declares.
"""

from __future__ import annotations

from proxy.config.settings import SETTINGS
from tests.benchmarks.access_modes import default_mode, proxy_mode


def test_the_benchmark_follows_the_proxys_default_access_mode() -> None:
    assert default_mode() == str(SETTINGS.default("access-mode"))
    mode = proxy_mode(None)
    assert (mode.name, mode.args, mode.default) == (default_mode(), (), True)
    assert proxy_mode("buffer").args == ("--access-mode", "buffer")
