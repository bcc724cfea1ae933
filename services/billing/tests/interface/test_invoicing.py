"""Billing pulls last month's facts from the real canteen and childcare over the broker, on SQLite and
PostgreSQL, and turns them into invoices whose amounts are computed by hand here."""
import time
from datetime import date, timedelta

import pytest

from espace_common.rpc_client import RemoteError

pytestmark = pytest.mark.broker

CANTEEN_GRID = {"from": "2025-09-01", "unreserved_meal_price_cents": 410, "pai_meal_price_cents": 120,
                "brackets": [{"quotient_max": 400, "meal_price_cents": 100}, {"quotient_max": 700, "meal_price_cents": 190},
                             {"quotient_max": 1000, "meal_price_cents": 285}, {"quotient_max": 1400, "meal_price_cents": 360},
                             {"quotient_max": None, "meal_price_cents": 415}]}
PSU_GRID = {"from": "2025-09-01", "floor_cents": 80100, "ceiling_cents": 850000,
            "effort_rates": [{"children_from": 1, "percent": "0.0619"}, {"children_from": 2, "percent": "0.0516"},
                             {"children_from": 3, "percent": "0.0413"}, {"children_from": 4, "percent": "0.0310"},
                             {"children_from": 8, "percent": "0.0206"}]}


def last_month():
    last = date.today().replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def school_year_of(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


@pytest.fixture(scope="module")
def started(module_services):
    for name in ("identity", "canteen", "childcare"):
        module_services.start(name, wait=False)
    module_services.start("billing", wait=False, BILLING_FACTS_TIMEOUT="3")  # a service down fails a run in 3 s
    module_services.wait_healthy()
    return module_services


@pytest.fixture(scope="module")
def month_of_activity(started):
    """A family with a schoolgirl who ate two meals without reservation and a baby who came 3 h 30 without a
    booking, last month."""
    rpc = started.rpc
    baby_birth = (date.today() - timedelta(days=400)).isoformat()
    family = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Claire", "last_name": "Martin"}],
        "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"},
                     {"first_name": "Nina", "last_name": "Martin", "birth_date": baby_birth}]})
    lea, nina = (c["id"] for c in family["children"])
    deadline = time.monotonic() + 15
    for service in ("canteen", "childcare", "billing"):
        while len(rpc.call(service, "family_children", family["id"])) < 2:
            assert time.monotonic() < deadline, f"{service} did not learn the family"
            time.sleep(0.1)
    first, last = last_month()
    school = rpc.call("canteen", "add_school", f"École {family['dossier']}", "public")
    rpc.call("canteen", "enrol", lea, school["id"], school_year_of(first))
    open_days = [d["date"] for d in rpc.call("canteen", "school_days", first.isoformat(), last.isoformat()) if d["open"]]
    for day in open_days[:2]:
        rpc.call("canteen", "record_attendance", school["id"], day, [lea])
    rpc.call("childcare", "register", nina, "occasional")
    rpc.call("childcare", "record_attendance", nina, open_days[0], "08:00", "11:30")
    rpc.call("billing", "add_tariff_grid", "affaires_scolaires", CANTEEN_GRID, "agent")
    rpc.call("billing", "add_tariff_grid", "petite_enfance", PSU_GRID, "agent")
    rpc.call("billing", "set_family_resources", family["id"], {
        "from": "2025-01-01", "quotient": 850, "monthly_resources_cents": 238400, "dependent_children": 2,
        "disability": False}, "agent")
    return {"family": family["id"], "month": first.strftime("%Y-%m")}


def own_invoice(run, family_id):
    return next(i for i in run["invoices"] if i["family_id"] == family_id)


def until_computed(rpc, run, seconds=30):
    """The run once billing's handler has computed it in the background (the start answers at once)."""
    deadline = time.monotonic() + seconds
    while run["status"] == "running":
        assert time.monotonic() < deadline, f"the run is still running: {run}"
        time.sleep(0.1)
        run = rpc.call("billing", "invoicing_run", run["id"])
    return run


