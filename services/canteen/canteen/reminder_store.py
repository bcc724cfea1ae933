"""The SQL of reminders (issue #12) inside a unit of work: the children to look at and their meals."""
from sqlalchemy import select

from . import orm


def enrolled_pairs(uow, school_years):
    """(family_id, child_id, first_name, birth_date) of every child enrolled for one of these school years."""
    fc, e = orm.family_children, orm.enrolments
    return uow.execute(
        select(fc.c.family_id, fc.c.child_id, fc.c.first_name, fc.c.birth_date).distinct()
        .join(e, e.c.child_id == fc.c.child_id).where(e.c.school_year.in_(list(school_years)))
        .order_by(fc.c.family_id, fc.c.birth_date)).all()


def reservations_between(uow, child_ids, start, end):
    """child_id -> the days reserved in [start, end]."""
    found = {child_id: set() for child_id in child_ids}
    if not child_ids:
        return found
    r = orm.reservations
    for row in uow.execute(select(r.c.child_id, r.c.day).where(r.c.day.between(start, end),
                                                                r.c.child_id.in_(list(child_ids)))):
        found[row.child_id].add(row.day)
    return found


def absences_between(uow, child_ids, start, end):
    """child_id -> the days of [start, end] an absence covers."""
    found = {child_id: set() for child_id in child_ids}
    if not child_ids:
        return found
    a = orm.absences
    for row in uow.execute(select(a.c.child_id, a.c.start, a.c.end).where(
            a.c.child_id.in_(list(child_ids)), a.c.start <= end, a.c.end >= start)):
        day = max(row.start, start)
        while day <= min(row.end, end):
            found[row.child_id].add(day)
            day = day.fromordinal(day.toordinal() + 1)
    return found
