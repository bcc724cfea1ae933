"""The multi-accueil's use cases on a real SQLite file migrated by Alembic, with a fixed clock: no broker."""
import base64
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from childcare import orm, use_cases
from childcare.domain import ChildcareRules
from espace_common.clock import FixedClock
from espace_common.documents import DocumentStore
from espace_common.errors import Conflict, InvalidInput, NotFound
from espace_deploy.testing import SqliteUnits, migrated_sqlite

RULES = ChildcareRules()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=RULES.zone)  # Thursday 26 November 2026, 9:00 in Donges
FAMILY, OTHER = "fam-1", "fam-2"
LINA, NOE, OLD, BABY, ZOE = "child-lina", "child-noe", "child-old", "child-baby", "child-zoe"
MONDAY = date(2026, 11, 30)  # the Monday after NOW


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """One migrated database file, copied for each test (migrating costs a second)."""
    return migrated_sqlite("childcare", tmp_path_factory.mktemp("childcare-template"))




@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def units(migrated, tmp_path, clock):
    units = SqliteUnits(migrated, tmp_path / "childcare.sqlite", orm.metadata, clock)
    with units() as uow:
        uow.execute(insert(orm.family_children), [
            {"family_id": FAMILY, "child_id": LINA, "first_name": "Lina", "last_name": "Martin",
             "birth_date": date(2025, 3, 14)},
            {"family_id": FAMILY, "child_id": NOE, "first_name": "Noé", "last_name": "Martin",
             "birth_date": date(2024, 6, 2)},
            {"family_id": FAMILY, "child_id": OLD, "first_name": "Léo", "last_name": "Martin",
             "birth_date": date(2022, 11, 15)},
            {"family_id": FAMILY, "child_id": BABY, "first_name": "Mia", "last_name": "Martin",
             "birth_date": date(2026, 10, 1)},
            {"family_id": OTHER, "child_id": ZOE, "first_name": "Zoé", "last_name": "Durand",
             "birth_date": date(2025, 1, 20)},
        ])
        uow.commit()
    yield units
    units.dispose()


@pytest.fixture
def creche(units, clock, tmp_path):
    childcare = use_cases.Childcare(units, clock, RULES, DocumentStore(tmp_path / "files"))
    childcare.generate_slots()
    for child in (LINA, OLD, BABY, ZOE):
        childcare.register(child, "occasional")
    return childcare


CONTRACT = {"weekly_hours": {"1": ["08:30", "17:00"], "2": ["08:30", "17:00"], "4": ["09:00", "16:30"]},
            "weeks_per_year": 45, "start": "2026-09-01", "end": "2027-07-31", "leave_days": 3}


def slot_on(creche, day, start="08:00"):
    return next(s for s in creche.slots(day.isoformat(), day.isoformat()) if s["start"] == start)


def mails(units):
    with units(read_only=True) as uow:
        return uow.execute(select(orm.mail_outbox)).all()


def pdf():
    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return base64.b64encode(out.getvalue()).decode()


# --- Slots and the calendar ------------------------------------------------------------------------------------

def test_slots_are_generated_on_opening_days_only_with_the_default_times(creche):
    slots = creche.slots("2026-11-26", "2026-12-31")
    days = {s["date"] for s in slots}
    assert "2026-11-28" not in days and "2026-11-29" not in days  # the weekend
    assert "2026-12-25" not in days  # Christmas, a public holiday (the shared French calendar)
    assert [(s["start"], s["end"]) for s in slots if s["date"] == "2026-11-30"] == [("08:00", "12:00"), ("13:30", "18:00")]
    assert max(days) == "2026-12-24"  # four weeks ahead
    assert all(s["capacity"] == 4 and s["available"] == 4 and s["waiting"] == 0 for s in slots)
    assert creche.generate_slots()["added"] == 0  # twice changes nothing


def test_a_closed_day_refuses_bookings_with_its_reason(creche):
    slot = slot_on(creche, MONDAY)
    creche.close_day(MONDAY.isoformat(), "training", "journée pédagogique de l'équipe")
    with pytest.raises(Conflict) as refused:
        creche.book(FAMILY, LINA, slot["id"])
    assert refused.value.code == "day_closed" and "pédagogique" in refused.value.message
    kinds = {c["date"]: c["kind"] for c in creche.closures("2026-11-30", "2026-12-31")}
    assert kinds == {"2026-11-30": "training", "2026-12-25": "public_holiday"}


