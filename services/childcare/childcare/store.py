"""Reading and writing the childcare tables inside a unit of work (SQLAlchemy Core), nothing else."""
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from espace_common.db import insert_ignoring_duplicates, new_id

from . import orm
from .domain import CANCELLED, CONFIRMED, WAITING, CrecheCalendar

# --- Children (the projection of identity's families) -------------------------------------------


def child_in_family(uow, family_id, child_id):
    table = orm.family_children
    return uow.execute(select(table).where(table.c.family_id == family_id, table.c.child_id == child_id)).first()


def children_of_family(uow, family_id):
    table = orm.family_children
    return uow.execute(select(table).where(table.c.family_id == family_id).order_by(table.c.birth_date)).all()


def known_child(uow, child_id):
    return uow.execute(select(orm.family_children).where(orm.family_children.c.child_id == child_id)).first()


def children_named(uow, text, limit=20):
    """Children of the projection whose first or last name contains `text` (case folded), by name."""
    table = orm.family_children
    pattern = f"%{text.casefold()}%"
    return uow.execute(select(table).where(func.lower(table.c.last_name).like(pattern)
                                           | func.lower(table.c.first_name).like(pattern))
                       .order_by(table.c.last_name, table.c.first_name, table.c.birth_date).limit(limit)).all()


def children_by_id(uow, child_ids):
    if not child_ids:
        return {}
    rows = uow.execute(select(orm.family_children).where(orm.family_children.c.child_id.in_(list(child_ids)))).all()
    return {r.child_id: r for r in rows}


# --- Calendar and slots ------------------------------------------------------------------------------

def calendar(uow, start, end):
    rows = uow.execute(select(orm.closures).where(orm.closures.c.day.between(start, end))).all()
    return CrecheCalendar({r.day: (r.kind, r.reason) for r in rows})


def closures_between(uow, start, end):
    return uow.execute(select(orm.closures).where(orm.closures.c.day.between(start, end))
                       .order_by(orm.closures.c.day)).all()


def set_closure(uow, day, kind, reason):
    uow.execute(delete(orm.closures).where(orm.closures.c.day == day))
    uow.execute(insert(orm.closures).values(day=day, kind=kind, reason=reason))


def remove_closure(uow, day):
    return uow.execute(delete(orm.closures).where(orm.closures.c.day == day)).rowcount


def add_slots(uow, slots, capacity):
    """Create the slots that do not exist yet; an existing slot keeps its capacity and bookings."""
    return insert_ignoring_duplicates(uow.connection, orm.slots, [
        {"id": new_id(), "day": day, "start": start, "end": end, "capacity": capacity, "taken": 0, "waiting": 0}
        for day, start, end in slots])


def slots_between(uow, start, end):
    return uow.execute(select(orm.slots).where(orm.slots.c.day.between(start, end))
                       .order_by(orm.slots.c.day, orm.slots.c.start)).all()


def slot(uow, slot_id):
    return uow.execute(select(orm.slots).where(orm.slots.c.id == slot_id)).first()


def take_place(uow, slot_id):
    """Take a place if one is left: the database decides, whatever the number of parents racing."""
    return uow.execute(update(orm.slots).where(orm.slots.c.id == slot_id, orm.slots.c.taken < orm.slots.c.capacity)
                       .values(taken=orm.slots.c.taken + 1)).rowcount == 1


def join_queue(uow, slot_id):
    """Lengthen the waiting list; the row lock it takes orders the waiting parents on PostgreSQL."""
    uow.execute(update(orm.slots).where(orm.slots.c.id == slot_id).values(waiting=orm.slots.c.waiting + 1))


def release_place(uow, slot_id):
    uow.execute(update(orm.slots).where(orm.slots.c.id == slot_id).values(taken=orm.slots.c.taken - 1))


def leave_queue(uow, slot_id):
    uow.execute(update(orm.slots).where(orm.slots.c.id == slot_id).values(waiting=orm.slots.c.waiting - 1))


def promote_place(uow, slot_id):
    """A waiting booking becomes confirmed: one fewer waiting, one more taken (refused if no place)."""
    return uow.execute(update(orm.slots).where(orm.slots.c.id == slot_id, orm.slots.c.taken < orm.slots.c.capacity,
                                               orm.slots.c.waiting > 0)
                       .values(taken=orm.slots.c.taken + 1, waiting=orm.slots.c.waiting - 1)).rowcount == 1


def set_capacity(uow, slot_id, capacity):
    """Change the places of a slot, never below those already taken."""
    return uow.execute(update(orm.slots).where(orm.slots.c.id == slot_id, orm.slots.c.taken <= capacity)
                       .values(capacity=capacity)).rowcount == 1


# --- Registrations -----------------------------------------------------------------------------------

def registration(uow, child_id):
    return uow.execute(select(orm.registrations).where(orm.registrations.c.child_id == child_id)).first()


def registrations_of(uow, child_ids):
    if not child_ids:
        return {}
    rows = uow.execute(select(orm.registrations).where(orm.registrations.c.child_id.in_(list(child_ids)))).all()
    return {r.child_id: r for r in rows}


