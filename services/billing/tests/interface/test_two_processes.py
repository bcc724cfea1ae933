"""Two billing processes on one database (SQLite, then PostgreSQL), each taking one request at a time, so that
requests sent at once are served by both: two months started and finalised at once share the régie's sequence
without a gap, and the same month started twice at once bills each family once."""
import time
from datetime import date, timedelta

import pytest

from espace_deploy.testing import ServiceProcess, computed_run

from ..unit.test_concurrency import at_once

pytestmark = pytest.mark.broker

FAMILIES = 12
GRID = {"from": "2020-01-01", "unreserved_meal_price_cents": 410, "pai_meal_price_cents": 120,
        "brackets": [{"quotient_max": 700, "meal_price_cents": 190}, {"quotient_max": None, "meal_price_cents": 415}]}


def school_year_of(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def past_months():
    """The two months before this one, as (first day, last day)."""
    first = date.today().replace(day=1)
    months = []
    for _ in range(2):
        last = first - timedelta(days=1)
        first = last.replace(day=1)
        months.append((first, last))
    return months


@pytest.fixture(scope="module")
def two_billings(module_services):
    services = module_services
    services.start("identity", wait=False)
    services.start("canteen", wait=False)
    first = services.start("billing", wait=False, MAX_WORKERS="1")
    services.wait_healthy()
    second = ServiceProcess("billing", services.vhost.amqp_uri, first.database_url, services.folder / "second")
    (services.folder / "second").mkdir(exist_ok=True)
    second.start(MAX_WORKERS="1")
    rpc = services.rpc
    families = [rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Parent", "last_name": f"Deux{n}"}],
        "children": [{"first_name": f"Enfant{n}", "last_name": f"Deux{n}", "birth_date": "2018-05-01"}]})
        for n in range(FAMILIES)]
    children = [f["children"][0]["id"] for f in families]
    deadline = time.monotonic() + 30
    for family in families:
        while not rpc.call("canteen", "family_children", family["id"]):
            assert time.monotonic() < deadline, "canteen did not learn the families"
            time.sleep(0.1)
    school = rpc.call("canteen", "add_school", f"École deux processus {families[0]['dossier']}", "public")["id"]
    months = []
    for start, end in past_months():
        for child in children:
            rpc.call("canteen", "enrol", child, school, school_year_of(start))
        day = next(d["date"] for d in rpc.call("canteen", "school_days", start.isoformat(), end.isoformat())
                   if d["open"])
        rpc.call("canteen", "record_attendance", school, day, children)  # one meal without reservation each
        months.append(start.strftime("%Y-%m"))
    rpc.call("billing", "add_tariff_grid", "affaires_scolaires", GRID, "agent")
    yield {"rpc": rpc, "months": months, "families": {f["id"] for f in families}}
    second.stop()


def test_two_processes_bill_each_family_once_and_number_without_gaps(two_billings, module_services):
    from espace_common.rpc_client import RpcClient
    clients = [RpcClient(module_services.vhost.amqp_uri, timeout=60, caller=f"test-{n}") for n in range(4)]
    try:
        older, newer = two_billings["months"][1], two_billings["months"][0]
        # The same month twice and the other month twice, all at once, over two processes.
        started = at_once(*[lambda c=c, m=m: c.call("billing", "start_invoicing_run", "affaires_scolaires", m, "agent")
                            for c, m in zip(clients, (older, older, newer, newer))])
        runs = {}
        for client, run in zip(clients, started):
            run = computed_run(client, run)
            runs.setdefault(run["month"], set()).add(run["id"])
        assert {month: len(ids) for month, ids in runs.items()} == {older: 1, newer: 1}  # one run per month
        older_id, newer_id = runs[older].pop(), runs[newer].pop()
        for run_id in (older_id, newer_id):
            run = clients[0].call("billing", "invoicing_run", run_id)
            assert sorted(i["family_id"] for i in run["invoices"]) == sorted(two_billings["families"])
        finals = at_once(lambda: clients[0].call("billing", "finalize_run", older_id, "agent"),
                         lambda: clients[1].call("billing", "finalize_run", newer_id, "agent"),
                         lambda: clients[2].call("billing", "finalize_run", older_id, "agent"))
        numbers = sorted(int(i["number"].rsplit("-", 1)[1]) for run in finals[:2] for i in run["invoices"])
        assert numbers == list(range(numbers[0], numbers[0] + 2 * FAMILIES))  # no gap, none twice
        for run in finals[:2]:  # each run took one block
            ranks = sorted(int(i["number"].rsplit("-", 1)[1]) for i in run["invoices"])
            assert ranks == list(range(ranks[0], ranks[0] + FAMILIES))
        assert sorted(i["number"] for i in finals[2]["invoices"]) == sorted(i["number"] for i in finals[0]["invoices"])
    finally:
        for client in clients:
            client.close()
