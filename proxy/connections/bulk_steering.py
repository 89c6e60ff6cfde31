"""``BulkSteering``: one connection's ``BulkTracker`` acting on its ``TransparentSocket``.

The pump (``proxy.connections.pump``) calls ``sent`` after each send to the
module and ``local_closed`` at the client's half-close, and runs ``watch``
beside its two directions (the quiet give-back).  Entering and leaving are
shielded from cancellation: a switch cut half way would leave the lent
channel's line in an unknown mode, and an escape whose ``+++`` is out must
end proven or as a failure, never just stop.  Both are bounded by their
commands' timeouts and the escape's answer time.
"""

from __future__ import annotations

import math

import trio

from modem.sockets.transparent_socket import SocketMode, TransparentSocket
from proxy.connections.module_socket import ModuleSocket
from proxy.connections.transparent_policy import BulkTracker, Move, TransparentUse

__all__ = ["BulkSteering", "steering_for"]


def steering_for(sock: ModuleSocket, use: TransparentUse) -> BulkSteering | None:
    """The steering of a connection on ``sock`` under its map's ``transparent``
    setting; None when the socket cannot move (no channels to lend) or must not."""
    if not isinstance(sock, TransparentSocket) or use is TransparentUse.NEVER:
        return None
    return BulkSteering(sock, BulkTracker(use, last_send=trio.current_time()))


class BulkSteering:
    """See the module docstring."""

    def __init__(self, sock: TransparentSocket, tracker: BulkTracker) -> None:
        self.sock = sock
        self.tracker = tracker
        self._changed = trio.Event()

    @property
    def inside(self) -> bool:
        return self.sock.mode is SocketMode.TRANSPARENT

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def sent(self, size: int, more_waiting: bool) -> None:
        """``size`` bytes went to the module; ``more_waiting``: the client had more."""
        move = self.tracker.sent(size, more_waiting, trio.current_time(), self.inside)
        if move is Move.ENTER:
            with trio.CancelScope(shield=True):
                await self.sock.enter()
        self._wake()

    async def local_closed(self) -> None:
        """The client shut its write side: give the channel back first."""
        if self.tracker.local_closed(self.inside) is Move.LEAVE:
            await self._leave()

    async def watch(self) -> None:
        """Give the channel back once the upload has been quiet long enough."""
        while True:
            changed = self._changed
            if self.tracker.check_quiet(trio.current_time(), self.inside) is Move.LEAVE:
                await self._leave()
                continue
            at = self.tracker.give_back_at(self.inside)
            with trio.move_on_at(math.inf if at is None else at):
                await changed.wait()

    async def _leave(self) -> None:
        with trio.CancelScope(shield=True):
            await self.sock.leave()
        self._wake()
