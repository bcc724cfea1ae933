"""`make bench`: throughput and latency of the gateway's routes, beside the one-RPC floor.

Figures are ratios to a floor measured in the same run on the same machine
(a gateway route that does one RPC round trip and nothing else), never
absolute thresholds. Every loop is bounded in count and time and targets
only the suite this script starts on 127.0.0.1.
"""
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from espace_deploy.testing import start_suite, stop_suite

LEVELS = (1, 10, 50)
REQUESTS_PER_LEVEL = {1: 300, 10: 1500, 50: 3000}
TIME_LIMIT_SECONDS = 30


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


def scenarios(base):
    return {
        "floor: GET /api/v1/services/identity/ping (one RPC)":
            lambda s, i: s.get(f"{base}/api/v1/services/identity/ping", timeout=10).status_code,
        "GET /healthz (no RPC)": lambda s, i: s.get(f"{base}/healthz", timeout=10).status_code,
        "GET / (public home page)": lambda s, i: s.get(f"{base}/", timeout=10).status_code,
    }


def main():
    with tempfile.TemporaryDirectory(prefix="espace-bench-") as var_dir:
        suite = start_suite(Path(var_dir))
        try:
            results = {name: {n: measure(fn, n) for n in LEVELS} for name, fn in scenarios(suite.url).items()}
        finally:
            stop_suite(suite)
    floor = results[next(iter(results))]
    print(f"\n{'scenario':58} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x floor':>8} {'errors':>6}")
    for name, by_level in results.items():
        for clients, figures in by_level.items():
            ratio = figures["rate"] / floor[clients]["rate"] if floor[clients]["rate"] else float("nan")
            print(f"{name:58} {clients:7d} {figures['rate']:8.0f} {figures['p50']:8.1f} {figures['p99']:8.1f} "
                  f"{ratio:8.2f} {figures['errors']:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
