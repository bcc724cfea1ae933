"""The canteen's side of the health record (issue #12): whether a child is enrolled (identity asks at an agent's
read), and the allergy flags kept from identity.health_flags_changed, shown on the day sheet."""
from canteen import health_use_cases, orm
from espace_common.health_flags import project_health_flags
from espace_common.nameko_support import Tables

from .test_use_cases import HUGO, LEA, TOM, canteen, clock, migrated, town, units  # noqa: F401  (fixtures)


class Db:
    """What the projection needs of the service's Database: its tables and units of work."""

    def __init__(self, units):
        self.tables, self.unit_of_work = Tables(orm.metadata), units


def flags_event(event_id, child_id, allergies, at, treatment=False):
    return {"id": event_id, "data": {"child_id": child_id, "allergies": allergies, "has_allergies": bool(allergies),
                                     "has_treatment": treatment, "updated_at": at}}


def test_a_child_enrolled_this_school_year_is_known_and_others_are_not(canteen, town):
    assert health_use_cases.child_enrolled(canteen, LEA) is True
    for other in ("child-unknown", "x" * 100_000, None, 42):
        assert health_use_cases.child_enrolled(canteen, other) is False


def test_the_day_sheet_shows_the_latest_flag_once_however_often_and_in_whatever_order_it_comes(canteen, town, units):
    db = Db(units)
    project_health_flags(db, flags_event("e-2", LEA, "Arachide", "2026-11-26T10:00:00+00:00", True), "canteen.h")
    project_health_flags(db, flags_event("e-1", LEA, "Kiwi", "2026-11-26T09:00:00+00:00"), "canteen.h")  # older
    project_health_flags(db, flags_event("e-3", HUGO, "", "2026-11-26T09:00:00+00:00"), "canteen.h")
    project_health_flags(db, flags_event("e-2", LEA, "Arachide", "2026-11-26T10:00:00+00:00", True), "canteen.h")
    sheet = {row["child_id"]: row["health_flag"] for row in canteen.school_day(town, "2026-11-30")["sheet"]}
    assert sheet == {LEA: {"allergies": "Arachide", "has_treatment": True}, HUGO: None, TOM: None}
    project_health_flags(db, flags_event("e-4", LEA, "", "2026-11-27T10:00:00+00:00"), "canteen.h")  # cleared
    assert [r["health_flag"] for r in canteen.day_sheet(town, "2026-11-30") if r["child_id"] == LEA] == [None]
