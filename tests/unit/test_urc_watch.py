"""The poll schedules and the idle-cost bound of ``modem.core.urc_watch`` (sans I/O)."""

from __future__ import annotations

import itertools

import pytest

from modem.core.urc_watch import RearmBehaviour, UrcHealth, UrcPolling, idle_line_share


def test_production_polling_of_12_idle_connections_stays_under_3_percent_of_115200():
    assert idle_line_share(UrcPolling(), connections=12, baud=115200) <= 0.03


def test_polls_back_off_to_their_caps():
    polling = UrcPolling()
    assert list(itertools.islice(polling.read_polls(), 6)) == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert list(itertools.islice(polling.open_checks(), 6)) == [3, 6, 12, 24, 30, 30]


def test_two_signs_make_empty_rearm_and_missing_urcs_are_reported_once(caplog):
    health = UrcHealth(UrcPolling(missing_after=2))
    health.note_data_by_poll(after_short_read=True)
    assert health.rearm is RearmBehaviour.DRAIN
    health.note_data_by_poll(after_short_read=False)
    assert health.rearm is RearmBehaviour.DRAIN
    health.note_data_by_poll(after_short_read=True)
    assert health.rearm is RearmBehaviour.EMPTY
    assert health.urcs == "unknown"
    for _ in range(3):
        health.note_open_by_state()
    assert health.urcs == "missing"
    assert sum("no socket URC arrived" in r.getMessage() for r in caplog.records) == 1
    health.note_urc()
    assert health.report()["urcs"] == "ok"


@pytest.mark.parametrize("bad", [{"read_poll_first": 0}, {"state_check_every": 0}])
def test_bad_timings_are_refused(bad):
    with pytest.raises(ValueError):
        UrcPolling(**bad)
