"""SQL of the family's export and the retention purge (issue #12)."""
from sqlalchemy import delete, func, select, update

from . import orm


def children(uow, family_id):
    table = orm.family_children
    return uow.execute(select(table).where(table.c.family_id == family_id).order_by(table.c.birth_date)).all()


def enrolments(uow, child_ids):
    e, s, c = orm.enrolments, orm.schools, orm.classes
    return uow.execute(select(e.c.child_id, e.c.school_year, s.c.name.label("school"), c.c.name.label("class_name"))
                       .join(s, s.c.id == e.c.school_id).outerjoin(c, c.c.id == e.c.class_id)
                       .where(e.c.child_id.in_(child_ids)).order_by(e.c.school_year, e.c.child_id)).all()


def reservations(uow, child_ids):
    table = orm.reservations
    return uow.execute(select(table).where(table.c.child_id.in_(child_ids)).order_by(table.c.day)).all()


def absences(uow, family_id, child_ids):
    table = orm.absences
    return uow.execute(select(table).where(table.c.family_id == family_id, table.c.child_id.in_(child_ids))
                       .order_by(table.c.start)).all()


def attendance(uow, child_ids):
    table = orm.attendance
    return uow.execute(select(table).where(table.c.child_id.in_(child_ids)).order_by(table.c.day)).all()


def diets(uow, child_ids):
    table = orm.diets
    return uow.execute(select(table).where(table.c.child_id.in_(child_ids))).all()


def calendar_feeds(uow, family_id):
    table = orm.calendar_feeds
    return uow.execute(select(table.c.created_at, table.c.revoked_at).where(table.c.family_id == family_id)
                       .order_by(table.c.created_at)).all()


def reads(uow, absence_ids):
    table = orm.document_reads
    return uow.execute(select(table).where(table.c.absence_id.in_(absence_ids)).order_by(table.c.read_at)).all()


# --- The purge -----------------------------------------------------------------------------------------------------

def drop_justifications(uow, last_end):
    """The files of absences ending on or before `last_end`: forgotten by their rows, whose paths are answered for
    the files to be deleted once committed."""
    table = orm.absences
    rows = uow.execute(select(table.c.id, table.c.document_path)
                       .where(table.c.document_path.is_not(None), table.c.end <= last_end)).all()
    if rows:
        uow.execute(update(table).where(table.c.id.in_([r.id for r in rows]))
                    .values(document_path=None, document_name=None, document_type=None))
    return [r.document_path for r in rows]


def purge_reads(uow, cutoff):
    table = orm.document_reads
    return uow.execute(delete(table).where(table.c.read_at < cutoff)).rowcount


def purge_diets(uow, last_year, updated_before):
    """The diets of children whose last enrolment is in `last_year` or before, and of children never enrolled whose
    diet was last changed before `updated_before`."""
    diets, enrolments = orm.diets, orm.enrolments
    latest = select(enrolments.c.child_id, func.max(enrolments.c.school_year).label("year")) \
        .group_by(enrolments.c.child_id).subquery()
    rows = uow.execute(select(diets.c.child_id, diets.c.updated_at, latest.c.year)
                       .outerjoin(latest, latest.c.child_id == diets.c.child_id)).all()
    gone = [r.child_id for r in rows
            if (r.year is not None and r.year <= last_year) or (r.year is None and r.updated_at < updated_before)]
    if gone:
        uow.execute(delete(diets).where(diets.c.child_id.in_(gone)))
    return len(gone)
