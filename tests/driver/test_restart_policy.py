"""The restart policy alone: outcomes in, verdicts out, the clock given as a number."""

from __future__ import annotations

import pytest

from modem.core.restart_policy import (
    RESTART_MIN_INTERVAL,
    RESTART_STREAK,
    Restart,
    RestartPolicy,
)

REFUSED = 566  # Socket connection failed
DNS = 565


def fail_many(policy: RestartPolicy, n: int, code: int = REFUSED, now: float = 1000.0,
              destinations: tuple[str, ...] = ("a:443", "b:443")) -> list[Restart | None]:
    return [policy.record(code, destinations[i % len(destinations)], now) for i in range(n)]


def test_a_full_streak_across_two_destinations_restarts_once():
    policy = RestartPolicy()
    verdicts = fail_many(policy, RESTART_STREAK)
    assert verdicts[:-1] == [None] * (RESTART_STREAK - 1)
    assert verdicts[-1] == Restart(code=REFUSED, count=RESTART_STREAK)


def test_one_failure_short_of_the_streak_does_not_restart():
    policy = RestartPolicy()
    assert fail_many(policy, RESTART_STREAK - 1) == [None] * (RESTART_STREAK - 1)


def test_one_destination_failing_is_not_the_module():
    policy = RestartPolicy()
    verdicts = fail_many(policy, 3 * RESTART_STREAK, destinations=("a:443",))
    assert verdicts == [None] * (3 * RESTART_STREAK)


def test_same_host_other_port_is_another_destination():
    policy = RestartPolicy(streak=2)
    assert policy.record(REFUSED, "a:443", 0.0) is None
    assert policy.record(REFUSED, "a:8443", 0.0) == Restart(REFUSED, 2)


def test_a_success_starts_the_streak_over():
    policy = RestartPolicy()
    fail_many(policy, RESTART_STREAK - 1)
    assert policy.record(None, "a:443", 1000.0) is None
    assert fail_many(policy, RESTART_STREAK - 1) == [None] * (RESTART_STREAK - 1)
    assert policy.record(REFUSED, "b:443", 1000.0) == Restart(REFUSED, RESTART_STREAK)


def test_a_different_code_starts_a_new_streak():
    policy = RestartPolicy()
    fail_many(policy, RESTART_STREAK - 1)
    assert policy.record(DNS, "c:443", 1000.0) is None
    # The new streak counts from the different code on.
    verdicts = fail_many(policy, RESTART_STREAK - 1, code=DNS)
    assert verdicts == [None] * (RESTART_STREAK - 2) + [Restart(DNS, RESTART_STREAK)]


def test_pdp_breakdown_is_not_the_module_stuck():
    policy = RestartPolicy()
    fail_many(policy, RESTART_STREAK - 1)
    assert policy.record(570, "a:443", 1000.0) is None
    assert fail_many(policy, RESTART_STREAK - 1) == [None] * (RESTART_STREAK - 1)
    # 570 never counts as a failure of its own either.
    assert fail_many(policy, 3 * RESTART_STREAK, code=570) == [None] * (3 * RESTART_STREAK)


def test_restarts_are_at_least_the_interval_apart():
    policy = RestartPolicy()
    assert fail_many(policy, RESTART_STREAK, now=1000.0)[-1] is not None
    # A new full streak too soon: no restart, and the streak keeps counting...
    soon = 1000.0 + RESTART_MIN_INTERVAL - 1
    assert fail_many(policy, RESTART_STREAK + 3, now=soon) == [None] * (RESTART_STREAK + 3)
    # ...so the first failure once the interval is over restarts, with the whole count.
    later = 1000.0 + RESTART_MIN_INTERVAL
    assert policy.record(REFUSED, "a:443", later) == Restart(REFUSED, RESTART_STREAK + 4)


def test_a_restart_starts_the_streak_over():
    policy = RestartPolicy(min_interval=0.0)
    assert fail_many(policy, RESTART_STREAK)[-1] is not None
    verdicts = fail_many(policy, RESTART_STREAK)
    assert verdicts == [None] * (RESTART_STREAK - 1) + [Restart(REFUSED, RESTART_STREAK)]


def test_the_first_restart_needs_no_earlier_one():
    policy = RestartPolicy()
    assert fail_many(policy, RESTART_STREAK, now=0.0)[-1] == Restart(REFUSED, RESTART_STREAK)


def test_a_streak_below_one_is_refused():
    with pytest.raises(ValueError, match="streak"):
        RestartPolicy(streak=0)
