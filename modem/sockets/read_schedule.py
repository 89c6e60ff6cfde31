"""``ReadSchedule``: when a socket's reader reads next, and what its polls found.

The read policy of ``SslSocket`` (``modem.sockets.ssl_socket``) as state, no
I/O: a "recv" URC asks for a read (manual 2.1.4: a notification, not a
byte count); a full read reads again at once; a short one leaves the
module's buffer empty and waits for the next URC, except on firmware that
re-arms the URC only after an empty read (``RearmBehaviour.EMPTY``), where
one empty read follows at once.  No URC is load-bearing
(``modem.core.urc_watch``): a reader that heard nothing polls after
``UrcPolling.read_polls``'s gaps, and every ``state_check_every``-th quiet
gap asks ``AT+QSSLSTATE`` instead.  In push mode a socket found not
connected is believed gone only after ``PUSH_CLOSED_CHECKS`` such checks in
a row with no push at all on the line between them (``PushEnd.SHOWN``); on a
line that never goes quiet (other sockets push on), ``OWN_QUIET_CHECKS``
with none of its own pushes between them call for another proof
(``PushEnd.UNSHOWN``), so a lost "closed" never stalls the socket.
"""

from __future__ import annotations

import enum
from itertools import islice

from modem.core.urc_watch import RearmBehaviour, UrcHealth

__all__ = ["OWN_QUIET_CHECKS", "PUSH_CLOSED_CHECKS", "PushEnd", "ReadSchedule"]

PUSH_CLOSED_CHECKS = 3
"""Push mode: state checks in a row that end a stream whose "closed" URC never came."""
OWN_QUIET_CHECKS = 4
"""Push mode: checks in a row, none of the socket's own pushes between them, after
which a socket found not connected on a line that never went quiet is proven
another way (more than ``PUSH_CLOSED_CHECKS``: the quiet line's proof comes first)."""


class PushEnd(enum.Enum):
    """What the state checks of a quiet push-mode socket found not connected show."""

    WAIT = "wait"  # too few checks yet
    SHOWN = "shown"  # no push at all on the line between them: nothing of it is queued
    UNSHOWN = "unshown"  # none of its own, but other sockets' pushes went by meanwhile


_MAX_DOUBLINGS = 16  # of the poll gap; UrcPolling caps it long before


class _Unmoved:
    """How many findings in a row saw a count that had not moved."""

    def __init__(self) -> None:
        self._at: int | None = None
        self._times = 0

    def see(self, count: int) -> int:
        """One more finding, with ``count`` then; the findings in a row it held still."""
        self._times = self._times + 1 if count == self._at else 1
        self._at = count
        return self._times


class ReadSchedule:
    """One socket's read bookkeeping; see the module docstring."""

    def __init__(self, health: UrcHealth) -> None:
        self.health = health
        """The module's URC record: what the polls learn goes there."""
        self.urc_hint = False
        """A "recv" or "closed" URC came since the last read began."""
        self.read_again = False
        """Read without waiting: the module likely holds more, or a poll is due."""
        self.quiet_polls = 0
        """Gaps in a row that passed with no wake-up; each doubles the next."""
        self._polling = False  # the next read is a poll, not asked for by a URC
        self._short_unconfirmed = False  # the last read was short; no URC since
        self._short_quiet = False  # the last read was short and no URC came during it
        self._line_quiet = _Unmoved()  # "not connected" findings, no push on the line
        self._own_quiet = _Unmoved()  # such findings, none of the socket's own pushes
        self.found_empty = False
        """The last read answered ``+QSSLRECV: 0`` and no URC came since: the
        module's buffer was shown empty (a short read shows nothing)."""

    @property
    def due(self) -> bool:
        """The next read goes out at once."""
        return self.urc_hint or self.read_again

    def note_urc(self) -> None:
        self.urc_hint = True
        self.found_empty = False

    def take_urc(self) -> bool:
        """Whether a URC asked for the read that starts now (and forget it)."""
        hint, self.urc_hint = self.urc_hint, False
        return hint

    def after_read(self, got: int, want: int, by_urc: bool, *, until_empty: bool = False
                   ) -> None:
        """What the next read waits for, after a read of ``want`` that got ``got`` bytes.

        ``until_empty``: the reader must see the buffer shown empty (the peer
        closed, or a push socket wants to go back to push): any read that got
        bytes is followed by another, and only ``+QSSLRECV: 0`` stops it."""
        self.found_empty = got == 0 and not self.urc_hint
        if got:
            self.quiet_polls = 0
        urc_came = by_urc or self.urc_hint  # a URC may land while the read runs
        if self._polling and got:
            self.health.note_data_by_poll(self._short_unconfirmed and not urc_came)
        if by_urc and self._short_quiet:
            self.health.note_urc_after_short_read()
        self._polling = False
        short = 0 < got < want
        self._short_unconfirmed = short
        self._short_quiet = short and not self.urc_hint
        self.read_again = got == want or (short and self.health.rearm is RearmBehaviour.EMPTY) \
            or (until_empty and got > 0)

    # -- a quiet reader ----------------------------------------------------------

    def gap(self) -> float:
        """Seconds to wait for a wake-up before the next poll."""
        gaps = self.health.polling.read_polls()
        return next(islice(gaps, min(self.quiet_polls, _MAX_DOUBLINGS), None))

    def note_quiet(self) -> None:
        """A gap passed with no wake-up."""
        self.quiet_polls += 1

    @property
    def state_check_due(self) -> bool:
        """The poll after this quiet gap asks ``AT+QSSLSTATE`` (every
        ``state_check_every``-th one)."""
        return self.quiet_polls % self.health.polling.state_check_every == 0

    def poll(self) -> None:
        """The next read is a poll: it goes out at once, and what it finds is counted."""
        self.read_again = True
        self._polling = True

    def restart_gaps(self) -> None:
        """Data came: the next quiet starts from the first gap."""
        self.quiet_polls = 0

    # -- push mode: is a quiet socket gone? ---------------------------------------

    def push_alive(self) -> None:
        """A push of this socket came, or a check found it connected (or said
        nothing): the "not connected" findings so far were premature."""
        self._line_quiet, self._own_quiet = _Unmoved(), _Unmoved()

    def push_not_connected(self, pushes: int, own: int) -> PushEnd:
        """A check found the socket not connected while the line had carried
        ``pushes`` push frames in all, ``own`` of them the socket's.  ``SHOWN``
        once that held ``PUSH_CLOSED_CHECKS`` times in a row with no push between
        (a queued push of ours would have moved the count); ``UNSHOWN`` once
        ``OWN_QUIET_CHECKS`` in a row saw none of its own but the line never quiet."""
        if self._line_quiet.see(pushes) >= PUSH_CLOSED_CHECKS:
            return PushEnd.SHOWN
        return PushEnd.UNSHOWN if self._own_quiet.see(own) >= OWN_QUIET_CHECKS else PushEnd.WAIT
