"""The family's trail at the multi-accueil (issue #12): reading what a change is about, and the entries.

There is no update and no delete of an entry here (the database refuses an UPDATE anyway, see
espace_common.trail); `trail_export` is the family's data export's hook (GDPR).
"""
from sqlalchemy import and_, select

from espace_common import trail

from . import orm, store

TABLE = orm.family_trail


def families_of(uow, child_id):
    """The families a child belongs to (a child of two households: an agent's change is in both trails)."""
    table = orm.family_children
    return [r.family_id for r in uow.execute(select(table.c.family_id).where(table.c.child_id == child_id))]


def attendance_row(uow, child_id, day, arrived_at):
    table = orm.attendance
    return uow.execute(select(table).where(and_(table.c.child_id == child_id, table.c.day == day,
                                                table.c.arrived_at == arrived_at))).first()


def booking_with_slot(uow, booking_id):
    """A booking and its slot's day and hours, as the trail tells them."""
    row = store.booking(uow, booking_id)
    slot = store.slot(uow, row.slot_id) if row is not None else None
    return row, slot


def first_names(uow, family_id):
    return {c.child_id: c.first_name for c in store.children_of_family(uow, family_id)}


def record(uow, entries):
    return trail.record(uow, TABLE, entries)


def family_trail(uow, family_id, start, end, limit):
    return trail.entries_between(uow, TABLE, family_id, start, end, limit)


def trail_export(uow, family_id):
    """Every crèche entry of the family's trail, oldest first: the GDPR export's hook."""
    return trail.export(uow, TABLE, family_id)
