"""Reservations, absences, head-counts and billable facts over the real broker, on SQLite and PostgreSQL."""
import base64
import threading
import time
from datetime import date, timedelta

import pytest

from espace_common.rpc_client import RemoteError, RpcClient

pytestmark = pytest.mark.broker

FAMILY = {
    "representatives": [{"first_name": "Claire", "last_name": "Martin"}],
    "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"},
                 {"first_name": "Hugo", "last_name": "Martin", "birth_date": "2020-09-03"}],
}


def one_page_pdf():
    import io

    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()


PDF = one_page_pdf()


def school_year_of(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def next_month():
    today = date.today()
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


@pytest.fixture(scope="module")
def started(module_services):
    module_services.start("identity", wait=False)
    module_services.start("canteen", wait=False)
    module_services.wait_healthy()
    return module_services


@pytest.fixture
def rpc(started):
    return started.rpc


@pytest.fixture
def vhost(started):
    return started.vhost


@pytest.fixture
def town(started, rpc):
    family = rpc.call("identity", "register_family", FAMILY)
    children = [c["id"] for c in family["children"]]
    deadline = time.monotonic() + 10
    while len(rpc.call("canteen", "family_children", family["id"])) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    school = rpc.call("canteen", "add_school", f"École {family['dossier']}", "public")
    first, last = next_month()
    for year in {school_year_of(first), school_year_of(last), school_year_of(date.today())}:
        for child in children:
            rpc.call("canteen", "enrol", child, school["id"], year)
    return {"family": family["id"], "children": children, "school": school["id"], "first": first, "last": last}


def refused(rpc, code, *call):
    with pytest.raises(RemoteError) as error:
        rpc.call("canteen", *call)
    assert error.value.code == code, error.value.message
    return error.value


def test_bulk_reservation_for_two_children_then_a_cancellation(town, rpc):
    result = rpc.call("canteen", "change_meals", town["family"], {
        "children": town["children"], "from": town["first"].isoformat(), "to": town["last"].isoformat(),
        "weekdays": [1, 2, 4, 5], "action": "reserve"})
    reserved = [r for r in result["results"] if r["result"] == "reserved"]
    assert reserved and result["summary"]["reserved"] == len(reserved)
    day = reserved[0]["date"]
    again = rpc.call("canteen", "change_meals", town["family"], {
        "children": town["children"], "from": day, "to": day, "weekdays": [1, 2, 3, 4, 5], "action": "reserve"})
    assert {r["result"] for r in again["results"]} == {"unchanged"}
    rpc.call("canteen", "change_meal", town["family"], town["children"][0], day, "cancel")
    meals = rpc.call("canteen", "meals", town["family"], town["children"][0], town["first"].isoformat(),
                     town["last"].isoformat())
    states = {d["date"]: d["state"] for d in meals["days"]}
    assert states[day] == "not_reserved" and len(meals["days"]) == (town["last"] - town["first"]).days + 1
    assert all(d["state"] == "closed" for d in meals["days"] if date.fromisoformat(d["date"]).isoweekday() in (3, 6, 7))
    both = rpc.call("canteen", "family_meals", town["family"], town["first"].isoformat(), town["last"].isoformat())
    assert [c["child_id"] for c in both] == town["children"]
    assert both[0]["days"] == meals["days"]
    count = rpc.call("canteen", "headcount", town["school"], day)
    assert count["total"] == 1 and count["by_diet"]["standard"] == 1


def test_a_past_day_is_frozen_and_says_why(town, rpc):
    yesterday = date.today() - timedelta(days=1)
    error = refused(rpc, "day_closed" if yesterday.isoweekday() in (3, 6, 7) else "day_frozen",
                    "change_meal", town["family"], town["children"][0], yesterday.isoformat(), "reserve")
    assert error.message


def test_another_familys_child_is_not_found(town, rpc):
    other = rpc.call("identity", "register_family", dict(FAMILY, request_id="other"))
    refused(rpc, "child_not_found", "meals", other["id"], town["children"][0], "2026-01-01", "2026-01-31")
    refused(rpc, "child_not_found", "change_meal", other["id"], town["children"][0], town["first"].isoformat(), "reserve")


def test_two_representatives_at_the_same_moment_lose_nothing(town, rpc, vhost):
    child = town["children"][0]
    errors = []

    def reserve(weekday):
        client = RpcClient(vhost.amqp_uri, timeout=20, caller="parent")
        try:
            for _ in range(3):
                client.call("canteen", "change_meals", town["family"], {
                    "children": [child], "from": town["first"].isoformat(), "to": town["last"].isoformat(),
                    "weekdays": [weekday, 5], "action": "reserve"})
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=reserve, args=(weekday,)) for weekday in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    days = rpc.call("canteen", "meals", town["family"], child, town["first"].isoformat(), town["last"].isoformat())["days"]
    open_days = [d for d in days if d["state"] != "closed"]
    expected = [d for d in open_days if date.fromisoformat(d["date"]).isoweekday() in (1, 2, 5)]
    assert all(d["state"] == "reserved" for d in expected)
    assert all(d["state"] == "not_reserved" for d in open_days if d not in expected)


