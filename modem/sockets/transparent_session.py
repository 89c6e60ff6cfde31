"""``TransparentSession``: one socket's bytes raw on a lent channel (manual 1.3).

``start`` runs ``AT+QISWTMD=<id>,2`` on the lent channel; from its ``CONNECT``
the session is the channel's ``DataSink``: received bytes go to a bounded
inbox (past ``inbox_limit`` the channel's reader stops reading, so the
module's buffer and then the server's TCP window take over), ``send`` writes
raw bytes, kept within ``lead`` of the line when its rate is known.  It
ends on the module's ``NO CARRIER`` or, after ``escape`` (``+++`` with the
guard times), its ``OK``; ``settle`` then checks the end
(``transparent_end``), gives the channel's held URCs to the router (or
drops them when the end is unproven), and lets the channel go.

A tail that may begin ``NO CARRIER`` waits in the protocol core
(``transparent_data``); when the line stays quiet with such a tail, the
socket's own channel is asked ``AT+QSSLSTATE=<id>``: still connected in
data mode after the tail arrived, the tail is data (the module marks a
socket closing before it writes ``NO CARRIER``: a guess, docs/reliability.md).
"""

from __future__ import annotations

import logging
import math

import trio
from trio_util import wait_any

from modem.core import commands
from modem.core import events as ev
from modem.core.at_command import Command
from modem.core.errors import ModemError, PushOverrun, SocketClosed
from modem.core.log_fields import kv
from modem.core.stream_errors import TransparentEndUnproven
from modem.link.channel import AtChannel
from modem.sockets.transparent_channels import TransparentOptions
from modem.sockets.transparent_end import (
    EndMarker,
    ModuleView,
    end_doubt,
    lent_doubt,
    module_view,
)

__all__ = ["TransparentSession", "take_some"]

log = logging.getLogger("modem.socket")

TAIL_QUIET = 0.02
"""Seconds of quiet line before a held tail is proven data (the rest of a real
``NO CARRIER`` follows its first bytes at once)."""
TAIL_RECHECK = 1.0  # seconds before a tail the proof did not clear is asked about again
GUARD_MARGIN = 1.2  # times the guard time kept silent before +++
EARLY_OK = 0.9  # an escape's OK sooner than this share of the guard time is not the module's
ESCAPE_ANSWER = 3.0  # seconds past the guard time an escape may wait for its OK
ESCAPE_SLACK = 16  # times inbox_limit the inbox may hold while an escape waits for its OK
MIN_CHUNK = 256  # bytes per write when paced


async def take_some(buf: bytearray, max_bytes: int | None) -> bytes:
    """Up to ``max_bytes`` (None: all) from the front of ``buf``, taken after the
    checkpoint: a cancelled call takes nothing."""
    await trio.lowlevel.checkpoint()
    take = len(buf) if max_bytes is None else max_bytes
    data = bytes(buf[:take])
    del buf[:take]
    return data


