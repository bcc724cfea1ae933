"""The canteen's use cases on a real SQLite unit of work in a temporary file, with a fixed clock: no broker."""
from datetime import date, datetime

import pytest
from sqlalchemy import insert

from canteen import documents, orm, store, use_cases
from canteen.calendar_rules import CanteenRules
from espace_common.clock import FixedClock
from espace_common.db import create_database_engine
from espace_common.errors import Conflict, InvalidInput, NotFound
from espace_common.launch import alembic_ini
from espace_common.migrations import upgrade
from espace_deploy.testing import SqliteUnits, migrated_sqlite

RULES = CanteenRules()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=RULES.zone)  # Thursday 26 November 2026, 9:00 in Donges
FAMILY, OTHER = "fam-1", "fam-2"
LEA, HUGO, TOM = "child-lea", "child-hugo", "child-tom"
YEAR = "2026-2027"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """One migrated database file, copied for each test (migrating costs a second)."""
    return migrated_sqlite("canteen", tmp_path_factory.mktemp("canteen-template"))




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
def town(units, canteen):
    """Two families as identity's events left them, their children enrolled in one school this school year."""
    with units() as uow:
        uow.execute(insert(orm.family_children), [
            {"family_id": FAMILY, "child_id": LEA, "first_name": "Léa", "last_name": "Martin",
             "birth_date": date(2018, 4, 17)},
            {"family_id": FAMILY, "child_id": HUGO, "first_name": "Hugo", "last_name": "Martin",
             "birth_date": date(2020, 9, 3)},
            {"family_id": OTHER, "child_id": TOM, "first_name": "Tom", "last_name": "Bernard",
             "birth_date": date(2019, 1, 1)}])
        uow.commit()
    school = canteen.add_school("École Jules Verne", "public", "1 rue des Écoles")["id"]
    canteen.enrol(LEA, school, YEAR)
    canteen.enrol(HUGO, school, YEAR)
    canteen.enrol(TOM, school, YEAR)
    return school


def state(canteen, child, day, family=FAMILY):
    return canteen.meals(family, child, day, day)["days"][0]["state"]


def code_of(excinfo):
    return excinfo.value.code


# --- One day ------------------------------------------------------------------------------------

def test_a_day_is_reserved_cancelled_and_repeating_changes_nothing(canteen, town):
    for _ in range(2):
        assert canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve")["state"] == "reserved"
    assert state(canteen, LEA, "2026-12-03") == "reserved"
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "cancel")
    assert state(canteen, LEA, "2026-12-03") == "not_reserved"


def test_reserving_needs_an_enrolment_for_that_school_year(canteen, town):
    with pytest.raises(Conflict) as refused:
        canteen.change_meal(FAMILY, LEA, "2027-09-02", "reserve")  # school year 2027-2028
    assert code_of(refused) == "not_enrolled" and "2027-2028" in refused.value.message
    canteen.change_meal(FAMILY, LEA, "2027-09-02", "cancel")  # cancelling needs none


def test_an_absence_blocks_the_days_change(canteen, town):
    canteen.change_meal(FAMILY, HUGO, "2026-12-04", "reserve")
    canteen.report_absence(FAMILY, HUGO, "2026-12-04", "2026-12-04", "illness", None)
    for action in ("reserve", "cancel"):
        with pytest.raises(Conflict) as refused:
            canteen.change_meal(FAMILY, HUGO, "2026-12-04", action)
        assert code_of(refused) == "day_absent"
    assert state(canteen, HUGO, "2026-12-04") == "absent"


def test_a_frozen_or_closed_day_and_another_familys_child_are_refused(canteen, town):
    with pytest.raises(Conflict) as frozen:
        canteen.change_meal(FAMILY, LEA, "2026-11-27", "reserve")  # Friday 27 froze yesterday at 10:00
    assert code_of(frozen) == "day_frozen"
    with pytest.raises(Conflict) as closed:
        canteen.change_meal(FAMILY, LEA, "2026-12-02", "reserve")  # a Wednesday
    assert code_of(closed) == "day_closed"
    with pytest.raises(NotFound):
        canteen.change_meal(FAMILY, TOM, "2026-12-03", "reserve")
    with pytest.raises(InvalidInput):
        canteen.change_meal(FAMILY, LEA, "2026-12-03", "eat")


