"""The family's trail at the canteen (issue #12): what the use cases call, inside their own unit of work, to make
a change and record it at once, and the trail's own reading.

An entry is written only for what the database says changed (a reservation inserted, one deleted, an absence added,
a file attached, a sheet that changed a child's state), under a deterministic key: a retried or doubled command
writes nothing twice. Without an actor the change is the system's.
"""
from espace_common import trail
from espace_common.trail_rules import instants_of

from . import domain_trail, trail_store


def apply_meal_changes(uow, family_id, to_reserve, to_cancel, actor, now, via):
    """Reserve and cancel (child, day) pairs for a family's parent (or an agent on its behalf), and record each
    day that changed. Answers (reserved, cancelled) as the database made them."""
    actor = domain_trail.parse_actor(actor)
    reserved = trail_store.reserve_changed(uow, to_reserve, now)
    cancelled = trail_store.cancel_changed(uow, to_cancel)
    entries = [trail.entry(family_id, child_id, "meal_reserved", actor, now,
                           {"date": day.isoformat(), "via": via}, (child_id, day.isoformat(), now.isoformat()))
               for child_id, day in reserved]
    entries += [trail.entry(family_id, child_id, "meal_cancelled", actor, now,
                            {"date": day.isoformat(), "via": via}, (child_id, day.isoformat(), reserved_at.isoformat()))
                for child_id, day, reserved_at in cancelled]
    trail_store.record(uow, entries)
    return reserved, cancelled


def regularise(uow, child_id, days, actor, now):
    """An agent's meals recorded after the fact: each day inserted is in the trail of every family of the child."""
    actor = domain_trail.parse_actor(actor)
    reserved = trail_store.reserve_changed(uow, [(child_id, day) for day in days], now)
    families = trail_store.families_of(uow, [child_id]).get(child_id, [])
    trail_store.record(uow, [trail.entry(family_id, child_id, "meal_regularised", actor, now,
                                         {"date": day.isoformat()}, (child_id, day.isoformat(), now.isoformat()))
                             for family_id in families for _, day in reserved])
    return reserved


def absence_step(uow, action, row, actor, now, has_document=None):
    """An absence reported, justified or withdrawn (`row` the absence as stored), recorded once per absence and step."""
    actor = domain_trail.parse_actor(actor)
    details = {"absence_id": row["id"], "from": row["start"].isoformat(), "to": row["end"].isoformat(),
               "reason": row["reason"]}
    if has_document is not None:
        details["has_document"] = bool(has_document)
    trail_store.record(uow, [trail.entry(row["family_id"], row["child_id"], action, actor, now, details, (row["id"],))])


def absence_values(row):
    """A stored absence (a Row) as absence_step reads it."""
    return {"id": row.id, "family_id": row.family_id, "child_id": row.child_id, "start": row.start, "end": row.end,
            "reason": row.reason}


def attendance_before(uow, school_id, day):
    return trail_store.eaten_on(uow, school_id, day)


def attendance_recorded(uow, school_id, day, before, eaten, reserved, actor, now):
    """A sheet taken again changes the trail only for the children whose state it changed; the first sheet of a
    day also tells the families of children who had a reservation and did not eat."""
    actor = domain_trail.parse_actor(actor)
    eaten_before, had_sheet = before
    eaten = set(eaten)
    changed = eaten ^ eaten_before
    if not had_sheet:
        changed |= set(reserved)
    families = trail_store.families_of(uow, changed)
    trail_store.record(uow, [
        trail.entry(family_id, child_id, "attendance_recorded", actor, now,
                    {"date": day.isoformat(), "school_id": school_id, "eaten": child_id in eaten,
                     "reserved": child_id in reserved}, (child_id, day.isoformat(), now.isoformat()))
        for child_id in sorted(changed) for family_id in families.get(child_id, [])])


def diet_changed(uow, child_id, before, diet, pai, actor, now):
    """A child's diet or PAI changed by an agent (`before` the (diet, pai) it had, or None)."""
    if before is not None and tuple(before) == (diet, bool(pai)):
        return
    actor = domain_trail.parse_actor(actor)
    families = trail_store.families_of(uow, [child_id]).get(child_id, [])
    trail_store.record(uow, [trail.entry(family_id, child_id, "diet_changed", actor, now,
                                         {"diet": diet, "pai": bool(pai)}, (child_id, now.isoformat(), diet, bool(pai)))
                             for family_id in families])


class CanteenTrail:
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
        entries = [{**e, "service": "canteen",
                    "summary": domain_trail.sentence(e["action"], e["details"], names.get(e["child_id"], ""))}
                   for e in rows[:domain_trail.MAX_ENTRIES]]
        return {"entries": entries, "truncated": len(rows) > domain_trail.MAX_ENTRIES}

    def trail_export(self, family_id):
        with self.unit_of_work(read_only=True) as uow:
            return trail_store.trail_export(uow, family_id)

