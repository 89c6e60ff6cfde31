"""The seam between transparent-mode sockets and whoever owns the module's channels.

``DedicatedChannels`` lends an ``AtChannel`` taken out of the data rotation
to one socket for a transparent-mode session (manual 1.3: the port "enters
exclusive mode") and takes it back.  ``TransparentOptions`` are the
session's timings.  The channel set of ``--channels`` implements the
protocol; tests implement it with a second emulator port.

Contract of a lent channel:

* its reader task runs (its owner's), with echo off, and its URCs go to the
  module's URC router; nobody else sends on it until it is given back;
* it is given back in command mode with its line in step, or broken
  (``channel.failure`` set: its line may still be in data mode, or its
  lines may be a server's bytes): the owner then builds it anew.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from modem.link.channel import AtChannel

__all__ = ["ESCAPE_GUARD", "DedicatedChannels", "LifeChannels", "TransparentOptions"]

ESCAPE_GUARD = 1.0
"""Seconds of silence before and after ``+++`` (manual 1.3)."""


class DedicatedChannels(Protocol):
    """Channels a socket may take for transparent mode (see the module docstring)."""

    def borrow(self) -> AtChannel | None:
        """A channel out of the data rotation, or None when none is free."""
        ...

    def give_back(self, channel: AtChannel) -> None:
        """``channel`` returns: in command mode and in step, or broken."""
        ...


class ChannelLender(Protocol):
    """What lends channels in one module life (``modem.channels.ChannelSet``)."""

    def borrow_dedicated(self) -> AtChannel | None: ...

    def give_back(self, channel: AtChannel) -> None: ...


class LifeChannels:
    """``DedicatedChannels`` over whatever channels the module's serving life has
    (``current()``: None between lives, when nothing is lent).  A channel of an
    earlier life given back is ignored: that life's channels are gone."""

    def __init__(self, current: Callable[[], ChannelLender | None]) -> None:
        self._current = current

    def borrow(self) -> AtChannel | None:
        lender = self._current()
        return None if lender is None else lender.borrow_dedicated()

    def give_back(self, channel: AtChannel) -> None:
        lender = self._current()
        if lender is not None:
            lender.give_back(channel)


@dataclass(frozen=True)
class TransparentOptions:
    """How a transparent session runs.

    ``guard``: the escape's guard time (manual 1.3: 1 s; a module may be set
    otherwise, the emulator's ``escape_guard``).  ``line_rate``: the lent
    channel's line in bytes per second when known: sends then stay within
    ``lead`` seconds of the line, so little is ever in flight (bytes in
    flight when the module leaves data mode on its own reach it as command
    text) and the silence before ``+++`` is counted from when the last byte
    is on the line; None (a USB port): unpaced.  ``inbox_limit``: received
    bytes held for a reader that lags before the line is no longer read (the
    module's buffer, then the server's TCP window, take over).
    ``carry_limit``: bytes a switch may take from the socket's buffered mode
    before it gives up for now (a download that never lets the buffer show
    empty).
    """

    guard: float = ESCAPE_GUARD
    line_rate: float | None = None
    lead: float = 0.02
    inbox_limit: int = 65536
    carry_limit: int = 65536
