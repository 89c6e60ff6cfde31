"""What the driver dropped or could not prove, counted (sans-I/O).

Every byte reaches its own socket, in order, or that socket fails
(docs/reliability.md, "The rule").  What the router refuses on the way is
counted here, one ``LineIntegrity`` per module, for the status page and
``/metrics``; none of it is a loss of a live stream (those fail their
socket and are counted as its ending).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from modem.core.frames import FrameStyle

__all__ = ["LineIntegrity"]


@dataclass
class LineIntegrity:
    """Counts of what the URC router dropped, and why."""

    stale_pushes: int = 0
    """Push frames for a client ID with no open socket: a closed socket's late
    data, or data for an open not yet confirmed by its ``+QSSLOPEN``."""
    stale_push_bytes: int = 0
    stale_notices: int = 0
    """``"recv"``/``"closed"`` URCs for a client ID with no open socket."""
    broken_frames: int = 0
    """Push frames that did not line up or passed their bound (their socket failed)."""
    line_losses: int = 0
    """Times the reader lost its place in the module's output."""
    reopened_in_buffer_mode: int = 0
    """Push-mode opens whose first data could not be vouched for (their
    ``+QSSLOPEN`` never came, or the line lost its place meanwhile): closed and
    opened again in buffer mode before the client saw a byte."""
    push_style: FrameStyle | None = None
    """How this module ends push frames (``modem.core.frames``), once learned."""

    def report(self) -> dict[str, int | str | None]:
        """For the status page (JSON-able)."""
        counts: dict[str, int | str | None] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "push_style"}
        counts["push_frame_style"] = None if self.push_style is None else self.push_style.value
        return counts