def test_the_deadline_follows_the_clock(canteen, town, clock):
    canteen.change_meal(FAMILY, LEA, "2026-11-30", "reserve")  # Monday 30 freezes today, Thursday, at 10:00
    clock.advance(hours=1)
    with pytest.raises(Conflict) as frozen:
        canteen.change_meal(FAMILY, LEA, "2026-11-30", "cancel")
    assert code_of(frozen) == "day_frozen"


def test_one_tap_answers_the_change_or_its_refusal_with_the_childs_name_and_rank(canteen, town):
    done = canteen.change_day(FAMILY, HUGO, "2026-12-03", "reserve")
    assert done["changed"] and done["state"] == "reserved" and (done["first_name"], done["rank"]) == ("Hugo", 2)
    refused = canteen.change_day(FAMILY, LEA, "2026-12-02", "reserve")
    assert not refused["changed"] and refused["refusal"]["code"] == "day_closed" and refused["rank"] == 1
    with pytest.raises(NotFound):
        canteen.change_day(FAMILY, TOM, "2026-12-03", "reserve")


# --- A period ----------------------------------------------------------------------------------

def test_a_period_refuses_the_days_a_child_is_not_enrolled_for_and_reserves_the_rest(canteen, town):
    answer = canteen.change_meals(FAMILY, {"children": [LEA], "from": "2027-08-30", "to": "2027-09-03",
                                           "weekdays": [1, 2, 3, 4, 5], "action": "reserve"})
    results = {r["date"]: (r["result"], r["reason"]) for r in answer["results"]}
    assert results["2027-08-30"] == ("reserved", None) and results["2027-08-31"] == ("reserved", None)
    assert results["2027-09-02"] == ("refused", "Enfant non inscrit à la restauration scolaire pour l'année 2027-2028.")
    assert answer["summary"] == {"reserved": 2, "cancelled": 0, "unchanged": 0, "refused": 3}


# --- Head-counts and billing -----------------------------------------------------------------------

def test_the_headcount_leaves_out_absent_children_and_counts_baskets(canteen, town):
    for child in (LEA, HUGO):
        canteen.change_meal(FAMILY, child, "2026-12-10", "reserve")
    canteen.set_diet(LEA, "vegetarien", True)
    assert canteen.headcount(town, "2026-12-10")["by_diet"] == {
        "standard": 1, "sans_porc": 0, "vegetarien": 0, "panier_pai": 1}
    canteen.report_absence(FAMILY, HUGO, "2026-12-10", "2026-12-10", "other", None)
    count = canteen.headcount(town, "2026-12-10")
    assert count["total"] == 1 and count["by_diet"]["standard"] == 0
    everyone = canteen.headcounts("2026-12-10")
    assert [(s["school"]["name"], s["total"]) for s in everyone["schools"]] == [("École Jules Verne", 1)]


