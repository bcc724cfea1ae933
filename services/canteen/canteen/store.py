"""Reading and writing the canteen tables inside a unit of work."""
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update

from espace_common.db import insert_ignoring_duplicates, new_id

from . import orm
from .calendar_rules import SchoolCalendar


# The statements of a one-day meal change, the suite's hottest write, are built once: building a
# statement costs SQLAlchemy several times what SQLite takes to run it.
_CHILD_IN_FAMILY = select(orm.family_children).where(orm.family_children.c.family_id == bindparam("family_id"),
                                                     orm.family_children.c.child_id == bindparam("child_id"))
_HOLIDAYS_TOUCHING = select(orm.holidays).where(orm.holidays.c.start <= bindparam("end"),
                                                orm.holidays.c.end >= bindparam("start"))
_CLOSED_BETWEEN = select(orm.closed_days).where(orm.closed_days.c.day.between(bindparam("start"), bindparam("end")))
_ABSENT_ON = select(orm.absences.c.child_id).where(orm.absences.c.child_id.in_(bindparam("child_ids", expanding=True)),
                                                   orm.absences.c.start <= bindparam("day"),
                                                   orm.absences.c.end >= bindparam("day"))
_ENROLMENT = select(orm.enrolments).where(orm.enrolments.c.child_id == bindparam("child_id"),
                                          orm.enrolments.c.school_year == bindparam("school_year"))
_CANCEL = delete(orm.reservations).where(orm.reservations.c.child_id == bindparam("child_id"),
                                         orm.reservations.c.day == bindparam("day"))


def child_in_family(uow, family_id, child_id):
    return uow.execute(_CHILD_IN_FAMILY, {"family_id": family_id, "child_id": child_id}).first()


def children_of_family(uow, family_id):
    table = orm.family_children
    return uow.execute(select(table).where(table.c.family_id == family_id).order_by(table.c.birth_date)).all()


def families_of_child(uow, child_id):
    table = orm.family_children
    return [r.family_id for r in uow.execute(select(table.c.family_id).where(table.c.child_id == child_id))]


def known_child(uow, child_id):
    return uow.execute(select(orm.family_children).where(orm.family_children.c.child_id == child_id)).first()


def known_child_ids(uow, child_ids):
    """Those of the ids that are children canteen knows (from identity's events)."""
    if not child_ids:
        return set()
    table = orm.family_children
    return {r.child_id for r in uow.execute(select(table.c.child_id).where(table.c.child_id.in_(list(child_ids))))}


def calendar(uow, start, end):
    """The holidays and closed days that touch [start, end]."""
    rows = uow.execute(_HOLIDAYS_TOUCHING, {"start": start, "end": end}).all()
    closed = uow.execute(_CLOSED_BETWEEN, {"start": start, "end": end}).all()
    return SchoolCalendar(holidays=tuple((r.start, r.end, r.name) for r in rows),
                          closed_days={r.day: r.reason for r in closed})


def closed_days_between(uow, start, end):
    return uow.execute(select(orm.closed_days).where(orm.closed_days.c.day.between(start, end))
                       .order_by(orm.closed_days.c.day)).all()


def absent_children(uow, child_ids, day):
    """Children with an absence reported that day."""
    return {r.child_id for r in uow.execute(_ABSENT_ON, {"child_ids": list(child_ids), "day": day})}


def reserved_days(uow, child_ids, start, end):
    rows = uow.execute(select(orm.reservations).where(
        orm.reservations.c.child_id.in_(child_ids), orm.reservations.c.day.between(start, end))).all()
    found = {child_id: set() for child_id in child_ids}
    for row in rows:
        found[row.child_id].add(row.day)
    return found


def absent_days(uow, child_id, start, end):
    rows = uow.execute(select(orm.absences).where(
        orm.absences.c.child_id == child_id, orm.absences.c.start <= end, orm.absences.c.end >= start)).all()
    days = set()
    for row in rows:
        day = max(row.start, start)
        while day <= min(row.end, end):
            days.add(day)
            day = day.fromordinal(day.toordinal() + 1)
    return days


def reserve(uow, pairs, now):
    """Reserve (child, day) pairs; an existing reservation is left as it is."""
    return insert_ignoring_duplicates(uow.connection, orm.reservations,
                                      [{"child_id": c, "day": d, "created_at": now} for c, d in pairs])


def cancel(uow, pairs):
    count = 0
    for child_id, day in pairs:
        count += uow.execute(_CANCEL, {"child_id": child_id, "day": day}).rowcount
    return count


