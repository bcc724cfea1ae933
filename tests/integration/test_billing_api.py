"""Billing through the gateway against the whole suite: an agent starts last month's canteen run (202, computed in
the background by the real billing process), follows it to draft, finalises; the parent sees the invoice and its
lines; the counter records a payment; the accounting export has it, as CSV too."""
import time
import uuid
from datetime import date, timedelta

import pytest
import requests

from espace_common.rpc_client import RpcClient

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Facture-Donges-44!"
CANTEEN_GRID = {"regie": "affaires_scolaires", "from": "2025-08-04", "unreserved_meal_price_cents": 410,
                "pai_meal_price_cents": 120,
                "brackets": [{"quotient_max": 700, "meal_price_cents": 190}, {"quotient_max": None, "meal_price_cents": 415}]}


def token(suite, username):
    answer = requests.post(f"{suite.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                           timeout=30)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def month_of_meals(suite):
    """A family whose child ate two meals without reservation last month, a parent account, two agents."""
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    tag = uuid.uuid4().hex[:6]
    family = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Anne", "last_name": f"Facture{tag}"}],
        "children": [{"first_name": "Jules", "last_name": f"Facture{tag}", "birth_date": "2018-06-01"}]})
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    rpc.call("identity", "create_account", key, f"facture.{tag}", f"facture.{tag}@example.org", PASSWORD)
    rpc.call("identity", "ensure_agent", f"as-{tag}", PASSWORD, ["affaires_scolaires"])
    rpc.call("identity", "ensure_agent", f"admin-{tag}", PASSWORD, ["admin"])
    child = family["children"][0]["id"]
    deadline = time.monotonic() + 30
    for service in ("canteen", "billing"):
        while not rpc.call(service, "family_children", family["id"]):
            assert time.monotonic() < deadline, f"{service} never learnt the family"
            time.sleep(0.1)
    last = date.today().replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    year = first.year if first.month >= 9 else first.year - 1
    school = rpc.call("canteen", "add_school", f"École {tag}", "public")
    rpc.call("canteen", "enrol", child, school["id"], f"{year}-{year + 1}")
    days = [d["date"] for d in rpc.call("canteen", "school_days", first.isoformat(), last.isoformat()) if d["open"]]
    for day in days[:2]:
        rpc.call("canteen", "record_attendance", school["id"], day, [child])
    rpc.close()
    return {"family": family, "month": first.strftime("%Y-%m"), "parent": token(suite, f"facture.{tag}"),
            "agent": token(suite, f"as-{tag}"), "admin": token(suite, f"admin-{tag}")}


def test_a_run_through_the_gateway_from_start_to_payment_and_export(suite, month_of_meals):
    url, data = suite.url, month_of_meals
    grid = requests.post(f"{url}/api/v1/tariffs", json=CANTEEN_GRID, headers=data["admin"], timeout=10)
    assert grid.status_code in (201, 409), grid.text  # 409: a run of the suite already used the grids of then
    assert requests.post(f"{url}/api/v1/tariffs", json=CANTEEN_GRID, headers=data["agent"], timeout=10).status_code == 403

    started = requests.post(f"{url}/api/v1/invoicing-runs", json={"regie": "affaires_scolaires", "month": data["month"]},
                            headers=data["agent"], timeout=10)
    assert started.status_code == 202, started.text
    run = started.json()
    deadline = time.monotonic() + 60
    while run["status"] == "running":
        assert time.monotonic() < deadline, run
        time.sleep(0.2)
        run = requests.get(f"{url}/api/v1/invoicing-runs/{run['id']}", headers=data["agent"], timeout=10).json()
    assert run["status"] == "draft" and run["done"] == run["total"] and run["error"] is None
    final = requests.post(f"{url}/api/v1/invoicing-runs/{run['id']}/finalize", headers=data["agent"], timeout=30)
    assert final.status_code == 200 and final.json()["status"] == "final"

    mine = requests.get(f"{url}/api/v1/invoices", headers=data["parent"], timeout=10).json()["invoices"]
    assert len(mine) == 1 and mine[0]["period"] == data["month"] and mine[0]["number"].startswith("AS-")
    invoice = requests.get(f"{url}/api/v1/invoices/{mine[0]['id']}", headers=data["parent"], timeout=10).json()
    unreserved = [line for line in invoice["lines"] if "2 repas non réservés" in line["label"]]
    assert len(unreserved) == 1 and unreserved[0]["quantity"] == "2"
    assert unreserved[0]["amount_cents"] == 2 * unreserved[0]["unit_price_cents"]
    assert invoice["total_cents"] == sum(line["amount_cents"] for line in invoice["lines"])

    paid = requests.post(f"{url}/api/v1/invoices/{invoice['id']}/payments",
                         json={"method": "cash", "amount_cents": 100}, headers=data["agent"], timeout=10)
    assert paid.status_code == 201 and paid.json()["invoice"]["balance_cents"] == invoice["total_cents"] - 100
    too_much = requests.post(f"{url}/api/v1/invoices/{invoice['id']}/payments",
                             json={"method": "cash", "amount_cents": invoice["total_cents"]}, headers=data["agent"],
                             timeout=10)
    assert too_much.status_code == 409 and too_much.json()["code"] == "overpayment"

    # Around today: the town's day (Europe/Paris) may be the machine's tomorrow.
    since, until = (date.today() - timedelta(days=1)).isoformat(), (date.today() + timedelta(days=1)).isoformat()
    export = requests.get(f"{url}/api/v1/accounting/export?from={since}&to={until}", headers=data["admin"],
                          timeout=30).json()
    assert {("invoice", invoice["number"]), ("payment", invoice["number"])} <= {
        (row["kind"], row["invoice_number"]) for row in export["rows"]}
    csv = requests.get(f"{url}/api/v1/accounting/export?from={since}&to={until}&format=csv", headers=data["admin"],
                       timeout=30)
    assert csv.status_code == 200 and invoice["number"] in csv.text
    found = requests.get(f"{url}/api/v1/invoices/search?dossier={data['family']['dossier']}",
                         headers=data["agent"], timeout=10).json()
    assert [i["id"] for i in found["invoices"]] == [invoice["id"]]
