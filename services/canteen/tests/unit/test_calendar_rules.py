from datetime import date, datetime, time, timezone

import pytest

from canteen.calendar_rules import (
    CanteenRules, SchoolCalendar, deadline_for, easter_sunday, french_public_holidays, is_changeable,
)

RULES = CanteenRules()
PARIS = RULES.zone


def paris(*args):
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize("year, easter", [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
                                          (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28))])
def test_easter(year, easter):
    assert easter_sunday(year) == easter


def test_public_holidays_2026():
    holidays = french_public_holidays(2026)
    assert {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25), date(2026, 11, 11)} <= holidays
    assert len(holidays) == 11


def test_thursday_meal_freezes_on_tuesday_at_ten():
    assert deadline_for(date(2026, 12, 3), RULES) == paris(2026, 12, 1, 10, 0)


def test_monday_meal_freezes_the_thursday_before():
    assert deadline_for(date(2026, 11, 30), RULES) == paris(2026, 11, 26, 10, 0)


def test_ten_sharp_is_too_late_one_second_before_is_not():
    day = date(2026, 12, 3)
    assert is_changeable(day, paris(2026, 12, 1, 9, 59, 59), RULES)
    assert not is_changeable(day, paris(2026, 12, 1, 10, 0, 0), RULES)


def test_a_public_holiday_is_not_a_working_day():
    # Thursday 12 November 2026: Wednesday 11 is Armistice day, so count Tue 10 and Mon 9.
    assert deadline_for(date(2026, 11, 12), RULES) == paris(2026, 11, 9, 10, 0)


def test_deadlines_across_the_change_to_summer_time():
    # Tuesday 31 March 2026 freezes on Friday 27 March, still winter time (UTC+1)...
    deadline = deadline_for(date(2026, 3, 31), RULES)
    assert deadline == paris(2026, 3, 27, 10, 0) and deadline.utcoffset().total_seconds() == 3600
    # ...and Thursday 2 April freezes on Tuesday 31 March, summer time (UTC+2): 08:00 UTC.
    assert deadline_for(date(2026, 4, 2), RULES).astimezone(timezone.utc).time() == time(8, 0)


def test_deadlines_across_the_change_to_winter_time():
    # Sunday 25 October 2026 ends summer time; Tuesday 27 freezes on Friday 23 (UTC+2).
    assert deadline_for(date(2026, 10, 27), RULES).astimezone(timezone.utc) == datetime(2026, 10, 23, 8, 0, tzinfo=timezone.utc)
    # Thursday 29 freezes on Tuesday 27, winter time (UTC+1): 09:00 UTC.
    assert deadline_for(date(2026, 10, 29), RULES).astimezone(timezone.utc) == datetime(2026, 10, 27, 9, 0, tzinfo=timezone.utc)


def test_the_deadline_is_configuration():
    rules = CanteenRules(deadline_working_days=1, deadline_time=time(9, 30))
    assert deadline_for(date(2026, 12, 3), rules) == paris(2026, 12, 2, 9, 30)


def test_closed_days():
    calendar = SchoolCalendar(holidays=((date(2026, 12, 19), date(2027, 1, 3), "Vacances de Noël"),),
                              closed_days={date(2026, 12, 17): "", date(2026, 12, 15): "grève du personnel"})
    assert calendar.closure_reason(date(2026, 12, 2), RULES) is not None  # a Wednesday
    assert calendar.closure_reason(date(2026, 12, 5), RULES) is not None  # a Saturday
    assert calendar.closure_reason(date(2026, 12, 22), RULES) == "Vacances de Noël."
    assert calendar.closure_reason(date(2026, 12, 17), RULES) == "Restaurant scolaire fermé ce jour-là."
    assert calendar.closure_reason(date(2026, 12, 15), RULES) == "Restaurant scolaire fermé ce jour-là : grève du personnel."
    assert calendar.closure_reason(date(2026, 12, 25), RULES) == "Jour férié."
    assert calendar.is_school_day(date(2026, 12, 18), RULES)


# --- reservations ----------------------------------------------------------------

from canteen import domain  # noqa: E402
from espace_common.errors import Conflict, InvalidInput  # noqa: E402

