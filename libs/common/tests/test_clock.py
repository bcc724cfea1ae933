from datetime import date, datetime, timezone

import pytest

from espace_common.clock import FixedClock


def test_fixed_clock_moves_only_when_told():
    clock = FixedClock(datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc))
    assert clock.today() == date(2026, 3, 29)
    clock.advance(hours=23)
    assert clock.today() == date(2026, 3, 30)  # 01:30 in Paris after the change to summer time


def test_fixed_clock_needs_an_aware_instant():
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))


def test_a_test_process_clock_starts_at_ef_clock_and_runs_on():
    from datetime import datetime, timezone

    from espace_common.clock import ShiftedClock, SystemClock, process_clock
    assert type(process_clock({})) is SystemClock  # production: the wall clock
    clock = process_clock({"EF_CLOCK": "2026-10-20T08:00:00+02:00"})
    assert isinstance(clock, ShiftedClock)
    first = clock.now()
    assert abs((first - datetime(2026, 10, 20, 6, 0, tzinfo=timezone.utc)).total_seconds()) < 5
    assert clock.now() >= first
    with pytest.raises(ValueError):
        process_clock({"EF_CLOCK": "2026-10-20T08:00:00"})