def test_billable_facts_tell_justified_from_unjustified_absences(canteen, town, clock):
    canteen.change_meals(FAMILY, {"children": [LEA], "from": "2026-12-01", "to": "2026-12-18",
                                  "weekdays": [1, 2, 4, 5], "action": "reserve"})
    clock.instant = datetime(2026, 12, 7, 18, 0, tzinfo=RULES.zone)
    # An illness justified within 48 hours of its first day is not billed...
    canteen.report_absence(FAMILY, LEA, "2026-12-07", "2026-12-08", "illness", pdf_document())
    # ...an absence for another reason is, and so is an illness without a justification.
    canteen.report_absence(FAMILY, LEA, "2026-12-10", "2026-12-10", "other", None)
    canteen.report_absence(FAMILY, LEA, "2026-12-11", "2026-12-11", "illness", None)
    canteen.record_attendance(town, "2026-12-03", [LEA, HUGO])
    facts = {f["child_id"]: f for f in canteen.billable_facts("2026-12", FAMILY)}
    lea = facts[LEA]
    assert lea["absent_justified"] == ["2026-12-07", "2026-12-08"]
    assert lea["absent_unjustified"] == ["2026-12-10", "2026-12-11"]
    assert "2026-12-07" not in lea["reserved"] and "2026-12-10" in lea["reserved"] and len(lea["reserved"]) == 9
    assert facts[HUGO]["eaten_without_reservation"] == ["2026-12-03"] and facts[HUGO]["reserved"] == []
    with pytest.raises(InvalidInput):
        canteen.billable_facts("décembre", FAMILY)


# --- Absences ---------------------------------------------------------------------------------------

def pdf_document():
    from io import BytesIO

    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = BytesIO()
    writer.write(out)
    import base64
    return {"name": "certificat.pdf", "content_base64": base64.b64encode(out.getvalue()).decode()}


def test_the_same_absence_reported_again_is_the_same_absence(canteen, town, units):
    first = canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-04", "illness", None)
    again = canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-04", "illness", None)
    assert again == first
    # A justification sent with the repeated report is attached to it.
    with_file = canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-04", "illness", pdf_document())
    assert with_file == {**first, "has_document": True}
    assert [a["id"] for a in canteen.family_absences(FAMILY)] == [first["id"]]
    with units(read_only=True) as uow:
        assert len(store.absences_of_family(uow, FAMILY)) == 1


def test_an_absence_overlapping_another_is_refused(canteen, town):
    canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-04", "illness", None)
    for start, end, reason in (("2026-12-04", "2026-12-07", "illness"), ("2026-12-03", "2026-12-04", "other")):
        with pytest.raises(Conflict) as refused:
            canteen.report_absence(FAMILY, LEA, start, end, reason, None)
        assert code_of(refused) == "absence_overlaps" and "03/12/2026 au 04/12/2026" in refused.value.message
    canteen.report_absence(FAMILY, HUGO, "2026-12-03", "2026-12-04", "illness", None)  # another child may


@pytest.mark.parametrize("start, end, code", [
    ("1900-01-01", "1900-01-01", "absence_too_old"),
    ("2026-10-26", "2026-10-26", "absence_too_old"),  # 31 days before today
    ("9999-12-31", "9999-12-31", "absence_too_far"),
    ("2028-08-31", "2028-09-01", "absence_too_far"),  # past the end of next school year
    ("2026-12-01", "2027-11-30", "range_too_long"),
    ("2026-12-01", "2027-01-01", "range_too_long"),  # 32 days
    ("2026-12-04", "2026-12-03", "invalid_range"),
    ("2026-12-04", "demain", "invalid_date"),
])
def test_absences_are_bounded_around_the_school_year(canteen, town, start, end, code):
    with pytest.raises(InvalidInput) as refused:
        canteen.report_absence(FAMILY, LEA, start, end, "illness", None)
    assert code_of(refused) == code and refused.value.message


def test_the_widest_absences_allowed(canteen, town):
    canteen.report_absence(FAMILY, LEA, "2026-10-27", "2026-10-27", "other", None)  # 30 days ago
    canteen.report_absence(FAMILY, LEA, "2026-12-01", "2026-12-31", "other", None)  # 31 days
    canteen.report_absence(FAMILY, HUGO, "2028-08-31", "2028-08-31", "other", None)  # the last day of 2027-2028
    with pytest.raises(InvalidInput) as refused:
        canteen.report_absence(FAMILY, LEA, "2026-12-05", "2026-12-05", "sick", None)
    assert code_of(refused) == "invalid_reason"