CALENDAR = SchoolCalendar(holidays=((date(2026, 12, 19), date(2027, 1, 3), "Vacances de Noël"),))
NOW = paris(2026, 11, 26, 9, 0)  # a Thursday


def test_day_views_cover_every_day_in_order():
    views = domain.day_views(date(2026, 11, 30), date(2026, 12, 6), CALENDAR, RULES, NOW,
                             reserved={date(2026, 12, 1)}, absent={date(2026, 12, 4)})
    assert [v.date.day for v in views] == [30, 1, 2, 3, 4, 5, 6]
    assert [v.state for v in views] == ["not_reserved", "reserved", "closed", "not_reserved", "absent",
                                        "closed", "closed"]
    assert views[0].changeable is True  # Monday 30 freezes today, Thursday 26, at 10:00
    later = domain.day_views(date(2026, 11, 30), date(2026, 11, 30), CALENDAR, RULES, paris(2026, 11, 26, 10, 0),
                             reserved=set(), absent=set())
    assert later[0].changeable is False and "date limite" in later[0].reason
    assert views[1].changeable is True and views[1].deadline == paris(2026, 11, 27, 10, 0).isoformat()


def test_bulk_reserves_school_days_and_says_why_others_are_refused():
    outcomes = domain.plan_bulk(["a", "b"], date(2026, 12, 14), date(2026, 12, 22), frozenset({1, 2, 4, 5}),
                                "reserve", CALENDAR, RULES, NOW, {"a": {date(2026, 12, 14)}},
                                {"a": {"2026-2027"}, "b": {"2026-2027"}})
    by_child = {c: [(o.date.day, o.result) for o in outcomes if o.child_id == c] for c in "ab"}
    assert by_child["a"] == [(14, "unchanged"), (15, "reserved"), (17, "reserved"), (18, "reserved"),
                             (21, "refused"), (22, "refused")]
    assert by_child["b"][0] == (14, "reserved")
    assert next(o for o in outcomes if o.date.day == 21).reason == "Vacances de Noël."
    # A closed day says its kind, so that pages show it as closed rather than as a refusal.
    assert next(o for o in outcomes if o.date.day == 21).as_dict()["closure"] == "holiday"
    assert next(o for o in outcomes if o.date.day == 15).as_dict()["closure"] is None


def test_single_changes_refused_on_closed_and_frozen_days():
    with pytest.raises(Conflict) as closed:
        domain.check_change(date(2026, 12, 2), CALENDAR, RULES, NOW)
    assert closed.value.code == "day_closed"
    with pytest.raises(Conflict) as frozen:
        domain.check_change(date(2026, 11, 30), CALENDAR, RULES, paris(2026, 11, 26, 10, 0))
    assert frozen.value.code == "day_frozen"
    domain.check_change(date(2026, 11, 30), CALENDAR, RULES, paris(2026, 11, 26, 9, 59))


def test_ranges_are_bounded():
    with pytest.raises(InvalidInput):
        domain.parse_range("2026-01-01", "2027-01-02")
    with pytest.raises(InvalidInput):
        domain.parse_range("2026-02-01", "2026-01-01")
    assert domain.parse_range("2026-01-01", "2026-12-31")[1] == date(2026, 12, 31)


def test_an_illness_justified_within_48_hours_is_not_billed():
    first = date(2026, 12, 1)
    assert not domain.absence_is_billable("illness", first, paris(2026, 12, 2, 23, 0), True, RULES)
    assert domain.absence_is_billable("illness", first, paris(2026, 12, 3, 0, 1), True, RULES)
    assert domain.absence_is_billable("illness", first, paris(2026, 12, 1, 8, 0), False, RULES)
    assert domain.absence_is_billable("other", first, paris(2026, 12, 1, 8, 0), True, RULES)


def test_rules_come_from_the_service_configuration():
    from espace_common.config import load_config
    from espace_common.launch import config_file
    rules = CanteenRules.from_config(load_config(config_file("canteen"), environ={"CANTEEN_DEADLINE_HOUR": "9"}))
    assert rules == CanteenRules(deadline_time=time(9, 0))
