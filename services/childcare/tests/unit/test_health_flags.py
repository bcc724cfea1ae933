"""The crèche's side of the health record (issue #12): whether it knows a child (identity asks at an agent's read),
and the allergy flags kept from identity.health_flags_changed, shown on the day's planning."""
from childcare import health_use_cases, orm
from espace_common.health_flags import project_health_flags
from espace_common.nameko_support import Tables

from .test_use_cases import (  # noqa: F401  (fixtures)
    BABY, FAMILY, LINA, MONDAY, NOE, clock, creche, migrated, slot_on, units,
)


class Db:
    def __init__(self, units):
        self.tables, self.unit_of_work = Tables(orm.metadata), units


def test_a_registered_child_is_known_and_a_child_only_in_a_family_is_not(creche):
    assert health_use_cases.child_known(creche, LINA) is True
    assert health_use_cases.child_known(creche, NOE) is False  # in the family, never registered nor booked
    for junk in ("x" * 100_000, None, 42):
        assert health_use_cases.child_known(creche, junk) is False


def test_the_planning_shows_a_booked_childs_flag(creche, units):
    booking = creche.book(FAMILY, LINA, slot_on(creche, MONDAY)["id"])
    assert booking["status"] == "confirmed"
    project_health_flags(Db(units), {"id": "e-1", "data": {
        "child_id": LINA, "allergies": "Lait de vache", "has_allergies": True, "has_treatment": False,
        "updated_at": "2026-11-26T10:00:00+00:00"}}, "childcare.h")
    planning = creche.planning(MONDAY.isoformat())
    [expected] = [c for s in planning["slots"] for c in s["expected"]]
    assert expected["health_flag"] == {"allergies": "Lait de vache", "has_treatment": False}
