"""`make bench`: throughput and latency of the gateway's routes, beside the one-RPC floor.

Figures are ratios to a floor measured in the same run on the same machine
(a gateway route that does one RPC round trip and nothing else), never
absolute thresholds. Every loop is bounded in count and time and targets
only the suite this script starts on 127.0.0.1.
"""
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import requests

from espace_common.rpc_client import RpcClient
from espace_deploy.testing import start_suite, stop_suite

BULK_FAMILIES = int(os.environ.get("BENCH_FAMILIES", "2000"))
PASSWORD = "Brise-Marine-44!"
# The benchmark measures the reservation path, not argon2: cheap hashes for its thousands of accounts.
CHEAP_HASHES = {"PASSWORD_TIME_COST": "1", "PASSWORD_MEMORY_KIB": "8192"}

LEVELS = (1, 10, 50)
REQUESTS_PER_LEVEL = {1: 300, 10: 1500, 50: 3000}
TIME_LIMIT_SECONDS = 30
FLOOR = "floor: GET /api/v1/services/identity/ping (one RPC)"
SINGLE_DAY = "PUT/DELETE /api/v1/children/{id}/meals/{date} (one day)"
# Issue #7: with the caller resolved in the gateway, a reservation is one round trip, like the floor.
TARGET_RATIO = 0.70


def measure(make_request, clients):
    """Run a bounded number of requests from `clients` threads; return rate and percentiles."""
    total = REQUESTS_PER_LEVEL[clients]
    latencies, errors = [], []
    lock = threading.Lock()
    counter = iter(range(total))
    stop_at = time.monotonic() + TIME_LIMIT_SECONDS

    def worker():
        session = requests.Session()
        while time.monotonic() < stop_at:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            started = time.perf_counter()
            try:
                status = make_request(session, index)
            except requests.RequestException as exc:
                status = repr(exc)
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if status == 200 else errors).append(elapsed if status == 200 else status)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "rate": len(latencies) / wall if wall else 0.0,
        "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
        "ok": len(latencies), "errors": len(errors),
    }


def print_beside_floor(results, floor_name, width=70):
    """The table of every scenario's figures beside the floor's at the same number of clients."""
    floor = results[floor_name]
    print(f"\n{'scenario':{width}} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x floor':>8} {'errors':>6}")
    for name, by_level in results.items():
        for clients, figures in by_level.items():
            ratio = figures["rate"] / floor[clients]["rate"] if floor[clients]["rate"] else float("nan")
            print(f"{name:{width}} {clients:7d} {figures['rate']:8.0f} {figures['p50']:8.1f} {figures['p99']:8.1f} "
                  f"{ratio:8.2f} {figures['errors']:6d}")


def scenarios(base):
    return {
        FLOOR: lambda s, i: s.get(f"{base}/api/v1/services/identity/ping", timeout=10).status_code,
        "GET /healthz (no RPC)": lambda s, i: s.get(f"{base}/healthz", timeout=10).status_code,
        "GET / (public home page)": lambda s, i: s.get(f"{base}/", timeout=10).status_code,
    }


def school_year_of(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def next_month():
    first = (date.today().replace(day=1) + timedelta(days=32)).replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


class Town:
    """Families with two enrolled children and a parent's API token each, made through the real services."""

    def __init__(self, suite):
        self.suite = suite
        self.local = threading.local()
        first, last = next_month()
        rpc = self.rpc()
        self.school = rpc.call("canteen", "add_school", "École du banc d'essai", "public")["id"]
        self.years = {school_year_of(first), school_year_of(last)}
        self.first, self.last = first, last
        self.open_days = [d["date"] for d in rpc.call("canteen", "school_days", first.isoformat(), last.isoformat())
                          if d["open"]]

    def rpc(self):
        if not hasattr(self.local, "client"):
            self.local.client = RpcClient(self.suite.vhost.amqp_uri, timeout=60, caller="bench")
        return self.local.client

    def family(self, index):
        rpc = self.rpc()
        family = rpc.call("identity", "register_family", {
            "request_id": f"bench-{index}",
            "representatives": [{"first_name": "Parent", "last_name": f"Banc{index}"}],
            "children": [{"first_name": "Aîné", "last_name": f"Banc{index}", "birth_date": "2018-01-01"},
                         {"first_name": "Cadet", "last_name": f"Banc{index}", "birth_date": "2020-01-01"}]})
        key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
        rpc.call("identity", "create_account", key, f"banc.{index}", f"banc{index}@example.org", PASSWORD)
        token = rpc.call("identity", "login", f"banc.{index}", PASSWORD, "127.0.0.1", "api")["token"]
        children = [c["id"] for c in family["children"]]
        deadline = time.monotonic() + 30
        while len(rpc.call("canteen", "family_children", family["id"])) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        for child in children:
            for year in self.years:
                rpc.call("canteen", "enrol", child, self.school, year)
        return {"token": token, "children": children}

    def families(self, count):
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(self.family, range(count)))


