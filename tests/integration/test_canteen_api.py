"""The canteen API through the gateway against the whole suite: a parent's token, the kitchen's scope."""
import time
import uuid
from datetime import date, timedelta

import pytest
import requests

from espace_common.rpc_client import RemoteError, RpcClient

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Brise-Marine-44!"


def school_year_of(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


@pytest.fixture(scope="module")
def town(suite):
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    tag = uuid.uuid4().hex[:6]
    families = [rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Parent", "last_name": f"Api{tag}{n}"}],
        "children": [{"first_name": "Aîné", "last_name": f"Api{tag}{n}", "birth_date": "2018-01-01"},
                     {"first_name": "Cadet", "last_name": f"Api{tag}{n}", "birth_date": "2020-01-01"}]})
        for n in range(2)]
    key = rpc.call("identity", "issue_key", families[0]["representatives"][0]["id"])["key"]
    rpc.call("identity", "create_account", key, f"api.{tag}", f"api{tag}@example.org", PASSWORD)
    school = rpc.call("canteen", "add_school", f"École API {tag}", "public")["id"]
    first = (date.today().replace(day=1) + timedelta(days=32)).replace(day=1)
    deadline = time.monotonic() + 15
    while len(rpc.call("canteen", "family_children", families[1]["id"])) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    for family in families:
        for child in family["children"]:
            for day in (date.today(), first):
                rpc.call("canteen", "enrol", child["id"], school, school_year_of(day))
    kitchen = rpc.call("identity", "create_api_client", "Cuisine centrale", ["kitchen"])
    rpc.close()
    token = requests.post(f"{suite.url}/api/v1/auth/token", json={"username": f"api.{tag}", "password": PASSWORD},
                          timeout=10).json()["access_token"]
    kitchen_token = requests.post(f"{suite.url}/api/v1/auth/token", timeout=10, json={
        "grant_type": "client_credentials", "client_id": kitchen["client_id"],
        "client_secret": kitchen["client_secret"]}).json()["access_token"]
    return {"own": families[0], "other": families[1], "school": school, "first": first,
            "parent": {"Authorization": f"Bearer {token}"}, "kitchen": {"Authorization": f"Bearer {kitchen_token}"}}


