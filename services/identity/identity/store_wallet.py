"""The document wallet's SQL (issue #12): SQLAlchemy Core inside a unit of work, nothing else."""
from sqlalchemy import and_, delete, insert, select, update

from espace_common.db import insert_ignoring_duplicates

from . import orm

docs = orm.wallet_documents


def add_document(uow, row):
    uow.execute(insert(docs).values(**row))


def supersede(uow, family_id, kind, statuses, now, keep_id):
    """The family's older documents of a kind in these statuses are replaced by `keep_id`."""
    uow.execute(update(docs).where(docs.c.family_id == family_id, docs.c.kind == kind, docs.c.status.in_(statuses),
                                   docs.c.id != keep_id)
                .values(status="superseded", superseded_at=now))


def document(uow, document_id):
    if not isinstance(document_id, str) or len(document_id) > 36:
        return None
    return uow.execute(select(docs).where(docs.c.id == document_id)).first()


def family_documents(uow, family_id, with_superseded=False):
    query = select(docs).where(docs.c.family_id == family_id)
    if not with_superseded:
        query = query.where(docs.c.status != "superseded")
    return uow.execute(query.order_by(docs.c.uploaded_at.desc(), docs.c.id)).all()


def documents_with_status(uow, status, limit=200):
    """Documents in a stored status, oldest first, with the family's dossier and first representative's name."""
    reps = orm.representatives
    query = (select(docs, orm.families.c.dossier, reps.c.first_name, reps.c.last_name)
             .join(orm.families, orm.families.c.id == docs.c.family_id)
             .outerjoin(reps, and_(reps.c.family_id == docs.c.family_id, reps.c.position == 0))
             .where(docs.c.status == status).order_by(docs.c.uploaded_at, docs.c.id).limit(limit))
    return uow.execute(query).all()


def decide(uow, document_id, status, reason, agent, now):
    """True when the document was still pending (the first decision wins)."""
    return uow.execute(update(docs).where(docs.c.id == document_id, docs.c.status == "pending")
                       .values(status=status, reason=reason, decided_by=agent[:80], decided_at=now)).rowcount == 1


def record_read(uow, document_id, reader, now):
    uow.execute(insert(orm.wallet_document_reads).values(document_id=document_id, reader=reader[:80], read_at=now))


def reads(uow, document_ids):
    if not document_ids:
        return []
    r = orm.wallet_document_reads
    return uow.execute(select(r).where(r.c.document_id.in_(list(document_ids))).order_by(r.c.id)).all()


def expiring_documents(uow, first_day, last_day):
    """Accepted, current documents whose validity ends between these days."""
    return uow.execute(select(docs).where(docs.c.status == "accepted", docs.c.valid_until >= first_day,
                                          docs.c.valid_until <= last_day).order_by(docs.c.valid_until, docs.c.id)).all()


def claim_reminder(uow, document_id, kind, now):
    """True the first time a reminder of this kind is written for this document (a unique key, never twice)."""
    return insert_ignoring_duplicates(uow.connection, orm.wallet_reminders,
                                      [{"document_id": document_id, "kind": kind, "sent_at": now}]) == 1


def reminder_addresses(uow, family_id):
    """Where a family is written to: each representative's confirmed account e-mail, else the registered one."""
    reps, accounts = orm.representatives, orm.accounts
    rows = uow.execute(select(reps.c.email, accounts.c.email.label("account_email"), accounts.c.email_confirmed)
                       .outerjoin(accounts, accounts.c.representative_id == reps.c.id)
                       .where(reps.c.family_id == family_id).order_by(reps.c.position)).all()
    seen, emails = set(), []
    for row in rows:
        email = row.account_email if row.account_email and row.email_confirmed else row.email
        if email and email.casefold() not in seen:
            seen.add(email.casefold())
            emails.append(email)
    return emails


def all_documents(uow):
    return uow.execute(select(docs).order_by(docs.c.id)).all()


def delete_documents(uow, document_ids):
    ids = list(document_ids)
    if not ids:
        return
    uow.execute(delete(orm.wallet_document_reads).where(orm.wallet_document_reads.c.document_id.in_(ids)))
    uow.execute(delete(orm.wallet_reminders).where(orm.wallet_reminders.c.document_id.in_(ids)))
    uow.execute(delete(docs).where(docs.c.id.in_(ids)))
