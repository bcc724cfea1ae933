"""SQL of the family's export and the retention purge (issue #12): the family's rows, the old rows."""
from sqlalchemy import and_, delete, func, or_, select

from . import orm


def accounts_of_family(uow, family_id):
    return uow.execute(select(orm.accounts).where(orm.accounts.c.family_id == family_id)
                       .order_by(orm.accounts.c.created_at)).all()


def keys_of_family(uow, family_id):
    keys, reps = orm.activation_keys, orm.representatives
    return uow.execute(select(keys.c.representative_id, keys.c.issued_at, keys.c.expires_at, keys.c.used_at,
                              keys.c.revoked_at).join(reps, reps.c.id == keys.c.representative_id)
                       .where(reps.c.family_id == family_id).order_by(keys.c.issued_at)).all()


def audit_of_accounts(uow, account_ids):
    if not account_ids:
        return []
    table = orm.audit_events
    return uow.execute(select(table).where(table.c.account_id.in_(account_ids))
                       .order_by(table.c.at.desc(), table.c.id.desc())).all()


def sessions_of_accounts(uow, account_ids):
    if not account_ids:
        return []
    table = orm.auth_tokens
    return uow.execute(select(table.c.kind, table.c.subject_id, table.c.created_at, table.c.last_seen_at,
                              table.c.revoked_at, table.c.client_ip)
                       .where(table.c.subject_kind == "parent", table.c.subject_id.in_(account_ids))
                       .order_by(table.c.created_at.desc())).all()


def links_of_accounts(uow, account_ids):
    if not account_ids:
        return []
    table = orm.link_tokens
    return uow.execute(select(table.c.purpose, table.c.account_id, table.c.email, table.c.created_at,
                              table.c.expires_at, table.c.used_at)
                       .where(table.c.account_id.in_(account_ids)).order_by(table.c.created_at.desc())).all()


def journal_of_family(uow, family_id):
    table = orm.agent_actions
    return uow.execute(select(table.c.action, table.c.method, table.c.path, table.c.at)
                       .where(table.c.family_id == family_id).order_by(table.c.at.desc())).all()


# --- The purge: each deletes what is older than its cutoff and answers how many rows went -----------------------

def _last_logins():
    table = orm.audit_events
    return (select(table.c.account_id, func.max(table.c.id).label("last_id"))
            .where(table.c.kind == "login_ok", table.c.account_id.is_not(None)).group_by(table.c.account_id))


def purge_audit(uow, cutoff):
    """Events older than the cutoff, except each account's last login (it says when the account last served)."""
    table = orm.audit_events
    keep = select(_last_logins().subquery().c.last_id)
    return uow.execute(delete(table).where(table.c.at < cutoff, table.c.id.not_in(keep))).rowcount


def purge_sessions(uow, cutoff):
    tokens, links = orm.auth_tokens, orm.link_tokens
    count = uow.execute(delete(tokens).where(tokens.c.last_seen_at < cutoff)).rowcount
    count += uow.execute(delete(links).where(links.c.expires_at < cutoff)).rowcount
    return count


def purge_journal(uow, cutoff):
    table = orm.agent_actions
    return uow.execute(delete(table).where(table.c.at < cutoff)).rowcount


def purge_mails(uow, cutoff):
    """Mails sent before the cutoff, and mails never sent written before it (the relay gave up on them long ago)."""
    table = orm.mail_outbox
    return uow.execute(delete(table).where(or_(table.c.sent_at < cutoff,
                                               and_(table.c.sent_at.is_(None), table.c.created_at < cutoff)))).rowcount


def purge_lapsed_keys(uow, cutoff):
    table = orm.activation_keys
    return uow.execute(delete(table).where(table.c.used_at.is_(None), or_(
        table.c.revoked_at < cutoff, and_(table.c.revoked_at.is_(None), table.c.expires_at < cutoff)))).rowcount


def idle_accounts(uow, cutoff):
    """The accounts whose last login (or, never logged in, their creation) is older than the cutoff."""
    accounts, audit = orm.accounts, orm.audit_events
    last_login = (select(audit.c.account_id, func.max(audit.c.at).label("last_at"))
                  .where(audit.c.kind == "login_ok", audit.c.account_id.is_not(None))
                  .group_by(audit.c.account_id).subquery())
    rows = uow.execute(select(accounts.c.id, accounts.c.created_at, last_login.c.last_at)
                       .outerjoin(last_login, last_login.c.account_id == accounts.c.id)
                       .where(accounts.c.created_at < cutoff)).all()
    return [r.id for r in rows if (r.last_at or r.created_at) < cutoff]


def delete_accounts(uow, account_ids):
    """An account with its tokens, links, events and reminder choices; its representative and family stay."""
    if not account_ids:
        return 0
    uow.execute(delete(orm.reminders_sent).where(orm.reminders_sent.c.account_id.in_(account_ids)))
    uow.execute(delete(orm.reminder_preferences).where(orm.reminder_preferences.c.account_id.in_(account_ids)))
    uow.execute(delete(orm.link_tokens).where(orm.link_tokens.c.account_id.in_(account_ids)))
    uow.execute(delete(orm.auth_tokens).where(orm.auth_tokens.c.subject_kind == "parent",
                                              orm.auth_tokens.c.subject_id.in_(account_ids)))
    uow.execute(delete(orm.audit_events).where(orm.audit_events.c.account_id.in_(account_ids)))
    return uow.execute(delete(orm.accounts).where(orm.accounts.c.id.in_(account_ids))).rowcount
