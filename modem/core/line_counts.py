"""Bytes over the serial line, each way, for all of the module's lives.

The channel counts what it writes and reads; the ``Modem`` keeps one
``LineCounts`` for its whole life, so a monitoring system sees totals that
only grow (``proxy.ops.metrics`` turns them into the line's busy time).
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

    def busy_seconds(self, baud: int) -> tuple[float, float]:
        """How long the line was busy each way (to, from) at ``baud`` bits/s, 8N1."""
        return (self.to_module * BITS_PER_BYTE / baud,
                self.from_module * BITS_PER_BYTE / baud)
