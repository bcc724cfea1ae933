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
