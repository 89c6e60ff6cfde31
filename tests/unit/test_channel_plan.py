"""Which channels a module life runs on, the refusal back-off, whose socket URCs
count, and when bad frames are a storm (sans-I/O, issue 21 item 3)."""

from __future__ import annotations

import pytest

from modem.channels import ChannelBook, ChannelPlanner, ChannelsRefused
from modem.core import events as ev
from modem.core.channel_plan import (
    LOSS_STREAK,
    REFUSAL_HOLD,
    REFUSAL_HOLD_MAX,
    STEADY,
    ChannelKind,
    ChannelMode,
    ChannelRetry,
    plan_channels,
)
from modem.core.commands import cmux, parse_cmux_n1, parse_cmux_test
from modem.core.mux.errors import MuxStartFailed
from modem.core.mux.storm import FrameStorm
from modem.core.urc_sources import UrcSources, UrcVerdict

SINGLE, CMUX, PORTS = ChannelKind.SINGLE, ChannelKind.CMUX, ChannelKind.PORTS


@pytest.mark.parametrize(("mode", "port", "extra", "kind"), [
    (ChannelMode.SINGLE, "uart1", 1, SINGLE),
    (ChannelMode.CMUX, None, 0, CMUX),
    (ChannelMode.CMUX, "usbat", 1, CMUX),
    (ChannelMode.PORTS, "usbat", 1, PORTS),
    (ChannelMode.AUTO, "uart1", 0, CMUX),
    (ChannelMode.AUTO, "usbat", 1, PORTS),
    (ChannelMode.AUTO, "usbmodem", 1, PORTS),
])
def test_the_kind_each_mode_and_port_gets(mode: ChannelMode, port: str | None, extra: int,
                                          kind: ChannelKind) -> None:
    plan = plan_channels(mode, port, extra)
    assert (plan.kind, plan.reason) == (kind, None)


@pytest.mark.parametrize(("mode", "port", "why"), [
    (ChannelMode.AUTO, "usbat", "second USB AT port (usbmodem) was not found"),
    (ChannelMode.PORTS, None, "second USB AT port (usbmodem) was not found"),
    (ChannelMode.AUTO, None, "cannot tell whether the port is a UART or USB"),
])
def test_one_channel_with_its_reason(mode: ChannelMode, port: str | None, why: str) -> None:
    plan = plan_channels(mode, port, 0)
    assert plan.kind is SINGLE
    assert plan.reason is not None and why in plan.reason


def test_a_held_module_runs_on_one_channel_and_says_why() -> None:
    plan = plan_channels(ChannelMode.CMUX, "uart1", 0, held="ERROR to AT+CMUX")
    assert (plan.kind, plan.reason) == (SINGLE, "ERROR to AT+CMUX")
    assert plan_channels(ChannelMode.SINGLE, "uart1", 0, held="x").reason is None


def test_refusals_hold_longer_each_time_up_to_the_cap() -> None:
    retry = ChannelRetry()
    assert retry.held(0.0) is None
    assert retry.refused(0.0, "no") == REFUSAL_HOLD
    assert retry.held(REFUSAL_HOLD - 1) == "no"
    assert retry.held(REFUSAL_HOLD) is None
    assert retry.refused(REFUSAL_HOLD, "no") == 2 * REFUSAL_HOLD
    for _ in range(20):
        hold = retry.refused(0.0, "no")
    assert hold == REFUSAL_HOLD_MAX
    retry.served(STEADY)  # a steady life on several channels forgets the streak
    assert retry.refused(0.0, "no") == REFUSAL_HOLD


def test_lives_that_keep_losing_their_channels_count_as_a_refusal() -> None:
    retry = ChannelRetry()
    for _ in range(LOSS_STREAK - 1):
        assert retry.lost(0.0, served_for=5.0) is None
        assert retry.held(0.0) is None  # the next life tries again at once
    assert retry.lost(0.0, served_for=5.0) == REFUSAL_HOLD
    assert retry.held(1.0) is not None
    fresh = ChannelRetry()
    for _ in range(LOSS_STREAK * 2):
        assert fresh.lost(0.0, served_for=STEADY) is None  # each served long enough