def test_a_past_slot_cannot_be_booked(creche, clock):
    slot = slot_on(creche, MONDAY)
    clock.advance(days=4)  # Monday 9:00: the morning slot has begun
    with pytest.raises(Conflict) as refused:
        creche.book(FAMILY, LINA, slot["id"])
    assert refused.value.code == "slot_past"


# --- Who may be booked ------------------------------------------------------------------------------------------

def test_only_a_registered_child_within_the_age_range_is_booked(creche):
    slot = slot_on(creche, MONDAY)
    with pytest.raises(Conflict) as refused:
        creche.book(FAMILY, NOE, slot["id"])  # not registered
    assert refused.value.code == "not_registered"
    with pytest.raises(Conflict) as refused:
        creche.book(FAMILY, OLD, slot["id"])  # four on 15 November 2026
    assert refused.value.code == "outside_age_range"
    with pytest.raises(Conflict) as refused:
        creche.book(FAMILY, BABY, slot["id"])  # eight weeks old
    assert refused.value.code == "outside_age_range" and "10 semaines" in refused.value.message


def test_the_age_range_at_its_edges():
    from childcare.domain import age_limits
    youngest, oldest = age_limits(date(2026, 10, 1), RULES)
    assert youngest == date(2026, 12, 10) and oldest == date(2030, 9, 30)
    assert age_limits(date(2024, 2, 29), RULES)[1] == date(2028, 2, 28)


def test_another_familys_child_or_booking_is_not_found(creche):
    slot = slot_on(creche, MONDAY)
    with pytest.raises(NotFound):
        creche.book(FAMILY, ZOE, slot["id"])
    booking = creche.book(OTHER, ZOE, slot["id"])
    with pytest.raises(NotFound):
        creche.cancel(FAMILY, booking["id"])
    with pytest.raises(NotFound):
        creche.child_bookings(FAMILY, ZOE)


def test_the_same_child_twice_on_a_slot_is_refused_and_nothing_is_taken(creche):
    slot = slot_on(creche, MONDAY)
    creche.book(FAMILY, LINA, slot["id"])
    with pytest.raises(Conflict) as refused:
        creche.book(FAMILY, LINA, slot["id"])
    assert refused.value.code == "already_booked"
    assert slot_on(creche, MONDAY)["available"] == 3


# --- Waiting list and the 48-hour rule ---------------------------------------------------------------------------

def test_a_full_slot_offers_the_waiting_list_and_a_cancellation_promotes_the_first_in_line(creche, units):
    slot = slot_on(creche, MONDAY)
    creche.set_capacity(slot["id"], 1)
    mine = creche.book(FAMILY, LINA, slot["id"], "claire@example.org")
    theirs = creche.book(OTHER, ZOE, slot["id"], "paul@example.org")
    assert mine["status"] == "confirmed" and mine["position"] is None
    assert theirs["status"] == "waiting" and theirs["position"] == 1
    assert slot_on(creche, MONDAY)["waiting"] == 1
    answer = creche.cancel(FAMILY, mine["id"])
    assert answer == {"id": mine["id"], "billed": False, "promoted_booking_id": theirs["id"],
                      "free_cancellation_until": "2026-11-28T08:00:00+01:00"}
    assert creche.child_bookings(OTHER, ZOE)[0]["status"] == "confirmed"
    sent = mails(units)
    assert [m.recipient for m in sent] == ["paul@example.org"] and "Zoé" in sent[0].subject
    assert "lundi 30/11/2026 de 8h00 à 12h00" in sent[0].body
    assert slot_on(creche, MONDAY)["available"] == 0 and slot_on(creche, MONDAY)["waiting"] == 0


def test_the_48_hour_rule_at_its_edge(creche, clock):
    slot = slot_on(creche, MONDAY)  # Monday 30 November, 8:00
    first = creche.book(FAMILY, LINA, slot["id"])
    clock.instant = datetime(2026, 11, 28, 8, 0, tzinfo=RULES.zone)  # exactly 48 hours before
    assert creche.cancel(FAMILY, first["id"])["billed"] is False
    second = creche.book(FAMILY, LINA, slot["id"])
    clock.advance(seconds=1)  # 47:59:59 before
    assert creche.cancel(FAMILY, second["id"])["billed"] is True