def test_absence_with_a_justification_recognised_by_content(town, rpc):
    day = town["first"].isoformat()
    absence = rpc.call("canteen", "report_absence", town["family"], town["children"][1], day, day, "illness",
                       {"name": "certificat.pdf", "content_base64": base64.b64encode(PDF).decode()})
    assert absence["has_document"]
    document = rpc.call("canteen", "absence_document", absence["id"], town["family"])
    assert base64.b64decode(document["content_base64"]).startswith(b"%PDF-") and document["media_type"] == "application/pdf"
    refused(rpc, "document_not_found", "absence_document", absence["id"], "another-family")
    listed = rpc.call("canteen", "family_absences", town["family"])
    assert [(a["id"], a["has_document"]) for a in listed] == [(absence["id"], True)]
    rpc.call("canteen", "absence_document", absence["id"], None, "agent:agent-42")
    assert [r["reader"] for r in rpc.call("canteen", "document_reads", absence["id"])] == [
        f"family:{town['family']}", "agent:agent-42"]
    liar = {"name": "certificat.pdf", "content_base64": base64.b64encode(b"MZ\x90\x00 not a pdf").decode()}
    refused(rpc, "invalid_document", "report_absence", town["family"], town["children"][1], day, day, "illness", liar)
    big = {"name": "x.pdf", "content_base64": base64.b64encode(b"%PDF-" + b"0" * (5 * 1024 * 1024)).decode()}
    refused(rpc, "document_too_large", "report_absence", town["family"], town["children"][1], day, day, "other", big)
    meals = rpc.call("canteen", "meals", town["family"], town["children"][1], day, day)
    assert meals["days"][0]["state"] in ("absent", "closed")


def test_an_absent_child_is_not_cooked_for_and_the_day_cannot_change(town, rpc):
    days = [d["date"] for d in rpc.call("canteen", "school_days", town["first"].isoformat(), town["last"].isoformat())
            if d["open"]]
    day = days[-1]
    for child in town["children"]:
        rpc.call("canteen", "change_meal", town["family"], child, day, "reserve")
    assert rpc.call("canteen", "headcount", town["school"], day)["total"] == 2
    rpc.call("canteen", "report_absence", town["family"], town["children"][0], day, day, "other")
    assert rpc.call("canteen", "headcount", town["school"], day)["total"] == 1
    refused(rpc, "day_absent", "change_meal", town["family"], town["children"][0], day, "cancel")
    sheet = {row["child_id"]: row for row in rpc.call("canteen", "day_sheet", town["school"], day)}
    assert sheet[town["children"][0]]["absent"] and not sheet[town["children"][1]]["absent"]


def test_an_agents_closure_reason_reaches_the_parents(town, rpc):
    day = [d["date"] for d in rpc.call("canteen", "school_days", town["first"].isoformat(), town["last"].isoformat())
           if d["open"]][1]
    rpc.call("canteen", "close_day", day, "grève du personnel")
    assert rpc.call("canteen", "closed_days", day, day) == [{"date": day, "reason": "grève du personnel"}]
    meals = rpc.call("canteen", "meals", town["family"], town["children"][0], day, day)
    assert meals["days"][0]["reason"] == "Restaurant scolaire fermé ce jour-là : grève du personnel."
    rpc.call("canteen", "reopen_day", day)
    assert rpc.call("canteen", "closed_days", day, day) == []


def test_billable_facts_of_a_month(town, rpc):
    first, last = town["first"], town["last"]
    rpc.call("canteen", "change_meals", town["family"], {
        "children": town["children"][:1], "from": first.isoformat(), "to": last.isoformat(),
        "weekdays": [1, 2, 4, 5], "action": "reserve"})
    school_days = [d for d in rpc.call("canteen", "school_days", first.isoformat(), last.isoformat()) if d["open"]]
    refused(rpc, "attendance_future", "record_attendance", town["school"], school_days[0]["date"], town["children"])
    month = first.strftime("%Y-%m")
    facts = {f["child_id"]: f for f in rpc.call("canteen", "billable_facts", month, town["family"])}
    assert len(facts[town["children"][0]]["reserved"]) == len(school_days)
    assert rpc.call("canteen", "billable_facts", month, town["family"]) == list(facts.values())  # idempotent
    # A past school day (attendance is taken on the day or after): what was eaten without reservation.
    today = date.today()
    past = [d["date"] for d in rpc.call("canteen", "school_days", (today - timedelta(days=40)).isoformat(),
                                         today.isoformat()) if d["open"]
            and school_year_of(date.fromisoformat(d["date"])) == school_year_of(today)]
    if past:
        rpc.call("canteen", "record_attendance", town["school"], past[-1], town["children"][1:])
        eaten = {f["child_id"]: f for f in rpc.call("canteen", "billable_facts", past[-1][:7], town["family"])}
        assert eaten[town["children"][1]]["eaten_without_reservation"] == [past[-1]]
        assert eaten[town["children"][1]]["pai"] is False


def test_holiday_calendar_import_closes_its_days(town, rpc):
    # Last in the module: the holidays it imports close days for the other tests' families too.
    first = town["first"]
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:hol-1\r\n"
           f"DTSTART;VALUE=DATE:{first.strftime('%Y%m%d')}\r\n"
           f"DTEND;VALUE=DATE:{(first + timedelta(days=7)).strftime('%Y%m%d')}\r\n"
           "SUMMARY:Vacances de test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    assert rpc.call("canteen", "import_holidays", ics) == {"periods": 1, "added": 1}
    assert rpc.call("canteen", "import_holidays", ics)["added"] == 0
    days = rpc.call("canteen", "school_days", first.isoformat(), (first + timedelta(days=7)).isoformat())
    assert all(not d["open"] for d in days[:7]) and days[0]["reason"] in ("Vacances de test.", "Jour férié.",
                                                                         "Pas de restauration scolaire ce jour de la semaine.")
    refused(rpc, "invalid_calendar", "import_holidays", "pas un calendrier")
