"""The creche's demo data through the real services: a living creche after `make run`, and loading it again at the
next start creates nothing twice."""
from datetime import date, timedelta

import pytest

from espace_deploy.demo import load_childcare_demo, load_demo_data

pytestmark = pytest.mark.broker


def test_the_demo_creche_is_alive_and_loads_twice_as_once(start_service, rpc, tmp_path):
    start_service("identity")
    start_service("childcare", CHILDCARE_FILES_DIR=str(tmp_path / "files"))
    families = load_demo_data(rpc)
    load_childcare_demo(rpc, families)
    load_childcare_demo(rpc, families)

    registrations = {r["first_name"]: r for r in rpc.call("childcare", "registrations")}
    assert {name: r["kind"] for name, r in registrations.items()} == {
        "Inès": "occasional", "Louis": "occasional", "Mila": "regular"}
    assert registrations["Mila"]["leave"] == {"allowed": 15, "taken": 0, "remaining": 15}

    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    next_week = rpc.call("childcare", "slots", monday.isoformat(), (monday + timedelta(days=4)).isoformat())
    ines = next(c for f in families for c in f["children"] if c["first_name"] == "Inès")
    booked = [b for b in rpc.call("childcare", "child_bookings", families[1]["id"], ines["id"])
              if b["status"] == "confirmed"]
    assert 1 <= len(booked) <= 3  # two mornings and the full afternoon, less a public holiday of that week
    full = [s for s in next_week if s["capacity"] == 1]
    # The Tuesday afternoon has one place and a waiting list (unless that Tuesday is a public holiday).
    assert all(s["available"] == 0 and s["waiting"] == 1 for s in full)

    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    facts = {f["first_name"]: f for f in rpc.call("childcare", "billable_facts", last_month)["children"]}
    assert facts["Mila"]["contract_minutes"] > 0 and facts["Mila"]["occasional_attended_minutes"] > 0
    assert facts["Inès"]["walk_in_minutes"] == 2 * 240  # two mornings 8:10–11:55, by the half-hour

    practical = rpc.call("childcare", "list_news", "practical", 20)
    assert sorted(n["title"] for n in practical) == ["Ce qu'il faut apporter", "Horaires et fermetures"]
    assert len(rpc.call("childcare", "list_news", "news", 20)) == 1