def enrolment(uow, child_id, school_year):
    return uow.execute(_ENROLMENT, {"child_id": child_id, "school_year": school_year}).first()


def enrolled_years(uow, child_ids):
    rows = uow.execute(select(orm.enrolments).where(orm.enrolments.c.child_id.in_(child_ids))).all()
    years = {child_id: set() for child_id in child_ids}
    for row in rows:
        years[row.child_id].add(row.school_year)
    return years


def save_enrolment(uow, child_id, school_id, school_year, class_id):
    values = {"school_id": school_id, "class_id": class_id}
    updated = uow.execute(update(orm.enrolments).where(
        orm.enrolments.c.child_id == child_id, orm.enrolments.c.school_year == school_year).values(**values)).rowcount
    if not updated:
        uow.execute(insert(orm.enrolments).values(child_id=child_id, school_year=school_year, **values))


def school(uow, school_id):
    return uow.execute(select(orm.schools).where(orm.schools.c.id == school_id)).first()


def schools(uow):
    return uow.execute(select(orm.schools).order_by(orm.schools.c.name)).all()


def school_by_name(uow, name):
    return uow.execute(select(orm.schools).where(orm.schools.c.name == name)).first()


def add_school(uow, name, kind, address):
    school_id = new_id()
    uow.execute(insert(orm.schools).values(id=school_id, name=name, kind=kind, address=address))
    return school_id


def update_school(uow, school_id, name, kind, address):
    return uow.execute(update(orm.schools).where(orm.schools.c.id == school_id)
                       .values(name=name, kind=kind, address=address)).rowcount


def school_uses(uow, school_id):
    """How many enrolments (every school year) and attendance rows a school has: what forbids deleting it."""
    enrolled = uow.execute(select(func.count()).select_from(orm.enrolments)
                           .where(orm.enrolments.c.school_id == school_id)).scalar()
    attended = uow.execute(select(func.count()).select_from(orm.attendance)
                           .where(orm.attendance.c.school_id == school_id)).scalar()
    return enrolled, attended


def delete_school(uow, school_id):
    """A school without enrolments nor attendance, its (empty) classes and its attendance sheets."""
    uow.execute(delete(orm.attendance_sheets).where(orm.attendance_sheets.c.school_id == school_id))
    uow.execute(delete(orm.classes).where(orm.classes.c.school_id == school_id))
    return uow.execute(delete(orm.schools).where(orm.schools.c.id == school_id)).rowcount


def class_enrolments(uow, class_id):
    return uow.execute(select(func.count()).select_from(orm.enrolments)
                       .where(orm.enrolments.c.class_id == class_id)).scalar()


def class_named(uow, school_id, school_year, name):
    return uow.execute(select(orm.classes).where(
        orm.classes.c.school_id == school_id, orm.classes.c.school_year == school_year,
        orm.classes.c.name == name)).first()


def rename_class(uow, class_id, name):
    return uow.execute(update(orm.classes).where(orm.classes.c.id == class_id).values(name=name)).rowcount


def delete_class(uow, class_id):
    return uow.execute(delete(orm.classes).where(orm.classes.c.id == class_id)).rowcount


def school_class(uow, class_id):
    return uow.execute(select(orm.classes).where(orm.classes.c.id == class_id)).first()


def classes_of(uow, school_id, school_year):
    return uow.execute(select(orm.classes).where(orm.classes.c.school_id == school_id,
                                                 orm.classes.c.school_year == school_year)
                       .order_by(orm.classes.c.name)).all()


def classes_of_years(uow, school_years):
    return uow.execute(select(orm.classes).where(orm.classes.c.school_year.in_(school_years))
                       .order_by(orm.classes.c.name)).all()


def add_class(uow, school_id, school_year, name):
    existing = uow.execute(select(orm.classes).where(
        orm.classes.c.school_id == school_id, orm.classes.c.school_year == school_year,
        orm.classes.c.name == name)).first()
    if existing:
        return existing.id
    class_id = new_id()
    uow.execute(insert(orm.classes).values(id=class_id, school_id=school_id, school_year=school_year, name=name))
    return class_id


def upsert_holiday(uow, uid, name, start, end):
    updated = uow.execute(update(orm.holidays).where(orm.holidays.c.source_uid == uid)
                          .values(name=name, start=start, end=end)).rowcount
    if not updated:
        uow.execute(insert(orm.holidays).values(source_uid=uid, name=name, start=start, end=end))
    return not updated


