"""The family's trail at the multi-accueil (issue #12), on migrated databases with a fixed clock: bookings, the
waiting list, leaves, absences, attendance and contracts, each with who made it, once, and never changed."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError

from childcare import orm, trail_store, trail_use_cases, use_cases
from childcare.domain import ChildcareRules
from espace_common.clock import FixedClock
from espace_common.db import UnitOfWork, create_database_engine
from espace_common.documents import DocumentStore
from espace_common.errors import Conflict
from espace_common.launch import alembic_ini
from espace_common.migrations import upgrade

from .test_use_cases import CONTRACT, pdf

RULES = ChildcareRules()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=RULES.zone)
FAMILY, OTHER = "fam-1", "fam-2"
LINA, NOE, ZOE = "child-lina", "child-noe", "child-zoe"
MONDAY = date(2026, 11, 30)
CLAIRE = {"kind": "parent", "id": "acc-claire", "name": "claire.martin"}
PAUL = {"kind": "parent", "id": "acc-paul", "name": "paul.martin"}
AGENT = {"kind": "agent", "id": "agent-pe", "name": "s.leroy"}


class Units:
    def __init__(self, url, clock):
        self.engine = create_database_engine(url)
        self.clock = clock

    def __call__(self, read_only=False):
        return UnitOfWork(self.engine, outbox=orm.outbox, processed=orm.processed_events,
                          mail_outbox=orm.mail_outbox, clock=self.clock, read_only=read_only)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def units(database_factory, clock):
    url = database_factory("childcare")
    upgrade(alembic_ini("childcare"), url)
    units = Units(url, clock)
    with units() as uow:
        uow.execute(insert(orm.family_children), [
            {"family_id": FAMILY, "child_id": LINA, "first_name": "Lina", "last_name": "Martin",
             "birth_date": date(2025, 3, 14)},
            {"family_id": FAMILY, "child_id": NOE, "first_name": "Noé", "last_name": "Martin",
             "birth_date": date(2024, 6, 2)},
            {"family_id": OTHER, "child_id": NOE, "first_name": "Noé", "last_name": "Martin",
             "birth_date": date(2024, 6, 2)},
            {"family_id": OTHER, "child_id": ZOE, "first_name": "Zoé", "last_name": "Durand",
             "birth_date": date(2025, 1, 20)}])
        uow.commit()
    yield units
    units.engine.dispose()


@pytest.fixture
def creche(units, clock, tmp_path):
    childcare = use_cases.Childcare(units, clock, RULES, DocumentStore(tmp_path / "files"))
    childcare.generate_slots()
    for child in (LINA, ZOE):
        childcare.register(child, "occasional")  # no actor: the system's (the demo data, an import)
    return childcare


@pytest.fixture
def reading(units, clock):
    return trail_use_cases.ChildcareTrail(units, clock, RULES)


def slot_on(creche, day, start="08:00"):
    return next(s for s in creche.slots(day.isoformat(), day.isoformat()) if s["start"] == start)


def trail_of(reading, family=FAMILY):
    return reading.family_trail(family, "2026-11-01", "2026-12-31")["entries"]


def steps(entries):
    return [(e["action"], e["actor"]["kind"], e["actor"]["name"]) for e in entries]


def test_bookings_by_two_representatives_and_the_waiting_list_say_who_did_what(creche, reading, clock):
    slot = slot_on(creche, MONDAY)
    creche.set_capacity(slot["id"], 1)
    mine = creche.book(FAMILY, LINA, slot["id"], actor=CLAIRE)
    clock.advance(minutes=1)
    theirs = creche.book(OTHER, ZOE, slot["id"], actor={"kind": "parent", "id": "acc-x", "name": "j.durand"})
    clock.advance(minutes=1)
    creche.cancel(FAMILY, mine["id"], actor=PAUL)
    creche.cancel(FAMILY, mine["id"], actor=PAUL)  # retried: already cancelled, nothing new
    assert steps(trail_of(reading)) == [("booking_cancelled", "parent", "paul.martin"),
                                        ("booking_made", "parent", "claire.martin"),
                                        ("registration_changed", "system", "")]
    other = trail_of(reading, OTHER)
    # Zoé's family sees its place come from the waiting list, by the system: who freed it is not theirs to know.
    assert steps(other)[:2] == [("booking_promoted", "system", ""), ("booking_made", "parent", "j.durand")]
    assert other[1]["details"]["status"] == "waiting" and other[1]["details"]["position"] == 1
    assert other[0]["details"]["booking_id"] == theirs["id"]
    assert other[0]["summary"] == ("Une place s'est libérée : le créneau du lundi 30 novembre 2026 de 8h00 à 12h00 "
                                   "est confirmé pour Zoé.")
    assert trail_of(reading)[1]["summary"] == "Créneau du lundi 30 novembre 2026 de 8h00 à 12h00 réservé pour Lina."


def test_a_double_booking_is_refused_and_records_nothing(creche, reading, units):
    slot = slot_on(creche, MONDAY)
    creche.book(FAMILY, LINA, slot["id"], actor=CLAIRE)
    with pytest.raises(Conflict):
        creche.book(FAMILY, LINA, slot["id"], actor=CLAIRE)
    assert [e["action"] for e in trail_of(reading)].count("booking_made") == 1


def test_contracts_leaves_absences_and_attendance_are_in_the_trail(creche, reading, clock):
    creche.register(NOE, "regular", CONTRACT, actor=AGENT)
    creche.register(NOE, "regular", CONTRACT, actor=AGENT)  # the same contract again changes nothing
    creche.declare_leave(FAMILY, NOE, "2026-12-07", "2026-12-09", actor=CLAIRE)
    absence = creche.report_absence(FAMILY, NOE, "2026-12-14", "2026-12-15", "illness", actor=PAUL)
    creche.attach_justification(FAMILY, absence["id"], {"name": "c.pdf", "content_base64": pdf()}, actor=PAUL)
    creche.decide_justification(absence["id"], True, "", "agent:s.leroy", actor=AGENT)
    later = creche.report_absence(FAMILY, NOE, "2026-12-21", "2026-12-21", "other", actor=CLAIRE)
    creche.withdraw_absence(FAMILY, later["id"], actor=CLAIRE)
    creche.record_attendance(NOE, "2026-11-26", "08:40", None, actor=AGENT)
    clock.advance(hours=8)
    creche.record_attendance(NOE, "2026-11-26", "08:40", "16:55", actor=AGENT)
    creche.record_attendance(NOE, "2026-11-26", "08:40", "16:55", actor=AGENT)  # sent again
    assert steps(trail_of(reading)) == [
        ("attendance_recorded", "agent", "s.leroy"), ("attendance_recorded", "agent", "s.leroy"),
        ("absence_withdrawn", "parent", "claire.martin"), ("absence_reported", "parent", "claire.martin"),
        ("justification_decided", "agent", "s.leroy"), ("absence_justified", "parent", "paul.martin"),
        ("absence_reported", "parent", "paul.martin"), ("leave_declared", "parent", "claire.martin"),
        ("registration_changed", "agent", "s.leroy"), ("registration_changed", "system", "")]
    entries = trail_of(reading)
    assert entries[0]["summary"] == ("Présence pour Noé le jeudi 26 novembre 2026 : arrivée à 8h40, départ à 16h55, "
                                     "relevée par la crèche.")
    assert entries[4]["details"]["decision"] == "accepted" and "accepté par la crèche" in entries[4]["summary"]
    assert entries[8]["details"]["weekly_minutes"] == 3 * 510 - 60
    # Noé's other household sees what the crèche's agents did, not what this family's parents did.
    assert [e["action"] for e in trail_of(reading, OTHER) if e["child_id"] == NOE] == [
        "attendance_recorded", "attendance_recorded", "registration_changed"]


def test_an_update_of_the_trail_is_refused_by_the_database(creche, units):
    creche.book(FAMILY, LINA, slot_on(creche, MONDAY)["id"], actor=CLAIRE)
    with pytest.raises(DBAPIError) as refused:
        with units() as uow:
            uow.execute(update(orm.family_trail).where(orm.family_trail.c.action == "booking_made")
                        .values(actor_kind="agent"))
            uow.commit()
    assert "append-only" in str(refused.value)
    with units(read_only=True) as uow:
        assert uow.execute(select(func.count()).select_from(orm.family_trail)
                           .where(orm.family_trail.c.actor_kind == "parent")).scalar() == 1


def test_the_export_hook_and_the_range(creche, reading, units):
    creche.book(FAMILY, LINA, slot_on(creche, MONDAY)["id"], actor=CLAIRE)
    with units(read_only=True) as uow:
        assert [e["action"] for e in trail_store.trail_export(uow, FAMILY)] == ["registration_changed", "booking_made"]
    assert reading.family_trail(FAMILY, "2026-11-27", "2026-11-30")["entries"] == []
    assert reading.family_trail("fam-unknown", "2026-11-01", "2026-11-30") == {"entries": [], "truncated": False}
