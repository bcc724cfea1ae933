"""Reading and writing the identity tables inside a unit of work."""
from sqlalchemy import delete, func, insert, intersect, select, update

from espace_common.db import insert_ignoring_duplicates, new_id
from espace_common.events import credentials_revoked

from . import domain, orm
from .domain import Family, ThrottleState, fold


def next_counter(uow, name):
    """Take the next number of a named sequence; the row lock settles concurrent callers.

    The sequence's first use creates its row at 0 with an insert that ignores a duplicate, then moves it like
    any other: two first uses at once (two replicas on a fresh database) both get a number, never a duplicate key."""
    take = (update(orm.counters).where(orm.counters.c.name == name)
            .values(value=orm.counters.c.value + 1).returning(orm.counters.c.value))
    row = uow.execute(take).first()
    if row is None:
        insert_ignoring_duplicates(uow.connection, orm.counters, [{"name": name, "value": 0}])
        row = uow.execute(take).first()
    return row.value


def family_by_request(uow, request_id):
    row = uow.execute(select(orm.families.c.id).where(orm.families.c.request_id == request_id)).first()
    return load_family(uow, row.id) if row else None


def add_family(uow, command, dossier, now):
    family_id = new_id()
    uow.execute(insert(orm.families).values(id=family_id, dossier=dossier, request_id=command.request_id, created_at=now))
    for position, rep in enumerate(command.representatives):
        address = rep.address
        uow.execute(insert(orm.representatives).values(
            id=new_id(), family_id=family_id, position=position,
            first_name=rep.first_name, last_name=rep.last_name, email=rep.email, phone=rep.phone,
            address_line1=address.line1 if address else "", address_line2=address.line2 if address else "",
            postal_code=address.postal_code if address else "", city=address.city if address else "",
            caf_number=rep.caf_number,
        ))
    for position, kid in enumerate(command.children):
        child_id = new_id()
        uow.execute(insert(orm.children).values(
            id=child_id, first_name=kid.first_name, last_name=kid.last_name, birth_date=kid.birth_date))
        uow.execute(insert(orm.family_children).values(family_id=family_id, child_id=child_id, position=position))
    return refresh_search_text(uow, family_id)


def refresh_search_text(uow, family_id):
    """Recompute what the agents' search matches for a family (its rows of family_search_terms); returns it."""
    family = load_family(uow, family_id)
    terms = domain.search_terms(family.dossier, family.representatives + family.children)
    uow.execute(delete(orm.family_search_terms).where(orm.family_search_terms.c.family_id == family_id))
    if terms:
        uow.execute(insert(orm.family_search_terms), [{"term": t, "family_id": family_id} for t in terms])
    return family


def family_emails(uow, family_id):
    """Every address the family's mails may have gone to: its representatives' and its accounts' (confirmed or
    waiting for their link), without repeats."""
    reps = uow.execute(select(orm.representatives.c.email).where(orm.representatives.c.family_id == family_id)).all()
    accounts = uow.execute(select(orm.accounts.c.email).where(orm.accounts.c.family_id == family_id)).all()
    pending = uow.execute(select(orm.link_tokens.c.email).join(orm.accounts, orm.accounts.c.id == orm.link_tokens.c.account_id)
                          .where(orm.accounts.c.family_id == family_id, orm.link_tokens.c.email.is_not(None))).all()
    seen, emails = set(), []
    for (email,) in reps + accounts + pending:
        if email and email.casefold() not in seen:
            seen.add(email.casefold())
            emails.append(email)
    return emails


def load_family(uow, family_id):
    row = uow.execute(select(orm.families).where(orm.families.c.id == family_id)).first()
    if row is None:
        return None
    reps = uow.execute(
        select(orm.representatives).where(orm.representatives.c.family_id == family_id)
        .order_by(orm.representatives.c.position)).all()
    kids = uow.execute(
        select(orm.children).join(orm.family_children, orm.family_children.c.child_id == orm.children.c.id)
        .where(orm.family_children.c.family_id == family_id).order_by(orm.family_children.c.position)).all()
    return Family(
        id=row.id, dossier=row.dossier,
        representatives=[{
            "id": r.id, "first_name": r.first_name, "last_name": r.last_name, "email": r.email, "phone": r.phone,
            "address": {"line1": r.address_line1, "line2": r.address_line2, "postal_code": r.postal_code, "city": r.city},
            "caf_number": r.caf_number,
        } for r in reps],
        children=[{"id": k.id, "first_name": k.first_name, "last_name": k.last_name,
                   "birth_date": k.birth_date.isoformat()} for k in kids],
    )


