"""What the driver knows about the module's URCs, and the polling that stands in for lost ones.

No URC is load-bearing.  A ``+QSSLOPEN``, ``+QSSLURC: "recv"`` or
``+QSSLURC: "closed"`` can be lost (UART byte loss garbles lines; a module
whose ``AT+QURCCFG="urcport"`` points at another port sends none to us), so:

* an open whose outcome URC is late asks ``AT+QSSLSTATE=<id>`` (manual
  2.1.6) after ``open_check_after`` seconds, then with doubling gaps up to
  ``open_check_max``, until the manual's 150 s plus the negotiate time;
* a reader that waits for data reads anyway (``AT+QSSLRECV``) after
  ``read_poll_first`` seconds of quiet, the gap doubling up to
  ``read_poll_max``; every ``state_check_every``-th poll that found nothing
  also asks ``AT+QSSLSTATE=<id>``, which finds a peer close whose URC was lost.

What a closed peer looks like (evidence, not the SSL manual, which is silent):
after ``+QSSLURC: "closed"`` the socket is "closing" (state 4) until
``AT+QSSLCLOSE`` (SSL manual 2.2.2); Quectel's TCP/IP notes say ``AT+QIRD``
answers data, then ``+QIRD: 0`` while the connection exists and ``ERROR``
only once it does not (BG96 TCP/IP Application Note 2.3.8, BG95/BG77 note
2.3.8).  So a read cannot tell a closed peer from a quiet one; the state
can.  A read that answers ``ERROR`` is also checked with ``AT+QSSLSTATE``
(tolerant guess for firmware that refuses reads on a closing socket).

The "recv" URC's re-arm (``RearmBehaviour``): the BG96 and BG95 TCP/IP notes
(section 2.4.2, "+QIURC: recv") say the module reports no new URC "until all
the received data has been retrieved ... from the buffer": re-armed once a
read leaves the buffer empty ("drain"), which the driver assumes.  For the
EC2x SSL commands it is not documented; the SSL manual's example (3.3.3)
reads until ``+QSSLRECV: 0``, which is what firmware that re-arms only after
an empty read ("empty") needs.  The driver learns it: a poll that finds data
after a short read with no URC in between is the sign; from then on every
short read is followed by one empty read, one round trip.  It unlearns it
too (firmware updated, or the signs were lost URCs after all): a "recv" URC
that arrives after a short read's answer, before any read that could have
re-armed it, cannot come from "empty" firmware, so two of them bring back
"drain" (``note_urc_after_short_read``).  Such a URC needs data that
arrives between the short read and the empty read that follows it, so on
a busy socket the evidence comes within seconds, on a quiet one never (and
then the belief costs one empty read per short read, nothing else).

Idle cost (``idle_line_share``): a waiting socket polls every
``read_poll_max`` s with ``AT+QSSLRECV=<id>,1500`` (20 bytes out) answered
``+QSSLRECV: 0`` (22 bytes in), and every ``state_check_every``-th poll adds
``AT+QSSLSTATE=<id>`` (16 out) answered by one state line (about 88 bytes
in with a 15-character address and "usbmodem").  The larger direction (in)
costs per connection::

    bytes/s = RECV_ANSWER / read_poll_max + STATE_ANSWER / (read_poll_max * state_check_every)
            = 22 / 3 + 88 / 6 = 22.0 B/s

so 12 idle connections take 264 B/s, 2.3 % of the 11 520 B/s of a
115200 baud 8N1 line (the bound is 3 %).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from modem.core.commands import DEFAULT_LINE_BAUD
from modem.core.log_fields import kv

__all__ = ["RearmBehaviour", "UrcHealth", "UrcPolling", "idle_line_share"]

log = logging.getLogger("modem.driver")

RECV_POLL_BYTES = 22
"""``\\r\\n+QSSLRECV: 0\\r\\n\\r\\nOK\\r\\n``: the answer to a poll that finds nothing."""

STATE_POLL_BYTES = 88
"""One ``+QSSLSTATE`` line for id 11, a 15-character address and "usbmodem", plus ``OK``."""

EMPTY_REARM_SIGNS = 2
"""Polls that found data after a short read (no URC between) before the driver
concludes the module re-arms only after an empty read: two, so that one URC
lost on the line (or one racing the poll) does not decide it."""

DRAIN_REARM_SIGNS = 2
"""URCs that came after a short read (none during it, no read between) before
the driver concludes, believing "empty", that the module re-arms after short
reads after all: two, for symmetry with ``EMPTY_REARM_SIGNS``."""


@dataclass(frozen=True)
class UrcPolling:
    """The timings of the polls that stand in for lost URCs (seconds).

    The defaults are the production values; tests pass scaled ones.
    ``missing_after``: opens resolved by ``AT+QSSLSTATE`` with no socket URC
    seen at all, after which the module is said to send none.
    """

    open_check_after: float = 3.0
    open_check_max: float = 30.0
    read_poll_first: float = 0.5
    read_poll_max: float = 3.0
    state_check_every: int = 2
    missing_after: int = 3

    def __post_init__(self) -> None:
        if min(self.open_check_after, self.read_poll_first) <= 0:
            raise ValueError("URC poll times must be positive")
        if self.state_check_every < 1 or self.missing_after < 1:
            raise ValueError("state_check_every and missing_after must be at least 1")

    def open_checks(self) -> Iterator[float]:
        """Gaps between two ``AT+QSSLSTATE`` checks of a late open: 3, 6, 12, 24, 30, 30..."""
        gap = self.open_check_after
        while True:
            yield gap
            gap = min(gap * 2, max(self.open_check_max, self.open_check_after))

    def read_polls(self) -> Iterator[float]:
        """Gaps of quiet before each poll of a waiting reader: 0.5, 1, 2, 3, 3..."""
        gap = self.read_poll_first
        while True:
            yield gap
            gap = min(gap * 2, max(self.read_poll_max, self.read_poll_first))


def idle_line_share(polling: UrcPolling, connections: int = 12,
                    baud: int = DEFAULT_LINE_BAUD) -> float:
    """The share of the line (module to host) that ``connections`` idle sockets poll with."""
    per_connection = (RECV_POLL_BYTES / polling.read_poll_max
                      + STATE_POLL_BYTES / (polling.read_poll_max * polling.state_check_every))
    return connections * per_connection / (baud / 10)


class RearmBehaviour(enum.Enum):
    """When the module sends the next ``+QSSLURC: "recv"`` (see the module docstring)."""

    DRAIN = "drain"  # once a read leaves the buffer empty (assumed until shown otherwise)
    EMPTY = "empty"  # only after a read that returned 0 bytes


class UrcHealth:
    """What the driver learned about the module's URCs, and the recoveries, counted.

    One per ``Modem`` (so per module): the sockets and the open path report
    here; ``report`` is what the status page shows.
    """

    def __init__(self, polling: UrcPolling | None = None) -> None:
        self.polling = polling or UrcPolling()
        self.rearm = RearmBehaviour.DRAIN
        self.socket_urcs = 0
        self.opens_by_state = 0
        self.data_by_poll = 0
        self.closes_by_poll = 0
        self.pushes = 0
        """Push frames (``+QSSLURC: "recv",<id>,<len>``) seen, every socket's."""
        self.keeps_buffer_on_push = False
        """Learned: after ``AT+QISWTMD=<id>,1`` this firmware kept buffered data
        (announcing it with ``"recv",<id>``) and pushed newer data: sockets that
        fall behind stay in buffer mode from then on (``PushReceiver``)."""
        self._missing_warned = False
        self._empty_signs = 0
        self._drain_signs = 0

    @property
    def urcs(self) -> str:
        """"ok" once a socket URC arrived, "missing" after ``missing_after`` opens
        needed ``AT+QSSLSTATE`` and none did, else "unknown"."""
        if self.socket_urcs:
            return "ok"
        if self.opens_by_state >= self.polling.missing_after:
            return "missing"
        return "unknown"

    def note_urc(self) -> None:
        """A socket URC (open, recv, closed) arrived."""
        self.socket_urcs += 1

    def note_open_by_state(self) -> None:
        self.opens_by_state += 1
        if self.urcs == "missing" and not self._missing_warned:
            self._missing_warned = True
            log.warning("no socket URC arrived from the module: working by polling, slower",
                        extra=kv(opens_by_polling=self.opens_by_state,
                                 hint='check AT+QURCCFG="urcport"'))

    def note_data_by_poll(self, after_short_read: bool) -> None:
        """A poll found data; ``after_short_read`` when the read before it was
        short and no URC came between: the module re-arms only after an empty read."""
        self.data_by_poll += 1
        if after_short_read and self.rearm is RearmBehaviour.DRAIN:
            self._empty_signs += 1
        if self._empty_signs >= EMPTY_REARM_SIGNS and self.rearm is RearmBehaviour.DRAIN:
            self.rearm = RearmBehaviour.EMPTY
            self._drain_signs = 0
            log.info("module re-arms the recv URC only after an empty read:"
                     " short reads are followed by one empty read",
                     extra=kv(polls_found_data=self.data_by_poll))

    def assume_rearm(self, rearm: RearmBehaviour) -> None:
        """Start from what the module's manual says (``families``), unless the
        module has already shown signs either way."""
        if not self._empty_signs and not self._drain_signs:
            self.rearm = rearm

    def note_urc_after_short_read(self) -> None:
        """A "recv" URC asked for a read, and the read before it was short with
        no URC during it: the module re-armed after a short read ("drain")."""
        if self.rearm is not RearmBehaviour.EMPTY:
            return
        self._drain_signs += 1
        if self._drain_signs >= DRAIN_REARM_SIGNS:
            self.rearm = RearmBehaviour.DRAIN
            self._empty_signs = 0
            log.info("module re-arms the recv URC after short reads again:"
                     " no more empty reads after short ones")

    def note_close_by_poll(self) -> None:
        self.closes_by_poll += 1

    def report(self) -> dict[str, object]:
        """For the status page (JSON-able)."""
        return {
            "urcs": self.urcs,
            "recv_rearm": self.rearm.value,
            "opens_resolved_by_state": self.opens_by_state,
            "data_found_by_poll": self.data_by_poll,
            "closes_found_by_poll": self.closes_by_poll,
        }
