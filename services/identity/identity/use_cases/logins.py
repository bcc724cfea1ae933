"""Parents, agents and other systems log in; identity hands out a session or bearer token.

`describe(subject_kind, subject, token_kind)` gives the principal the caller receives (the service's
`_principal`, which the token resolution shares)."""
from espace_common.errors import InvalidInput, Unauthenticated

from .. import domain, store
from . import throttles

TOKEN_KINDS = ("web", "api")


def login(db, clock, policy, passwords, describe, username, password, client_ip="", kind="web"):
    """Answers the same, in the same time, whether the identifier exists or not.

    The identifier is locked after LOGIN_MAX_FAILURES; the address only after the far looser IP_MAX_FAILURES."""
    if kind not in TOKEN_KINDS:
        raise InvalidInput("invalid_kind", "Type de session inconnu.")
    now = clock.now()
    username = username if isinstance(username, str) else ""
    password = password if isinstance(password, str) else ""
    identifier, address = domain.login_subject(username), domain.address_subject("login", client_ip)
    throttles.check(db, [identifier, address], now)
    with db.unit_of_work(read_only=True) as uow:
        account = store.account_by_username(uow, username)
        agent = None if account else store.agent_by_username(uow, username)
    subject = account or (agent if agent is not None and agent.active else None)
    if subject is None:
        passwords.burn(password)
        matches, needs_rehash = False, False
    else:
        matches, needs_rehash = passwords.verify(subject.password_hash, password)
    if not matches:
        throttles.count_failures(db, [(identifier, policy.login_throttle), (address, policy.ip_throttle)], now,
                                 account_id=account.id if account else None, client_ip=client_ip)
        raise Unauthenticated(*domain.BAD_CREDENTIALS)
    subject_kind = "parent" if account else "agent"
    token = domain.new_secret_token()
    rehashed = passwords.hash(password) if needs_rehash else None
    with db.unit_of_work() as uow:
        if rehashed:
            (store.set_account_password if account else store.set_agent_hash)(uow, subject.id, rehashed)
        store.clear_throttle(uow, identifier)
        store.add_auth_token(uow, domain.token_digest(token), kind, subject_kind, subject.id, now, client_ip)
        store.audit(uow, "login_ok", now, account_id=account.id if account else None,
                    agent_id=None if account else subject.id, client_ip=client_ip)
        uow.commit()
    return {"token": token, "token_type": "Bearer",
            "expires_in": int(policy.token_policy(kind).absolute.total_seconds()),
            "principal": describe(subject_kind, subject, kind)}


def client_login(db, clock, policy, passwords, describe, client_id, client_secret, client_ip=""):
    """Client credentials of another municipal system; the token carries its scopes."""
    now = clock.now()
    client_id = client_id if isinstance(client_id, str) else ""
    client_secret = client_secret if isinstance(client_secret, str) else ""
    identifier, address = domain.client_subject(client_id), domain.address_subject("login", client_ip)
    throttles.check(db, [identifier, address], now)
    with db.unit_of_work(read_only=True) as uow:
        client = store.api_client(uow, client_id)
    if client is None or not client.active:
        passwords.burn(client_secret)
        matches = False
    else:
        matches, _ = passwords.verify(client.secret_hash, client_secret)
    if not matches:
        throttles.count_failures(db, [(identifier, policy.login_throttle), (address, policy.ip_throttle)], now)
        raise Unauthenticated("invalid_client", "Identifiants du client API incorrects.")
    token = domain.new_secret_token()
    with db.unit_of_work() as uow:
        store.add_auth_token(uow, domain.token_digest(token), "api", "client", client.client_id, now, client_ip)
        uow.commit()
    return {"token": token, "token_type": "Bearer",
            "expires_in": int(policy.token_policy("api").absolute.total_seconds()),
            "principal": describe("client", client, "api")}