def set_closed_day(uow, day, reason):
    uow.execute(delete(orm.closed_days).where(orm.closed_days.c.day == day))
    uow.execute(insert(orm.closed_days).values(day=day, reason=reason))


def reopen_day(uow, day):
    return uow.execute(delete(orm.closed_days).where(orm.closed_days.c.day == day)).rowcount


def add_absence(uow, values):
    """The new absence's id, or None when one for the same child and days got there first."""
    absence_id = new_id()
    inserted = insert_ignoring_duplicates(uow.connection, orm.absences, [{"id": absence_id, **values}])
    return absence_id if inserted else None


def attach_document(uow, absence_id, name, media_type, path):
    uow.execute(update(orm.absences).where(orm.absences.c.id == absence_id)
                .values(document_name=name, document_type=media_type, document_path=path))


def attach_document_once(uow, absence_id, name, media_type, path):
    """Attach a file to an absence that has none; False when another request attached one first."""
    table = orm.absences
    return uow.execute(update(table).where(table.c.id == absence_id, table.c.document_path.is_(None))
                       .values(document_name=name, document_type=media_type, document_path=path)).rowcount == 1


def delete_absence(uow, absence_id):
    return uow.execute(delete(orm.absences).where(orm.absences.c.id == absence_id)).rowcount


def absence(uow, absence_id):
    return uow.execute(select(orm.absences).where(orm.absences.c.id == absence_id)).first()


def absences_overlapping(uow, child_ids, start, end):
    return uow.execute(select(orm.absences).where(
        orm.absences.c.child_id.in_(child_ids), orm.absences.c.start <= end, orm.absences.c.end >= start)).all()


def enrolled_children(uow, school_id, school_year):
    return [r.child_id for r in uow.execute(select(orm.enrolments.c.child_id).where(
        orm.enrolments.c.school_id == school_id, orm.enrolments.c.school_year == school_year))]


def reservations_on(uow, child_ids, day):
    return {r.child_id for r in uow.execute(select(orm.reservations.c.child_id).where(
        orm.reservations.c.child_id.in_(child_ids), orm.reservations.c.day == day))}


def replace_attendance(uow, school_id, day, eaten, reserved, now):
    uow.execute(delete(orm.attendance).where(orm.attendance.c.school_id == school_id, orm.attendance.c.day == day))
    sheet = orm.attendance_sheets
    uow.execute(delete(sheet).where(sheet.c.school_id == school_id, sheet.c.day == day))
    uow.execute(insert(sheet).values(school_id=school_id, day=day, recorded_at=now))
    if eaten:
        uow.execute(insert(orm.attendance), [
            {"child_id": c, "day": day, "school_id": school_id, "reserved": c in reserved, "recorded_at": now}
            for c in eaten])


def attendance_recorded_at(uow, school_id, day):
    """When the attendance of that school and day was last taken, or None."""
    return uow.execute(select(orm.attendance_sheets.c.recorded_at).where(
        orm.attendance_sheets.c.school_id == school_id, orm.attendance_sheets.c.day == day)).scalar()


def attendance_on(uow, school_id, day):
    return uow.execute(select(orm.attendance).where(orm.attendance.c.school_id == school_id,
                                                    orm.attendance.c.day == day)).all()


def diets_of(uow, child_ids):
    rows = uow.execute(select(orm.diets).where(orm.diets.c.child_id.in_(child_ids))).all()
    return {r.child_id: (r.diet, r.pai) for r in rows}


def save_diet(uow, child_id, diet, pai, now):
    updated = uow.execute(update(orm.diets).where(orm.diets.c.child_id == child_id)
                          .values(diet=diet, pai=pai, updated_at=now)).rowcount
    if not updated:
        uow.execute(insert(orm.diets).values(child_id=child_id, diet=diet, pai=pai, updated_at=now))


def menus_between(uow, start, end):
    return uow.execute(select(orm.menus).where(orm.menus.c.day.between(start, end)).order_by(orm.menus.c.day)).all()


def save_menu(uow, day, courses):
    if not uow.execute(update(orm.menus).where(orm.menus.c.day == day).values(courses=courses)).rowcount:
        uow.execute(insert(orm.menus).values(day=day, courses=courses))


def add_news(uow, title, body, kind, now):
    news_id = new_id()
    uow.execute(insert(orm.news).values(id=news_id, title=title, body=body, kind=kind, published_at=now))
    return news_id


def news(uow, kind, limit):
    return uow.execute(select(orm.news).where(orm.news.c.kind == kind)
                       .order_by(orm.news.c.published_at.desc()).limit(limit)).all()


