"""``LineMeter``: the serial line's busy seconds from the driver's byte counts, and the
status page's ``line_busy`` from the same numbers (``proxy.modems.line_meter``)."""

from __future__ import annotations

import pytest

from modem.core.line_counts import LineCounts
from proxy.modems.line_meter import SHARE_WINDOW, LineMeter

BAUD = 115200
PER_SECOND = BAUD // 10  # bytes a second at 8N1


def test_a_line_at_its_rate_is_busy_all_the_time():
    counts, meter = LineCounts(), LineMeter(BAUD)
    meter.attach(counts, since=100.0)
    for second in range(1, 6):
        counts.from_module += PER_SECOND
        counts.to_module += PER_SECOND // 4
        meter.sample(100.0 + second)
    assert meter.busy_from_module == pytest.approx(5.0)
    assert meter.busy_to_module == pytest.approx(1.25)
    assert meter.share == pytest.approx(1.0)  # the busier direction


def test_bytes_faster_than_the_rate_count_no_more_than_the_time_that_passed():
    """A USB port or an unpaced emulator: a megabyte in a second is one busy second,
    not the 87 s a 115200 line would need for it."""
    counts, meter = LineCounts(), LineMeter(BAUD)
    meter.attach(counts, since=0.0)
    counts.from_module += 1_000_000
    meter.sample(1.0)
    assert meter.busy_from_module == 1.0 and meter.share == 1.0
    meter.sample(1.0)  # a second sample at the same time adds nothing
    assert meter.busy_from_module == 1.0


def test_the_share_is_the_busy_time_of_the_last_window():
    counts, meter = LineCounts(), LineMeter(BAUD)
    meter.attach(counts, since=0.0)
    counts.to_module += PER_SECOND // 2
    meter.sample(1.0)
    assert meter.share == pytest.approx(0.5)
    now = 1.0
    while now < 1.0 + SHARE_WINDOW + 1:  # idle: the share falls to nothing
        now += 0.5
        meter.sample(now)
    assert meter.share == 0.0 and meter.busy_to_module == pytest.approx(0.5)


def test_bytes_before_the_first_sample_count_from_the_drivers_start():
    """Bring-up (file uploads) is line time too: counted from ``since``, when the
    driver's counts were empty."""
    counts, meter = LineCounts(), LineMeter(BAUD)
    meter.attach(counts, since=10.0)
    counts.to_module += PER_SECOND * 3
    meter.sample(14.0)
    assert meter.busy_to_module == pytest.approx(3.0)
    assert meter.share == pytest.approx(3.0 / 4.0)


def test_nothing_is_counted_before_the_driver_runs():
    meter = LineMeter(BAUD)
    meter.sample(5.0)
    assert (meter.busy_to_module, meter.busy_from_module, meter.share) == (0.0, 0.0, 0.0)
