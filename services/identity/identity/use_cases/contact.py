"""A parent keeps their contact details current and sees what happened to their account."""
from espace_common.errors import NotFound

from .. import domain, mails, store
from .accounts import me


def change_contact(db, clock, policy, account_id, changes, client_ip=""):
    """Phone and address change at once; a new e-mail waits for the link sent to it."""
    now = clock.now()
    values, new_email = domain.parse_contact_changes(changes)
    with db.unit_of_work() as uow:
        account = store.account_by_id(uow, account_id)
        if account is None:
            raise NotFound("account_not_found", "Ce compte n'existe pas.")
        store.update_representative_contact(uow, account.representative_id, values)
        to_confirm, tell_current = domain.address_to_confirm(account.email, account.email_confirmed, new_email)
        if to_confirm:
            _mail_confirmation_link(uow, policy, account, to_confirm, now)
        if tell_current:
            uow.send_mail(account.email, *mails.email_change_notice(account.username, new_email))
        changed = sorted(values) + (["email"] if new_email else [])
        if changed:
            store.audit(uow, "contact_changed", now, account_id=account.id, client_ip=client_ip,
                        detail=", ".join(changed))
        uow.commit()
    result = me(db, clock, account_id)
    result["pending_email"] = result["account"]["pending_email"]
    return result


def _mail_confirmation_link(uow, policy, account, email, now):
    """A fresh link to confirm `email`, replacing any earlier one."""
    token = domain.new_secret_token()
    store.retire_link_tokens(uow, account.id, "confirm_email", now)
    store.add_link_token(uow, domain.token_digest(token), "confirm_email", account.id, now, now + policy.email_link,
                         email)
    uow.send_mail(email, *mails.confirm_new_email(account.username, policy.link("confirmer-email", token)))


def recent_events(db, account_id, limit=20):
    """The account's latest audit events, newest first, with their French label."""
    limit = domain.audit_limit(limit)
    with db.unit_of_work(read_only=True) as uow:
        rows = store.recent_audit(uow, account_id, limit)
    return [{"kind": r.kind, "label": domain.AUDIT_LABELS.get(r.kind, r.kind), "at": r.at.isoformat(),
             "client_ip": r.client_ip} for r in rows]
