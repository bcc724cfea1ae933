"""The family's data in its hands (issue #12) across canteen, childcare, billing and payment processes, on SQLite
and PostgreSQL: each answers family_export over the broker as JSON values (an unknown or junk family gets empty
sections, not an error nor another family's data), says its retention periods, and the services that purge ran
their purge at start (eager timer), each kind logged."""
import json
import time
from datetime import datetime

import pytest

from espace_common.formatting import PARIS

pytestmark = pytest.mark.broker

PURGING = {"canteen": {"justifications", "diets", "document_reads"},
           "childcare": {"justifications", "document_reads", "mails"}}


def finished_purge(rpc, service, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        runs = rpc.call(service, "personal_data", True)["runs"]
        if runs and runs[0]["finished_at"]:
            return runs[0]
        assert time.monotonic() < deadline, f"{service} never purged"
        time.sleep(0.3)


def test_every_service_exports_a_family_and_says_how_long_it_keeps_what(start_service, rpc):
    for name in ("canteen", "childcare", "billing", "payment"):
        start_service(name, wait=False)
    for name in ("canteen", "childcare", "billing", "payment"):
        deadline = time.monotonic() + 30
        while True:
            try:
                rpc.call(name, "health")
                break
            except Exception:  # noqa: BLE001 - not up yet
                assert time.monotonic() < deadline, f"{name} did not start"
                time.sleep(0.3)
    for name in ("canteen", "childcare", "billing", "payment"):
        for family in ("0b6d7c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e", "x" * 100_000, None):
            export = rpc.call(name, "family_export", family)
            json.dumps(export)
            assert all(value == [] for key, value in export.items() if key != "labels"), (name, export)
            assert export["labels"]["sections"]
        retention = rpc.call(name, "personal_data", False)["retention"]
        assert retention and all(kind["days"] > 0 and kind["label"] for kind in retention)
    today = datetime.now(PARIS).date().isoformat()
    for name, kinds in PURGING.items():
        run = finished_purge(rpc, name)
        assert {kind["kind"] for kind in run["kinds"]} == kinds
        assert run["slot"] == today
