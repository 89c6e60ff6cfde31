"""When bad frames on the multiplexer's line mean the line is lost (sans-I/O).

The decoder skips a frame whose FCS or framing is wrong and goes on
(``MuxCounters``); its bytes are gone, so the DLC's AT stream has a hole,
which that channel's own reader catches (a broken push frame fails its
socket, a lost answer times its command out).  A few such frames are
noise; many in a short time are a line that no longer carries the
multiplexer (a baud mismatch, a module that left mux mode, a cable), and
the module life is over: ``FrameStorm`` says when.
"""

from __future__ import annotations

from collections import deque

__all__ = ["STORM_FRAMES", "STORM_WINDOW", "FrameStorm"]

STORM_FRAMES = 8
"""Bad frames within ``STORM_WINDOW`` seconds that make a storm."""
STORM_WINDOW = 5.0


class FrameStorm:
    """Fed the decoder's running count of bad frames; says when they come too fast."""

    def __init__(self, limit: int = STORM_FRAMES, window: float = STORM_WINDOW) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a storm needs a limit of at least 1 frame and a window")
        self.limit = limit
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, now: float, bad_frames: int) -> bool:
        """``bad_frames`` (the count so far) at ``now`` (seconds): True when at
        least ``limit`` of them came within the last ``window`` seconds."""
        samples = self._samples
        samples.append((now, bad_frames))
        while len(samples) > 1 and samples[1][0] <= now - self.window:
            samples.popleft()
        return bad_frames - samples[0][1] >= self.limit
