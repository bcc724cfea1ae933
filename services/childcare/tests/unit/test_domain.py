"""The crèche's plain rules: half-hours, walk-ins, what an absence deducts, settings read from config.yml."""
from datetime import date, time

import pytest

from childcare import domain
from childcare.domain import ChildcareRules
from espace_common.config import load_config
from espace_common.errors import InvalidInput
from espace_common.launch import config_file

RULES = ChildcareRules()


@pytest.mark.parametrize("minutes, billed", [(0, 0), (1, 30), (30, 30), (31, 60), (205, 210), (240, 240)])
def test_care_is_counted_by_the_half_hour_begun(minutes, billed):
    assert domain.billed_minutes(minutes) == billed


def test_a_stay_outside_every_booked_slot_is_a_walk_in():
    booked = [("08:00", "12:00")]
    assert domain.within_booking(time(8, 10), time(11, 0), booked)
    assert domain.within_booking(time(11, 30), time(13, 0), booked)  # overlaps the morning
    assert not domain.within_booking(time(13, 40), time(17, 0), booked)
    assert not domain.within_booking(time(8, 0), time(9, 0), [])


def test_what_a_justified_absence_deducts():
    start, end = date(2026, 12, 1), date(2026, 12, 5)
    assert domain.deducted_days(start, end, "hospitalisation", True, RULES) == set(domain.days_between(start, end))
    assert domain.deducted_days(start, end, "illness", True, RULES) == {date(2026, 12, 4), date(2026, 12, 5)}
    assert domain.deducted_days(start, end, "illness", False, RULES) == set()
    assert domain.deducted_days(start, end, "other", True, RULES) == set()


def test_the_settings_come_from_config_yml_and_the_environment():
    rules = ChildcareRules.from_config(load_config(config_file("childcare"), environ={}))
    assert rules == ChildcareRules()
    changed = ChildcareRules.from_config(load_config(config_file("childcare"), environ={
        "CHILDCARE_SLOTS": "09h00-11h30", "CHILDCARE_CANCELLATION_HOURS": "24", "CHILDCARE_MAX_AGE_MONTHS": "36"}))
    assert changed.slots == ((time(9, 0), time(11, 30)),) and changed.cancellation_hours == 24
    assert changed.max_age_months == 36 and changed.name == "Multi-accueil Bout D'chou"


def test_a_slot_that_ends_before_it_starts_is_refused():
    with pytest.raises(InvalidInput):
        domain.parse_slot_times("12h00-08h00")
