"""Which connections move to a transparent-mode channel, and when they give it back.

A socket in transparent mode (``modem.sockets.transparent_socket``, manual
1.3) sends with no command per chunk, on a channel that carries nothing
else: worth it for a bulk upload, a waste for a request and its answer, and
a channel held by one connection is one the others cannot have.  A map's
``transparent`` setting (``TransparentUse``) decides:

* ``never``: the connection stays on the module's command channels;
* ``always``: it asks for a channel at its first send, and again at each
  later send while it has none; it keeps the channel until it half-closes
  or ends;
* ``auto`` (the default): it asks once the client is ahead of the module:
  ``backlog`` bytes sent in one run during which, after every send, the
  client had more waiting (a client slower than the line never is).  A
  run that found no channel free starts again from zero, so a busy module
  is asked again only after another backlog.  It gives the channel back
  after ``quiet`` seconds without a send (the upload is over; a download
  goes on in push or buffer mode at no cost to anyone).

Either way:

* asking never waits: ``DedicatedChannels.borrow`` lends a free channel or
  none, and a connection without one goes on as before.  An interactive
  connection therefore never waits behind a bulk one: the bulk one's bytes
  are on a channel of their own, the interactive one's on the others;
* a half-close gives the channel back first: the module has no half-close
  in any mode, and in transparent mode the proxy could not even tell it
  later (every byte on the channel is data), so the connection waits for
  the remote's close in command mode like any other.

``BulkTracker`` is this rule with no I/O; ``proxy.connections.bulk_steering``
acts on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["BULK_BACKLOG", "QUIET", "BulkTracker", "Move", "TransparentUse"]

BULK_BACKLOG = 64 * 1024
"""Bytes sent while the client stayed ahead before ``auto`` asks for a channel:
about 45 ``AT+QSSLSEND`` round trips, so a request never qualifies."""
QUIET = 5.0
"""Seconds without a send before ``auto`` gives the channel back (a guess: long
enough for an uploader's pauses, short next to a bulk transfer)."""


class TransparentUse(enum.StrEnum):
    """A map's ``transparent`` setting (see the module docstring)."""

    AUTO = "auto"
    NEVER = "never"
    ALWAYS = "always"


class Move(enum.Enum):
    """What the tracker asks of the socket."""

    STAY = "stay"
    ENTER = "enter"
    """Ask for a channel and switch to transparent mode (if one is free)."""
    LEAVE = "leave"
    """Escape to command mode and give the channel back."""


@dataclass
class BulkTracker:
    """The policy of one connection (see the module docstring).  ``inside``
    arguments say whether the socket is in transparent mode now."""

    use: TransparentUse
    backlog: int = BULK_BACKLOG
    quiet: float = QUIET
    run: int = 0
    """Bytes sent in the current run with the client ahead."""
    last_send: float = 0.0
    half_closed: bool = False

    def sent(self, size: int, more_waiting: bool, now: float, inside: bool) -> Move:
        """``size`` bytes went to the module; ``more_waiting``: the client had more."""
        self.last_send = now
        if inside or self.half_closed or self.use is TransparentUse.NEVER:
            self.run = 0
            return Move.STAY
        if self.use is TransparentUse.ALWAYS:
            return Move.ENTER
        self.run = self.run + size if more_waiting else 0
        if self.run < self.backlog:
            return Move.STAY
        self.run = 0
        return Move.ENTER

    def local_closed(self, inside: bool) -> Move:
        """The client shut its write side."""
        self.half_closed = True
        return Move.LEAVE if inside else Move.STAY

    def give_back_at(self, inside: bool) -> float | None:
        """When a quiet upload gives its channel back (None: not while things stay so)."""
        if not inside or self.use is not TransparentUse.AUTO:
            return None
        return self.last_send + self.quiet

    def check_quiet(self, now: float, inside: bool) -> Move:
        """LEAVE once the upload has been quiet for ``quiet`` seconds."""
        at = self.give_back_at(inside)
        return Move.LEAVE if at is not None and now >= at else Move.STAY
