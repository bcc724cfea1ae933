"""The family's trail at the canteen (issue #12), on migrated databases with a fixed clock: who changed what,
nothing recorded twice, and an entry the database will not let anyone change."""
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from canteen import documents, orm, trail_store, trail_use_cases, use_cases
from canteen.calendar_rules import CanteenRules
from espace_common.clock import FixedClock
from espace_common.db import UnitOfWork, create_database_engine
from espace_common.errors import InvalidInput
from espace_common.launch import alembic_ini
from espace_common.migrations import upgrade

from .test_use_cases import pdf_document

RULES = CanteenRules()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=RULES.zone)  # Thursday 26 November 2026, 9:00 in Donges
FAMILY, OTHER = "fam-1", "fam-2"
LEA, TOM = "child-lea", "child-tom"
YEAR = "2026-2027"
CLAIRE = {"kind": "parent", "id": "acc-claire", "name": "claire.martin"}
PAUL = {"kind": "parent", "id": "acc-paul", "name": "paul.martin"}
AGENT = {"kind": "agent", "id": "agent-1", "name": "m.durand"}


class Units:
    def __init__(self, url, clock):
        self.engine = create_database_engine(url)
        self.clock = clock

    def __call__(self, read_only=False):
        return UnitOfWork(self.engine, outbox=orm.outbox, processed=orm.processed_events, clock=self.clock,
                          read_only=read_only)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def units(database_factory, clock):
    url = database_factory("canteen")
    upgrade(alembic_ini("canteen"), url)
    units = Units(url, clock)
    yield units
    units.engine.dispose()


@pytest.fixture
def canteen(units, clock, tmp_path):
    return use_cases.Canteen(units, clock, RULES, documents.DocumentStore(tmp_path / "files"))


@pytest.fixture
def reading(units, clock):
    return trail_use_cases.CanteenTrail(units, clock, RULES)


@pytest.fixture
def school(units, canteen):
    """Léa belongs to two households (FAMILY and OTHER, alternating custody); Tom to OTHER only."""
    with units() as uow:
        uow.execute(insert(orm.family_children), [
            {"family_id": FAMILY, "child_id": LEA, "first_name": "Léa", "last_name": "Martin",
             "birth_date": date(2018, 4, 17)},
            {"family_id": OTHER, "child_id": LEA, "first_name": "Léa", "last_name": "Martin",
             "birth_date": date(2018, 4, 17)},
            {"family_id": OTHER, "child_id": TOM, "first_name": "Tom", "last_name": "Bernard",
             "birth_date": date(2019, 1, 1)}])
        uow.commit()
    school_id = canteen.add_school("École Jules Verne", "public", "1 rue des Écoles")["id"]
    canteen.enrol(LEA, school_id, YEAR)
    canteen.enrol(TOM, school_id, YEAR)
    return school_id


def trail_of(reading, family=FAMILY, start="2026-11-01", end="2026-12-31"):
    return reading.family_trail(family, start, end)["entries"]


def who_did_what(entries):
    return [(e["actor"]["kind"], e["actor"]["name"], e["action"], e["details"].get("date")) for e in entries]


def count_entries(units):
    with units(read_only=True) as uow:
        return uow.execute(select(func.count()).select_from(orm.family_trail)).scalar()


def test_a_meal_changed_by_each_representative_and_an_agent_says_who_did_what(canteen, reading, school, clock):
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve", actor=CLAIRE)
    clock.advance(minutes=5)
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "cancel", actor=PAUL)
    clock.advance(minutes=5)
    canteen.change_day(FAMILY, LEA, "2026-12-03", "reserve", actor=CLAIRE)
    clock.advance(days=10)  # 6 December: the 3rd is past; the agent records what the family asked on paper
    canteen.regularise_reservations(LEA, ["2026-11-30"], actor=AGENT)

    entries = trail_of(reading)
    assert who_did_what(entries) == [  # newest first
        ("agent", "m.durand", "meal_regularised", "2026-11-30"),
        ("parent", "claire.martin", "meal_reserved", "2026-12-03"),
        ("parent", "paul.martin", "meal_cancelled", "2026-12-03"),
        ("parent", "claire.martin", "meal_reserved", "2026-12-03")]
    assert entries[1]["at"] == (NOW + timedelta(minutes=10)).astimezone(timezone.utc).isoformat()
    assert entries[1]["child_id"] == LEA and entries[1]["actor"]["id"] == "acc-claire"
    assert entries[1]["summary"] == "Repas du jeudi 3 décembre 2026 réservé pour Léa."
    assert entries[2]["summary"] == "Repas du jeudi 3 décembre 2026 annulé pour Léa."
    # The agent's change is in both households' trails; a parent's only in the family that made it.
    assert who_did_what(trail_of(reading, OTHER)) == [("agent", "m.durand", "meal_regularised", "2026-11-30")]


