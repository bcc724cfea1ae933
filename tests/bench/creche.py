"""The crèche booking route beside the one-RPC floor, at 1, 10 and 50 clients.

(Named creche.py: a tests/bench/childcare.py would hide the childcare package from the scripts of this folder.)

`python tests/bench/creche.py` starts the suite on its own; `run.py` may also call `creche_scenarios`
to print the route beside the others. Each request books a slot for a toddler of the bench's families, or cancels
the booking it made before (a cancellation promotes the first in line, so both paths of the waiting list run).
"""
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import CHEAP_HASHES, LEVELS, PASSWORD, measure, scenarios  # noqa: E402

from espace_common.rpc_client import RpcClient  # noqa: E402
from espace_deploy.testing import start_suite, stop_suite  # noqa: E402

CRECHE_FAMILIES = 100
CRECHE_SLOT_PLACES = 40  # the most a slot takes: a fifth of the families wait on each slot


def creche_families(suite, count=CRECHE_FAMILIES):
    """Families of one toddler registered at the crèche, each with a parent's API token."""
    local = threading.local()
    toddler = (date.today() - timedelta(days=500)).isoformat()

    def rpc():
        if not hasattr(local, "client"):
            local.client = RpcClient(suite.vhost.amqp_uri, timeout=60, caller="bench")
        return local.client

    def family(index):
        client = rpc()
        made = client.call("identity", "register_family", {
            "request_id": f"bench-creche-{index}",
            "representatives": [{"first_name": "Parent", "last_name": f"Berceau{index}"}],
            "children": [{"first_name": "Petit", "last_name": f"Berceau{index}", "birth_date": toddler}]})
        key = client.call("identity", "issue_key", made["representatives"][0]["id"])["key"]
        client.call("identity", "create_account", key, f"berceau.{index}", f"berceau{index}@example.org", PASSWORD)
        token = client.call("identity", "login", f"berceau.{index}", PASSWORD, "127.0.0.1", "api")["token"]
        deadline = time.monotonic() + 30
        while not client.call("childcare", "family_children", made["id"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = made["children"][0]["id"]
        client.call("childcare", "register", child, "occasional")
        return {"token": token, "child": child}

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(family, range(count)))


def creche_slots(suite):
    """The slots of the coming two weeks, each given the most places a slot takes."""
    client = RpcClient(suite.vhost.amqp_uri, timeout=60, caller="bench")
    try:
        start = date.today() + timedelta(days=3)
        slots = [s for s in client.call("childcare", "slots", start.isoformat(), (start + timedelta(days=13)).isoformat())
                 if not s["closed"]]
        for slot in slots:
            client.call("childcare", "set_capacity", slot["id"], CRECHE_SLOT_PLACES)
        return [s["id"] for s in slots]
    finally:
        client.close()


def creche_scenarios(base, families, slots):
    """Book, or cancel what was booked: one request each, through the parents' API."""
    booked, lock = {}, threading.Lock()

    def book_or_cancel(session, index):
        family = families[index % len(families)]
        slot = slots[(index // len(families)) % len(slots)]
        headers = {"Authorization": f"Bearer {family['token']}"}
        with lock:
            booking = booked.pop((family["child"], slot), None)
        if booking:
            return session.delete(f"{base}/api/v1/childcare-bookings/{booking}", headers=headers,
                                  timeout=10).status_code
        response = session.post(f"{base}/api/v1/children/{family['child']}/childcare-bookings",
                                json={"slot_id": slot}, headers=headers, timeout=10)
        if response.status_code == 201:
            with lock:
                booked[(family["child"], slot)] = response.json()["id"]
            return 200
        return response.status_code

    return {"POST/DELETE /api/v1/.../childcare-bookings (book or cancel a slot)": book_or_cancel}


def main():
    with tempfile.TemporaryDirectory(prefix="espace-bench-creche-") as var_dir:
        suite = start_suite(Path(var_dir), **CHEAP_HASHES)
        try:
            floor_name, floor_fn = next(iter(scenarios(suite.url).items()))
            results = {floor_name: {n: measure(floor_fn, n) for n in LEVELS}}
            families, slots = creche_families(suite), creche_slots(suite)
            for name, fn in creche_scenarios(suite.url, families, slots).items():
                results[name] = {n: measure(fn, n) for n in LEVELS}
        finally:
            stop_suite(suite)
    floor = results[floor_name]
    print(f"\n{'scenario':70} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x floor':>8} {'errors':>6}")
    for name, by_level in results.items():
        for clients, figures in by_level.items():
            ratio = figures["rate"] / floor[clients]["rate"] if floor[clients]["rate"] else float("nan")
            print(f"{name:70} {clients:7d} {figures['rate']:8.0f} {figures['p50']:8.1f} {figures['p99']:8.1f} "
                  f"{ratio:8.2f} {figures['errors']:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