def test_a_family_reads_its_own_justification_and_the_read_is_recorded(canteen, town):
    absence = canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-03", "illness", pdf_document())
    document = canteen.absence_document(absence["id"], FAMILY, None)
    assert document["media_type"] == "application/pdf"
    with pytest.raises(NotFound):
        canteen.absence_document(absence["id"], OTHER, None)
    canteen.absence_document(absence["id"], None, "agent:a-1")
    assert [r["reader"] for r in canteen.document_reads(absence["id"])] == [f"family:{FAMILY}", "agent:a-1"]


def test_the_family_overview_gives_enrolments_the_month_and_absences_with_their_reads(canteen, town):
    absence = canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-03", "illness", pdf_document())
    canteen.absence_document(absence["id"], None, "agent:a-1")
    overview = canteen.family_overview(FAMILY, "2026-12-01", "2026-12-31")
    assert overview["enrolments"] == canteen.enrolments_of_family(FAMILY)
    assert overview["children"] == canteen.family_meals(FAMILY, "2026-12-01", "2026-12-31")
    (listed,) = overview["absences"]
    assert listed["id"] == absence["id"] and [r["reader"] for r in listed["reads"]] == ["agent:a-1"]
    assert canteen.family_overview(OTHER, "2026-12-01", "2026-12-31")["absences"] == []


def test_a_justification_waits_for_an_agent_until_one_opens_it(canteen, town):
    absence = canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-03", "illness", pdf_document())
    canteen.report_absence(FAMILY, LEA, "2026-12-07", "2026-12-07", "other")  # no file: nothing to review
    canteen.absence_document(absence["id"], FAMILY, None)  # the family's own read reviews nothing
    (waiting,) = canteen.absences_to_review()
    assert waiting | {"id": absence["id"], "family_id": FAMILY, "from": "2026-12-03", "first_name": "Léa"} == waiting
    canteen.absence_document(absence["id"], None, "agent:a-1")
    assert canteen.absences_to_review() == []


def test_a_future_absence_is_withdrawn_and_its_reserved_meals_are_back(canteen, town, tmp_path):
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve")
    absence = canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-04", "illness", pdf_document())
    assert state(canteen, LEA, "2026-12-03") == "absent"
    listed = canteen.family_absences(FAMILY)[0]
    assert listed["withdrawable"] and listed["first_name"] == "Léa"
    with pytest.raises(NotFound):  # another family's absence does not exist for this one
        canteen.withdraw_absence(OTHER, absence["id"])
    with pytest.raises(NotFound):
        canteen.withdraw_absence(FAMILY, "pas-un-id")
    assert list((tmp_path / "files").iterdir())
    assert canteen.withdraw_absence(FAMILY, absence["id"])["withdrawn"]
    assert canteen.family_absences(FAMILY) == []
    assert state(canteen, LEA, "2026-12-03") == "reserved"  # the meal was never cancelled: the child eats again
    assert state(canteen, LEA, "2026-12-04") == "not_reserved"
    assert not list((tmp_path / "files").iterdir())  # the certificate goes with it
    with pytest.raises(NotFound):  # withdrawing again changes nothing
        canteen.withdraw_absence(FAMILY, absence["id"])


def test_an_absence_that_has_begun_is_not_withdrawn(canteen, town):
    today = canteen.report_absence(FAMILY, LEA, "2026-11-26", "2026-11-27", "other", None)
    assert not canteen.family_absences(FAMILY)[0]["withdrawable"]
    with pytest.raises(Conflict) as refused:
        canteen.withdraw_absence(FAMILY, today["id"])
    assert code_of(refused) == "absence_started"
    assert len(canteen.family_absences(FAMILY)) == 1