def test_a_retried_command_records_once_and_a_change_without_actor_is_the_systems(canteen, reading, school, units):
    for _ in range(3):
        canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve", actor=CLAIRE)
        canteen.change_meals(FAMILY, {"children": [LEA], "from": "2026-12-07", "to": "2026-12-11",
                                      "weekdays": [1, 2, 4, 5], "action": "reserve"}, actor=PAUL)
    assert count_entries(units) == 1 + 4
    period = [e for e in trail_of(reading) if e["actor"]["name"] == "paul.martin"]
    assert [e["details"] for e in period] == [{"date": d, "via": "period"} for d in
                                              ("2026-12-11", "2026-12-10", "2026-12-08", "2026-12-07")]
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "cancel")
    assert trail_of(reading)[0]["actor"] == {"kind": "system", "id": "", "name": ""}


def test_the_same_change_recorded_again_keeps_one_entry(units, school):
    """The deterministic key: an entry of the same change (a redelivered command) is skipped by the database."""
    day = date(2026, 12, 3)
    with units() as uow:
        for _ in range(2):
            trail_store.record(uow, [trail_use_cases.trail.entry(FAMILY, LEA, "meal_reserved", CLAIRE, NOW,
                                                                 {"date": day.isoformat()}, (LEA, day, NOW))])
        uow.commit()
    assert count_entries(units) == 1


def test_absences_reported_justified_and_withdrawn_are_in_the_trail(canteen, reading, school):
    sick = canteen.report_absence(FAMILY, LEA, "2026-11-26", "2026-11-27", "illness", actor=CLAIRE)
    canteen.report_absence(FAMILY, LEA, "2026-11-26", "2026-11-27", "illness", actor=CLAIRE)  # the same report again
    canteen.attach_justification(FAMILY, sick["id"], pdf_document(), actor=PAUL)
    later = canteen.report_absences(FAMILY, [LEA], "2026-12-14", "2026-12-15", "other", actor=PAUL)
    canteen.withdraw_absence(FAMILY, later["results"][0]["absence"]["id"], actor=CLAIRE)
    steps = [(e["action"], e["actor"]["name"]) for e in trail_of(reading)]
    assert steps == [("absence_withdrawn", "claire.martin"), ("absence_reported", "paul.martin"),
                     ("absence_justified", "paul.martin"), ("absence_reported", "claire.martin")]
    first = trail_of(reading)[-1]
    assert first["details"] == {"absence_id": sick["id"], "from": "2026-11-26", "to": "2026-11-27",
                                "reason": "illness", "has_document": False}
    assert first["summary"] == ("Absence pour Léa signalée du jeudi 26 novembre 2026 au vendredi 27 novembre 2026 "
                                "(maladie).")


def test_attendance_and_diets_by_an_agent_reach_every_household_of_the_child(canteen, reading, school, clock):
    canteen.regularise_reservations(LEA, ["2026-11-24"], actor=AGENT)
    canteen.record_attendance(school, "2026-11-24", [TOM], actor=AGENT)  # Léa had a meal and did not come
    canteen.record_attendance(school, "2026-11-24", [TOM], actor=AGENT)  # taken again: nothing changed
    canteen.set_diet(LEA, "vegetarien", False, actor=AGENT)
    canteen.set_diet(LEA, "vegetarien", False, actor=AGENT)
    for family in (FAMILY, OTHER):
        lea = [e for e in trail_of(reading, family) if e["child_id"] == LEA]
        assert [e["action"] for e in lea] == ["diet_changed", "attendance_recorded", "meal_regularised"]
        assert lea[1]["details"] == {"date": "2026-11-24", "school_id": school, "eaten": False, "reserved": True}
        assert lea[1]["summary"] == "Léa n'a pas mangé à la cantine le mardi 24 novembre 2026 (relevé du service)."
    tom = [e for e in trail_of(reading, OTHER) if e["child_id"] == TOM]
    assert [(e["action"], e["details"]["eaten"]) for e in tom] == [("attendance_recorded", True)]
    assert "sans réservation" in tom[0]["summary"]


