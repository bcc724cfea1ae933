"""A parent creates their account with the mailed key, reads it, and confirms their e-mail address."""
from dataclasses import asdict

from espace_common.errors import Conflict, InvalidInput, NotFound

from .. import domain, mails, store
from . import throttles


def create_account(db, clock, policy, passwords, key, username, email, password, client_ip=""):
    """Create a parent's account with the mailed key; the key is consumed in the same transaction.

    A valid key is looked up before any throttle: a flood of wrong keys from a shared address (a town hall,
    a school) must not lock out the parents behind it. Only wrong keys count against the address."""
    now = clock.now()
    username = domain.check_username(username)
    email = domain.check_email(email)
    domain.check_password(password, username)
    normalised = domain.normalise_key(key)
    with db.unit_of_work(read_only=True) as uow:
        key_row = store.key_by_digest(uow, domain.key_digest(normalised)) if normalised else None
    if key_row is None:
        address = domain.address_subject("key", client_ip)
        throttles.check(db, [address], now)
        throttles.count_failures(db, [(address, policy.key_throttle)], now)
        raise InvalidInput(*domain.INVALID_KEY)
    refusal = domain.key_refusal(key_row, now)
    if refusal:
        raise refusal
    password_hash = passwords.hash(password)
    token = domain.new_secret_token()
    with db.unit_of_work() as uow:
        if store.username_taken(uow, username):
            raise Conflict("username_taken", "Cet identifiant est déjà pris : choisissez-en un autre.")
        if not store.consume_key(uow, key_row.id, now):
            raise Conflict("key_used", "Cette clé a déjà servi à créer un espace. Connectez-vous avec votre identifiant.")
        rep = store.representative(uow, key_row.representative_id)
        account_id = store.add_account(uow, rep, username, email, password_hash, now)
        store.add_link_token(uow, domain.token_digest(token), "confirm_email", account_id, now,
                             now + policy.email_link, email)
        store.audit(uow, "account_created", now, account_id=account_id, client_ip=client_ip)
        uow.send_mail(email, *mails.confirm_new_account(rep.first_name, username, policy.link("confirmer-email", token)))
        uow.commit()
    return me(db, clock, account_id)


def me(db, clock, account_id):
    """The account and its family, as the parent sees them."""
    with db.unit_of_work(read_only=True) as uow:
        account = store.account_by_id(uow, account_id)
        if account is None:
            raise NotFound("account_not_found", "Ce compte n'existe pas.")
        family = asdict(store.load_family(uow, account.family_id))
        pending = store.pending_email(uow, account, clock.now())
        # The dashboard tells the last logins (this session's, then the one before): no other call for them.
        logins = store.latest_audit_of_kind(uow, account.id, "login_ok", 2)
    return {"account": {"id": account.id, "username": account.username, "email": account.email,
                        "email_confirmed": account.email_confirmed, "representative_id": account.representative_id,
                        "pending_email": pending,
                        "last_logins": [{"at": r.at.isoformat(), "client_ip": r.client_ip} for r in logins]},
            "family": family}


def confirm_email(db, clock, token):
    """Follow the link of a confirmation mail: the address becomes the account's, confirmed.

    A malformed token (not ASCII, absurdly long, not a text) is an unknown link like any other."""
    now = clock.now()
    digest = domain.token_digest(token)
    with db.unit_of_work() as uow:
        link = store.link_token(uow, digest, "confirm_email")
        if link is None:
            raise NotFound("link_invalid", "Ce lien n'est pas valide.")
        if link.used_at is not None or link.expires_at <= now or not store.use_link_token(uow, digest, now):
            raise Conflict("link_expired", "Ce lien a déjà servi ou a expiré.")
        account = store.account_by_id(uow, link.account_id)
        store.set_account_email(uow, account, link.email, confirmed=True)
        store.audit(uow, "email_confirmed", now, account_id=account.id)
        uow.commit()
    return {"email": link.email}
