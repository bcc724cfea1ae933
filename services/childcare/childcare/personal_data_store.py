"""SQL of the family's export and the retention purge (issue #12)."""
from sqlalchemy import and_, delete, or_, select, update

from . import orm


def children(uow, family_id):
    table = orm.family_children
    return uow.execute(select(table).where(table.c.family_id == family_id).order_by(table.c.birth_date)).all()


def registrations(uow, child_ids):
    table = orm.registrations
    return uow.execute(select(table).where(table.c.child_id.in_(child_ids))).all()


def bookings(uow, family_id):
    b, s = orm.bookings, orm.slots
    return uow.execute(select(b, s.c.day, s.c.start, s.c.end).join(s, s.c.id == b.c.slot_id)
                       .where(b.c.family_id == family_id).order_by(s.c.day, s.c.start, b.c.seq)).all()


def leaves(uow, family_id):
    table = orm.leaves
    return uow.execute(select(table).where(table.c.family_id == family_id).order_by(table.c.start)).all()


def absences(uow, family_id):
    table = orm.absences
    return uow.execute(select(table).where(table.c.family_id == family_id).order_by(table.c.start)).all()


def attendance(uow, child_ids):
    table = orm.attendance
    return uow.execute(select(table).where(table.c.child_id.in_(child_ids))
                       .order_by(table.c.day, table.c.arrived_at)).all()


def reads(uow, absence_ids):
    table = orm.document_reads
    return uow.execute(select(table).where(table.c.absence_id.in_(absence_ids)).order_by(table.c.read_at)).all()


def contact_emails(uow, family_id):
    b = orm.bookings
    return [r.contact_email for r in uow.execute(select(b.c.contact_email).distinct()
                                                 .where(b.c.family_id == family_id, b.c.contact_email.is_not(None)))]


# --- The purge -----------------------------------------------------------------------------------------------------

def drop_justifications(uow, last_end):
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


def purge_mails(uow, cutoff):
    table = orm.mail_outbox
    return uow.execute(delete(table).where(or_(table.c.sent_at < cutoff,
                                               and_(table.c.sent_at.is_(None), table.c.created_at < cutoff)))).rowcount
