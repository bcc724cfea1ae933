"""The family's trail at the canteen (issue #12): the writes that say which rows they changed, and the entries.

There is no update and no delete of an entry here (the database refuses an UPDATE anyway, see
espace_common.trail); `trail_export` is the family's data export's hook (GDPR).
"""
from sqlalchemy import and_, delete, or_, select

from espace_common import trail

from . import orm, store

TABLE = orm.family_trail


def reserve_changed(uow, pairs, now):
    """Reserve (child, day) pairs like store.reserve; answers the pairs this statement inserted (the database
    decides: a reservation already there, or inserted first by a racing request, is not this one's change)."""
    if not pairs:
        return []
    table = orm.reservations
    dialect = uow.connection.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    changed = []
    for chunk in _chunks(pairs, 500):
        statement = dialect_insert(table).values([{"child_id": c, "day": d, "created_at": now} for c, d in chunk])
        rows = uow.execute(statement.on_conflict_do_nothing().returning(table.c.child_id, table.c.day)).all()
        changed.extend((r.child_id, r.day) for r in rows)
    return changed


def cancel_changed(uow, pairs):
    """Cancel (child, day) pairs like store.cancel; answers (child, day, reserved_at) of each reservation deleted."""
    table = orm.reservations
    changed = []
    for chunk in _chunks(pairs, 500):
        rows = uow.execute(delete(table).where(or_(*[and_(table.c.child_id == c, table.c.day == d) for c, d in chunk]))
                           .returning(table.c.child_id, table.c.day, table.c.created_at)).all()
        changed.extend((r.child_id, r.day, r.created_at) for r in rows)
    return changed


def eaten_on(uow, school_id, day):
    """Who was recorded as eating before a new sheet replaces it, and whether a sheet existed."""
    sheet = store.attendance_recorded_at(uow, school_id, day)
    return {r.child_id for r in store.attendance_on(uow, school_id, day)}, sheet is not None


def families_of(uow, child_ids):
    """child_id -> the families it belongs to (a child of two households is in both trails for an agent's change)."""
    table = orm.family_children
    found = {}
    for chunk in _chunks(list(child_ids), 500):
        for row in uow.execute(select(table.c.child_id, table.c.family_id).where(table.c.child_id.in_(chunk))):
            found.setdefault(row.child_id, []).append(row.family_id)
    return found


def first_names(uow, family_id):
    return {c.child_id: c.first_name for c in store.children_of_family(uow, family_id)}


def record(uow, entries):
    return trail.record(uow, TABLE, entries)


def family_trail(uow, family_id, start, end, limit):
    return trail.entries_between(uow, TABLE, family_id, start, end, limit)


def trail_export(uow, family_id):
    """Every canteen entry of the family's trail, oldest first: the GDPR export's hook."""
    return trail.export(uow, TABLE, family_id)


def _chunks(items, size):
    items = list(items)
    return [items[i:i + size] for i in range(0, len(items), size)]

