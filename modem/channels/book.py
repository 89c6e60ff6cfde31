"""``ChannelBook``: what the channels did across the module's lives, for the
status page, ``/metrics`` and ``ssl-proxy doctor``.

Every counter only grows (a monitoring system sees totals across lives):
per channel name (``DLC 2``, ``usbmodem``, ``line``) the payload bytes each
way and, on DLCs, the data frames; the multiplexer's bad frames (FCS
errors and broken framing) of every life; the lives by kind; and each
fallback to one channel by its reason.  ``kind``, ``fallback`` and
``current`` describe the life that serves now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from modem.core.channel_plan import ChannelKind, ChannelMode
from modem.core.line_counts import LineCounts
from modem.core.mux import MuxCounters

__all__ = ["ChannelBook", "ChannelCounts"]


class FrameCounter(Protocol):
    """A DLC's frame counts this life (``DlcStream``)."""

    frames_sent: int
    frames_received: int


@dataclass
class ChannelCounts:
    """One channel's traffic across lives: ``lines`` (payload bytes each way)
    and, for a DLC, its data frames each way (the live DLC's too)."""

    name: str
    kind: ChannelKind
    lines: LineCounts = field(default_factory=LineCounts)
    frames_before: tuple[int, int] = (0, 0)  # to, from the module: lives ended
    live: FrameCounter | None = None

    def follow(self, dlc: FrameCounter) -> None:
        """Count ``dlc``'s frames from now on (this life's DLC of that name)."""
        self.unfollow()
        self.live = dlc

    def unfollow(self) -> None:
        self.frames_before = (self.frames_to_module, self.frames_from_module)
        self.live = None

    @property
    def frames_to_module(self) -> int:
        return self.frames_before[0] + (self.live.frames_sent if self.live else 0)

    @property
    def frames_from_module(self) -> int:
        return self.frames_before[1] + (self.live.frames_received if self.live else 0)


@dataclass
class ChannelBook:
    """The channels' history; the ``Modem`` keeps one (``Modem.channel_book``)."""

    mode: ChannelMode = ChannelMode.SINGLE
    kind: ChannelKind | None = None
    """The current life's kind (None between lives)."""
    fallback: str | None = None
    """Why the current life runs on one channel although more were asked for."""
    n1: int | None = None
    """The multiplexer's N1 in the current life (None: not under CMUX)."""
    counts: dict[str, ChannelCounts] = field(default_factory=dict)
    lives: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)
    bad_fcs: int = 0
    bad_frames: int = 0
    resent_statuses: int = 0
    urc_copies: int = 0
    urc_strays: int = 0
    lends: int = 0
    """Channels lent to a socket for a transparent session, every life so far."""
    starts_lost: int = 0
    """Multiplexer starts the module left unanswered (silent after ``AT+CMUX``'s OK,
    or on every DLC)."""
    describe: Callable[[], list[dict[str, Any]]] | None = None
    """The current life's channels, described (``ChannelSet.describe``)."""
    _live_mux: MuxCounters | None = None

    def counts_for(self, name: str, kind: ChannelKind) -> ChannelCounts:
        """The counters of the channel called ``name`` (made on first use)."""
        counts = self.counts.get(name)
        if counts is None:
            counts = self.counts[name] = ChannelCounts(name, kind)
        return counts

    def life_started(self, kind: ChannelKind, fallback: str | None) -> None:
        self.kind, self.fallback = kind, fallback
        self.lives[kind.value] += 1
        if fallback is not None:
            self.fallbacks[fallback] += 1

    def mux_started(self, counters: MuxCounters, n1: int) -> None:
        """Count the multiplexer of this life (its counters grow while it runs)."""
        self._live_mux, self.n1 = counters, n1

    def life_ended(self) -> None:
        live = self._live_mux
        if live is not None:
            self.bad_fcs += live.bad_fcs
            self.bad_frames += live.bad_frames + live.too_long
            self.resent_statuses += live.status_resent
        self._live_mux = None
        self.kind = self.fallback = self.n1 = None
        self.describe = None

    @property
    def fcs_errors(self) -> int:
        """Frames dropped for a bad FCS, every life so far (the live one included)."""
        live = self._live_mux
        return self.bad_fcs + (live.bad_fcs if live is not None else 0)

    @property
    def broken_frames(self) -> int:
        """Frames dropped for broken framing or a length over N1, every life so far."""
        live = self._live_mux
        return self.bad_frames + (live.bad_frames + live.too_long if live is not None else 0)

    @property
    def statuses_resent(self) -> int:
        """Our MSCs sent again for want of the module's answer, every life so far:
        a lost one would have stopped its DLC (a noisy line toward the module)."""
        live = self._live_mux
        return self.resent_statuses + (live.status_resent if live is not None else 0)

    def report(self) -> dict[str, Any]:
        """The status page's ``channels`` section."""
        return {
            "mode": self.mode.value,
            "kind": None if self.kind is None else self.kind.value,
            "fallback": self.fallback,
            "n1": self.n1,
            "channels": [] if self.describe is None else self.describe(),
            "fcs_errors": self.fcs_errors,
            "broken_frames": self.broken_frames,
            "statuses_resent": self.statuses_resent,
            "urc_copies_dropped": self.urc_copies,
            "urc_strays_dropped": self.urc_strays,
            "transparent_lends": self.lends,
            "mux_starts_lost": self.starts_lost,
            "fallbacks": dict(self.fallbacks),
            "lives": dict(self.lives),
        }