def news_item(uow, news_id):
    return uow.execute(select(orm.news).where(orm.news.c.id == news_id)).first()


def update_news(uow, news_id, title, body, kind):
    return uow.execute(update(orm.news).where(orm.news.c.id == news_id)
                       .values(title=title, body=body, kind=kind)).rowcount


def delete_news(uow, news_id):
    return uow.execute(delete(orm.news).where(orm.news.c.id == news_id)).rowcount


def month_facts(uow, family_ids, start, end):
    """Reservations, attendance and absences of the month for the children of the given families (None: all)."""
    children = orm.family_children
    query = select(children.c.family_id, children.c.child_id)
    if family_ids is not None:
        query = query.where(children.c.family_id.in_(family_ids))
    pairs = uow.execute(query.order_by(children.c.family_id, children.c.birth_date)).all()
    child_ids = sorted({p.child_id for p in pairs})
    reserved = {}
    for row in uow.execute(select(orm.reservations).where(
            orm.reservations.c.child_id.in_(child_ids), orm.reservations.c.day.between(start, end))):
        reserved.setdefault(row.child_id, set()).add(row.day)
    eaten = {}
    for row in uow.execute(select(orm.attendance).where(
            orm.attendance.c.child_id.in_(child_ids), orm.attendance.c.day.between(start, end))):
        eaten.setdefault(row.child_id, set()).add(row.day)
    absences = absences_overlapping(uow, child_ids, start, end) if child_ids else []
    return pairs, reserved, eaten, absences


def feed_by_digest(uow, digest):
    return uow.execute(select(orm.calendar_feeds).where(orm.calendar_feeds.c.digest == digest,
                                                        orm.calendar_feeds.c.revoked_at.is_(None))).first()


def replace_feed(uow, family_id, digest, now):
    uow.execute(update(orm.calendar_feeds).where(orm.calendar_feeds.c.family_id == family_id,
                                                 orm.calendar_feeds.c.revoked_at.is_(None)).values(revoked_at=now))
    if digest:
        uow.execute(insert(orm.calendar_feeds).values(digest=digest, family_id=family_id, created_at=now))


def record_document_read(uow, absence_id, reader, now):
    uow.execute(insert(orm.document_reads).values(absence_id=absence_id, reader=reader[:80], read_at=now))


def document_reads(uow, absence_id):
    return uow.execute(select(orm.document_reads).where(orm.document_reads.c.absence_id == absence_id)
                       .order_by(orm.document_reads.c.id)).all()


def active_feed(uow, family_id):
    return uow.execute(select(orm.calendar_feeds).where(orm.calendar_feeds.c.family_id == family_id,
                                                        orm.calendar_feeds.c.revoked_at.is_(None))).first()


def absences_unread_by_agents(uow, limit):
    """Absences with a justification that no agent has read ('agent:<id>' readers), oldest first, with the
    child's name (from the family projection)."""
    a, reads, fc = orm.absences, orm.document_reads, orm.family_children
    read = select(reads.c.id).where(reads.c.absence_id == a.c.id, reads.c.reader.like("agent:%")).exists()
    first = select(fc.c.first_name).where(fc.c.child_id == a.c.child_id).limit(1).scalar_subquery()
    last = select(fc.c.last_name).where(fc.c.child_id == a.c.child_id).limit(1).scalar_subquery()
    return uow.execute(select(a, first.label("first_name"), last.label("last_name"))
                       .where(a.c.document_path.is_not(None), ~read)
                       .order_by(a.c.reported_at, a.c.id).limit(limit)).all()


def absences_of_family(uow, family_id):
    return uow.execute(select(orm.absences).where(orm.absences.c.family_id == family_id)
                       .order_by(orm.absences.c.start.desc())).all()


def enrolments_of_family(uow, family_id):
    """Each enrolment of the family's children with its school's and class's names, by school year."""
    e, s, c, fc = orm.enrolments, orm.schools, orm.classes, orm.family_children
    return uow.execute(
        select(e.c.child_id, e.c.school_year, e.c.school_id, s.c.name.label("school_name"), e.c.class_id,
               c.c.name.label("class_name"))
        .join(fc, and_(fc.c.child_id == e.c.child_id, fc.c.family_id == family_id))
        .join(s, s.c.id == e.c.school_id)
        .outerjoin(c, c.c.id == e.c.class_id)
        .order_by(e.c.school_year, fc.c.birth_date)).all()
