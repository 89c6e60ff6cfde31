"""``OneTaskAtATime``: a guard that lets one task at a time into a stream's
send or receive side, as ``trio.abc.Stream`` asks (trio's own
``ConflictDetector`` is private)."""

from __future__ import annotations

import trio

__all__ = ["OneTaskAtATime"]


class OneTaskAtATime:
    """A context manager: a second task that enters while one is inside gets
    ``trio.BusyResourceError`` with ``message`` (e.g. "another task is
    sending on this socket"); the first keeps the side."""

    __slots__ = ("_held", "_message")

    def __init__(self, message: str) -> None:
        self._message = message
        self._held = False

    def __enter__(self) -> None:
        if self._held:
            raise trio.BusyResourceError(self._message)
        self._held = True

    def __exit__(self, *exc_info: object) -> None:
        self._held = False