def agent_by_username(uow, username):
    return uow.execute(select(orm.agents).where(orm.agents.c.username_folded == fold(username))).first()


def save_agent(uow, username, password_hash, roles, now):
    """Create the agent, or reset the password and roles of an existing one and end its sessions."""
    existing = agent_by_username(uow, username)
    if existing:
        uow.execute(update(orm.agents).where(orm.agents.c.id == existing.id).values(
            username=username, password_hash=password_hash, roles=list(roles), active=True))
        # New credentials or roles: a session opened with the old ones must not keep the old rights,
        # here nor in any gateway's cache (the event).
        revoke_tokens_of(uow, "agent", existing.id, now)
        return existing.id
    agent_id = new_id()
    uow.execute(insert(orm.agents).values(
        id=agent_id, username=username, username_folded=fold(username), password_hash=password_hash,
        roles=list(roles), active=True, created_at=now))
    return agent_id


def set_agent_hash(uow, agent_id, password_hash):
    uow.execute(update(orm.agents).where(orm.agents.c.id == agent_id).values(password_hash=password_hash))


# --- Keys -----------------------------------------------------------------------

def representative(uow, representative_id):
    return uow.execute(select(orm.representatives).where(orm.representatives.c.id == representative_id)).first()


def revoke_keys_of(uow, representative_id, now):
    uow.execute(update(orm.activation_keys).where(
        orm.activation_keys.c.representative_id == representative_id,
        orm.activation_keys.c.used_at.is_(None), orm.activation_keys.c.revoked_at.is_(None),
    ).values(revoked_at=now, letter=None))


def add_key(uow, representative_id, digest, now, expires_at, agent_id, letter):
    key_id = new_id()
    uow.execute(insert(orm.activation_keys).values(
        id=key_id, representative_id=representative_id, key_digest=digest, issued_at=now, issued_by=agent_id,
        expires_at=expires_at, letter=letter))
    return key_id


def key_by_digest(uow, digest):
    return uow.execute(select(orm.activation_keys).where(orm.activation_keys.c.key_digest == digest)).first()


def current_key(uow, representative_id):
    return uow.execute(select(orm.activation_keys).where(
        orm.activation_keys.c.representative_id == representative_id,
        orm.activation_keys.c.revoked_at.is_(None),
    ).order_by(orm.activation_keys.c.issued_at.desc()).limit(1)).first()


def consume_key(uow, key_id, now):
    """Mark the key used unless someone else did first or it lapsed meanwhile; True when it was ours."""
    result = uow.execute(update(orm.activation_keys).where(
        orm.activation_keys.c.id == key_id, orm.activation_keys.c.used_at.is_(None),
        orm.activation_keys.c.revoked_at.is_(None), orm.activation_keys.c.expires_at > now,
    ).values(used_at=now, letter=None))
    return result.rowcount == 1


def purge_lapsed_letters(uow, now):
    result = uow.execute(update(orm.activation_keys).where(
        orm.activation_keys.c.letter.is_not(None), orm.activation_keys.c.expires_at <= now).values(letter=None))
    return result.rowcount


# --- Accounts --------------------------------------------------------------------

def account_by_id(uow, account_id):
    return uow.execute(select(orm.accounts).where(orm.accounts.c.id == account_id)).first()


def account_by_username(uow, username):
    return uow.execute(select(orm.accounts).where(orm.accounts.c.username_folded == fold(username))).first()


def accounts_by_email(uow, email):
    return uow.execute(select(orm.accounts).where(orm.accounts.c.email_folded == email.strip().casefold())).all()


