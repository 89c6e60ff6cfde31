"""Unit tests of which connections move to a transparent-mode channel and when
they give it back (``proxy.connections.transparent_policy``)."""

from __future__ import annotations

from proxy.connections.transparent_policy import BulkTracker, Move, TransparentUse

AUTO, NEVER, ALWAYS = TransparentUse.AUTO, TransparentUse.NEVER, TransparentUse.ALWAYS


def test_auto_asks_once_the_client_stays_ahead_for_a_backlog() -> None:
    t = BulkTracker(AUTO, backlog=1000)
    assert [t.sent(300, True, 0.0, False) for _ in range(3)] == [Move.STAY] * 3
    assert t.sent(300, True, 0.0, False) is Move.ENTER


def test_a_client_that_catches_up_starts_the_run_again() -> None:
    # Request/response: the client waits for each answer, so it is never ahead for long.
    t = BulkTracker(AUTO, backlog=1000)
    for _ in range(50):
        assert t.sent(900, True, 0.0, False) is Move.STAY
        assert t.sent(50, False, 0.0, False) is Move.STAY


def test_no_channel_free_asks_again_only_after_another_backlog() -> None:
    t = BulkTracker(AUTO, backlog=1000)
    assert t.sent(1000, True, 0.0, False) is Move.ENTER  # none was free: still outside
    assert t.sent(999, True, 0.0, False) is Move.STAY
    assert t.sent(1, True, 0.0, False) is Move.ENTER


def test_never_stays_and_always_asks_at_every_send_outside() -> None:
    never, always = BulkTracker(NEVER, backlog=1), BulkTracker(ALWAYS)
    for _ in range(3):
        assert never.sent(10_000, True, 0.0, False) is Move.STAY
        assert always.sent(1, False, 0.0, False) is Move.ENTER
    assert always.sent(1, False, 0.0, True) is Move.STAY


def test_a_half_close_gives_the_channel_back_and_asks_no_more() -> None:
    t = BulkTracker(ALWAYS)
    assert t.local_closed(inside=True) is Move.LEAVE
    assert t.sent(1, True, 0.0, False) is Move.STAY
    assert BulkTracker(AUTO).local_closed(inside=False) is Move.STAY


def test_auto_gives_the_channel_back_after_a_quiet_upload() -> None:
    t = BulkTracker(AUTO, quiet=5.0)
    t.sent(10, True, 100.0, True)
    assert t.give_back_at(inside=True) == 105.0
    assert t.check_quiet(104.9, inside=True) is Move.STAY
    assert t.check_quiet(105.0, inside=True) is Move.LEAVE
    assert t.check_quiet(200.0, inside=False) is Move.STAY
    assert t.give_back_at(inside=False) is None


def test_always_keeps_its_channel_while_quiet() -> None:
    t = BulkTracker(ALWAYS, quiet=5.0)
    t.sent(10, True, 100.0, True)
    assert t.give_back_at(inside=True) is None
    assert t.check_quiet(1e9, inside=True) is Move.STAY