def test_the_certificate_is_added_afterwards_within_the_window_once(canteen, town, clock):
    canteen.change_meal(FAMILY, LEA, "2026-12-07", "reserve")
    absence = canteen.report_absence(FAMILY, LEA, "2026-11-25", "2026-11-25", "illness", None)
    listed = canteen.family_absences(FAMILY)[0]
    assert listed["justification"] == "waiting"
    assert listed["justify_until"] == "2026-11-27T00:00:00+01:00"  # 48 hours after the first day began
    with pytest.raises(NotFound):
        canteen.attach_justification(OTHER, absence["id"], pdf_document())
    with pytest.raises(InvalidInput):  # opened by a real parser: junk is refused
        canteen.attach_justification(FAMILY, absence["id"], {"name": "x.pdf", "content_base64": "JVBERi0xLjQK"})
    attached = canteen.attach_justification(FAMILY, absence["id"], pdf_document())
    assert attached["has_document"] and attached["justification"] == "accepted" and attached["justify_until"] is None
    with pytest.raises(Conflict) as again:
        canteen.attach_justification(FAMILY, absence["id"], pdf_document())
    assert code_of(again) == "already_justified"


def test_the_certificate_is_refused_past_the_window(canteen, town, clock):
    absence = canteen.report_absence(FAMILY, LEA, "2026-11-24", "2026-11-24", "illness", None)
    assert canteen.family_absences(FAMILY)[0]["justification"] == "none"  # reported 57 hours after: billed anyway
    with pytest.raises(Conflict) as late:
        canteen.attach_justification(FAMILY, absence["id"], pdf_document())
    assert code_of(late) == "justification_too_late" and "26/11/2026 à 00:00" in late.value.message
    future = canteen.report_absence(FAMILY, HUGO, "2026-12-01", "2026-12-01", "illness", None)
    clock.advance(hours=24 * 6 + 16)  # Thursday 3 December, 1:00: 49 hours after the first day began
    assert [a["justification"] for a in canteen.family_absences(FAMILY)] == ["none", "none"]
    with pytest.raises(Conflict):
        canteen.attach_justification(FAMILY, future["id"], pdf_document())


def test_one_form_reports_the_absence_of_several_children(canteen, town):
    canteen.report_absence(FAMILY, HUGO, "2026-12-03", "2026-12-03", "other", None)
    answer = canteen.report_absences(FAMILY, [LEA, HUGO], "2026-12-03", "2026-12-04", "illness", None)
    lea, hugo = answer["results"]
    assert lea["absence"]["child_id"] == LEA and lea["refusal"] is None
    assert hugo["absence"] is None and hugo["refusal"]["code"] == "absence_overlaps"
    with pytest.raises(NotFound):  # a child of another family refuses it whole, before anything is written
        canteen.report_absences(FAMILY, [LEA, TOM], "2026-12-10", "2026-12-10", "other", None)
    assert len(canteen.family_absences(FAMILY)) == 2
    for junk in ([], "child-lea", [LEA] * 11, [None]):
        with pytest.raises(InvalidInput):
            canteen.report_absences(FAMILY, junk, "2026-12-10", "2026-12-10", "other", None)


def test_the_dashboard_gives_the_next_meals_and_the_days_to_reserve_before_the_next_deadline(canteen, town):
    for day in ("2026-12-01", "2026-12-03", "2026-12-04", "2026-12-07", "2026-12-08"):
        canteen.change_meal(FAMILY, LEA, day, "reserve")
    canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-03", "other", None)
    canteen.report_absence(FAMILY, HUGO, "2026-11-25", "2026-11-25", "illness", None)
    board = canteen.family_dashboard(FAMILY)
    assert board["today"] == "2026-11-26"
    lea, hugo = sorted(board["children"], key=lambda c: c["first_name"], reverse=True)
    assert lea["first_name"] == "Léa"
    # Thursday 26, 9:00: Monday 30's deadline is today at 10:00, the next to pass; 3 December is an absence.
    assert lea["next_meals"] == ["2026-12-01", "2026-12-04", "2026-12-07"]
    assert lea["next_deadline"] == "2026-11-26T10:00:00+01:00" and lea["to_reserve"] == ["2026-11-30"]
    assert hugo["next_meals"] == [] and hugo["to_reserve"] == ["2026-11-30"]
    assert [a["first_name"] for a in board["justifications_to_send"]] == ["Hugo"]
    assert canteen.family_dashboard(OTHER)["justifications_to_send"] == []
    assert canteen.family_dashboard("no-such-family") == {"today": "2026-11-26", "children": [],
                                                          "justifications_to_send": []}