def account_of_representative(uow, representative_id):
    return uow.execute(select(orm.accounts).where(orm.accounts.c.representative_id == representative_id)).first()


def username_taken(uow, username):
    folded = fold(username)
    return bool(uow.execute(select(orm.accounts.c.id).where(orm.accounts.c.username_folded == folded)).first()
                or uow.execute(select(orm.agents.c.id).where(orm.agents.c.username_folded == folded)).first())


def add_account(uow, rep, username, email, password_hash, now):
    account_id = new_id()
    uow.execute(insert(orm.accounts).values(
        id=account_id, representative_id=rep.id, family_id=rep.family_id, username=username,
        username_folded=fold(username), email=email, email_folded=email.casefold(), email_confirmed=False,
        password_hash=password_hash, created_at=now))
    uow.execute(update(orm.representatives).where(orm.representatives.c.id == rep.id).values(email=email))
    refresh_search_text(uow, rep.family_id)
    return account_id


def set_account_password(uow, account_id, password_hash):
    uow.execute(update(orm.accounts).where(orm.accounts.c.id == account_id).values(password_hash=password_hash))


def set_account_email(uow, account, email, confirmed):
    uow.execute(update(orm.accounts).where(orm.accounts.c.id == account.id).values(
        email=email, email_folded=email.casefold(), email_confirmed=confirmed))
    uow.execute(update(orm.representatives).where(orm.representatives.c.id == account.representative_id)
                .values(email=email))
    refresh_search_text(uow, account.family_id)


def update_representative_contact(uow, representative_id, values):
    if values:
        uow.execute(update(orm.representatives).where(orm.representatives.c.id == representative_id).values(**values))
        if "phone" in values:
            refresh_search_text(uow, representative(uow, representative_id).family_id)


# --- Tokens ------------------------------------------------------------------------

def add_auth_token(uow, digest, kind, subject_kind, subject_id, now, client_ip):
    uow.execute(insert(orm.auth_tokens).values(
        digest=digest, kind=kind, subject_kind=subject_kind, subject_id=subject_id, created_at=now,
        last_seen_at=now, client_ip=client_ip or ""))


def auth_token(uow, digest):
    return uow.execute(select(orm.auth_tokens).where(orm.auth_tokens.c.digest == digest)).first()


def touch_auth_token(uow, digest, now):
    uow.execute(update(orm.auth_tokens).where(orm.auth_tokens.c.digest == digest).values(last_seen_at=now))