def all_registrations(uow):
    return uow.execute(select(orm.registrations).order_by(orm.registrations.c.registered_at)).all()


def save_registration(uow, child_id, kind, contract, now):
    """Register or re-register a child; False when the new allowance is below the leave already declared."""
    values = {"kind": kind, "weekly_hours": None, "weeks_per_year": None, "contract_start": None,
              "contract_end": None, "leave_days": 0}
    if contract is not None:
        described = contract.as_dict()
        values.update(weekly_hours=described["weekly_hours"], weeks_per_year=contract.weeks_per_year,
                      contract_start=contract.start, contract_end=contract.end, leave_days=contract.leave_days)
    table = orm.registrations
    if uow.execute(select(table.c.child_id).where(table.c.child_id == child_id)).first():
        return uow.execute(update(table).where(table.c.child_id == child_id, table.c.leave_taken <= values["leave_days"])
                           .values(**values)).rowcount == 1
    return insert_ignoring_duplicates(uow.connection, table, [
        {"child_id": child_id, "leave_taken": 0, "registered_at": now, **values}]) == 1


def take_leave_days(uow, child_id, count):
    """Count leave days against the allowance; the database refuses to pass it, even for two at once."""
    table = orm.registrations
    return uow.execute(update(table).where(table.c.child_id == child_id,
                                           table.c.leave_taken + count <= table.c.leave_days)
                       .values(leave_taken=table.c.leave_taken + count)).rowcount == 1


# --- Bookings ---------------------------------------------------------------------------------------------

def add_booking(uow, values):
    """The new booking's id, or None when the child already has a live booking on that slot."""
    booking_id = new_id()
    savepoint = uow.connection.begin_nested()
    try:
        uow.execute(insert(orm.bookings).values(id=booking_id, **values))
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        return None
    return booking_id


def booking(uow, booking_id):
    return uow.execute(select(orm.bookings).where(orm.bookings.c.id == booking_id)).first()


def waiting_position(uow, slot_id, seq):
    """1 for the first in line."""
    table = orm.bookings
    return uow.execute(select(func.count()).select_from(table).where(
        table.c.slot_id == slot_id, table.c.status == WAITING, table.c.seq <= seq)).scalar()


def first_waiting(uow, slot_id):
    table = orm.bookings
    return uow.execute(select(table).where(table.c.slot_id == slot_id, table.c.status == WAITING)
                       .order_by(table.c.seq).limit(1)).first()


def set_booking_status(uow, booking_id, from_status, to_status, **values):
    """Move a booking from one status to another; False when another request moved it first."""
    table = orm.bookings
    return uow.execute(update(table).where(table.c.id == booking_id, table.c.status == from_status)
                       .values(status=to_status, **values)).rowcount == 1


def bookings_of_child(uow, child_id, since):
    """The child's bookings with their slot, from a day on, in slot order."""
    b, s = orm.bookings, orm.slots
    return uow.execute(select(b, s.c.day, s.c.start, s.c.end).join(s, s.c.id == b.c.slot_id)
                       .where(b.c.child_id == child_id, s.c.day >= since)
                       .order_by(s.c.day, s.c.start, b.c.seq)).all()


def live_bookings_of_children(uow, child_ids, start, end):
    if not child_ids:
        return []
    b, s = orm.bookings, orm.slots
    return uow.execute(select(b, s.c.day, s.c.start, s.c.end).join(s, s.c.id == b.c.slot_id)
                       .where(b.c.child_id.in_(list(child_ids)), b.c.status != CANCELLED, s.c.day.between(start, end))
                       .order_by(s.c.day, s.c.start)).all()


def positions_of(uow, waiting_rows):
    return {r.id: waiting_position(uow, r.slot_id, r.seq) for r in waiting_rows if r.status == WAITING}


def bookings_on_slots(uow, slot_ids):
    if not slot_ids:
        return []
    b = orm.bookings
    return uow.execute(select(b).where(b.c.slot_id.in_(list(slot_ids)), b.c.status != CANCELLED)
                       .order_by(b.c.seq)).all()


def month_bookings(uow, child_ids, start, end):
    b, s = orm.bookings, orm.slots
    return uow.execute(select(b.c.child_id, b.c.status, b.c.late_cancelled, s.c.day, s.c.start, s.c.end)
                       .join(s, s.c.id == b.c.slot_id)
                       .where(b.c.child_id.in_(list(child_ids)), s.c.day.between(start, end))).all()


def confirmed_slots_on(uow, child_id, day):
    """(start, end) of the child's confirmed bookings that day."""
    b, s = orm.bookings, orm.slots
    return [(r.start, r.end) for r in uow.execute(select(s.c.start, s.c.end).join(b, s.c.id == b.c.slot_id).where(
        b.c.child_id == child_id, b.c.status == CONFIRMED, s.c.day == day))]


# --- Leaves and absences --------------------------------------------------------------------------------

def add_leave(uow, values):
    leave_id = new_id()
    uow.execute(insert(orm.leaves).values(id=leave_id, **values))
    return leave_id


