"""Bytes over the serial line, each way, for all of the module's lives.

The channel counts what it writes and reads; the ``Modem`` keeps one
``LineCounts`` for its whole life, so a monitoring system sees totals that
only grow (``proxy.modems.line_meter`` turns them into the line's busy time).
"""

from __future__ import annotations

from dataclasses import dataclass

BITS_PER_BYTE = 10
"""8N1 framing: a start bit, eight data bits, a stop bit."""


@dataclass
class LineCounts:
    """Bytes written to the module and read from it since the driver started."""

    to_module: int = 0
    from_module: int = 0
