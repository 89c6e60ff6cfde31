"""Which channel's socket URCs count when a module life runs on several (sans-I/O).

Under CMUX a module writes its URCs on one DLC (the first, or one chosen),
or a copy on every DLC; on USB on the port ``AT+QURCCFG="urcport"`` names.
Copies must not be routed twice (a push frame would be delivered twice, a
late copy of an old socket's ``"closed"`` would end the next socket on its
ID), and the order between channels is nobody's: a socket's pushes and
notices keep their order only on one channel (docs/reliability.md,
"Several channels").  So, per life:

* the **source** is the first channel that delivers a socket URC (or
  ``+QIURC: "pdpdeact"``); the socket table hears those URCs from it only;
* a channel that delivered a copy of a ``+QSSLOPEN`` the source also
  carries is a **copy** channel: its socket URCs are copies, dropped
  (``copies``);
* anything else is a **stray** (``strays``): the module spreads its URCs
  over channels.  A stray notice is dropped (no URC is load-bearing: the
  polls find what it said); a stray push frame cannot be put in order with
  the source's, so its socket fails (the caller's part).

The rule for a copy channel is a guess (docs/reliability.md): a channel
that carries copies of a socket's ``+QSSLOPEN`` carries copies of all of
its URCs.  It holds on every layout the emulator plays (``cmux_urcs``
first, all, or one DLC) and on the layouts public drivers describe
(Nordic's ``AT#XCMUXURC``: the first AT channel, one chosen, or all).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Hashable

from modem.core import events as ev

__all__ = ["UrcSources", "UrcVerdict"]

#: URCs whose order matters across sockets: taken from one channel only.
SOCKET_URCS = (ev.SslRecv, ev.SslClosed, ev.SslOpened, ev.SslPushData, ev.PushFrameBroken,
               ev.PdpDeactivated)


class UrcVerdict(enum.Enum):
    """What to do with a URC that came on some channel."""

    ROUTE = "route"
    """Hand it to the socket table (or the supervisor): it came from the source,
    or it is a URC that concerns no socket."""
    COPY = "copy"
    """A copy of the source's: drop it."""
    STRAY = "stray"
    """A socket URC on a channel that is neither the source nor a copy: drop it,
    and fail the socket when it carried data."""


class UrcSources:
    """The per-life rule of the module docstring; channels are any hashable key."""

    def __init__(self) -> None:
        self.source: Hashable | None = None
        self._copying: set[Hashable] = set()
        self.copies: Counter[str] = Counter()  # by channel name (str of the key)
        self.strays: Counter[str] = Counter()

    def verdict(self, channel: Hashable, urc: ev.Urc) -> UrcVerdict:
        """Where ``urc``, which came on ``channel``, goes."""
        if not isinstance(urc, SOCKET_URCS):
            return UrcVerdict.ROUTE
        if self.source is None:
            self.source = channel
        if channel == self.source:
            return UrcVerdict.ROUTE
        if isinstance(urc, ev.SslOpened):
            self._copying.add(channel)
        if channel in self._copying:
            self.copies[str(channel)] += 1
            return UrcVerdict.COPY
        self.strays[str(channel)] += 1
        return UrcVerdict.STRAY

    @property
    def several(self) -> bool:
        """Socket URCs came on more than one channel (copies or strays)."""
        return bool(self.copies or self.strays)
