"""Use cases of sessions and tokens: who holds a token, ending one, a system's new secret.

Plain functions: they take a unit-of-work factory, the clock, the policy and
plain arguments; the entrypoints in service.py only delegate to them.
"""
from datetime import timedelta

from espace_common.errors import NotFound, Unauthenticated

from .. import domain, store

# Idle expiry needs the last use; written at most this often, to keep reads cheap.
TOUCH_INTERVAL = timedelta(seconds=60)

SESSION_EXPIRED = ("session_expired", "Votre session a expiré. Reconnectez-vous.")


def resolve_token(unit_of_work, clock, policy, token):
    """The principal holding a live token, with `valid_until`: the instant after which, unless used
    again, identity refuses it (its absolute expiry or its idle expiry, whichever comes first).

    A cache of principals (the gateway's) may trust the answer until then at most, and only
    while it hears the revocations (event credentials_revoked).
    """
    now = clock.now()
    digest = domain.token_digest(token or "")
    with unit_of_work(read_only=True) as uow:
        row = store.auth_token(uow, digest)
        subject = None
        if row is not None and row.revoked_at is None:
            token_policy = policy.token_policy(row.kind)
            if not domain.token_expired(row.created_at, row.last_seen_at, now, token_policy):
                subject = {"parent": store.account_by_id, "agent": store.agent_by_id,
                           "client": store.api_client}[row.subject_kind](uow, row.subject_id)
    if subject is None or (row.subject_kind != "parent" and not subject.active):
        raise Unauthenticated(*SESSION_EXPIRED)
    last_seen = row.last_seen_at
    if now - last_seen > TOUCH_INTERVAL:
        with unit_of_work() as uow:
            store.touch_auth_token(uow, digest, now)
            uow.commit()
        last_seen = now
    principal = principal_of(row.subject_kind, subject, row.kind)
    principal["valid_until"] = min(row.created_at + token_policy.absolute, last_seen + token_policy.idle).isoformat()
    return principal


def logout(unit_of_work, clock, token):
    """The token stops working at once, here and, through the event its revocation records, in every gateway.
    True when it was live (then an event follows), False when there was nothing to revoke."""
    with unit_of_work() as uow:
        revoked = store.revoke_auth_token(uow, domain.token_digest(token or ""), clock.now())
        uow.commit()
    return revoked


def rotate_api_client_secret(unit_of_work, clock, passwords, client_id, new_secret):
    """Give a system a new secret (shown once by the caller); its old secret and tokens stop at once."""
    secret_hash = passwords.hash(new_secret)
    with unit_of_work() as uow:
        if not store.set_api_client_secret(uow, client_id or "", secret_hash, clock.now()):
            raise NotFound("client_not_found", "Ce client API n'existe pas.")
        uow.commit()
    return {"client_id": client_id, "client_secret": new_secret}


def principal_of(subject_kind, subject, token_kind):
    """What the gateway knows of the caller: kind, id, rights and which kind of token it came with."""
    if subject_kind == "parent":
        return {"kind": "parent", "id": subject.id, "username": subject.username, "family_id": subject.family_id,
                "email": subject.email,  # where childcare tells a parent promoted from its waiting list
                "email_confirmed": subject.email_confirmed, "roles": [], "scopes": [], "token_kind": token_kind}
    if subject_kind == "agent":
        return {"kind": "agent", "id": subject.id, "username": subject.username, "family_id": None,
                "roles": list(subject.roles), "scopes": [], "token_kind": token_kind}
    return {"kind": "client", "id": subject.client_id, "username": subject.name, "family_id": None,
            "roles": [], "scopes": list(subject.scopes), "token_kind": token_kind}
