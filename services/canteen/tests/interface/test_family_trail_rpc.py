"""The family's trail over the real broker (issue #12): the actor travels with the command, a repeated command
records once, and family_trail answers newest first (SQLite and PostgreSQL, as the module's services run)."""
from datetime import date, timedelta

import pytest

from .test_reservations import FAMILY, next_month, rpc, started, town, vhost  # noqa: F401 (fixtures)

pytestmark = pytest.mark.broker

CLAIRE = {"kind": "parent", "id": "acc-claire", "name": "claire.martin"}
PAUL = {"kind": "parent", "id": "acc-paul", "name": "paul.martin"}


def test_two_representatives_changes_are_in_the_trail_once_each(town, rpc):
    child = town["children"][0]
    days = rpc.call("canteen", "meals", town["family"], child, town["first"].isoformat(), town["last"].isoformat())
    day = next(d["date"] for d in days["days"] if d["state"] == "not_reserved" and d["changeable"])
    for _ in range(2):  # a command delivered again changes nothing and records nothing
        rpc.call("canteen", "change_meal", town["family"], child, day, "reserve", actor=CLAIRE)
    rpc.call("canteen", "change_day", town["family"], child, day, "cancel", actor=PAUL)
    today = date.today()
    trail = rpc.call("canteen", "family_trail", town["family"], (today - timedelta(days=1)).isoformat(),
                     (today + timedelta(days=1)).isoformat())
    assert [(e["action"], e["actor"]["name"], e["details"]["date"]) for e in trail["entries"]] == [
        ("meal_cancelled", "paul.martin", day), ("meal_reserved", "claire.martin", day)]
    assert trail["entries"][0]["summary"].startswith("Repas du ") and "Léa" in trail["entries"][0]["summary"]
    assert rpc.call("canteen", "trail_export", town["family"])[0]["action"] == "meal_reserved"
