"""``ChannelSet``: the AT channels of one module life, and which socket uses which.

The first channel is the **control** channel: the bring-up, opens, closes,
the open's state polls, the PDP keeper, the health probe's and the AT
console's commands run there.  Every channel has its own ``AtChannel`` and
reader; their URCs go through ``UrcSources`` (``modem.core.urc_sources``)
to one router, the supervisor's, so URCs on any channel are accepted and
routed by client ID, and copies are not routed twice.

Data: each socket gets a channel when it opens (``assign``).  Its
``AT+QSSLSEND``\\ s go there, so one socket's sends stay in order on one
channel; under ``--access-mode buffer`` its ``AT+QSSLRECV``\\ s and state
checks too.  Under push mode every socket's receive side (``AT+QISWTMD``,
the reads, its state checks) runs on the channel the pushes come on
(``urc_channel``), so those answers keep their order with its pushes as on
one line, and a buffer-mode socket's reads (IDs 1, 10, 11) never wait
behind another socket's sends (docs/reliability.md, "Several channels").
The channel picked is the one of the rotation (every data channel, that is every channel but
the control channel, but those lent out and but the spare; the control
channel when none is left) with the fewest sockets, then the fewest bytes
moved in this life: sockets spread, an upload on one channel never waits
behind another channel's ``SEND OK``, and an interactive socket shares its
channel's FIFO turns with as few others as the channel count allows.  A
socket that needs a channel of its own (transparent mode) borrows one
(``borrow_dedicated`` / ``give_back``).  One data channel, the **spare**,
takes no sockets, so a bulk upload finds a channel free however many
connections are open (with every channel in the rotation, a busy module
never had one): with three data channels or more, the last that is not the
URC channel (four DLCs: DLC 4).  With fewer (the two USB ports) there is
none.

Any channel that breaks ends the life (``broken``): the supervisor then
recovers the module as it does with one channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from modem.channels.book import ChannelBook, ChannelCounts
from modem.core import events as ev
from modem.core.channel_plan import ChannelKind
from modem.core.errors import ModemError
from modem.core.frames import FrameStyle
from modem.core.log_fields import kv
from modem.core.mux import MuxState
from modem.core.mux.errors import MuxLost
from modem.core.urc_sources import UrcSources, UrcVerdict
from modem.link.answers import RdyMeans
from modem.link.channel import AtChannel
from modem.link.dlc_stream import DlcStream
from modem.link.mux_session import MuxSession
from modem.link.owed_payload import OwedPayload

__all__ = ["AtSettings", "Channel", "ChannelSet", "SocketLink"]

log = logging.getLogger("modem.driver")


@dataclass(frozen=True)
class AtSettings:
    """How every ``AtChannel`` of a life is made (the supervisor's options)."""

    trace: bool = False
    trace_payload: bool = False
    command_timeout_cap: float = float("inf")
    push_style: FrameStyle | None = None
    distrustful: bool = False


class Channel:
    """One AT channel of the life: its ``AtChannel``, its counters, who uses it."""

    def __init__(self, name: str, at: AtChannel, counts: ChannelCounts,
                 dlc: DlcStream | None) -> None:
        self.name = name
        self.at = at
        self.counts = counts
        self.dlc = dlc
        self.sockets: set[int] = set()
        self.lent = False
        lines = counts.lines
        self._moved_before = lines.to_module + lines.from_module

    @property
    def moved(self) -> int:
        """Bytes over this channel in this life."""
        lines = self.counts.lines
        return lines.to_module + lines.from_module - self._moved_before


@dataclass(frozen=True)
class SocketLink:
    """The channels one socket uses: ``send`` for its sends (and its reads in
    buffer mode), ``pushes()`` the channel its pushes come on (asked when
    needed: known from its ``+QSSLOPEN`` on), ``control`` for its close."""

    send: AtChannel
    pushes: Callable[[], AtChannel]
    control: AtChannel
    name: str


class ChannelSet:
    """The channels of one life; see the module docstring."""

    def __init__(self, kind: ChannelKind, book: ChannelBook, route: Callable[[ev.Urc], None],
                 settings: AtSettings, fallback: str | None = None,
                 carried: dict[str, OwedPayload] | None = None) -> None:
        self.kind = kind
        self.fallback = fallback
        self.book = book
        self.channels: list[Channel] = []
        self.sources = UrcSources()
        self.failure: ModemError | None = None
        self.broken = trio.Event()
        self.mux: MuxSession | None = None
        self._route = route
        self._settings = settings
        self._spread_logged = False
        self._carried = carried or {}
        """What the last life's channels may owe the module, by channel name: each new
        channel of the same name writes it before its first ``AT``
        (``modem.link.owed_payload``)."""

    # -- building ------------------------------------------------------------------

    def add(self, stream: trio.abc.Stream, name: str, dlc: DlcStream | None = None
            ) -> AtChannel:
        """A new channel on ``stream`` (run its ``read_loop`` in a task)."""
        settings = self._settings
        counts = self.book.counts_for(name, self.kind)
        if dlc is not None:
            counts.follow(dlc)
        at = AtChannel(stream, lambda urc: self._urc(name, urc), trace=settings.trace,
                       command_timeout_cap=settings.command_timeout_cap,
                       trace_payload=settings.trace_payload, line_counts=counts.lines,
                       push_style=settings.push_style, distrustful=settings.distrustful,
                       name=name if self.kind is not ChannelKind.SINGLE else None)
        if name in self._carried:
            at.owed.carry_over(self._carried[name])
        self.channels.append(Channel(name, at, counts, dlc))
        if self.failure is not None:
            at.fail(self.failure)
        return at

    def owed(self) -> dict[str, OwedPayload]:
        """What each channel may still owe the module, by name (for the next life)."""
        return {ch.name: ch.at.owed for ch in self.channels}

    def remove(self, at: AtChannel) -> None:
        """Drop ``at`` (the raw line's channel once the multiplexer has the line)."""
        self.channels = [ch for ch in self.channels if ch.at is not at]

    def served(self) -> None:
        """The bring-up is done: from now on ``RDY`` on any channel means the
        module restarted; the book shows these channels."""
        for ch in self.channels:
            ch.at.rdy_means = RdyMeans.SOCKETS_LOST
        self.book.describe = self.describe
        if len(self.channels) > 1:
            log.info("AT channels up", extra=kv(
                kind=self.kind.value, channels=", ".join(ch.name for ch in self.channels),
                control=self.control_name, n1=self.book.n1))

    def ended(self) -> None:
        """The life is over: the DLCs' frame counts stay in the book."""
        for ch in self.channels:
            ch.counts.unfollow()
        self.book.life_ended()

    # -- the life's health -----------------------------------------------------------

    @property
    def control(self) -> AtChannel:
        return self.channels[0].at

    @property
    def control_name(self) -> str:
        return self.channels[0].name

    def fail(self, failure: ModemError) -> None:
        """Break every channel (``abort``, a lost multiplexer): the life ends."""
        if self.failure is None:
            self.failure = failure
        for ch in list(self.channels):
            ch.at.fail(failure)
        self.broken.set()

    async def watch(self) -> None:
        """Until any channel breaks; then the life is ``broken`` with its failure
        (run in the life's nursery once every channel is added)."""
        async with trio.open_nursery() as nursery:
            for ch in self.channels:
                nursery.start_soon(self._watch_one, ch.at, nursery.cancel_scope)

    async def _watch_one(self, at: AtChannel, done: trio.CancelScope) -> None:
        await at.broken.wait()
        if self.failure is None and at.failure is not None:
            self.failure = at.failure
        self.broken.set()
        done.cancel()

    @property
    def mux_lost(self) -> bool:
        """The life lost its multiplexer: the line under it, DLC 0 closed by the
        module, or a storm of bad frames (``MuxLost``)."""
        mux = self.mux
        return isinstance(self.failure, MuxLost) or mux is not None and (
            mux.lost is not None or mux.state is MuxState.CLOSED)

    @property
    def push_style(self) -> FrameStyle | None:
        """How the module ends push frames, as the URC channel learned it."""
        return self.urc_channel().push_style

    # -- URCs ----------------------------------------------------------------------

    def frames_lost(self) -> None:
        """A frame from the module was dropped on the multiplexer's line: it may have
        held a push header and part of its data, whose rest then reads as lines and
        nothing marks the hole, so every push-mode socket fails (``ev.LineLost``)."""
        self._route(ev.LineLost("a frame from the module was dropped on the "
                                "multiplexer's line"))

    def _urc(self, name: str, urc: ev.Urc) -> None:
        verdict = self.sources.verdict(name, urc)
        if verdict is UrcVerdict.ROUTE:
            self._route(urc)
            return
        if verdict is UrcVerdict.COPY:
            self.book.urc_copies += 1
            return
        self.book.urc_strays += 1
        if not self._spread_logged:
            self._spread_logged = True
            log.warning("socket URCs on more than one channel: only the first channel's "
                        "are taken; new sockets read in buffer mode", extra=kv(
                            taken=self.sources.source, also=name))
        if isinstance(urc, ev.SslPushData | ev.PushFrameBroken):
            # Its place among the source's pushes is unknown: the socket fails.
            self._route(ev.PushFrameBroken(urc.client_id, f"pushed on {name}, whose order "
                                           f"with {self.sources.source} nothing keeps"))

    @property
    def urcs_spread(self) -> bool:
        """Socket URCs came on a channel that is neither the source nor a copy:
        pushed data would have no order across channels (new sockets: buffer mode)."""
        return bool(self.sources.strays)

    def urc_channel(self) -> AtChannel:
        """The channel the socket URCs come on (the control channel until one came)."""
        source = self.sources.source
        return next((ch.at for ch in self.channels if ch.name == source), self.control)

    # -- sockets ---------------------------------------------------------------------

    def assign(self, client_id: int) -> SocketLink:
        """The channels socket ``client_id`` uses (see the module docstring)."""
        open_ = [ch for ch in self.channels[1:] if not ch.lent]
        spare = self._spare()
        rotation = [ch for ch in open_ if ch is not spare] or self.channels[:1]
        chosen = min(rotation, key=lambda ch: (len(ch.sockets), ch.moved))
        chosen.sockets.add(client_id)
        if len(self.channels) > 1:
            log.info("socket channel", extra=kv(id=client_id, channel=chosen.name))
        return SocketLink(chosen.at, self.urc_channel, self.control, chosen.name)

    def release(self, client_id: int) -> None:
        """Socket ``client_id`` is closed (or its open failed)."""
        for ch in self.channels:
            ch.sockets.discard(client_id)

    def _spare(self) -> Channel | None:
        """The channel kept free of sockets for ``borrow_dedicated``: the last
        data channel that is not the URC channel, when two or more others stay
        in the rotation (four DLCs: DLC 4, or DLC 3 when the URCs come on DLC 4).
        None with fewer: the sockets use every data channel.  Not with the two
        USB ports: a life that ends while ``usbmodem`` is in data mode leaves it
        there, and the next life's first ``AT`` on it would reach the server as
        data (the soak found it; a DLC is reset with its multiplexer)."""
        data = self.channels[1:]
        if len(data) < 3:
            return None
        return next((ch for ch in reversed(data) if ch.name != self.sources.source), None)

    def borrow_dedicated(self) -> AtChannel | None:
        """A channel for one socket's own use (transparent mode), out of the data
        rotation until ``give_back``: the spare, else one that carries no socket
        and is neither the control channel nor the URC channel, while another
        stays in the rotation.  None when there is none (one channel only, every
        other one carries sockets or is lent, or no socket URC has come yet, so
        the URC channel is not known)."""
        if self.sources.source is None or self.failure is not None:
            return None
        spare = self._spare()
        rotation = [ch for ch in self.channels[1:] if not ch.lent]
        free = [ch for ch in rotation
                if not ch.sockets and ch.name != self.sources.source]
        if spare in free:
            chosen = spare
        elif free and len(rotation) >= 2:
            chosen = free[-1]
        else:
            return None
        chosen.lent = True
        if chosen.dlc is not None:
            chosen.dlc.raw = True  # a frame lost on the line now fails it
        self.book.lends += 1
        log.info("channel lent", extra=kv(channel=chosen.name))
        return chosen.at

    def give_back(self, channel: AtChannel) -> None:
        """``channel`` (from ``borrow_dedicated``) goes back into the data rotation."""
        for ch in self.channels:
            if ch.at is channel and ch.lent:
                ch.lent = False
                if ch.dlc is not None:
                    ch.dlc.raw = False
                log.info("channel given back", extra=kv(channel=ch.name))

    # -- what the status page shows -------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        """Each channel: name, roles, the sockets it carries, and its traffic
        across lives (bytes each way; data frames on a DLC)."""
        source = self.sources.source
        out = []
        for index, ch in enumerate(self.channels):
            roles = [role for role, on in (("control", index == 0), ("urcs", ch.name == source),
                                           ("lent", ch.lent)) if on]
            lines = ch.counts.lines
            entry: dict[str, Any] = {
                "name": ch.name, "roles": roles, "sockets": sorted(ch.sockets),
                "bytes_to_module": lines.to_module, "bytes_from_module": lines.from_module}
            if ch.dlc is not None:
                entry.update(frames_to_module=ch.counts.frames_to_module,
                             frames_from_module=ch.counts.frames_from_module)
            out.append(entry)
        return out
