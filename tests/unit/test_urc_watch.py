"""The poll schedules and the idle-cost bound of ``modem.core.urc_watch`` (sans I/O)."""

from __future__ import annotations

import itertools

import pytest

from modem.core.urc_watch import RearmBehaviour, UrcHealth, UrcPolling, idle_line_share
from modem.sockets.read_schedule import ReadSchedule


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


def test_two_urcs_after_short_reads_unlearn_empty_rearm_and_it_can_be_learned_again():
    health = UrcHealth()
    health.note_urc_after_short_read()  # believing "drain", this is what drain does
    health.note_data_by_poll(after_short_read=True)
    health.note_data_by_poll(after_short_read=True)
    assert health.rearm is RearmBehaviour.EMPTY
    health.note_urc_after_short_read()
    assert health.rearm is RearmBehaviour.EMPTY  # one could be a URC that raced a read
    health.note_urc_after_short_read()
    assert health.rearm is RearmBehaviour.DRAIN
    health.note_data_by_poll(after_short_read=True)
    assert health.rearm is RearmBehaviour.DRAIN  # the old signs do not count again
    health.note_data_by_poll(after_short_read=True)
    assert health.rearm is RearmBehaviour.EMPTY


def _short_read_then(schedule: ReadSchedule, *, urc_during: bool, urc_after: bool) -> None:
    """A short read (a URC landing while it runs, or not), then the next read,
    asked by a URC that came after the short read's answer, or not."""
    schedule.take_urc()
    if urc_during:
        schedule.note_urc()
    schedule.after_read(100, 1500, by_urc=False)
    if urc_after:
        schedule.note_urc()
    schedule.after_read(0, 1500, by_urc=schedule.take_urc())


def test_the_read_schedule_unlearns_empty_rearm_from_urcs_after_short_reads():
    health = UrcHealth()
    schedule = ReadSchedule(health)
    health.note_data_by_poll(after_short_read=True)
    health.note_data_by_poll(after_short_read=True)
    assert health.rearm is RearmBehaviour.EMPTY
    # A URC that landed during the short read may have been sent before it: no sign.
    for _ in range(3):
        _short_read_then(schedule, urc_during=True, urc_after=False)
    assert health.rearm is RearmBehaviour.EMPTY
    # The empty read that follows a short one re-arms "empty" firmware: no sign either.
    for _ in range(3):
        _short_read_then(schedule, urc_during=False, urc_after=False)
    assert health.rearm is RearmBehaviour.EMPTY
    # A URC between a short read and the next read: only "drain" firmware sends it.
    _short_read_then(schedule, urc_during=False, urc_after=True)
    _short_read_then(schedule, urc_during=False, urc_after=True)
    assert health.rearm is RearmBehaviour.DRAIN