def test_a_parent_reserves_reads_and_cancels_and_the_kitchen_counts(suite, town):
    child = town["own"]["children"][0]["id"]
    last = (town["first"] + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    days = requests.get(f"{suite.url}/api/v1/children/{child}/meals", headers=town["parent"], timeout=10,
                        params={"from": town["first"].isoformat(), "to": last.isoformat()}).json()["days"]
    assert len(days) == (last - town["first"]).days + 1
    day = next(d["date"] for d in days if d["state"] == "not_reserved" and d["changeable"])
    reserved = requests.put(f"{suite.url}/api/v1/children/{child}/meals/{day}", headers=town["parent"], timeout=10)
    assert reserved.status_code == 200 and reserved.json()["state"] == "reserved"
    count = requests.get(f"{suite.url}/api/v1/schools/{town['school']}/headcount", params={"date": day},
                         headers=town["kitchen"], timeout=10).json()
    assert count["total"] == 1 and count["by_diet"]["standard"] == 1
    assert requests.delete(f"{suite.url}/api/v1/children/{child}/meals/{day}", headers=town["parent"],
                           timeout=10).status_code == 204
    assert requests.get(f"{suite.url}/api/v1/schools/{town['school']}/headcount", params={"date": day},
                        headers=town["kitchen"], timeout=10).json()["total"] == 0


def test_a_past_day_is_409_with_its_reason(suite, town):
    child = town["own"]["children"][1]["id"]
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    response = requests.put(f"{suite.url}/api/v1/children/{child}/meals/{yesterday}", headers=town["parent"], timeout=10)
    assert response.status_code == 409 and response.json()["code"] in ("day_frozen", "day_closed")
    assert response.json()["message"]


def test_another_familys_child_is_404(suite, town):
    stranger = town["other"]["children"][0]["id"]
    day = town["first"].isoformat()
    for method in (requests.put, requests.delete):
        response = method(f"{suite.url}/api/v1/children/{stranger}/meals/{day}", headers=town["parent"], timeout=10)
        assert response.status_code == 404 and response.json()["code"] == "child_not_found"


def test_bulk_for_both_children_answers_day_by_day(suite, town):
    children = [c["id"] for c in town["own"]["children"]]
    last = town["first"] + timedelta(days=13)
    response = requests.post(f"{suite.url}/api/v1/meal-reservations", headers=town["parent"], timeout=20, json={
        "children": children, "from": town["first"].isoformat(), "to": last.isoformat(),
        "weekdays": [1, 2, 4, 5], "action": "reserve"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert {r["child_id"] for r in results} == set(children)
    assert all(r["result"] in ("reserved", "refused", "unchanged") for r in results)
    assert all(r["reason"] for r in results if r["result"] == "refused")


def test_a_justification_that_is_not_what_its_name_says_is_refused(suite, town):
    child = town["own"]["children"][0]["id"]
    day = town["first"].isoformat()
    response = requests.post(f"{suite.url}/api/v1/children/{child}/absences", headers=town["parent"], timeout=10,
                             data={"from": day, "to": day, "reason": "illness"},
                             files={"document": ("certificat.pdf", b"GIF89a not a pdf", "application/pdf")})
    assert response.status_code == 400 and response.json()["code"] == "invalid_document"
    response = requests.post(f"{suite.url}/api/v1/children/{child}/absences", headers=town["parent"], timeout=10,
                             data={"from": day, "to": day, "reason": "illness"},
                             files={"document": ("scan.bin", b"%PDF-1.4\n<html><script>alert(1)</script></html>",
                                                 "application/pdf")})
    assert response.status_code == 400 and response.json()["code"] == "invalid_document"
    response = requests.post(f"{suite.url}/api/v1/children/{child}/absences", headers=town["parent"], timeout=10,
                             data={"from": day, "to": day, "reason": "illness"},
                             files={"document": ("scan.bin", one_page_pdf(), "application/octet-stream")})
    assert response.status_code == 201 and response.json()["has_document"] is True
    absence = response.json()
    # The family reads its own justification back; another family's parent would get 404.
    document = requests.get(f"{suite.url}/api/v1/absences/{absence['id']}/document", headers=town["parent"], timeout=10)
    assert document.status_code == 200 and document.headers["Content-Type"] == "application/pdf"
    assert document.content.startswith(b"%PDF-") and document.headers["Cache-Control"] == "no-store"
    again = requests.post(f"{suite.url}/api/v1/children/{child}/absences", headers=town["parent"], timeout=10,
                          data={"from": day, "to": day, "reason": "illness"})
    assert again.status_code == 201 and again.json()["id"] == absence["id"]  # the same absence, once


def test_absences_outside_the_school_years_are_refused(suite, town):
    child = town["own"]["children"][0]["id"]
    for start, end in (("1900-01-01", "1900-01-01"), ("9999-12-31", "9999-12-31"),
                       (date.today().isoformat(), (date.today() + timedelta(days=365)).isoformat())):
        response = requests.post(f"{suite.url}/api/v1/children/{child}/absences", headers=town["parent"], timeout=10,
                                 data={"from": start, "to": end, "reason": "other"})
        assert response.status_code == 400 and response.json()["message"], (start, end)


def test_a_malformed_holiday_calendar_is_refused_with_its_reason(suite, town):
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    try:
        ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:notadate\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        with pytest.raises(RemoteError) as refused:
            rpc.call("canteen", "import_holidays", ics)
        assert refused.value.code == "invalid_calendar" and refused.value.exc_type == "InvalidInput"
    finally:
        rpc.close()


def one_page_pdf():
    import io

    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()