def test_leaving_the_waiting_list_is_never_billed_and_positions_move_up(creche, clock):
    slot = slot_on(creche, MONDAY)
    creche.set_capacity(slot["id"], 0)
    lina = creche.book(FAMILY, LINA, slot["id"])
    zoe = creche.book(OTHER, ZOE, slot["id"])
    assert (lina["position"], zoe["position"]) == (1, 2)
    clock.advance(days=3, hours=22)  # Sunday evening
    assert creche.cancel(FAMILY, lina["id"])["billed"] is False
    assert creche.child_bookings(OTHER, ZOE)[0]["position"] == 1


def test_more_places_go_to_the_waiting_list_in_order_and_capacity_never_falls_below_taken(creche):
    slot = slot_on(creche, MONDAY)
    creche.set_capacity(slot["id"], 1)
    creche.book(FAMILY, LINA, slot["id"])
    zoe = creche.book(OTHER, ZOE, slot["id"])
    with pytest.raises(Conflict) as refused:
        creche.set_capacity(slot["id"], 0)
    assert refused.value.code == "capacity_below_taken"
    assert creche.set_capacity(slot["id"], 3)["promoted_booking_ids"] == [zoe["id"]]
    with pytest.raises(InvalidInput):
        creche.set_capacity(slot["id"], -1)


# --- Contracts, leaves, absences ---------------------------------------------------------------------------------

def test_leave_is_counted_against_the_allowance_and_refused_past_it(creche):
    creche.register(NOE, "regular", CONTRACT)
    leave = creche.declare_leave(FAMILY, NOE, "2026-12-07", "2026-12-09")  # Mon, Tue, Wed: two contract days
    assert (leave["days"], leave["remaining"]) == (2, 1)
    with pytest.raises(Conflict) as refused:
        creche.declare_leave(FAMILY, NOE, "2026-12-14", "2026-12-15")  # two more: one left
    assert refused.value.code == "leave_allowance_exceeded" and "1 jour(s) restant(s) sur 3" in refused.value.message
    assert creche.declare_leave(FAMILY, NOE, "2026-12-14", "2026-12-14")["remaining"] == 0
    with pytest.raises(Conflict) as refused:
        creche.declare_leave(FAMILY, NOE, "2026-11-26", "2026-11-26")  # today: not in advance
    assert refused.value.code == "leave_too_late"
    with pytest.raises(Conflict):
        creche.declare_leave(FAMILY, LINA, "2026-12-07", "2026-12-07")  # occasional care has no leave
    with pytest.raises(InvalidInput):
        creche.register(NOE, "regular", {**CONTRACT, "weekly_hours": {"6": ["08:00", "12:00"]}})


def test_a_justification_that_is_not_what_its_name_says_is_refused(creche):
    fake = {"name": "certificat.pdf", "content_base64": base64.b64encode(b"MZ\x90\x00 not a pdf").decode()}
    with pytest.raises(InvalidInput) as refused:
        creche.report_absence(FAMILY, LINA, "2026-11-30", "2026-12-01", "illness", fake)
    assert refused.value.code == "invalid_document"
    assert creche.family_childcare(FAMILY)[1]["absences"] == []


def test_an_agent_accepts_a_justification_and_billing_deducts_what_the_rules_say(creche, units, clock):
    creche.register(NOE, "regular", CONTRACT)
    absence = creche.report_absence(FAMILY, NOE, "2026-11-30", "2026-12-04", "illness",
                                    {"name": "certificat.pdf", "content_base64": pdf()})
    assert absence["decision"] == "pending"
    assert [j["id"] for j in creche.justifications("pending")] == [absence["id"]]
    with pytest.raises(NotFound):
        creche.absence_document(absence["id"], family_id=OTHER)
    assert creche.absence_document(absence["id"], family_id=FAMILY)["media_type"] == "application/pdf"
    decided = creche.decide_justification(absence["id"], True, "Certificat reçu", "agent:pe")
    assert decided["deducted_days"] == ["2026-12-03", "2026-12-04"]  # after three days of waiting period
    with pytest.raises(Conflict):
        creche.decide_justification(absence["id"], False, "", "agent:pe")
    facts = creche.billable_facts("2026-12", FAMILY)["children"]
    noe = next(f for f in facts if f["child_id"] == NOE)
    assert noe["contract_minutes"] == round((8.5 * 2 + 7.5) * 60 * 45 / 12)
    # Thursday 3 December is the only contract day after the waiting period (Friday 4 is not in the contract).
    assert [(d["date"], d["reason"], d["minutes"]) for d in noe["deductions"]] == [("2026-12-03", "illness", 450)]
    assert creche.document_reads(absence["id"])[0]["reader"] == "family:fam-1"


