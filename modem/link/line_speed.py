"""Finding the speed a module's UART answers at.

A UART module keeps the speed ``AT+IPR`` stored (with ``AT&W`` on some
firmware) across power cycles, so a host at another speed reads garbage and
its ``AT`` is garbage to the module.  When ``AT`` gets no ``OK``,
``find_speed`` tries the common speeds on the raw stream (the channel's
reader stopped): at each it sends ``AT`` and listens ``PROBE_TIME``
seconds for ``OK``.  A USB AT port ignores the speed, so there it finds
nothing new, and the caller's "does not answer" stands.

Speeds (field fact, DESIGN.md): 115200 is the factory default; 230400,
460800, 921600 and 3000000 (some EC2x/EG25 firmware) are set on purpose;
9600 and 57600 on old setups.  The order tries the likely ones first.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import trio

from modem.core.errors import ModemError
from modem.core.log_fields import kv
from modem.link.answers import NoAnswer

__all__ = ["COMMON_SPEEDS", "AdjustableSpeed", "LineSpeedMismatch", "adjustable", "answers_at",
           "find_speed", "set_known_speed", "speed_after_no_answer"]

log = logging.getLogger("modem.driver")

COMMON_SPEEDS = (115200, 921600, 460800, 230400, 3000000, 57600, 9600)
PROBE_TIME = 0.3
"""Seconds to wait for ``OK`` at one speed (``AT`` and its answer take 2 ms at 9600)."""


@runtime_checkable
class AdjustableSpeed(Protocol):
    """A stream whose line speed can be changed (``SerialStream``)."""

    @property
    def speed(self) -> int: ...

    async def set_speed(self, baud: int) -> None:
        """Change the line speed, dropping what was received and not read."""


def adjustable(stream: trio.abc.Stream) -> AdjustableSpeed | None:
    """``stream`` when its line speed can be read and set (a wrapper around a
    stream without one reads as speed 0), else None."""
    if isinstance(stream, AdjustableSpeed) and stream.speed > 0:
        return stream
    return None


class LineSpeedMismatch(ModemError):
    """The module answers, at another speed than the one given."""

    def __init__(self, given: int, found: int) -> None:
        self.given = given
        self.found = found
        super().__init__(f"the module does not answer at {given} baud but does at {found} "
                         "baud (the speed its AT+IPR keeps)")
        self.hint = f"give --baud {found} (or --baud auto to find it at every start)"


async def find_speed(stream: trio.abc.Stream, tried: int,
                     speeds: tuple[int, ...] = COMMON_SPEEDS) -> int | None:
    """The first of ``speeds`` (``tried`` skipped) at which ``AT`` gets ``OK`` on
    ``stream``, left set; None (and ``tried`` set again) when none does or the
    stream's speed cannot change.  ``tried`` itself when the module answers
    there too now: it was not the speed (a USB port ignores it), it was late."""
    line = adjustable(stream)
    if line is None:
        return None
    for baud in speeds:
        if baud != tried and await answers_at(line, baud):
            if await answers_at(line, tried):
                return tried
            log.info("module answers at another speed", extra=kv(baud=baud, not_at=tried))
            await line.set_speed(baud)
            return baud
    await line.set_speed(tried)
    return None


async def answers_at(stream: AdjustableSpeed, baud: int) -> bool:
    """Whether ``AT`` gets ``OK`` at ``baud`` (the stream is left at ``baud``)."""
    await stream.set_speed(baud)
    assert isinstance(stream, trio.abc.Stream)
    # The CR first ends whatever garbage the module took from us at the old speed.
    await stream.send_all(b"\rAT\r")
    heard = b""
    with trio.move_on_after(PROBE_TIME):
        while b"OK\r\n" not in heard:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            heard += chunk
    return b"OK\r\n" in heard


async def set_known_speed(stream: trio.abc.Stream, known: int | None) -> None:
    """Set a newly opened ``stream`` to the speed found earlier, if any."""
    line = adjustable(stream)
    if line is not None and known is not None and line.speed != known:
        await line.set_speed(known)


async def speed_after_no_answer(stream: trio.abc.Stream, failure: NoAnswer,
                                speeds: tuple[int, ...], *, auto: bool
                                ) -> tuple[int | None, ModemError | None]:
    """After bring-up's ``AT`` got no ``OK``: ``(speed, None)`` to try again, at the
    speed found when ``auto`` (None: it answers now at the old one); else
    ``(None, the failure to report)``: ``LineSpeedMismatch`` naming the speed
    found, or ``failure`` with the speeds it does not answer at either."""
    line = adjustable(stream)
    if line is None:
        return None, failure
    tried = line.speed
    found = await find_speed(stream, tried, speeds)
    if found is None:
        others = ", ".join(str(baud) for baud in speeds if baud != tried)
        return None, NoAnswer(f"{failure} (nor at {others})")
    if found == tried:
        return None, None  # it answers now: not a matter of speed
    if auto:
        log.warning("module answers at another speed: using it",
                    extra=kv(baud=found, not_at=tried,
                             hint=f"give --baud {found} to skip the search at start"))
        return found, None
    return None, LineSpeedMismatch(tried, found)