def test_a_month_of_canteen_and_creche_becomes_invoices(started, month_of_activity):
    rpc, family, month = started.rpc, month_of_activity["family"], month_of_activity["month"]
    canteen_run = rpc.call("billing", "start_invoicing_run", "affaires_scolaires", month, "agent")
    crèche_run = rpc.call("billing", "start_invoicing_run", "petite_enfance", month, "agent")
    assert canteen_run["status"] == "running"  # answered at once; computed in the background
    canteen_run, crèche_run = until_computed(rpc, canteen_run), until_computed(rpc, crèche_run)
    meals = rpc.call("billing", "invoice", own_invoice(canteen_run, family)["id"])
    assert [(line["label"], line["amount_cents"]) for line in meals["lines"]] == [
        ("Léa — 2 repas non réservés × 4,10\u00a0€", 820)]
    care = rpc.call("billing", "invoice", own_invoice(crèche_run, family)["id"])
    assert [(line["label"], line["amount_cents"]) for line in care["lines"]] == [
        ("Nina — accueil occasionnel 3,5\u00a0h × 1,23\u00a0€/h (0,0516\u00a0% × 2\u202f384,00\u00a0€)", 431)]  # 3,5 × 1,23

    again = rpc.call("billing", "start_invoicing_run", "affaires_scolaires", month, "agent")
    again = until_computed(rpc, again)
    assert again["id"] == canteen_run["id"] and again["invoices"] == canteen_run["invoices"]

    final = rpc.call("billing", "finalize_run", canteen_run["id"], "agent")
    number = own_invoice(final, family)["number"]
    assert number.startswith(f"AS-{date.today().year}-") and len(number) == len("AS-2026-000001")
    paid = rpc.call("billing", "record_payment", meals["id"], "cash", 500, "agent")
    assert paid["invoice"]["status"] == "partially_paid" and paid["invoice"]["balance_cents"] == 320
    with pytest.raises(RemoteError) as refused:
        rpc.call("billing", "record_payment", meals["id"], "cheque", 321, "agent")
    assert refused.value.code == "overpayment"
    credit = rpc.call("billing", "credit_note", meals["id"], 320, "Repas offert", "agent")
    assert credit["invoice"]["status"] == "paid" and credit["number"].startswith("AS-AV-")
    assert [i["id"] for i in rpc.call("billing", "family_invoices", family)["invoices"]] == [meals["id"]]


def test_a_run_whose_facts_cannot_be_pulled_says_so_and_is_tried_again(started, month_of_activity):
    """Canteen stopped: the run stays running with the reason; canteen back, starting again computes it."""
    rpc, family = started.rpc, month_of_activity["family"]
    month = (date.fromisoformat(month_of_activity["month"] + "-01") - timedelta(days=1)).strftime("%Y-%m")
    started.processes["canteen"].stop()
    try:
        run = rpc.call("billing", "start_invoicing_run", "affaires_scolaires", month, "agent")
        deadline = time.monotonic() + 30
        while run["error"] is None:
            assert time.monotonic() < deadline, f"no failure recorded: {run}"
            time.sleep(0.2)
            run = rpc.call("billing", "invoicing_run", run["id"])
        assert run["status"] == "running" and "restauration scolaire ne répond pas" in run["error"]
        assert run["retry_at"] is not None and run["attempts"] == 1
    finally:
        started.processes["canteen"].start()
    retried = rpc.call("billing", "start_invoicing_run", "affaires_scolaires", month, "agent")
    assert retried["id"] == run["id"]
    done = until_computed(rpc, retried)
    assert done["status"] == "draft" and done["error"] is None and done["invoices"] == []  # nothing eaten then
    assert family not in {i["family_id"] for i in done["invoices"]}


def test_a_billing_process_killed_in_the_middle_of_a_run_resumes_it_when_it_comes_back(started, month_of_activity):
    """The process dies after its first committed batch; the broker gives the unacknowledged event to the
    restarted one, which invoices the families left, each once."""
    rpc, family = started.rpc, month_of_activity["family"]
    month = month_of_activity["month"]
    other = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Paul", "last_name": "Durand"}],
        "children": [{"first_name": "Zoé", "last_name": "Durand", "birth_date": "2017-02-03"}]})
    zoe = other["children"][0]["id"]
    deadline = time.monotonic() + 15
    while not rpc.call("canteen", "family_children", other["id"]):
        assert time.monotonic() < deadline, "canteen did not learn the family"
        time.sleep(0.1)
    first, last = last_month()
    school = rpc.call("canteen", "add_school", f"École {other['dossier']}", "public")
    rpc.call("canteen", "enrol", zoe, school["id"], school_year_of(first))
    open_day = next(d["date"] for d in rpc.call("canteen", "school_days", first.isoformat(), last.isoformat())
                    if d["open"])
    rpc.call("canteen", "record_attendance", school["id"], open_day, [zoe])
    billing = started.processes["billing"]
    billing.stop()
    billing.start(EF_FAULTS="billing.after_run_batch", BILLING_RUN_BATCH="1")
    try:
        # The canteen month is final already for the first family (the test above finalised it), so this run
        # is a new one with Zoé alone... unless it runs first: then both families, one batch each.
        run = rpc.call("billing", "start_invoicing_run", "affaires_scolaires", month, "agent")
        billing.process.wait(30)  # the fault point ends the process after the first batch
        assert billing.process.returncode == 70
    finally:
        billing.start()
    done = until_computed(rpc, rpc.call("billing", "invoicing_run", run["id"]))
    assert done["status"] == "draft" and done["done"] == done["total"]
    assert other["id"] in {i["family_id"] for i in done["invoices"]}
    everything = rpc.call("billing", "search_invoices", regie="affaires_scolaires", period=month, limit=200)
    families = [i["family_id"] for i in everything["invoices"]]
    assert len(families) == len(set(families)) and {family, other["id"]} <= set(families)
