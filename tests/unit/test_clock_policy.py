"""The module clock policy (``modem.core.clock_policy.decide_clock``), without Trio."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import modem
from modem.core.clock_policy import (
    CLOCK_TOLERANCE,
    RELEASE_FLOOR,
    RELEASES,
    ClockSource,
    decide_clock,
    plausible,
)

NOW = RELEASE_FLOOR + timedelta(days=100)
GPS_EPOCH = datetime(1980, 1, 6, tzinfo=UTC)  # a module clock nobody set
OLD_HOST = datetime(2019, 6, 1, tzinfo=UTC)   # a gateway without RTC or NTP


def test_plausible_is_from_this_release_to_the_last_cclk_year() -> None:
    assert plausible(RELEASE_FLOOR) and plausible(NOW)
    assert not plausible(RELEASE_FLOOR - timedelta(seconds=1))
    assert not plausible(GPS_EPOCH) and not plausible(None)
    assert not plausible(datetime(2070, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("host", "module", "network", "set_to", "source", "trusted"),
    [
        # a good host sets a module that is wrong or unset
        (NOW, GPS_EPOCH, None, NOW, ClockSource.HOST, True),
        (NOW, None, None, NOW, ClockSource.HOST, True),
        # ... and leaves one that agrees alone
        (NOW, NOW + CLOCK_TOLERANCE, None, None, ClockSource.HOST, True),
        # the host is ahead of the module: the host wins (a module clock lags after power-up)
        (NOW, NOW - timedelta(days=3), NOW, NOW, ClockSource.HOST, True),
        # an implausible host never sets the module: the network's time does
        (OLD_HOST, GPS_EPOCH, NOW, NOW, ClockSource.NETWORK, True),
        (OLD_HOST, NOW, NOW, None, ClockSource.NETWORK, True),
        # ... and without network time a plausible module clock is kept
        (OLD_HOST, NOW, None, None, ClockSource.NONE, True),
        # a plausible host behind a plausible module clock does not set it back
        (NOW - timedelta(days=2), NOW, None, None, ClockSource.NONE, True),
        (NOW - timedelta(days=2), NOW - timedelta(hours=1), NOW, NOW,
         ClockSource.NETWORK, True),
        # nothing trustworthy anywhere: nothing set, and the decision says so
        (OLD_HOST, GPS_EPOCH, None, None, ClockSource.NONE, False),
        (OLD_HOST, None, GPS_EPOCH, None, ClockSource.NONE, False),
    ],
)
def test_decisions(host: datetime, module: datetime | None, network: datetime | None,
                   set_to: datetime | None, source: ClockSource, trusted: bool) -> None:
    decision = decide_clock(host, module, network)
    assert (decision.set_to, decision.source, decision.trusted) == (set_to, source, trusted)
    assert decision.reason


def test_reasons_name_the_problem() -> None:
    assert "implausible" in decide_clock(OLD_HOST, GPS_EPOCH, NOW).reason
    assert "behind" in decide_clock(NOW - timedelta(days=2), NOW, None).reason
    assert "agrees" in decide_clock(NOW, NOW, None).reason


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_release_floor_follows_the_package_version() -> None:
    """A version bump must date itself: the floor is the running version's day."""
    # pyproject.toml takes its version from modem.__version__ (tests/test_packaging.py).
    assert modem.__version__ in RELEASES, "add the new version's date to RELEASES"
    newest = max(RELEASES, key=_version)
    assert newest == modem.__version__
    assert RELEASE_FLOOR.date() == RELEASES[newest] == max(RELEASES.values())