def test_the_family_overview_gives_the_children_the_reads_of_each_justification_and_the_mails_sent(creche):
    slot = slot_on(creche, MONDAY)
    creche.set_capacity(slot["id"], 1)
    mine = creche.book(FAMILY, LINA, slot["id"], "claire@example.org")
    creche.book(OTHER, ZOE, slot["id"], "Paul@Example.org")
    creche.cancel(FAMILY, mine["id"])  # Zoé is promoted: her family is mailed
    absence = creche.report_absence(FAMILY, LINA, "2026-11-30", "2026-12-01", "illness",
                                    {"name": "certificat.pdf", "content_base64": pdf()})
    creche.absence_document(absence["id"], None, "agent:pe")
    overview = creche.family_overview(FAMILY, ["claire@example.org"])
    assert [c["child_id"] for c in overview["children"]] == [c["child_id"] for c in creche.family_childcare(FAMILY)]
    (lina,) = [c for c in overview["children"] if c["child_id"] == LINA]
    assert [r["reader"] for r in lina["absences"][0]["reads"]] == ["agent:pe"]
    assert overview["mails"] == []
    (mail,) = creche.family_overview(OTHER, ["paul@example.org", "x" * 300, None])["mails"]
    assert mail["recipient"] == "Paul@Example.org" and "Zoé" in mail["subject"] and "body" not in mail


def test_a_parent_lists_withdraws_and_justifies_afterwards_the_familys_absences(creche, tmp_path):
    later = creche.report_absence(FAMILY, LINA, "2026-12-07", "2026-12-08", "other", None)
    begun = creche.report_absence(FAMILY, LINA, "2026-11-25", "2026-11-26", "illness", None)
    creche.report_absence(OTHER, ZOE, "2026-12-07", "2026-12-07", "other", None)
    listed = creche.family_absences(FAMILY)
    assert [(a["id"], a["first_name"], a["withdrawable"]) for a in listed] == [
        (later["id"], "Lina", True), (begun["id"], "Lina", False)]
    assert listed[1]["justify_until"] == "2026-12-25" and listed[1]["decision"] == "none"
    for family, absence_id in ((OTHER, later["id"]), (FAMILY, "pas-un-id")):
        with pytest.raises(NotFound):
            creche.withdraw_absence(family, absence_id)
        with pytest.raises(NotFound):
            creche.attach_justification(family, absence_id, {"name": "c.pdf", "content_base64": pdf()})
    with pytest.raises(Conflict) as started:
        creche.withdraw_absence(FAMILY, begun["id"])
    assert started.value.code == "absence_started"
    with pytest.raises(InvalidInput):
        creche.attach_justification(FAMILY, begun["id"], {"name": "c.pdf", "content_base64": "bm90IGEgcGRm"})
    attached = creche.attach_justification(FAMILY, begun["id"], {"name": "c.pdf", "content_base64": pdf()})
    assert attached["decision"] == "pending" and attached["has_document"] and attached["justify_until"] is None
    assert [j["id"] for j in creche.justifications("pending")] == [begun["id"]]
    with pytest.raises(Conflict) as again:
        creche.attach_justification(FAMILY, begun["id"], {"name": "c.pdf", "content_base64": pdf()})
    assert again.value.code == "already_justified"
    assert creche.withdraw_absence(FAMILY, later["id"])["withdrawn"]
    assert [a["id"] for a in creche.family_absences(FAMILY)] == [begun["id"]]
    assert len(creche.family_absences(OTHER)) == 1


def test_a_decided_absence_is_not_withdrawn_and_a_late_justification_is_refused(creche, clock):
    absence = creche.report_absence(FAMILY, LINA, "2026-12-07", "2026-12-07", "illness",
                                    {"name": "c.pdf", "content_base64": pdf()})
    creche.absence_document(absence["id"], family_id=FAMILY)  # a read is recorded
    creche.decide_justification(absence["id"], True, "", "agent:pe")
    with pytest.raises(Conflict) as decided:
        creche.withdraw_absence(FAMILY, absence["id"])
    assert decided.value.code == "absence_decided"
    pending = creche.report_absence(FAMILY, LINA, "2026-12-10", "2026-12-10", "other",
                                    {"name": "c.pdf", "content_base64": pdf()})
    creche.absence_document(pending["id"], family_id=FAMILY)
    assert creche.withdraw_absence(FAMILY, pending["id"])["withdrawn"]  # its file and its reads go with it
    bare = creche.report_absence(FAMILY, LINA, "2026-11-20", "2026-11-20", "other", None)
    clock.advance(hours=24 * 25)  # 21 December: 31 days after the first day
    with pytest.raises(Conflict) as late:
        creche.attach_justification(FAMILY, bare["id"], {"name": "c.pdf", "content_base64": pdf()})
    assert late.value.code == "justification_too_late"