def test_an_update_of_the_trail_is_refused_by_the_database_and_the_purge_may_delete(canteen, school, units):
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve", actor=CLAIRE)
    with pytest.raises(DBAPIError) as refused:
        with units() as uow:
            uow.execute(update(orm.family_trail).values(actor_name="quelqu'un d'autre"))
            uow.commit()
    assert "append-only" in str(refused.value)
    with pytest.raises(DBAPIError):
        with units() as uow:
            uow.execute(text("UPDATE family_trail SET details = '{}'"))
    with units(read_only=True) as uow:
        assert uow.execute(select(orm.family_trail.c.actor_name)).scalar() == "claire.martin"
    with units() as uow:  # the retention purge (GDPR helper) removes whole old entries
        assert uow.execute(delete(orm.family_trail).where(orm.family_trail.c.at < NOW + timedelta(days=1))).rowcount == 1
        uow.commit()


def test_the_range_is_checked_and_another_family_sees_nothing(canteen, reading, school):
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve", actor=CLAIRE)
    assert trail_of(reading, "fam-unknown") == []
    assert trail_of(reading, FAMILY, "2026-11-27", "2026-12-31") == []  # made on the 26th, Paris time
    assert len(trail_of(reading, FAMILY, "2026-11-26", "2026-11-26")) == 1
    for start, end, code in (("2026-12-31", "2026-12-01", "invalid_range"), ("2026-01-01", "2027-01-02", "range_too_long"),
                             ("31/12/2026", "2026-12-31", "invalid_date"), (None, "2026-12-31", "invalid_date")):
        with pytest.raises(InvalidInput) as refused:
            reading.family_trail(FAMILY, start, end)
        assert refused.value.code == code


def test_a_malformed_actor_is_refused_and_changes_nothing(canteen, school, units):
    for actor in ({"kind": "root"}, "claire", {"kind": "parent", "id": "x" * 81, "name": "a"}):
        with pytest.raises(InvalidInput):
            canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve", actor=actor)
    assert count_entries(units) == 0
    assert canteen.meals(FAMILY, LEA, "2026-12-03", "2026-12-03")["days"][0]["state"] == "not_reserved"


def test_the_export_hook_gives_every_entry_oldest_first(canteen, school, units, clock):
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve", actor=CLAIRE)
    clock.advance(minutes=1)
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "cancel", actor=PAUL)
    with units(read_only=True) as uow:
        exported = trail_store.trail_export(uow, FAMILY)
    assert [e["action"] for e in exported] == ["meal_reserved", "meal_cancelled"]


def test_two_identical_periods_at_once_record_each_day_once(database_factory, clock, tmp_path):
    """Two processes (two engines) sending the same period at the same moment: the database decides."""
    url = database_factory("canteen")
    upgrade(alembic_ini("canteen"), url)
    pair = [Units(url, clock), Units(url, clock)]
    cases = [use_cases.Canteen(u, clock, RULES, documents.DocumentStore(tmp_path / "files")) for u in pair]
    with pair[0]() as uow:
        uow.execute(insert(orm.family_children).values(family_id=FAMILY, child_id=LEA, first_name="Léa",
                                                        last_name="Martin", birth_date=date(2018, 4, 17)))
        uow.commit()
    school_id = cases[0].add_school("École Jules Verne")["id"]
    cases[0].enrol(LEA, school_id, YEAR)
    request = {"children": [LEA], "from": "2026-12-07", "to": "2026-12-18", "weekdays": [1, 2, 4, 5],
               "action": "reserve"}
    barrier, errors = threading.Barrier(2), []

    def run(case, actor):
        barrier.wait()
        try:
            case.change_meals(FAMILY, request, actor=actor)
        except Exception as exc:  # reported below
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(c, a)) for c, a in zip(cases, (CLAIRE, PAUL))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert count_entries(pair[0]) == 8
    for units in pair:
        units.engine.dispose()
