"""Billing's demo data through the real services: right after `make run`, last month's invoicing of both régies
gives real invoices for the demo families; loading the demo again at the next start creates nothing twice."""
import time
from datetime import date, timedelta

import pytest

from espace_deploy.demo import (
    load_billing_demo, load_canteen_demo, load_childcare_demo, load_demo_data, wait_for_projection,
)
from espace_deploy.testing import computed_run

pytestmark = pytest.mark.broker


def test_last_months_invoicing_of_the_demo_gives_real_invoices(start_service, rpc, tmp_path):
    for name in ("identity", "canteen", "childcare", "billing"):
        start_service(name, **({"CHILDCARE_FILES_DIR": str(tmp_path / "files")} if name == "childcare" else {}))
    families = load_demo_data(rpc)
    wait_for_projection(rpc, families)
    deadline = time.monotonic() + 30
    while any(len(rpc.call("billing", "family_children", f["id"])) < len(f["children"]) for f in families):
        assert time.monotonic() < deadline, "billing did not learn the demo families"
        time.sleep(0.2)
    for _ in range(2):  # two starts of `make run`
        load_canteen_demo(rpc, families)
        load_childcare_demo(rpc, families)
        load_billing_demo(rpc, families)
    martin, le_goff, bernard, roux = (f["id"] for f in families)
    assert len(rpc.call("billing", "family_resources", martin)["history"]) == 1  # once, whatever the starts
    assert rpc.call("billing", "family_resources", bernard)["current"] is None  # the family without resources
    tariffs = rpc.call("billing", "current_tariffs")
    assert len(tariffs["affaires_scolaires"]["current"]["brackets"]) == 5
    assert tariffs["petite_enfance"]["current"]["ceiling_cents"] == 850000
    assert [g["ceiling_cents"] for g in rpc.call("billing", "tariff_grids", "petite_enfance")["grids"]] == [700000, 850000]

    month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    canteen = computed_run(rpc, rpc.call("billing", "start_invoicing_run", "affaires_scolaires", month, "agent"))
    crèche = computed_run(rpc, rpc.call("billing", "start_invoicing_run", "petite_enfance", month, "agent"))
    canteen_families = {i["family_id"] for i in canteen["invoices"]}
    if month[5:] != "08":  # August has no school
        assert canteen_families == {martin, bernard}
        lines = {i["family_id"]: rpc.call("billing", "invoice", i["id"])["lines"] for i in canteen["invoices"]}
        labels = [line["label"] for line in lines[bernard]]
        assert any(label.startswith("Jade — ") and "panier (PAI)" in label for label in labels)
        assert any(label.startswith("Tom — ") and "non réservé" in label for label in labels)
        assert "tranche la plus haute" in labels[-1]
        assert any("(tranche 3)" in line["label"] for line in lines[martin])
    assert {i["family_id"] for i in crèche["invoices"]} == {le_goff, roux}
    mila = rpc.call("billing", "invoice", next(i["id"] for i in crèche["invoices"] if i["family_id"] == roux))
    assert mila["lines"][0]["kind"] == "contract" and mila["total_cents"] > 0