def test_the_dashboard_gives_next_bookings_waiting_places_and_pending_justifications(creche):
    first, second = slot_on(creche, MONDAY), slot_on(creche, MONDAY + timedelta(days=1))
    creche.set_capacity(second["id"], 1)
    creche.book(OTHER, ZOE, second["id"])
    creche.book(FAMILY, LINA, first["id"])
    creche.book(FAMILY, LINA, second["id"])  # the waiting list, first in line
    creche.report_absence(FAMILY, LINA, "2026-12-07", "2026-12-07", "illness",
                          {"name": "c.pdf", "content_base64": pdf()})
    board = creche.family_dashboard(FAMILY)
    assert board["today"] == "2026-11-26"
    assert [c["first_name"] for c in board["children"]] == ["Léo", "Lina", "Mia"]  # registered ones only
    lina = board["children"][1]
    assert [b["date"] for b in lina["next_bookings"]] == ["2026-11-30"]
    assert [(b["date"], b["position"]) for b in lina["waiting"]] == [("2026-12-01", 1)]
    assert [j["first_name"] for j in board["justifications_pending"]] == ["Lina"]
    assert creche.family_dashboard(OTHER)["justifications_pending"] == []
    assert creche.family_dashboard("nobody") == {"today": "2026-11-26", "children": [], "justifications_pending": []}


def test_billable_facts_count_by_the_half_hour_and_bill_late_cancellations_unless_justified(creche, clock):
    monday = slot_on(creche, MONDAY)
    afternoon = slot_on(creche, MONDAY, "13:30")
    creche.book(FAMILY, LINA, afternoon["id"])
    late = creche.book(FAMILY, LINA, monday["id"])
    clock.instant = datetime(2026, 11, 29, 18, 0, tzinfo=RULES.zone)
    assert creche.cancel(FAMILY, late["id"])["billed"] is True
    clock.instant = datetime(2026, 11, 30, 19, 0, tzinfo=RULES.zone)
    creche.record_attendance(LINA, "2026-11-30", "13:40", "17:05")  # 3 h 25 -> 3 h 30
    walk_in = creche.record_attendance(LINA, "2026-11-30", "08:10", "09:00")
    assert walk_in["walk_in"] is True  # her morning was cancelled
    facts = next(f for f in creche.billable_facts("2026-11", FAMILY)["children"] if f["child_id"] == LINA)
    assert facts["occasional_booked_minutes"] == 270
    assert facts["occasional_attended_minutes"] == 210 + 60 and facts["walk_in_minutes"] == 60
    assert facts["late_cancellation_billed_minutes"] == 240
    assert creche.billable_facts("2026-11", FAMILY) == creche.billable_facts("2026-11", FAMILY)
    with pytest.raises(InvalidInput):
        creche.record_attendance(LINA, "2026-12-01", "08:00", "09:00")  # tomorrow


def test_the_planning_shows_who_is_expected_who_waits_and_the_occupancy(creche):
    slot = slot_on(creche, MONDAY)
    creche.set_capacity(slot["id"], 1)
    creche.book(FAMILY, LINA, slot["id"])
    creche.book(OTHER, ZOE, slot["id"])
    creche.register(NOE, "regular", CONTRACT)
    day = creche.planning(MONDAY.isoformat())
    morning = day["slots"][0]
    assert morning["occupancy_percent"] == 100
    assert [c["first_name"] for c in morning["expected"]] == ["Lina"]
    assert [(c["first_name"], c["position"]) for c in morning["waiting"]] == [("Zoé", 1)]
    assert [(c["first_name"], c["arrives"]) for c in day["contracted"]] == [("Noé", "08:30")]
    family = creche.family_childcare(FAMILY)
    assert next(c for c in family if c["child_id"] == NOE)["registration"]["leave"] == {"allowed": 3, "taken": 0,
                                                                                        "remaining": 3}


def test_agents_find_children_by_name_with_their_registration(creche):
    found = {c["first_name"]: c for c in creche.find_children("mart")}
    assert set(found) == {"Lina", "Noé", "Léo", "Mia"}
    assert found["Lina"]["registered"] is True and found["Noé"]["registered"] is False
    with pytest.raises(InvalidInput):
        creche.find_children("m")
