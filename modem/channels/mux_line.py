"""The life's channels as DLCs of the 07.10 multiplexer on the line opened.

``start_mux`` runs on the raw line's channel after its first ``AT``:
``AT+CMUX=?`` (firmware without a multiplexer answers ``ERROR``), then
``AT+CMUX=0,0,<speed>,<N1>,10,3,30,10,2`` (``commands.cmux``; N1 the
option's, lowered to the largest the test form lists); after its
``OK`` the raw channel's reader stops and ``MuxSession`` takes the line,
waiting ``start_delay`` (0.5 s) before its first frame (some firmware hangs
when it comes within 100 ms: zephyr#63410).  DLCs 1 to ``dlcs`` open, each
an ``AtChannel`` of the ``ChannelSet``; DLC 1 is the control channel, the
others get their ``ATE0`` and ``AT+CMEE=1`` here.  A module that answers
``ERROR``, DM to the start or to DLC 1 refuses (``ChannelsRefused``); DM
to a later DLC, or a later DLC that does not answer ``AT`` while DLC 1
does, leaves fewer channels.  No answer at all to the start, or from any
DLC, is not a refusal but a module gone silent (``MuxStartFailed``, a lost
life: the supervisor tries again, ``modem.core.channel_plan.ChannelRetry``).

On the way out the session closes the multiplexer down (CLD, answered);
when it could not (the life was cancelled), the close-down frames are
written on the line, so the module takes AT commands again.  A module that
does not answer its first ``AT`` commands gets those frames too, after every
few unanswered ones: a life lost while the module was silent, or a run that was killed, may have
left it in mux mode (leaving it needs the close-down or a reset).
``watch_frames`` ends the life on a storm of bad frames
(``modem.core.mux.storm``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace

import trio

from modem.bringup.steps import configure_line
from modem.channels.channel_set import ChannelSet
from modem.channels.refusal import ChannelsRefused
from modem.channels.streams import DlcLine
from modem.core import commands
from modem.core.log_fields import kv
from modem.core.mux import (
    ControlMessage,
    Frame,
    FrameType,
    MessageType,
    MuxState,
    encode_frame,
    encode_message,
)
from modem.core.mux.errors import (
    DlcRefused,
    DlcUnanswered,
    MuxLost,
    MuxStartFailed,
    MuxStartRefused,
)
from modem.core.mux.storm import STORM_WINDOW, FrameStorm
from modem.link.answers import NoAnswer
from modem.link.channel import AtChannel
from modem.link.mux_session import MuxOptions, MuxSession

__all__ = ["CLOSE_DOWN", "leave_stale_mux", "start_mux", "watch_frames"]

log = logging.getLogger("modem.driver")

CLOSE_DOWN = (encode_frame(Frame(0, FrameType.UIH, cr=True, info=encode_message(
    ControlMessage(MessageType.CLD, True)))) + encode_frame(Frame(0, FrameType.DISC, cr=True,
                                                                   pf=True)))
"""CLD, then DISC on DLC 0: what takes a module out of mux mode (27.010 5.8.2)."""
CLOSE_DOWN_BOUND = 1.0
STALE_MUX_SYNCS = 3
STORM_SAMPLE = 0.5
DLC_SYNC_ATTEMPTS = 5


async def leave_stale_mux(raw: AtChannel, line: trio.abc.Stream, attempts: int) -> None:
    """The first ``AT``; after every ``STALE_MUX_SYNCS`` unanswered ones, the
    close-down frames (a life lost while the module was silent leaves it in mux
    mode, and frames written while it is still silent are lost), up to
    ``attempts`` in all.  ``NoAnswer`` as the sync's."""
    left = attempts
    while True:
        try:
            await raw.sync(min(left, STALE_MUX_SYNCS))
        except NoAnswer:
            left -= STALE_MUX_SYNCS
            if left <= 0:
                raise
            await write_close_down(line)
            continue
        if left < attempts:
            log.info("the module answered after the multiplexer's close-down")
        return


async def write_close_down(line: trio.abc.Stream) -> None:
    """The close-down frames straight on the line (shielded, bounded)."""
    with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_DOWN_BOUND):
        try:
            await line.send_all(CLOSE_DOWN)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass


async def start_mux(channels: ChannelSet, line: trio.abc.Stream, raw: AtChannel,
                    stop_raw: Callable[[], Awaitable[None]], nursery: trio.Nursery,
                    stack: AsyncExitStack,
                    options: MuxOptions, dlcs: int, line_baud: int | None) -> MuxSession:
    """The multiplexer on ``line`` and DLCs 1..``dlcs`` as ``channels``' channels
    (see the module docstring); ``ChannelsRefused`` when the module refuses."""
    test = await raw.run(commands.cmux_test())
    if not test.ok:
        raise ChannelsRefused("the module has no multiplexer (AT+CMUX=? answered ERROR)")
    listed = test.lines[0] if test.lines else ""
    speeds = commands.parse_cmux_test(listed)
    options = _believed_n1(options, commands.parse_cmux_n1(listed))
    answer = await raw.run(commands.cmux(options.n1, line_baud,
                                         speeds or frozenset(commands.CMUX_PORT_SPEEDS.values())))
    if not answer.ok:
        raise ChannelsRefused(f"the module answered {answer.final} to AT+CMUX")
    await stop_raw()
    channels.remove(raw)
    mux = await _enter(line, options, stack)
    channels.mux = mux
    mux.on_frames_lost = channels.frames_lost
    channels.book.mux_started(mux.counters, options.n1)
    for dlci in range(1, dlcs + 1):
        try:
            dlc = await mux.open_dlc(dlci)
        except (DlcRefused, DlcUnanswered) as exc:
            if dlci == 1 and isinstance(exc, DlcUnanswered):
                raise MuxStartFailed(f"the module went silent as DLC 1 opened ({exc})") from None
            if dlci == 1:
                raise ChannelsRefused(f"the module refused DLC 1 ({exc})") from None
            if isinstance(exc, DlcUnanswered):
                await _raise_if_silent(channels, f"DLC {dlci}")
            log.info("fewer DLCs than asked for", extra=kv(refused=dlci, dlcs=dlci - 1))
            break
        at = channels.add(DlcLine(dlc), f"DLC {dlci}", dlc)
        nursery.start_soon(at.read_loop)
    for channel in channels.channels[1:]:
        try:
            await channel.at.sync(DLC_SYNC_ATTEMPTS)
        except NoAnswer:
            await _raise_if_silent(channels, channel.name)
            log.info("a DLC that does not answer AT is not used", extra=kv(channel=channel.name))
            channels.remove(channel.at)  # not an AT port (some firmware: NMEA)
            continue
        await configure_line(channel.at)
    nursery.start_soon(watch_frames, mux, channels)
    return mux


async def _raise_if_silent(channels: ChannelSet, name: str) -> None:
    """DLC ``name`` did not answer (``AT``, or its opening): ``MuxStartFailed`` (a
    lost life) when DLC 1 does not answer ``AT`` either, the module having gone
    silent."""
    try:
        await channels.control.sync(DLC_SYNC_ATTEMPTS)
    except NoAnswer:
        raise MuxStartFailed(f"the module went silent while its DLCs opened ({name} "
                             "and DLC 1 do not answer)") from None


def _believed_n1(options: MuxOptions, module_max: int | None) -> MuxOptions:
    """``options`` with N1 no larger than the module's ``AT+CMUX=?`` lists."""
    if module_max is None or options.n1 <= module_max:
        return options
    log.info("frames no larger than the module takes",
             extra=kv(mux_n1=options.n1, module_n1_max=module_max, n1=module_max))
    return replace(options, n1=module_max)


async def _enter(line: trio.abc.Stream, options: MuxOptions, stack: AsyncExitStack
                 ) -> MuxSession:
    async def leave(session: MuxSession | None) -> None:
        # The session closes down itself on a normal exit; not when cancelled.
        if session is None or session.state is not MuxState.CLOSED:
            await write_close_down(line)

    entered: list[MuxSession] = []
    stack.push_async_callback(lambda: leave(entered[0] if entered else None))
    try:
        mux = await stack.enter_async_context(MuxSession.open(line, options))
    except MuxStartRefused as exc:
        raise ChannelsRefused(f"the module refused the multiplexer's start ({exc})") from None
    entered.append(mux)
    return mux


async def watch_frames(mux: MuxSession, channels: ChannelSet,
                       every: float = STORM_SAMPLE) -> None:
    """End the life when bad frames come in a storm (run for the life)."""
    storm = FrameStorm()
    counters = mux.counters
    while channels.failure is None:
        bad = counters.bad_fcs + counters.bad_frames + counters.too_long
        if storm.sample(trio.current_time(), bad):
            log.warning("bad frames in a storm on the multiplexer's line: module lost",
                        extra=kv(bad_frames=bad, within_s=STORM_WINDOW))
            channels.fail(MuxLost(f"{storm.limit} or more bad frames within "
                                  f"{storm.window:g} s: the line no longer carries the "
                                  "multiplexer"))
            return
        await trio.sleep(every)