def revoke_auth_token(uow, digest, now):
    """Revoke one token; the gateways hear it (credentials_revoked) once the transaction commits.
    True when a token was live (not yet revoked)."""
    result = uow.execute(update(orm.auth_tokens).where(
        orm.auth_tokens.c.digest == digest, orm.auth_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    if result.rowcount:
        uow.record(credentials_revoked(token_digest=digest))
    return bool(result.rowcount)


def revoke_tokens_of(uow, subject_kind, subject_id, now, except_digest=None):
    """Revoke every token of a subject but one; the gateways forget them all (the kept one is asked again)."""
    condition = [orm.auth_tokens.c.subject_kind == subject_kind, orm.auth_tokens.c.subject_id == subject_id,
                 orm.auth_tokens.c.revoked_at.is_(None)]
    if except_digest:
        condition.append(orm.auth_tokens.c.digest != except_digest)
    result = uow.execute(update(orm.auth_tokens).where(*condition).values(revoked_at=now))
    if result.rowcount:
        uow.record(credentials_revoked(subject_kind, subject_id))


def add_link_token(uow, digest, purpose, account_id, now, expires_at, email=None):
    uow.execute(insert(orm.link_tokens).values(
        digest=digest, purpose=purpose, account_id=account_id, email=email, created_at=now, expires_at=expires_at))


def link_token(uow, digest, purpose):
    return uow.execute(select(orm.link_tokens).where(
        orm.link_tokens.c.digest == digest, orm.link_tokens.c.purpose == purpose)).first()


def use_link_token(uow, digest, now):
    """Mark the link used; False when it was used meanwhile (two clicks at once)."""
    result = uow.execute(update(orm.link_tokens).where(
        orm.link_tokens.c.digest == digest, orm.link_tokens.c.used_at.is_(None), orm.link_tokens.c.expires_at > now,
    ).values(used_at=now))
    return result.rowcount == 1


def pending_email(uow, account, now):
    """A new address waiting for its confirmation link, if any."""
    row = uow.execute(select(orm.link_tokens.c.email).where(
        orm.link_tokens.c.account_id == account.id, orm.link_tokens.c.purpose == "confirm_email",
        orm.link_tokens.c.used_at.is_(None), orm.link_tokens.c.expires_at > now,
        orm.link_tokens.c.email != account.email).order_by(orm.link_tokens.c.created_at.desc()).limit(1)).first()
    return row.email if row else None


def retire_link_tokens(uow, account_id, purpose, now):
    uow.execute(update(orm.link_tokens).where(
        orm.link_tokens.c.account_id == account_id, orm.link_tokens.c.purpose == purpose,
        orm.link_tokens.c.used_at.is_(None)).values(used_at=now))


# --- Throttles and audit ---------------------------------------------------------

def throttle_state(uow, subject):
    row = uow.execute(select(orm.throttles).where(orm.throttles.c.subject == subject)).first()
    if row is None:
        return ThrottleState()
    return ThrottleState(row.failures, row.window_start, row.locked_until)


def save_throttle(uow, subject, state):
    values = {"failures": state.failures, "window_start": state.window_start, "locked_until": state.locked_until}
    if uow.execute(update(orm.throttles).where(orm.throttles.c.subject == subject).values(**values)).rowcount == 0:
        uow.execute(insert(orm.throttles).values(subject=subject, **values))


def clear_throttle(uow, subject):
    uow.execute(delete(orm.throttles).where(orm.throttles.c.subject == subject))


def audit(uow, kind, now, account_id=None, agent_id=None, client_ip="", detail=""):
    uow.execute(insert(orm.audit_events).values(
        account_id=account_id, agent_id=agent_id, kind=kind, at=now, client_ip=client_ip or "", detail=detail[:300]))


def latest_audit_of_kind(uow, account_id, kind, limit):
    table = orm.audit_events
    return uow.execute(select(table).where(table.c.account_id == account_id, table.c.kind == kind)
                       .order_by(table.c.id.desc()).limit(limit)).all()


def recent_audit(uow, account_id, limit):
    return uow.execute(select(orm.audit_events).where(orm.audit_events.c.account_id == account_id)
                       .order_by(orm.audit_events.c.id.desc()).limit(limit)).all()


# --- The agents' journal -------------------------------------------------------------

def add_agent_action(uow, action):
    """Record an action once: False when its id was already recorded."""
    if uow.execute(select(orm.agent_actions.c.id).where(orm.agent_actions.c.id == action["id"])).first():
        return False
    uow.execute(insert(orm.agent_actions).values(**action))
    return True


def agent_ids_named(uow, username):
    """The agents whose identifier contains the text (case and accents ignored)."""
    escaped = fold(username).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [r.id for r in uow.execute(select(orm.agents.c.id).where(
        orm.agents.c.username_folded.like(f"%{escaped}%", escape="\\")))]


def agent_journal(uow, filters, page_size):
    """(rows of the page, newest first, with the agent's identifier and the family's dossier; total count)."""
    actions = orm.agent_actions.c
    conditions = []
    if "family_id" in filters:
        conditions.append(actions.family_id == filters["family_id"])
    if "dossier" in filters:
        conditions.append(actions.family_id.in_(
            select(orm.families.c.id).where(orm.families.c.dossier == filters["dossier"].zfill(6))))
    if "agent" in filters:
        conditions.append(actions.agent_id.in_(agent_ids_named(uow, filters["agent"])))
    if "from" in filters:
        conditions.append(actions.at >= filters["from"])
    if "to" in filters:
        conditions.append(actions.at < filters["to"])
    total = uow.execute(select(func.count()).select_from(orm.agent_actions).where(*conditions)).scalar()
    rows = uow.execute(
        select(orm.agent_actions, orm.agents.c.username, orm.families.c.dossier)
        .outerjoin(orm.agents, orm.agents.c.id == actions.agent_id)
        .outerjoin(orm.families, orm.families.c.id == actions.family_id)
        .where(*conditions).order_by(actions.at.desc(), actions.id)
        .limit(page_size).offset((filters["page"] - 1) * page_size)).all()
    return rows, total


# --- API clients and agents' search -----------------------------------------------

def add_api_client(uow, client_id, name, secret_hash, scopes, now):
    uow.execute(insert(orm.api_clients).values(
        client_id=client_id, name=name, secret_hash=secret_hash, scopes=list(scopes), active=True, created_at=now))


def set_api_client_secret(uow, client_id, secret_hash, now):
    """A new secret for a system; the tokens it got with the old one end (here and in every gateway).
    False when there is no such client."""
    result = uow.execute(update(orm.api_clients).where(orm.api_clients.c.client_id == client_id)
                         .values(secret_hash=secret_hash))
    if not result.rowcount:
        return False
    revoke_tokens_of(uow, "client", client_id, now)
    return True


def api_client(uow, client_id):
    return uow.execute(select(orm.api_clients).where(orm.api_clients.c.client_id == client_id)).first()


def agent_by_id(uow, agent_id):
    return uow.execute(select(orm.agents).where(orm.agents.c.id == agent_id)).first()


def search_families(uow, query, limit=50):
    """Families with a term beginning with each word of the query (case and accents ignored), by dossier.

    Each word is a range on the indexed term (a prefix): no family is read that does not match."""
    words = domain.search_words(query)
    if not words:
        return []
    terms = orm.family_search_terms.c
    matches = [select(terms.family_id).where(terms.term >= word, terms.term < _after_prefix(word)) for word in words]
    matching = intersect(*matches).subquery() if len(matches) > 1 else matches[0].subquery()
    rows = uow.execute(select(orm.families.c.id).where(orm.families.c.id.in_(select(matching.c.family_id)))
                       .order_by(orm.families.c.dossier).limit(limit)).all()
    return [load_family(uow, row.id) for row in rows]


def _after_prefix(word):
    """The first string after every string that begins with word."""
    return word[:-1] + chr(ord(word[-1]) + 1)


def link_child(uow, family_id, child_id):
    position = uow.execute(select(func.count()).select_from(orm.family_children)
                           .where(orm.family_children.c.family_id == family_id)).scalar()
    uow.execute(insert(orm.family_children).values(family_id=family_id, child_id=child_id, position=position))


# --- Billing contacts ------------------------------------------------------------------------------------

def billing_contacts(uow, family_ids):
    """{family_id: {dossier, payer, emails}} in three queries, whatever the number of families."""
    if not family_ids:
        return {}
    reps, accounts = orm.representatives, orm.accounts
    dossiers = dict(uow.execute(select(orm.families.c.id, orm.families.c.dossier)
                                .where(orm.families.c.id.in_(family_ids))).all())
    answer = {}
    for rep in uow.execute(select(reps).where(reps.c.family_id.in_(list(dossiers)))
                           .order_by(reps.c.family_id, reps.c.position)):
        if rep.family_id not in answer:
            answer[rep.family_id] = {
                "family_id": rep.family_id, "dossier": dossiers[rep.family_id],
                "payer": {"representative_id": rep.id, "first_name": rep.first_name, "last_name": rep.last_name,
                          "address": {"line1": rep.address_line1, "line2": rep.address_line2,
                                      "postal_code": rep.postal_code, "city": rep.city}},
                "emails": []}
    confirmed = uow.execute(
        select(accounts.c.family_id, accounts.c.email, reps.c.position)
        .join(reps, reps.c.id == accounts.c.representative_id)
        .where(accounts.c.family_id.in_(list(answer)), accounts.c.email_confirmed.is_(True))
        .order_by(accounts.c.family_id, reps.c.position)).all()
    for row in confirmed:
        emails = answer[row.family_id]["emails"]
        if row.email.casefold() not in {e.casefold() for e in emails}:
            emails.append(row.email)
    return answer
