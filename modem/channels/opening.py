"""``open_channels``: the AT channels of one module life, on the stream opened.

    channels = ChannelSet(plan.kind, book, route, settings)
    async with open_channels(channels, stream, plan, ChannelOptions(...)):
        ...  # bring-up on channels.control, then serve until channels.broken

* ``single``: one ``AtChannel`` on the stream, as before channels existed;
* ``cmux``: the first ``AT`` on the stream (after unanswered ones, the
  multiplexer's close-down: an earlier life may have left it in mux mode;
  so too on one channel under ``--channels cmux`` or ``auto``), then the
  multiplexer's DLCs (``modem.channels.mux_line``);
* ``ports``: the stream is the control channel and answers ``AT`` first
  (a module silent on every port is not refusing); each ``ExtraPort`` (the
  module's other USB AT port) is opened, answers ``AT`` and gets ``ATE0``
  and ``AT+CMEE=1``.

Every channel's reader runs in this block's nursery; the physical lines
count their bytes into ``ChannelOptions.line_counts`` (``CountedLine``).
A module that refuses raises ``ChannelsRefused`` before the block runs;
the first ``AT``'s ``NoAnswer`` (cmux, ports) is raised as the bring-up's
would be.  On exit the multiplexer is closed down and the extra ports closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import trio

from modem.bringup.steps import configure_line
from modem.channels.channel_set import ChannelSet
from modem.channels.mux_line import leave_stale_mux, start_mux
from modem.channels.refusal import ChannelsRefused
from modem.channels.streams import CountedLine
from modem.core.channel_plan import ChannelKind, ChannelMode, ChannelPlan
from modem.core.errors import DeviceError, render
from modem.core.line_counts import LineCounts
from modem.core.mux import DEFAULT_N1
from modem.link.answers import NoAnswer
from modem.link.channel import AtChannel
from modem.link.mux_session import MuxOptions
from modem.nurseries import single_exception

__all__ = ["MUX_DLCS", "ChannelOptions", "ExtraPort", "open_channels"]

MUX_DLCS = 4
MUX_MODES = frozenset({ChannelMode.CMUX, ChannelMode.AUTO})
"""The ``--channels`` under which a life may have left the module in mux mode."""
"""DLCs opened under CMUX: Quectel's modules offer 1-4 (Zephyr's EG25-G driver uses all four)."""
PORT_SYNC_ATTEMPTS = 5


@dataclass(frozen=True)
class ExtraPort:
    """Another AT port of the module: its name (``usbmodem``) and how to open it."""

    name: str
    open: Callable[[], Awaitable[trio.abc.Stream]]


@dataclass(frozen=True)
class ChannelOptions:
    """What ``open_channels`` needs beyond the plan.  ``name``: the stream's
    port (the control channel's name in single and ports); ``sync_attempts``:
    the first ``AT``'s tries (cmux); ``line_baud``: the line's rate (the
    multiplexer keeps its writer near it; ``AT+CMUX``'s speed code)."""

    name: str = "line"
    ports: tuple[ExtraPort, ...] = ()
    sync_attempts: int = 30
    line_baud: int | None = None
    n1: int = DEFAULT_N1
    dlcs: int = MUX_DLCS
    start_delay: float = 0.5
    line_counts: LineCounts = field(default_factory=LineCounts)

    def mux_options(self) -> MuxOptions:
        rate = self.line_baud / 10 if self.line_baud else 0.0
        return MuxOptions(n1=self.n1, start_delay=self.start_delay, line_rate=rate)


@asynccontextmanager
async def open_channels(channels: ChannelSet, stream: trio.abc.Stream, plan: ChannelPlan,
                        options: ChannelOptions) -> AsyncIterator[ChannelSet]:
    """``channels`` filled for ``plan`` (see the module docstring)."""
    line = CountedLine(stream, options.line_counts)
    with single_exception():
        async with _channels_of(channels, line, plan, options):
            yield channels


@asynccontextmanager
async def _channels_of(channels: ChannelSet, line: CountedLine, plan: ChannelPlan,
                       options: ChannelOptions) -> AsyncIterator[ChannelSet]:
    async with trio.open_nursery() as nursery:
        async with AsyncExitStack() as stack:
            raw = channels.add(line, "line" if plan.kind is ChannelKind.CMUX else options.name)
            raw_reader = _RawReader(raw)
            nursery.start_soon(raw_reader.run)
            if plan.kind is ChannelKind.CMUX or channels.book.mode in MUX_MODES:
                # A life on one channel too: an earlier life may have left the
                # module in mux mode (its close-down lost while the module was silent).
                await leave_stale_mux(raw, line, options.sync_attempts)
            if plan.kind is ChannelKind.CMUX:
                await start_mux(channels, line, raw, raw_reader.stop, nursery, stack,
                                options.mux_options(), options.dlcs, options.line_baud)
            elif plan.kind is ChannelKind.PORTS:
                # A silent module is not a refusal: the port opened answers first.
                await raw.sync(options.sync_attempts)
                await _open_ports(channels, options, nursery, stack)
            nursery.start_soon(channels.watch)
            yield channels
        nursery.cancel_scope.cancel()


class _RawReader:
    """The reader of the line's own channel, which the multiplexer stops."""

    def __init__(self, channel: AtChannel) -> None:
        self.channel = channel
        self._scope = trio.CancelScope()
        self._done = trio.Event()

    async def run(self) -> None:
        try:
            with self._scope:
                await self.channel.read_loop()
        finally:
            self._done.set()

    async def stop(self) -> None:
        """Cancel the reader and wait until it no longer reads the line."""
        self._scope.cancel()
        await self._done.wait()


async def _open_ports(channels: ChannelSet, options: ChannelOptions, nursery: trio.Nursery,
                      stack: AsyncExitStack) -> None:
    for port in options.ports:
        try:
            stream = await port.open()
        except (DeviceError, OSError) as exc:
            raise ChannelsRefused(f"the module's {port.name} port could not be opened: "
                                  f"{render(exc)}") from None
        stack.push_async_callback(_close, stream)
        at = channels.add(CountedLine(stream, options.line_counts), port.name)
        nursery.start_soon(at.read_loop)
        try:
            await at.sync(PORT_SYNC_ATTEMPTS)
        except NoAnswer:
            raise ChannelsRefused(f"the module's {port.name} port does not answer AT") from None
        await configure_line(at)


async def _close(stream: trio.abc.Stream) -> None:
    with trio.CancelScope(shield=True):
        await stream.aclose()
