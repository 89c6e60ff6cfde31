"""Making the module confirm a push frame's end when it goes quiet after one.

A push frame's bytes are handed out only once the module's next unit starts
where the frame's length says (``modem.core.frames``).  During a download the
next frame does that; after the last frame of a burst the line may stay
quiet, and the data would wait.  Then, and only when no command is on the
line or waiting for it (whose answer would confirm the frame anyway), an
``AT`` makes the module write a unit: its ``\\r\\nOK\\r\\n`` confirms the frame
(or shows it broken).  The cost is one short command per quiet burst end.
"""

from __future__ import annotations

import trio

from modem.core.at_command import Command
from modem.core.errors import ModemError
from modem.link.channel import AtChannel

__all__ = ["PROBE_AFTER", "confirm_quiet_frames"]

PROBE_AFTER = 0.002
"""Seconds a frame may wait for its end before the probe: a trailer or the next
unit written with it arrives within a few byte times."""

PROBE_TIMEOUT = 2.0


async def confirm_quiet_frames(channel: AtChannel, after: float = PROBE_AFTER) -> None:
    """Run for the life of ``channel`` (in its owner's nursery)."""
    while channel.failure is None:
        await channel.frame_waits()
        await trio.sleep(after)
        if channel.frame_unconfirmed and channel.idle and channel.failure is None:
            try:
                await channel.run(Command("AT", timeout=PROBE_TIMEOUT))
            except ModemError:
                pass  # the channel's failure, if any, ends the loop; a timeout resyncs it