def reservation_scenarios(base, town, families):
    """Single-day reservations through the API: each request reserves or cancels one child's day."""
    def single(session, index):
        family = families[index % len(families)]
        child = family["children"][index % 2]
        day = town.open_days[(index // len(families)) % len(town.open_days)]
        headers = {"Authorization": f"Bearer {family['token']}"}
        method = session.put if (index // (len(families) * len(town.open_days))) % 2 == 0 else session.delete
        status = method(f"{base}/api/v1/children/{child}/meals/{day}", headers=headers, timeout=10).status_code
        return 200 if status in (200, 204) else status  # a cancellation answers 204
    def api_month(session, index):
        family = families[index % len(families)]
        return session.get(f"{base}/api/v1/children/{family['children'][0]}/meals",
                           params={"from": town.first.isoformat(), "to": town.last.isoformat()},
                           headers={"Authorization": f"Bearer {family['token']}"}, timeout=10).status_code

    sizes = []

    def month_page(session, index):
        if not session.cookies.get("session"):
            login_page = session.get(f"{base}/connexion", timeout=10).text
            csrf = login_page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            session.post(f"{base}/connexion", timeout=10, data={
                "csrf_token": csrf, "username": f"banc.{index % len(families)}", "password": PASSWORD})
        response = session.get(f"{base}/cantine/", params={"mois": town.first.strftime("%Y-%m")}, timeout=10)
        sizes.append(len(response.content))
        return response.status_code

    month_page.sizes = sizes
    return {SINGLE_DAY: single,
            "GET /api/v1/children/{id}/meals (a month, one child)": api_month,
            "GET /cantine/?mois= (parent's month page, two children)": month_page}


def bulk_month(base, town, families, clients=10):
    """Every family reserves the whole next month for both children in one request each."""
    def one(family):
        response = requests.post(f"{base}/api/v1/meal-reservations", timeout=60,
                                 headers={"Authorization": f"Bearer {family['token']}"},
                                 json={"children": family["children"], "from": town.first.isoformat(),
                                       "to": town.last.isoformat(), "weekdays": [1, 2, 4, 5], "action": "reserve"})
        return response.status_code, response.json().get("summary", {}).get("reserved", 0)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        answers = list(pool.map(one, families))
    wall = time.perf_counter() - began
    reserved = sum(count for status, count in answers if status == 200)
    return {"families": len(families), "seconds": wall, "reserved": reserved,
            "errors": sum(status != 200 for status, _ in answers)}


def main():
    with tempfile.TemporaryDirectory(prefix="espace-bench-") as var_dir:
        suite = start_suite(Path(var_dir), **CHEAP_HASHES)
        try:
            results = {name: {n: measure(fn, n) for n in LEVELS} for name, fn in scenarios(suite.url).items()}
            town = Town(suite)
            page_size = None
            started = time.perf_counter()
            families = town.families(BULK_FAMILIES)
            print(f"set-up: {len(families)} families, {2 * len(families)} children, accounts and tokens "
                  f"in {time.perf_counter() - started:.0f} s", flush=True)
            floor_request = scenarios(suite.url)[FLOOR]
            beside = {}
            for name, fn in reservation_scenarios(suite.url, town, families[:100]).items():
                results[name] = {}
                for n in LEVELS:
                    if name == SINGLE_DAY:
                        # The floor again just before and after, with as many clients: the machine's load
                        # (shared cores) drifts over a run, the ratio to its neighbours much less.
                        before = measure(floor_request, n)
                        results[name][n] = measure(fn, n)
                        after = measure(floor_request, n)
                        beside[n] = (before["rate"] + after["rate"]) / 2
                    else:
                        results[name][n] = measure(fn, n)
                if hasattr(fn, "sizes") and fn.sizes:
                    page_size = max(fn.sizes)
            bulk = bulk_month(suite.url, town, families)
        finally:
            stop_suite(suite)
    floor = results[next(iter(results))]
    print(f"\n{'scenario':58} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x floor':>8} {'errors':>6}")
    for name, by_level in results.items():
        for clients, figures in by_level.items():
            ratio = figures["rate"] / floor[clients]["rate"] if floor[clients]["rate"] else float("nan")
            print(f"{name:58} {clients:7d} {figures['rate']:8.0f} {figures['p50']:8.1f} {figures['p99']:8.1f} "
                  f"{ratio:8.2f} {figures['errors']:6d}")
    single = results[SINGLE_DAY]
    print(f"\nsingle-day reservation beside the floor (the floor measured just before and after it):")
    print(f"{'clients':>7} {'floor req/s':>12} {'reservation req/s':>18} {'x floor':>8}")
    ratios = {}
    for n in LEVELS:
        ratios[n] = single[n]["rate"] / beside[n] if beside[n] else float("nan")
        print(f"{n:7d} {beside[n]:12.0f} {single[n]['rate']:18.0f} {ratios[n]:8.2f}")
    verdict = all(ratios[n] >= TARGET_RATIO for n in (10, 50))
    print(f"target at 10 and 50 clients: >= {TARGET_RATIO:.2f} x floor: {'met' if verdict else 'NOT met'}")
    if page_size:
        print(f"\nthe parent's month page for two children weighs {page_size / 1024:.1f} KB of HTML")
    print(f"\nbulk: a month reserved for {bulk['families']} families of two children (one request each, 10 clients): "
          f"{bulk['seconds']:.1f} s, {bulk['families'] / bulk['seconds']:.0f} families/s, "
          f"{bulk['reserved'] / bulk['seconds']:.0f} reservations/s, {bulk['reserved']} reserved, {bulk['errors']} errors; "
          f"floor at 10 clients: {floor[10]['rate']:.0f} round trips/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
