"""The family's trail at the multi-accueil (issue #12): what the use cases call, inside their own unit of work, to
record a change they made, and the trail's own reading.

An entry is written only for a change the database made (a booking added, a status changed by a conditional update,
an absence added or deleted, a file attached once, a decision taken once, an attendance or a registration whose
values differ), under a deterministic key: a retried or doubled command writes nothing twice. Without an actor the
change is the system's; a place given by the waiting list is always the system's (whoever freed it stays unnamed).
"""
from espace_common import trail
from espace_common.trail_rules import instants_of

from . import domain_trail, store, trail_store

SYSTEM = None


def _slot_details(booking, slot):
    return {"booking_id": booking.id, "slot_id": slot.id, "date": slot.day.isoformat(), "start": slot.start,
            "end": slot.end}


def booking_made(uow, booking_id, actor, now, position=None):
    actor = domain_trail.parse_actor(actor)
    booking, slot = trail_store.booking_with_slot(uow, booking_id)
    details = {**_slot_details(booking, slot), "status": booking.status}
    if position is not None:
        details["position"] = position
    trail_store.record(uow, [trail.entry(booking.family_id, booking.child_id, "booking_made", actor, now, details,
                                         (booking_id,))])


def booking_cancelled(uow, booking_id, billed, actor, now):
    actor = domain_trail.parse_actor(actor)
    booking, slot = trail_store.booking_with_slot(uow, booking_id)
    trail_store.record(uow, [trail.entry(booking.family_id, booking.child_id, "booking_cancelled", actor, now,
                                         {**_slot_details(booking, slot), "billed": bool(billed)}, (booking_id,))])


def booking_promoted(uow, booking_id, now):
    booking, slot = trail_store.booking_with_slot(uow, booking_id)
    trail_store.record(uow, [trail.entry(booking.family_id, booking.child_id, "booking_promoted",
                                         domain_trail.parse_actor(SYSTEM), now, _slot_details(booking, slot),
                                         (booking_id,))])


def leave_declared(uow, leave_id, family_id, child_id, start, end, days, actor, now):
    actor = domain_trail.parse_actor(actor)
    trail_store.record(uow, [trail.entry(family_id, child_id, "leave_declared", actor, now,
                                         {"leave_id": leave_id, "from": start.isoformat(), "to": end.isoformat(),
                                          "days": days}, (leave_id,))])


def absence_step(uow, action, row, actor, now, **extra):
    """An absence reported, justified, withdrawn or decided (`row` the stored absence or its values)."""
    actor = domain_trail.parse_actor(actor)
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    details = {"absence_id": get("id"), "from": get("start").isoformat(), "to": get("end").isoformat(),
               "reason": get("reason"), **extra}
    trail_store.record(uow, [trail.entry(get("family_id"), get("child_id"), action, actor, now, details,
                                         (get("id"),))])


def attendance_before(uow, child_id, day, arrived_at):
    return trail_store.attendance_row(uow, child_id, day, arrived_at)


def attendance_recorded(uow, child_id, day, arrived_at, left_at, walk_in, before, actor, now):
    """An arrival (and departure) recorded by the crèche, in every household's trail of the child; the same times
    sent again change nothing."""
    if before is not None and before.left_at == left_at:
        return
    actor = domain_trail.parse_actor(actor)
    details = {"date": day.isoformat(), "arrived_at": arrived_at, "left_at": left_at,
               "walk_in": bool(before.walk_in if before is not None else walk_in)}
    identity = (child_id, day.isoformat(), arrived_at, before.recorded_at.isoformat() if before is not None else "",
                left_at or "")
    trail_store.record(uow, [trail.entry(family_id, child_id, "attendance_recorded", actor, now, details, identity)
                             for family_id in trail_store.families_of(uow, child_id)])


def _registration_values(row):
    if row is None:
        return None
    return {"kind": row.kind, "weekly_hours": row.weekly_hours, "weeks_per_year": row.weeks_per_year,
            "start": row.contract_start.isoformat() if row.contract_start else None,
            "end": row.contract_end.isoformat() if row.contract_end else None, "leave_days": row.leave_days}


def registration_before(uow, child_id):
    return _registration_values(store.registration(uow, child_id))


def registration_changed(uow, child_id, before, actor, now):
    """An agent registered the child or changed its contract: in every household's trail, when something changed."""
    after = _registration_values(store.registration(uow, child_id))
    if after is None or after == before:
        return
    actor = domain_trail.parse_actor(actor)
    details = dict(after)
    if after["weekly_hours"]:
        details["weekly_minutes"] = sum(_minutes(b) - _minutes(a) for a, b in after["weekly_hours"].values())
    trail_store.record(uow, [trail.entry(family_id, child_id, "registration_changed", actor, now, details,
                                         (child_id, now.isoformat(), repr(sorted(after.items()))))
                             for family_id in trail_store.families_of(uow, child_id)])


def _minutes(hhmm):
    hours, minutes = str(hhmm).split(":")
    return int(hours) * 60 + int(minutes)


class ChildcareTrail:
    """The trail's reading: the family's entries of a range of days, newest first, each with its French sentence."""

    def __init__(self, unit_of_work, clock, rules):
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.rules = rules

    def family_trail(self, family_id, start, end):
        first, last = domain_trail.parse_trail_range(start, end)
        since, until = instants_of(first, last, self.rules.zone)
        with self.unit_of_work(read_only=True) as uow:
            rows = trail_store.family_trail(uow, family_id, since, until, domain_trail.MAX_ENTRIES + 1)
            names = trail_store.first_names(uow, family_id)
        entries = [{**e, "service": "childcare",
                    "summary": domain_trail.sentence(e["action"], e["details"], names.get(e["child_id"], ""))}
                   for e in rows[:domain_trail.MAX_ENTRIES]]
        return {"entries": entries, "truncated": len(rows) > domain_trail.MAX_ENTRIES}

    def trail_export(self, family_id):
        with self.unit_of_work(read_only=True) as uow:
            return trail_store.trail_export(uow, family_id)