# --- Schools, classes, vocabulary ------------------------------------------------------------------------

def test_the_school_directory_gives_every_school_with_its_classes_of_two_years(canteen, town):
    canteen.add_class(town, YEAR, "CE2")
    canteen.add_class(town, "2027-2028", "CM1")
    directory = canteen.school_directory()
    assert directory["school_years"] == ["2026-2027", "2027-2028"]
    (school,) = directory["schools"]
    assert [c["name"] for c in school["classes"]["2026-2027"]] == ["CE2"]
    assert [c["name"] for c in school["classes"]["2027-2028"]] == ["CM1"]


def test_the_school_day_gives_the_schools_the_chosen_one_its_year_and_sheet(canteen, town):
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve")
    day = canteen.school_day(None, "2026-12-03")
    assert day["school"]["id"] == town and day["school_year"] == YEAR and len(day["schools"]) == 1
    assert {r["child_id"]: r["reserved"] for r in day["sheet"]} == {LEA: True, HUGO: False, TOM: False}
    assert canteen.school_day("nope", "2026-12-03")["school"] is None


def test_the_enrolments_of_a_family_name_school_and_class_per_year(canteen, town):
    next_year = f"{int(YEAR[:4]) + 1}-{int(YEAR[:4]) + 2}"
    cm1 = canteen.add_class(town, next_year, "CM1")["id"]
    canteen.enrol(LEA, town, next_year, cm1)
    assert canteen.enrolments_of_family(FAMILY) == [
        {"child_id": LEA, "school_year": YEAR, "school_id": town, "school_name": "École Jules Verne",
         "class_id": None, "class_name": None},
        {"child_id": HUGO, "school_year": YEAR, "school_id": town, "school_name": "École Jules Verne",
         "class_id": None, "class_name": None},
        {"child_id": LEA, "school_year": next_year, "school_id": town, "school_name": "École Jules Verne",
         "class_id": cm1, "class_name": "CM1"}]
    assert [e["child_id"] for e in canteen.enrolments_of_family(OTHER)] == [TOM]


def test_attendance_taken_with_nobody_eating_is_still_taken(canteen, town, clock):
    clock.instant = datetime(2026, 12, 3, 13, 0, tzinfo=RULES.zone)
    assert canteen.school_day(town, "2026-12-03")["attendance_recorded_at"] is None
    canteen.record_attendance(town, "2026-12-03", [])
    day = canteen.school_day(town, "2026-12-03")
    assert day["attendance_recorded_at"] is not None and not any(r["eaten"] for r in day["sheet"])
    assert canteen.school_day(town, "2026-12-04")["attendance_recorded_at"] is None


@pytest.mark.parametrize("call", [
    lambda c, school: c.add_school("É" * 101, "public", ""),
    lambda c, school: c.add_school("École", "public", "x" * 201),
    lambda c, school: c.add_class(school, YEAR, "C" * 61),
    lambda c, school: c.publish_news("T" * 201, "texte", "news"),
    lambda c, school: c.publish_news("Titre", "x" * 20001, "news"),
    lambda c, school: c.close_day("2026-12-10", "r" * 201),
    lambda c, school: c.set_menu("2026-12-10", [{"course": "plat", "name": "p" * 121}]),
])
def test_texts_longer_than_the_service_stores_are_refused(canteen, town, call):
    with pytest.raises(InvalidInput) as refused:
        call(canteen, town)
    assert "ne doit pas dépasser" in refused.value.message