class TransparentSession:
    """One data-mode session of socket ``client_id`` on the lent ``channel``;
    ``own`` is the socket's command channel.  See the module docstring."""

    def __init__(self, channel: AtChannel, own: AtChannel, client_id: int,
                 options: TransparentOptions) -> None:
        self.channel = channel
        self.own = own
        self.client_id = client_id
        self.options = options
        self.inbox = bytearray()
        self.marker: EndMarker | None = None
        self.failure: ModemError | None = None
        """Why the end is unproven (or the session broke); set by ``settle``."""
        self.settled = trio.Event()
        self.bytes_sent = 0
        self._settling = False
        self._after: list[ev.Urc] = []  # URCs after the marker, routed once it is proven
        self._strays: list[ev.Event] = []  # anything else after the marker
        self._changed = trio.Event()
        self._held = 0
        self._reads = 0
        self._last_read = trio.current_time()
        self._proof = (-1, -math.inf)  # (reads, time) of the last tail proof
        self._line_free_at = -math.inf
        self._escape_at: float | None = None
        self._early_ok = False

    def __repr__(self) -> str:
        return f"<TransparentSession id={self.client_id} marker={self.marker}>"

    # -- the channel's DataSink ------------------------------------------------

    def take(self, event: ev.Event) -> None:
        if isinstance(event, ev.TransparentData):
            self.inbox += event.data
        elif self.marker is None and isinstance(event, ev.NoCarrier):
            self.marker = EndMarker.NO_CARRIER
        elif self.marker is None and isinstance(event, ev.Ok) and self._escape_at is not None:
            self._early_ok = (trio.current_time() - self._escape_at
                              < self.options.guard * EARLY_OK)
            self.marker = EndMarker.ESCAPED
        elif self.marker is None and isinstance(event, ev.Urc):
            self.channel.route_urc(event)  # before CONNECT: the channel's own URCs
        elif isinstance(event, ev.Urc) and not isinstance(
                event, ev.LineLost | ev.ModuleReady | ev.UnknownUrc):
            self._after.append(event)
        else:
            self._strays.append(event)
        self._wake()

    async def room(self, held: int) -> None:
        self._held = held
        self._reads += 1
        self._last_read = trio.current_time()
        self._wake()
        limit = self.options.inbox_limit
        while len(self.inbox) >= limit and self.channel.data_sink is self:
            if self._escape_at is not None and self.marker is None:
                # The OK must still be read: the inbox grows to a bound meanwhile.
                if len(self.inbox) <= limit * ESCAPE_SLACK:
                    return
                self.failure = PushOverrun(self.client_id, limit * ESCAPE_SLACK)
                self.channel.fail(self.failure)
                return
            await self._changed.wait()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self) -> None:
        """Until something changes or the lent channel breaks."""
        await wait_any(self._changed.wait, self.channel.broken.wait)

    # -- in and out ------------------------------------------------------------

    async def start(self, command: Command) -> bool:
        """Run ``command`` (``AT+QISWTMD=<id>,2``) on the lent channel: True on its
        ``CONNECT``, False when the module refused.  Any other outcome leaves
        the line's mode unknown: the channel is failed and the error raised."""
        channel = self.channel
        channel.data_sink = self
        try:
            resp = await channel.run(command)
        except ModemError as exc:
            channel.data_sink = None
            channel.fail(exc)
            raise
        if isinstance(resp.final, ev.Connect):
            log.info("transparent mode", extra=kv(id=self.client_id))
            return True
        channel.data_sink = None
        return False

    async def send(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` raw; ``SocketClosed`` once the session ended."""
        view = memoryview(data)
        rate = self.options.line_rate
        step = max(MIN_CHUNK, int(rate * self.options.lead)) if rate else len(view)
        while view:
            if self.marker is not None or self._escape_at is not None:
                raise SocketClosed(command=f"send on socket {self.client_id}")
            if rate:
                await trio.sleep_until(self._line_free_at - self.options.lead)
            chunk = bytes(view[:step])
            await self.channel.send_data(chunk)
            if rate:
                self._line_free_at = max(trio.current_time(), self._line_free_at) \
                    + len(chunk) / rate
            self.bytes_sent += len(chunk)
            view = view[len(chunk):]
        if not data:
            await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The next bytes; ``b""`` once the session ended (or broke) and the inbox
        is empty.  Cancel-safe: bytes are taken only after the last checkpoint."""
        while True:
            if self.inbox:
                data = await take_some(self.inbox, max_bytes)
                self._wake()
                return data
            if self.marker is not None or self.channel.failure is not None:
                await trio.lowlevel.checkpoint()
                return b""
            timeout = math.inf
            if self._held:
                now = trio.current_time()
                due = max(self._last_read + TAIL_QUIET, self._proof[1] + TAIL_RECHECK
                          if self._proof[0] == self._reads else -math.inf)
                if now >= due:
                    await self._prove_tail()
                    continue
                timeout = due - now
            with trio.move_on_after(timeout):
                await self.wait_changed()

    async def _prove_tail(self) -> None:
        """A quiet line holds a tail that may begin ``NO CARRIER``: the socket's own
        channel says whether the module still holds it in data mode; if it does
        and nothing was read since, the tail is data."""
        reads = self._reads
        self._proof = (reads, trio.current_time())
        view = await self.view(self.own)
        if view is ModuleView.IN_DATA_MODE and self._reads == reads and self.marker is None \
                and self.channel.data_sink is self:
            self.channel.release_held_data()

    async def view(self, channel: AtChannel) -> ModuleView | None:
        """``AT+QSSLSTATE=<id>`` on ``channel``, as a ``ModuleView`` (None: no answer
        on the lent channel; the own channel's failures are raised)."""
        try:
            resp = await channel.run(commands.qsslstate(self.client_id))
        except ModemError:
            if channel is self.own:
                raise
            return None
        return module_view(resp.ok, resp.lines, self.client_id)

    # -- the end -----------------------------------------------------------------

    async def escape(self) -> None:
        """``+++`` with its guard times; returns once a marker came.  No answer
        (the ``+++`` may have reached the server as data) fails the session."""
        silent_from = max(trio.current_time(), self._line_free_at)
        await trio.sleep_until(silent_from + self.options.guard * GUARD_MARGIN)
        if self.marker is not None or self.channel.failure is not None:
            return
        self._escape_at = trio.current_time()
        await self.channel.send_escape()
        with trio.move_on_after(self.options.guard * GUARD_MARGIN + ESCAPE_ANSWER):
            while self.marker is None and self.channel.failure is None:
                await self.wait_changed()
        if self.marker is None and self.failure is None:
            self.failure = TransparentEndUnproven(
                self.client_id, "the +++ got no answer: it may have reached the server as data")

    async def settle(self, *, closed: bool = False) -> ModemError | None:
        """Check the end (``transparent_end``; ``closed``: we closed the socket, only
        the channel's state matters), route or drop what came after the marker,
        and let the channel go (failed when the end is unproven).  Returns the
        failure, or None for a proven end; runs once, later callers wait."""
        if self._settling:
            await self.settled.wait()
            return self.failure
        self._settling = True
        try:
            if self.failure is None:
                self.failure = await self._verify(closed)
        except ModemError as exc:  # the socket's own channel failed
            self.failure = exc
        finally:
            self._let_go()
            self.settled.set()
        return self.failure

    async def _verify(self, closed: bool) -> ModemError | None:
        marker = self.marker
        if self.channel.failure is not None or marker is None:
            why = "no end marker" if marker is None else "the lent channel failed"
            return TransparentEndUnproven(self.client_id, why)
        if closed:
            marker = EndMarker.CLOSED
        own = await self.view(self.own)
        doubt = end_doubt(marker, own, self._strays, early=self._early_ok)
        if doubt is None:
            doubt = lent_doubt(marker, await self.view(self.channel))
        if doubt is None:  # what came while the lent channel was asked
            doubt = end_doubt(marker, own, self._strays)
        return None if doubt is None else TransparentEndUnproven(self.client_id, doubt)

    def _let_go(self) -> None:
        """Detach from the channel; its held URCs go to the router when the end
        was proven, else the channel is failed and they are dropped (a pushed
        frame among them fails its socket rather than vanish)."""
        channel = self.channel
        if channel.data_sink is self:
            channel.data_sink = None
        after, self._after = self._after, []
        if self.failure is None:
            for urc in after:
                channel.route_urc(urc)
        else:
            log.warning("transparent mode ended unproven", extra=kv(
                id=self.client_id, reason=str(self.failure), dropped_urcs=len(after)))
            for urc in after:
                if isinstance(urc, ev.SslPushData):
                    channel.route_urc(ev.PushFrameBroken(
                        urc.client_id, "pushed on a line whose bytes could not be trusted"))
            if channel.failure is None:
                channel.fail(self.failure)
        self._wake()
