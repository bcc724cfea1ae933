"""Reading and writing the health records and their reads inside a unit of work (issue #12)."""
from sqlalchemy import delete, exists, insert, select, update

from espace_common.db import insert_ignoring_duplicates

from . import orm
from .domain_health import HealthRecord


def child(uow, child_id):
    return uow.execute(select(orm.children).where(orm.children.c.id == child_id)).first()


def family_has_child(uow, family_id, child_id):
    fc = orm.family_children.c
    return uow.execute(select(fc.child_id).where(fc.family_id == family_id, fc.child_id == child_id)).first() \
        is not None


def children_of_family(uow, family_id):
    fc = orm.family_children.c
    return uow.execute(select(orm.children).join(orm.family_children, fc.child_id == orm.children.c.id)
                       .where(fc.family_id == family_id).order_by(fc.position)).all()


def record_row(uow, child_id):
    return uow.execute(select(orm.health_records).where(orm.health_records.c.child_id == child_id)).first()


def record_of(row):
    if row is None:
        return None
    return HealthRecord(allergies=row.allergies, treatment=row.treatment, doctor_name=row.doctor_name,
                        doctor_phone=row.doctor_phone, vaccinations_up_to_date=row.vaccinations_up_to_date,
                        authorised_persons=tuple(row.authorised_persons or ()),
                        emergency_contacts=tuple(row.emergency_contacts or ()))


def records_of(uow, child_ids):
    if not child_ids:
        return {}
    rows = uow.execute(select(orm.health_records).where(orm.health_records.c.child_id.in_(list(child_ids)))).all()
    return {row.child_id: row for row in rows}


def save_record(uow, child_id, record, now, account_id):
    """Insert or replace the child's record; the database settles two representatives saving at once."""
    values = {"allergies": record.allergies, "treatment": record.treatment, "doctor_name": record.doctor_name,
              "doctor_phone": record.doctor_phone, "vaccinations_up_to_date": record.vaccinations_up_to_date,
              "authorised_persons": [dict(p) for p in record.authorised_persons],
              "emergency_contacts": [dict(p) for p in record.emergency_contacts],
              "updated_at": now, "updated_by": account_id}
    if not insert_ignoring_duplicates(uow.connection, orm.health_records, [{"child_id": child_id, **values}]):
        uow.execute(update(orm.health_records).where(orm.health_records.c.child_id == child_id).values(**values))


def account_name(uow, account_id):
    """'First Last' of the representative behind an account, or ''."""
    row = uow.execute(select(orm.representatives.c.first_name, orm.representatives.c.last_name)
                      .join(orm.accounts, orm.accounts.c.representative_id == orm.representatives.c.id)
                      .where(orm.accounts.c.id == account_id)).first()
    return f"{row.first_name} {row.last_name}" if row else ""


def add_read(uow, child_id, agent, role, granted, now):
    uow.execute(insert(orm.health_record_reads).values(
        child_id=child_id, agent_id=agent.id, agent_username=agent.username, role=role or "", granted=granted, at=now))


def reads_of(uow, child_id, limit=50):
    r = orm.health_record_reads.c
    return uow.execute(select(orm.health_record_reads).where(r.child_id == child_id)
                       .order_by(r.at.desc(), r.id.desc()).limit(limit)).all()


def purge_reads_before(uow, cutoff):
    r = orm.health_record_reads.c
    return uow.execute(delete(orm.health_record_reads).where(r.at < cutoff)).rowcount


def purge_records(uow, cutoff):
    """Records not updated since cutoff, and records of children no family holds any more."""
    h, fc = orm.health_records.c, orm.family_children.c
    orphan = ~exists().where(fc.child_id == h.child_id)
    stale = [row.child_id for row in uow.execute(select(h.child_id).where((h.updated_at < cutoff) | orphan)).all()]
    if stale:
        uow.execute(delete(orm.health_records).where(h.child_id.in_(stale)))
    return stale