def test_the_vocabulary_is_the_services_own(canteen):
    vocabulary = canteen.vocabulary()
    assert [c["code"] for c in vocabulary["courses"]] == ["entree", "plat", "accompagnement", "laitage", "dessert",
                                                          "gouter"]
    assert vocabulary["allergens"]["fruits_a_coque"] == "Fruits à coque" and len(vocabulary["allergens"]) == 14
    assert vocabulary["absence_reasons"] == {"illness": "Maladie", "other": "Autre motif"}
    assert vocabulary["justification"]["max_bytes"] == 5 * 1024 * 1024
    assert vocabulary["limits"]["school_name"] == 100 and vocabulary["school_weekdays"] == [1, 2, 4, 5]


# --- The holiday calendar -------------------------------------------------------------------------------

def calendar_with(*lines):
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", "UID:hol-1",
                        *lines, "SUMMARY:Vacances de Noël", "END:VEVENT", "END:VCALENDAR", ""])


@pytest.mark.parametrize("lines", [
    ("DTSTART:notadate",),
    ("DTSTART;VALUE=DATE:20261301",),
    ("DTSTART;VALUE=DATE:20261219", "DTEND:zzz"),
])
def test_a_calendar_with_a_malformed_date_is_refused_whole(canteen, lines):
    with pytest.raises(InvalidInput) as refused:
        canteen.import_holidays(calendar_with(*lines))
    assert code_of(refused) == "invalid_calendar" and "Vacances de Noël" in refused.value.message


def test_a_calendar_is_imported_once_and_closes_its_days(canteen):
    ics = calendar_with("DTSTART;VALUE=DATE:20261219", "DTEND;VALUE=DATE:20270104")
    assert canteen.import_holidays(ics) == {"periods": 1, "added": 1}
    assert canteen.import_holidays(ics) == {"periods": 1, "added": 0}
    assert canteen.school_days("2026-12-21", "2026-12-21")[0]["reason"] == "Vacances de Noël."
    with pytest.raises(InvalidInput):
        canteen.import_holidays("X" * (2 * 1024 * 1024 + 1))


def test_the_database_keeps_one_absence_per_child_and_period(canteen, town, units):
    """Two identical reports racing each other: the unique key lets only the first in."""
    first = canteen.report_absence(FAMILY, LEA, "2026-12-03", "2026-12-04", "illness", None)
    values = {"child_id": LEA, "family_id": FAMILY, "start": date(2026, 12, 3), "end": date(2026, 12, 4),
              "reason": "illness", "reported_at": NOW, "document_name": None, "document_type": None,
              "document_path": None}
    with units() as uow:
        assert store.add_absence(uow, values) is None
        uow.commit()
    assert [a["id"] for a in canteen.family_absences(FAMILY)] == [first["id"]]


def test_the_migration_folds_absences_reported_twice(tmp_path):
    from alembic import command

    from espace_common.migrations import alembic_config
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    command.upgrade(alembic_config(alembic_ini("canteen"), url), "0003")
    engine = create_database_engine(url)
    rows = [{"id": f"a-{n}", "child_id": LEA, "family_id": FAMILY, "start": date(2026, 12, 3), "end": date(2026, 12, 3),
             "reason": "illness", "reported_at": NOW, "document_name": "c.pdf" if n == 2 else None,
             "document_type": "application/pdf" if n == 2 else None, "document_path": "x.pdf" if n == 2 else None}
            for n in (1, 2, 3)]
    with engine.begin() as connection:
        connection.execute(insert(orm.absences), rows)
    upgrade(alembic_ini("canteen"), url)
    with engine.connect() as connection:
        kept = connection.execute(orm.absences.select()).all()
    engine.dispose()
    assert [(r.id, r.document_path) for r in kept] == [("a-2", "x.pdf")]


# --- Attendance from the agents' sheet and the school's tablet -----------------------------------

