"""The SQL of reminders (issue #12) inside a unit of work: preferences, reminders sent, who to write to."""
from sqlalchemy import delete, select, update

from espace_common.db import insert_ignoring_duplicates

from . import orm


def preferences_of(uow, account_id):
    return uow.execute(select(orm.reminder_preferences).where(
        orm.reminder_preferences.c.account_id == account_id)).first()


def save_preferences(uow, account_id, canteen_deadline, invoice_due, now):
    """One row per account: inserted the first time, updated after (the account's row is the key)."""
    values = {"canteen_deadline": canteen_deadline, "invoice_due": invoice_due, "changed_at": now}
    inserted = insert_ignoring_duplicates(uow.connection, orm.reminder_preferences, [{"account_id": account_id,
                                                                                      **values}])
    if not inserted:
        uow.execute(update(orm.reminder_preferences)
                    .where(orm.reminder_preferences.c.account_id == account_id).values(**values))


def opted_in_accounts(uow, family_ids, kind):
    """The accounts of these families that asked for `kind`, with a confirmed e-mail and their first name."""
    if not family_ids:
        return []
    a, p, r = orm.accounts, orm.reminder_preferences, orm.representatives
    return uow.execute(
        select(a.c.id, a.c.family_id, a.c.email, r.c.first_name)
        .join(p, p.c.account_id == a.c.id).join(r, r.c.id == a.c.representative_id)
        .where(a.c.family_id.in_(list(family_ids)), p.c[kind].is_(True), a.c.email_confirmed.is_(True))
        .order_by(a.c.family_id, r.c.position)).all()


def still_wanted(uow, account_id, kind):
    """The account's confirmed address when it still asks for `kind` now (read in the transaction of the mail)."""
    a, p = orm.accounts, orm.reminder_preferences
    row = uow.execute(select(a.c.email).join(p, p.c.account_id == a.c.id).where(
        a.c.id == account_id, p.c[kind].is_(True), a.c.email_confirmed.is_(True))).first()
    return row.email if row else None


def record_sent(uow, account_id, family_id, kind, subject, recipient, detail, now):
    """True the first time (account, kind, subject) is recorded; False when another run or replica did."""
    return insert_ignoring_duplicates(uow.connection, orm.reminders_sent, [{
        "account_id": account_id, "family_id": family_id, "kind": kind, "subject": subject,
        "recipient": recipient, "detail": detail[:300], "sent_at": now}]) == 1


def family_accounts(uow, family_id):
    """Each account of the family with its representative and its reminder choices (none made: all off)."""
    a, p, r = orm.accounts, orm.reminder_preferences, orm.representatives
    return uow.execute(
        select(a.c.id, a.c.username, a.c.email, a.c.email_confirmed, a.c.representative_id, r.c.first_name,
               r.c.last_name, p.c.canteen_deadline, p.c.invoice_due, p.c.changed_at)
        .join(r, r.c.id == a.c.representative_id).outerjoin(p, p.c.account_id == a.c.id)
        .where(a.c.family_id == family_id).order_by(r.c.position)).all()


def sent_to_family(uow, family_id, limit=None):
    s = orm.reminders_sent
    query = select(s).where(s.c.family_id == family_id).order_by(s.c.sent_at.desc(), s.c.id.desc())
    return uow.execute(query.limit(limit) if limit else query).all()


def delete_sent_before(uow, before):
    return uow.execute(delete(orm.reminders_sent).where(orm.reminders_sent.c.sent_at < before)).rowcount


def delete_family(uow, family_id):
    accounts = select(orm.accounts.c.id).where(orm.accounts.c.family_id == family_id).scalar_subquery()
    sent = uow.execute(delete(orm.reminders_sent).where(orm.reminders_sent.c.family_id == family_id)).rowcount
    chosen = uow.execute(delete(orm.reminder_preferences)
                         .where(orm.reminder_preferences.c.account_id.in_(accounts))).rowcount
    return sent + chosen