def leaves_of(uow, child_ids, start=None, end=None):
    if not child_ids:
        return []
    query = select(orm.leaves).where(orm.leaves.c.child_id.in_(list(child_ids)))
    if start is not None:
        query = query.where(orm.leaves.c.start <= end, orm.leaves.c.end >= start)
    return uow.execute(query.order_by(orm.leaves.c.start)).all()


def add_absence(uow, values):
    absence_id = new_id()
    uow.execute(insert(orm.absences).values(id=absence_id, **values))
    return absence_id


def absence(uow, absence_id):
    return uow.execute(select(orm.absences).where(orm.absences.c.id == absence_id)).first()


def attach_document_once(uow, absence_id, name, media_type, path):
    """Attach a file to an absence that has none (it then waits for a decision); False when one got there first."""
    table = orm.absences
    return uow.execute(update(table).where(table.c.id == absence_id, table.c.decision == "none")
                       .values(document_name=name, document_type=media_type, document_path=path,
                               decision="pending")).rowcount == 1


def delete_absence(uow, absence_id):
    uow.execute(delete(orm.document_reads).where(orm.document_reads.c.absence_id == absence_id))
    return uow.execute(delete(orm.absences).where(orm.absences.c.id == absence_id)).rowcount


def absences_of(uow, child_ids, start=None, end=None):
    if not child_ids:
        return []
    query = select(orm.absences).where(orm.absences.c.child_id.in_(list(child_ids)))
    if start is not None:
        query = query.where(orm.absences.c.start <= end, orm.absences.c.end >= start)
    return uow.execute(query.order_by(orm.absences.c.start.desc())).all()


def absences_overlapping(uow, child_id, start, end):
    return uow.execute(select(orm.absences).where(orm.absences.c.child_id == child_id, orm.absences.c.start <= end,
                                                  orm.absences.c.end >= start)).all()


def absences_with_decision(uow, decision):
    return uow.execute(select(orm.absences).where(orm.absences.c.decision == decision)
                       .order_by(orm.absences.c.reported_at)).all()


def decide(uow, absence_id, decision, comment, reader, now):
    """Record an agent's decision on a justification still to review; False when it was already decided."""
    table = orm.absences
    return uow.execute(update(table).where(table.c.id == absence_id, table.c.decision == "pending")
                       .values(decision=decision, decision_comment=comment, decided_by=reader[:80],
                               decided_at=now)).rowcount == 1


def record_document_read(uow, absence_id, reader, now):
    uow.execute(insert(orm.document_reads).values(absence_id=absence_id, reader=reader[:80], read_at=now))


def document_reads(uow, absence_id):
    return uow.execute(select(orm.document_reads).where(orm.document_reads.c.absence_id == absence_id)
                       .order_by(orm.document_reads.c.id)).all()


# --- Attendance -------------------------------------------------------------------------------------------

def save_attendance(uow, child_id, day, arrived_at, left_at, walk_in, now):
    table = orm.attendance
    key = and_(table.c.child_id == child_id, table.c.day == day, table.c.arrived_at == arrived_at)
    if not uow.execute(update(table).where(key).values(left_at=left_at, recorded_at=now)).rowcount:
        insert_ignoring_duplicates(uow.connection, table, [
            {"child_id": child_id, "day": day, "arrived_at": arrived_at, "left_at": left_at, "walk_in": walk_in,
             "recorded_at": now}])


def attendance_between(uow, child_ids, start, end):
    query = select(orm.attendance).where(orm.attendance.c.day.between(start, end))
    if child_ids is not None:
        if not child_ids:
            return []
        query = query.where(orm.attendance.c.child_id.in_(list(child_ids)))
    return uow.execute(query.order_by(orm.attendance.c.day, orm.attendance.c.arrived_at)).all()


# --- News ---------------------------------------------------------------------------------------------------

def add_news(uow, title, body, kind, now):
    news_id = new_id()
    uow.execute(insert(orm.news).values(id=news_id, title=title, body=body, kind=kind, published_at=now))
    return news_id


def news(uow, kind, limit):
    return uow.execute(select(orm.news).where(orm.news.c.kind == kind)
                       .order_by(orm.news.c.published_at.desc()).limit(limit)).all()


def news_by_title(uow, title, kind):
    return uow.execute(select(orm.news).where(orm.news.c.title == title, orm.news.c.kind == kind)).first()


def news_item(uow, news_id):
    return uow.execute(select(orm.news).where(orm.news.c.id == news_id)).first()


def update_news(uow, news_id, title, body, kind):
    return uow.execute(update(orm.news).where(orm.news.c.id == news_id)
                       .values(title=title, body=body, kind=kind)).rowcount


def delete_news(uow, news_id):
    return uow.execute(delete(orm.news).where(orm.news.c.id == news_id)).rowcount


# --- Billing ------------------------------------------------------------------------------------------------

def family_children_pairs(uow, family_id):
    table = orm.family_children
    query = select(table.c.family_id, table.c.child_id, table.c.first_name, table.c.last_name, table.c.birth_date)
    if family_id is not None:
        query = query.where(table.c.family_id == family_id)
    return uow.execute(query.order_by(table.c.family_id, table.c.birth_date)).all()
