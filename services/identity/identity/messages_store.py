"""Reading and writing the conversations' tables inside a unit of work (messages to the service, issue #12)."""
from sqlalchemy import delete, func, insert, select, update

from espace_common.db import insert_ignoring_duplicates, new_id

from . import orm

C, M, R = orm.conversations, orm.messages, orm.message_attachment_reads
MOST_LISTED = 200


def account(uow, account_id):
    """The parent's account with the representative's name, or None."""
    a, r = orm.accounts, orm.representatives
    return uow.execute(select(a.c.id, a.c.family_id, r.c.first_name, r.c.last_name)
                       .join(r, r.c.id == a.c.representative_id).where(a.c.id == account_id)).first()


def agent(uow, agent_id):
    return uow.execute(select(orm.agents.c.id, orm.agents.c.username, orm.agents.c.roles, orm.agents.c.active)
                       .where(orm.agents.c.id == agent_id)).first()


def child_of_family(uow, family_id, child_id):
    """The child's name when it belongs to the family, else None."""
    k, fc = orm.children, orm.family_children
    return uow.execute(select(k.c.first_name, k.c.last_name).join(fc, fc.c.child_id == k.c.id)
                       .where(fc.c.family_id == family_id, k.c.id == child_id)).first()


def message_by_request(uow, author_kind, author_id, request_id):
    if not request_id:
        return None
    return uow.execute(select(M).where(M.c.author_kind == author_kind, M.c.author_id == author_id,
                                       M.c.request_id == request_id)).first()


def add_conversation(uow, family_id, command, now):
    conversation_id = new_id()
    uow.execute(insert(C).values(id=conversation_id, family_id=family_id, service=command.service,
                                 subject=command.subject, child_id=command.child_id, invoice_id=command.invoice_id,
                                 state="open", created_at=now, last_message_at=now, family_read_at=now))
    return conversation_id


def add_message(uow, conversation_id, author_kind, author_id, author_name, body, now, request_id, attachment):
    """Insert a message; False when this author already sent this request id (the database settles the race)."""
    values = {"id": new_id(), "conversation_id": conversation_id, "author_kind": author_kind, "author_id": author_id,
              "author_name": author_name[:200], "body": body, "at": now, "request_id": request_id,
              "attachment_name": None, "attachment_type": None, "attachment_path": None, "attachment_size": None}
    if attachment is not None:
        values.update(attachment_name=attachment["name"], attachment_type=attachment["media_type"],
                      attachment_path=attachment["path"], attachment_size=attachment["size"])
    return insert_ignoring_duplicates(uow.connection, M, [values]) == 1


def conversation(uow, conversation_id):
    return uow.execute(select(C).where(C.c.id == conversation_id)).first()


def set_state(uow, conversation_id, expected_state, state, now, reader_column):
    """Move the conversation on after a message, only from the state it was read in (a concurrent close wins)."""
    values = {"state": state, "last_message_at": now, reader_column: now}
    result = uow.execute(update(C).where(C.c.id == conversation_id, C.c.state == expected_state).values(**values))
    return result.rowcount == 1


def close(uow, conversation_id, agent_id, now):
    result = uow.execute(update(C).where(C.c.id == conversation_id, C.c.state != "closed")
                         .values(state="closed", closed_at=now, closed_by=agent_id, agent_read_at=now))
    return result.rowcount == 1


def mark_read(uow, conversation_id, column, now):
    uow.execute(update(C).where(C.c.id == conversation_id).values(**{column: now}))


def messages_of(uow, conversation_id):
    return uow.execute(select(M).where(M.c.conversation_id == conversation_id).order_by(M.c.at, M.c.id)).all()


def message(uow, message_id):
    return uow.execute(select(M, C.c.family_id, C.c.service).join(C, C.c.id == M.c.conversation_id)
                       .where(M.c.id == message_id)).first()


def record_attachment_read(uow, message_id, reader, now):
    uow.execute(insert(R).values(message_id=message_id, reader=reader[:80], read_at=now))


def attachment_reads(uow, message_id):
    return uow.execute(select(R).where(R.c.message_id == message_id).order_by(R.c.read_at, R.c.id)).all()


def list_conversations(uow, family_id=None, services=None, state=None):
    """Conversations of a family or of services, newest activity first, with the number of messages, the family's
    dossier and the child's name."""
    count = select(func.count()).select_from(M).where(M.c.conversation_id == C.c.id).scalar_subquery()
    k = orm.children
    query = (select(C, count.label("message_count"), orm.families.c.dossier, k.c.first_name.label("child_first_name"))
             .join(orm.families, orm.families.c.id == C.c.family_id)
             .outerjoin(k, k.c.id == C.c.child_id))
    if family_id is not None:
        query = query.where(C.c.family_id == family_id)
    if services is not None:
        query = query.where(C.c.service.in_(list(services)))
    if state is not None:
        query = query.where(C.c.state == state)
    return uow.execute(query.order_by(C.c.last_message_at.desc(), C.c.id).limit(MOST_LISTED)).all()


def confirmed_emails(uow, family_id):
    """The confirmed addresses of the family's accounts, the first representative's first, without repeats."""
    a, r = orm.accounts, orm.representatives
    rows = uow.execute(select(a.c.email).join(r, r.c.id == a.c.representative_id)
                       .where(a.c.family_id == family_id, a.c.email_confirmed.is_(True))
                       .order_by(r.c.position)).all()
    seen, emails = set(), []
    for (email,) in rows:
        if email.casefold() not in seen:
            seen.add(email.casefold())
            emails.append(email)
    return emails


def family_dossier(uow, family_id):
    return uow.execute(select(orm.families.c.dossier).where(orm.families.c.id == family_id)).scalar()


def closed_before(uow, limit):
    return uow.execute(select(C.c.id).where(C.c.state == "closed", C.c.closed_at < limit)).scalars().all()


def delete_conversations(uow, conversation_ids):
    """Delete conversations with their messages and attachment reads; the stored files' paths, to delete after
    commit."""
    if not conversation_ids:
        return [], 0
    ids = list(conversation_ids)
    message_ids = select(M.c.id).where(M.c.conversation_id.in_(ids))
    paths = uow.execute(select(M.c.attachment_path).where(M.c.conversation_id.in_(ids),
                                                          M.c.attachment_path.is_not(None))).scalars().all()
    uow.execute(delete(R).where(R.c.message_id.in_(message_ids)))
    removed = uow.execute(delete(M).where(M.c.conversation_id.in_(ids))).rowcount
    uow.execute(delete(C).where(C.c.id.in_(ids)))
    return list(paths), removed


def family_export(uow, family_id):
    conversations = uow.execute(select(C).where(C.c.family_id == family_id).order_by(C.c.created_at)).all()
    ids = [c.id for c in conversations]
    rows = uow.execute(select(M).where(M.c.conversation_id.in_(ids)).order_by(M.c.at, M.c.id)).all() if ids else []
    return conversations, rows

