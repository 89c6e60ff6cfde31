"""The ``ssl-proxy`` command (placeholder until the proxy issue lands)."""

from __future__ import annotations

import argparse
import sys

from modem import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ssl-proxy",
        description="TLS egress for plain TCP programs through a Quectel LTE module.",
    )
    parser.add_argument("--version", action="version", version=f"ssl-proxy {__version__}")
    parser.parse_args(argv)
    print("ssl-proxy: the proxy service is not built yet", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
