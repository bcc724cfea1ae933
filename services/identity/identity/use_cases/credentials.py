"""A parent changes their password, or resets a forgotten one through a link mailed to them."""
from espace_common.errors import Conflict, Forbidden, NotFound

from .. import domain, mails, store
from . import throttles

LINK_EXPIRED = ("link_expired", "Ce lien a déjà servi ou a expiré : demandez-en un nouveau.")


def change_password(db, clock, passwords, account_id, current_password, new_password, client_ip="", keep_token=None):
    """Needs the current password; ends every other session of the account."""
    now = clock.now()
    with db.unit_of_work(read_only=True) as uow:
        account = store.account_by_id(uow, account_id)
    if account is None:
        raise NotFound("account_not_found", "Ce compte n'existe pas.")
    matches, _ = passwords.verify(account.password_hash, current_password if isinstance(current_password, str) else "")
    if not matches:
        raise Forbidden("wrong_password", "Le mot de passe actuel est incorrect.")
    domain.check_password(new_password, account.username)
    new_hash = passwords.hash(new_password)
    with db.unit_of_work() as uow:
        store.set_account_password(uow, account.id, new_hash)
        store.revoke_tokens_of(uow, "parent", account.id, now,
                               except_digest=domain.token_digest(keep_token) if keep_token else None)
        store.audit(uow, "password_changed", now, account_id=account.id, client_ip=client_ip)
        uow.send_mail(account.email, *mails.password_changed(account.username))
        uow.commit()


def request_password_reset(db, clock, policy, login, client_ip=""):
    """By identifier or e-mail; answers the same whether anything matched, or was mailed, or not.

    An account gets at most RESET_MAILS_PER_HOUR reset mails an hour, whoever asks; the address is limited
    (RESET_MAX_REQUESTS per window) only against floods."""
    now = clock.now()
    login = login.strip() if isinstance(login, str) else ""
    address = domain.address_subject("reset", client_ip)
    throttles.check(db, [address], now)
    with db.unit_of_work() as uow:
        for account in _accounts_of(uow, login):
            mail_subject = domain.reset_mail_subject(account.id)
            mailed = store.throttle_state(uow, mail_subject)
            if not domain.may_mail_reset(mailed, now):
                continue  # the links already mailed this hour still work
            token = domain.new_secret_token()
            store.retire_link_tokens(uow, account.id, "reset_password", now)
            store.add_link_token(uow, domain.token_digest(token), "reset_password", account.id, now,
                                 now + policy.reset_link)
            store.audit(uow, "reset_requested", now, account_id=account.id, client_ip=client_ip)
            uow.send_mail(account.email, *mails.password_reset(
                account.username, policy.link("mot-de-passe-oublie", token), policy.reset_link))
            store.save_throttle(uow, mail_subject, domain.count_attempt(mailed, policy.reset_mails, now))
        # Counted whether or not it matched, so that the answer reveals nothing.
        store.save_throttle(uow, address, domain.count_attempt(store.throttle_state(uow, address),
                                                               policy.reset_throttle, now))
        uow.commit()


def _accounts_of(uow, login):
    """The accounts a reset request names: by identifier, or every account of an e-mail address."""
    if not login or len(login) > domain.MAX_LENGTH["email"]:
        return []
    found = store.accounts_by_email(uow, login) if "@" in login else []
    if not found:  # identifiers may contain "@" too
        found = [store.account_by_username(uow, login)]
    return [account for account in found if account is not None]


def check_reset_token(db, clock, token):
    """Whether a reset link can still be used (the page asks before showing its form)."""
    _usable_reset_link(db, token, clock.now())
    return {"valid": True}


def confirm_password_reset(db, clock, passwords, token, password, client_ip=""):
    """Set the new password from a reset link, once, and end every session of the account."""
    now = clock.now()
    link = _usable_reset_link(db, token, now)
    with db.unit_of_work(read_only=True) as uow:
        account = store.account_by_id(uow, link.account_id)
    domain.check_password(password, account.username)
    new_hash = passwords.hash(password)
    with db.unit_of_work() as uow:
        if not store.use_link_token(uow, link.digest, now):
            raise Conflict(*LINK_EXPIRED)
        store.set_account_password(uow, account.id, new_hash)
        store.revoke_tokens_of(uow, "parent", account.id, now)
        store.clear_throttle(uow, domain.login_subject(account.username))
        store.audit(uow, "reset_used", now, account_id=account.id, client_ip=client_ip)
        uow.commit()


def _usable_reset_link(db, token, now):
    """The reset link of this token; a malformed token is an unknown link (NotFound), never an error."""
    with db.unit_of_work(read_only=True) as uow:
        link = store.link_token(uow, domain.token_digest(token), "reset_password")
    if link is None:
        raise NotFound("link_invalid", "Ce lien de réinitialisation n'est pas valide.")
    if link.used_at is not None or link.expires_at <= now:
        raise Conflict(*LINK_EXPIRED)
    return link
