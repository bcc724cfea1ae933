"""What identity's reminders ask the canteen (issue #12), on a migrated SQLite file with a fixed clock."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import insert

from canteen import documents, domain_reminders, orm, store, use_cases
from canteen.calendar_rules import CanteenRules, SchoolCalendar
from canteen.reminder_use_cases import CanteenReminders
from espace_common.clock import FixedClock
from espace_common.errors import InvalidInput
from espace_deploy.testing import SqliteUnits, migrated_sqlite

RULES = CanteenRules()
NOW = datetime(2026, 12, 2, 10, 30, tzinfo=RULES.zone)  # Wednesday 2 December 2026, 10:30 in Donges
WEEK = "2026-12-07"
FAMILY, OTHER, SPLIT = "fam-1", "fam-2", "fam-3"
LEA, HUGO, TOM, ZOE = "child-lea", "child-hugo", "child-tom", "child-zoe"
YEAR = "2026-2027"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    return migrated_sqlite("canteen", tmp_path_factory.mktemp("canteen-reminders"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def units(migrated, tmp_path, clock):
    units = SqliteUnits(migrated, tmp_path / "canteen.sqlite", orm.metadata, clock)
    yield units
    units.dispose()


@pytest.fixture
def canteen(units, clock, tmp_path):
    return use_cases.Canteen(units, clock, RULES, documents.DocumentStore(tmp_path / "files"))


@pytest.fixture
def reminders(units, clock):
    return CanteenReminders(units, clock, RULES)


def school_days(start, end):
    day = date.fromisoformat(start)
    while day <= date.fromisoformat(end):
        if day.isoweekday() in RULES.school_weekdays:
            yield day
        day += timedelta(days=1)


@pytest.fixture
def town(units, canteen):
    """Léa and Hugo (Martin), Tom (Bernard), Zoé in two families (alternating custody), all enrolled."""
    with units() as uow:
        uow.execute(insert(orm.family_children), [
            {"family_id": FAMILY, "child_id": LEA, "first_name": "Léa", "last_name": "Martin",
             "birth_date": date(2018, 4, 17)},
            {"family_id": FAMILY, "child_id": HUGO, "first_name": "Hugo", "last_name": "Martin",
             "birth_date": date(2020, 9, 3)},
            {"family_id": OTHER, "child_id": TOM, "first_name": "Tom", "last_name": "Bernard",
             "birth_date": date(2019, 1, 1)},
            {"family_id": OTHER, "child_id": ZOE, "first_name": "Zoé", "last_name": "Durand",
             "birth_date": date(2019, 5, 1)},
            {"family_id": SPLIT, "child_id": ZOE, "first_name": "Zoé", "last_name": "Durand",
             "birth_date": date(2019, 5, 1)}])
        # Léa, Hugo and Zoé ate the last three weeks; Tom only once, four weeks ago.
        past = [(c, d) for c in (LEA, HUGO, ZOE) for d in school_days("2026-11-16", "2026-12-01")]
        store.reserve(uow, past + [(TOM, date(2026, 11, 10))], NOW)
        uow.commit()
    school = canteen.add_school("École Jules Verne", "public", "1 rue des Écoles")["id"]
    for child in (LEA, HUGO, TOM, ZOE):
        canteen.enrol(child, school, YEAR)
    return school


def by_child(answer):
    return {(c["family_id"], c["child_id"]): c for c in answer["children"]}


def test_a_child_who_usually_eats_with_nothing_reserved_next_week_is_answered_with_the_days_left(
        reminders, canteen, town):
    canteen.change_meal(FAMILY, HUGO, "2026-12-08", "reserve")  # Hugo's week has a meal: no reminder
    answer = reminders.children_to_remind(WEEK, 4, 2)
    assert answer["week"] == WEEK
    found = by_child(answer)
    assert set(found) == {(FAMILY, LEA), (OTHER, ZOE), (SPLIT, ZOE)}  # Tom does not usually eat; Zoé twice
    assert found[(FAMILY, LEA)] == {"family_id": FAMILY, "child_id": LEA, "first_name": "Léa",
                                    "days": ["2026-12-07", "2026-12-08", "2026-12-10", "2026-12-11"],
                                    "deadline": "2026-12-03T10:00:00+01:00"}


def test_once_reserved_the_week_is_left_out(reminders, canteen, town):
    canteen.change_meal(FAMILY, LEA, "2026-12-11", "reserve")
    assert (FAMILY, LEA) not in by_child(reminders.children_to_remind(WEEK, 4, 2))


def test_usually_eating_is_a_setting(reminders, town):
    assert (OTHER, TOM) in by_child(reminders.children_to_remind(WEEK, 4, 1))
    assert by_child(reminders.children_to_remind(WEEK, 4, 4)) == {}  # nobody ate four weeks out of four


def test_an_absent_child_and_a_closed_day_leave_only_the_days_left_to_reserve(reminders, canteen, town, clock):
    canteen.report_absence(FAMILY, LEA, "2026-12-07", "2026-12-08", "other")
    canteen.close_day("2026-12-10", "Grève")
    assert by_child(reminders.children_to_remind(WEEK, 4, 2))[(FAMILY, LEA)]["days"] == ["2026-12-11"]
    canteen.report_absence(FAMILY, LEA, "2026-12-11", "2026-12-11", "other")
    assert (FAMILY, LEA) not in by_child(reminders.children_to_remind(WEEK, 4, 2))


def test_days_past_their_deadline_are_left_out_and_a_week_past_every_deadline_answers_no_one(
        reminders, town, clock):
    clock.advance(days=2, hours=1)  # Friday 4th, 11:30: Monday's and Tuesday's deadlines have passed
    lea = by_child(reminders.children_to_remind(WEEK, 4, 2))[(FAMILY, LEA)]
    assert lea["days"] == ["2026-12-10", "2026-12-11"] and lea["deadline"] == "2026-12-08T10:00:00+01:00"
    assert reminders.reminder_week(WEEK) == {"week": WEEK, "first_deadline": "2026-12-08T10:00:00+01:00"}
    clock.advance(days=5)  # Wednesday 9th, 11:30
    assert reminders.children_to_remind(WEEK, 4, 2)["children"] == []
    assert reminders.reminder_week(WEEK)["first_deadline"] is None


def test_the_week_tells_its_first_deadline_still_ahead(reminders, canteen, town):
    assert reminders.reminder_week(WEEK) == {"week": WEEK, "first_deadline": "2026-12-03T10:00:00+01:00"}
    canteen.close_day(WEEK, "Pont")
    assert reminders.reminder_week(WEEK)["first_deadline"] == "2026-12-04T10:00:00+01:00"  # Tuesday's


def test_a_child_not_enrolled_that_year_is_left_out(reminders, units, town):
    with units() as uow:
        uow.execute(orm.enrolments.delete().where(orm.enrolments.c.child_id == LEA))
        uow.commit()
    assert (FAMILY, LEA) not in by_child(reminders.children_to_remind(WEEK, 4, 2))


@pytest.mark.parametrize("week", ["2026-12-08", "lundi", "", None, "2026-13-01", "x" * 100_000, 20261207])
def test_a_week_that_is_not_a_monday_is_refused(reminders, week):
    with pytest.raises(InvalidInput):
        reminders.reminder_week(week)
    with pytest.raises(InvalidInput):
        reminders.children_to_remind(week)


@pytest.mark.parametrize("usual", [(0, 0), (4, 5), (13, 2), ("4", 2), (True, 1)])
def test_bad_usual_weeks_are_refused(reminders, usual):
    with pytest.raises(InvalidInput):
        reminders.children_to_remind(WEEK, *usual)


def test_holiday_weeks_are_skipped_when_looking_back():
    calendar = SchoolCalendar(holidays=((date(2026, 10, 17), date(2026, 11, 1), "Vacances de la Toussaint"),))
    weeks = domain_reminders.recent_school_weeks(date(2026, 11, 9), calendar, RULES, 4)
    assert weeks == [date(2026, 11, 2), date(2026, 10, 12), date(2026, 10, 5), date(2026, 9, 28)]
    assert domain_reminders.usually_eats({date(2026, 10, 13), date(2026, 11, 3)}, weeks, 2)
    assert not domain_reminders.usually_eats({date(2026, 10, 20)}, weeks, 1)  # a holiday week is no school week