def test_attendance_of_a_school_day_up_to_today_keeps_the_meals_eaten_without_reservation(canteen, town, clock):
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve")
    clock.instant = datetime(2026, 12, 3, 13, 30, tzinfo=RULES.zone)  # the day itself, after lunch
    answer = canteen.record_attendance(town, "2026-12-03", [LEA, HUGO, LEA])
    assert answer == {"date": "2026-12-03", "school_id": town, "eaten": 2, "without_reservation": 1}
    facts = {f["child_id"]: f for f in canteen.billable_facts("2026-12", FAMILY)}
    assert facts[LEA]["reserved"] == ["2026-12-03"] and facts[LEA]["eaten_without_reservation"] == []
    assert facts[HUGO]["eaten_without_reservation"] == ["2026-12-03"]  # billed at the surcharged price
    again = canteen.record_attendance(town, "2026-12-03", [LEA])  # the tablet sends the day again: replaced
    assert again["without_reservation"] == 0
    assert canteen.billable_facts("2026-12", FAMILY)[1]["eaten_without_reservation"] == []


@pytest.mark.parametrize("day, eaten, code", [
    ("2026-12-04", [LEA], "attendance_future"),  # tomorrow
    ("2026-12-02", [LEA], "day_closed"),  # a Wednesday
    ("2026-11-11", [LEA], "day_closed"),  # a public holiday
    ("2026-12-03", ["no-such-child"], "unknown_child"),
    ("2026-12-03", ["x" * 65], "invalid_children"),
    ("2026-12-03", "child-lea", "invalid_children"),
    ("3 décembre", [LEA], "invalid_date"),
])
def test_attendance_refusals_say_why(canteen, town, clock, day, eaten, code):
    clock.instant = datetime(2026, 12, 3, 13, 30, tzinfo=RULES.zone)
    with pytest.raises((InvalidInput, Conflict)) as refused:
        canteen.record_attendance(town, day, eaten)
    assert refused.value.code == code and refused.value.message


def test_attendance_of_a_child_of_another_school_or_an_unknown_school_is_refused(canteen, town, clock, units):
    clock.instant = datetime(2026, 12, 3, 13, 30, tzinfo=RULES.zone)
    other = canteen.add_school("École Simone Veil", "public")["id"]
    with pytest.raises(InvalidInput) as refused:
        canteen.record_attendance(other, "2026-12-03", [LEA])
    assert refused.value.code == "not_enrolled"
    with pytest.raises(NotFound):
        canteen.record_attendance("no-such-school", "2026-12-03", [LEA])


def test_billable_facts_carry_the_pai_of_each_child(canteen, town):
    canteen.set_diet(LEA, "standard", True)
    facts = {f["child_id"]: f for f in canteen.billable_facts("2026-12", FAMILY)}
    assert facts[LEA]["pai"] is True and facts[HUGO]["pai"] is False


def test_an_agent_regularises_the_reservations_of_past_days_only(canteen, town, clock):
    clock.instant = datetime(2026, 12, 8, 9, 0, tzinfo=RULES.zone)  # Tuesday 8 December
    answer = canteen.regularise_reservations(LEA, ["2026-12-04", "2026-12-03", "2026-12-04"])
    assert answer == {"child_id": LEA, "days": ["2026-12-03", "2026-12-04"]}
    canteen.regularise_reservations(LEA, ["2026-12-03"])  # again: nothing twice
    assert canteen.billable_facts("2026-12", FAMILY)[0]["reserved"] == ["2026-12-03", "2026-12-04"]
    for days, code in ((["2026-12-08"], "regularisation_not_past"), (["2026-12-02"], "day_closed"),
                       (["2025-12-04"], "not_enrolled"), ("2026-12-03", "invalid_days"),
                       (["2026-12-03"] * 32, "invalid_days")):
        with pytest.raises((InvalidInput, Conflict)) as refused:
            canteen.regularise_reservations(LEA, days)
        assert refused.value.code == code
    with pytest.raises(NotFound):
        canteen.regularise_reservations("no-such-child", ["2026-12-03"])