def test_unanswered_mux_starts_are_lost_lives_and_a_streak_of_them_a_refusal() -> None:
    """No UA to the multiplexer's start is a module gone silent, not one that
    refuses: the next life tries CMUX again; a streak holds it on one channel.
    DM to the start is a refusal at once."""
    book = ChannelBook(mode=ChannelMode.CMUX)
    planner = ChannelPlanner(ChannelMode.CMUX, None, 0, book, clock=lambda: 0.0)
    silent = MuxStartFailed("the module never answered the multiplexer's start")
    for _ in range(LOSS_STREAK - 1):
        assert planner.plan().kind is CMUX
        planner.not_started(silent)
    assert planner.plan().kind is CMUX
    planner.not_started(silent)
    plan = planner.plan()
    assert (plan.kind, plan.reason) == (SINGLE, f"lost its channels in {LOSS_STREAK} lives "
                                                "in a row")
    assert book.report()["mux_starts_lost"] == LOSS_STREAK
    refusing = ChannelPlanner(ChannelMode.CMUX, None, 0, ChannelBook(), clock=lambda: 0.0)
    refusing.not_started(ChannelsRefused("the module refused (DM) the multiplexer's start"))
    assert refusing.plan().kind is SINGLE


def test_socket_urcs_count_from_the_first_channel_that_brings_one() -> None:
    sources = UrcSources()
    assert sources.verdict("DLC 2", ev.ModuleReady()) is UrcVerdict.ROUTE
    assert sources.source is None  # not a socket URC
    assert sources.verdict("DLC 1", ev.SslOpened(0, 0)) is UrcVerdict.ROUTE
    assert sources.verdict("DLC 1", ev.SslRecv(0)) is UrcVerdict.ROUTE
    assert sources.source == "DLC 1"
    assert not sources.several


def test_copies_on_every_channel_are_dropped_once_recognised() -> None:
    sources = UrcSources()
    sources.verdict("DLC 1", ev.SslOpened(3, 0))
    assert sources.verdict("DLC 2", ev.SslOpened(3, 0)) is UrcVerdict.COPY
    assert sources.verdict("DLC 2", ev.SslPushData(3, b"x")) is UrcVerdict.COPY
    assert sources.copies["DLC 2"] == 2
    assert not sources.strays


def test_a_socket_urc_elsewhere_is_a_stray() -> None:
    sources = UrcSources()
    sources.verdict("DLC 1", ev.SslRecv(1))
    assert sources.verdict("DLC 3", ev.SslPushData(1, b"x")) is UrcVerdict.STRAY
    assert sources.strays["DLC 3"] == 1 and sources.several


def test_a_storm_is_enough_bad_frames_within_the_window() -> None:
    storm = FrameStorm(limit=3, window=5.0)
    assert not storm.sample(0.0, 0)
    assert not storm.sample(1.0, 2)
    assert storm.sample(2.0, 3)
    slow = FrameStorm(limit=3, window=5.0)
    for t, bad in ((0.0, 0), (4.0, 1), (8.0, 2), (12.0, 3), (16.0, 4)):
        assert not slow.sample(t, bad)  # one bad frame every 4 s is noise
    with pytest.raises(ValueError, match="limit"):
        FrameStorm(limit=0)


def test_the_cmux_command_and_its_speed_code() -> None:
    assert cmux(127).text == "AT+CMUX=0,0,5,127,10,3,30,10,2"
    assert cmux(127, 921600).text == "AT+CMUX=0,0,8,127,10,3,30,10,2"
    assert cmux(127, 921600, frozenset(range(1, 8))).text.startswith("AT+CMUX=0,0,5,")
    assert parse_cmux_test("+CMUX: (0),(0),(1-7),(1-32768),(1-255)") == frozenset(range(1, 8))
    assert parse_cmux_test("+CMUX: (0)") == frozenset()


def test_the_largest_frame_size_the_module_lists_is_read() -> None:
    assert parse_cmux_n1("+CMUX: (0),(0),(1-7),(1-32768),(1-255)") == 32768
    assert parse_cmux_n1("+CMUX: (0),(0),(1-5),(31,64,127),(1-255)") == 127
    assert parse_cmux_n1("+CMUX: (0),(0),(1-7)") is None
    assert parse_cmux_n1("") is None
    with pytest.raises(ValueError):
        cmux(0)
