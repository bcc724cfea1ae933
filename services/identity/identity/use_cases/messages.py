"""Messages to the service (issue #12): a family writes to Affaires Scolaires or Petite Enfance about a child or an
invoice, the agents of that service answer, both sides are told by e-mail, an agent closes the conversation.

Each use case takes `unit_of_work` (a factory of units of work), `clock`, `settings` (MessageSettings), `files`
(an espace_common.documents.DocumentStore for the attachments) and plain arguments; the caller is a viewer:
(kind, id) with kind "parent" (id: the account) or "agent" (id: the agent). Identity finds the family of an
account and the roles of an agent itself: the gateway passes who is calling, never which family or service
they may see.

Mails leave in the transaction of the message that causes them (uow.send_mail): to the service's mailbox for a
family's message (the subject and a link to the agents' page, nothing else), to the family's confirmed addresses
for an agent's answer or closing (a link to the conversation, never the body).
"""
import base64
from dataclasses import dataclass

from espace_common import documents
from espace_common.errors import Forbidden, NotFound

from .. import domain_messages as rules
from .. import messages_store as store

DEFAULT_MAILBOXES = {"affaires_scolaires": "affaires-scolaires@mairie-donges.fr",
                     "petite_enfance": "petite-enfance@mairie-donges.fr"}
SIGNATURE = """
--
Espace Famille - Ville de Donges
Ce message est envoyé automatiquement, merci de ne pas y répondre."""


@dataclass(frozen=True)
class MessageSettings:
    public_url: str
    mailboxes: dict

    @classmethod
    def from_config(cls, config):
        return cls(public_url=str(config.get("PUBLIC_URL") or "http://localhost:8000").rstrip("/"),
                   mailboxes={"affaires_scolaires": str(config.get("MESSAGES_AFFAIRES_SCOLAIRES_EMAIL")
                                                        or DEFAULT_MAILBOXES["affaires_scolaires"]),
                              "petite_enfance": str(config.get("MESSAGES_PETITE_ENFANCE_EMAIL")
                                                    or DEFAULT_MAILBOXES["petite_enfance"])})

    def agent_link(self, conversation_id):
        return f"{self.public_url}/agents/messages/{conversation_id}"

    def family_link(self, conversation_id):
        return f"{self.public_url}/mon-espace/messages/{conversation_id}"


def files_from_config(config):
    return documents.DocumentStore(f"{config.get('IDENTITY_FILES_DIR') or 'var/identity-files'}/messages")


# --- Who is calling ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Viewer:
    kind: str  # "parent" or "agent"
    id: str
    name: str
    family_id: str | None = None
    services: tuple = ()

    @property
    def author_kind(self):
        return "family" if self.kind == "parent" else "agent"

    @property
    def reader(self):
        return f"{self.kind}:{self.id}"


def _viewer(uow, kind, viewer_id):
    """The caller as identity knows them; an unknown account or agent (or a junk id) is refused."""
    if kind == "parent" and rules.is_id(viewer_id):
        row = store.account(uow, viewer_id)
        if row is not None:
            return Viewer("parent", row.id, f"{row.first_name} {row.last_name}", family_id=row.family_id)
    if kind == "agent" and rules.is_id(viewer_id):
        row = store.agent(uow, viewer_id)
        if row is not None and row.active:
            services = tuple(rules.services_of_roles(row.roles))
            if services:
                return Viewer("agent", row.id, row.username, services=services)
    raise Forbidden("not_allowed", "Seuls les familles et les agents des services peuvent lire les messages.")


def _readable(uow, viewer, conversation_id):
    """The conversation when the viewer may read it: another family's is NotFound, another service's Forbidden."""
    row = store.conversation(uow, conversation_id) if rules.is_id(conversation_id) else None
    if row is None:
        raise NotFound(*rules.CONVERSATION_NOT_FOUND)
    if viewer.kind == "parent":
        rules.check_family_may_read(row.family_id, viewer.family_id)
    else:
        rules.check_agent_may_read(row.service, viewer.services)
    return row


# --- Attachments -----------------------------------------------------------------------------------------------

def _saved_attachment(files, document):
    """The document checked as the absences' justifications are (PDF, JPEG, PNG; 5 MB), then stored; or None."""
    if document is None:
        return None
    checked = documents.inspect(document)
    path = files.save(checked.content, checked.suffix)
    return {"name": checked.name, "media_type": checked.media_type, "path": path, "size": len(checked.content)}


# --- Mails -----------------------------------------------------------------------------------------------------------

def _mail_service(uow, settings, row, subject, first):
    label = rules.SERVICES[row.service]
    what = "nouveau message" if first else "nouvelle réponse d'une famille"
    uow.send_mail(settings.mailboxes[row.service],
                  f"Espace Famille : {what} « {rules.mail_subject_part(subject)} »",
                  f"""Bonjour,

Une famille a écrit au service {label} sur l'Espace Famille.
Objet : {rules.mail_subject_part(subject, 200)}

Pour lire le message et y répondre (connexion agent) :
{settings.agent_link(row.id)}
{SIGNATURE}""")


def _mail_family(uow, settings, row, closed):
    label = rules.SERVICES[row.service]
    if closed:
        subject = f"Votre conversation avec le service {label} est close"
        text = (f"Le service {label} a clos votre conversation « {rules.mail_subject_part(row.subject, 200)} ».\n"
                "Pour la relire, ou écrire un nouveau message :")
    else:
        subject = f"Le service {label} a répondu à votre message"
        text = (f"Le service {label} a répondu à votre message « {rules.mail_subject_part(row.subject, 200)} ».\n"
                "Pour lire la réponse (connexion à votre Espace Famille) :")
    for email in store.confirmed_emails(uow, row.family_id):
        uow.send_mail(email, subject, f"Bonjour,\n\n{text}\n{settings.family_link(row.id)}\n{SIGNATURE}")


# --- Use cases ---------------------------------------------------------------------------------------------------

def start_conversation(unit_of_work, clock, settings, files, account_id, payload, document=None, request_id=None):
    """A parent writes to a service: a new conversation with its first message (and attachment); the service's
    mailbox is told. The same request id sent again by the same parent answers the first conversation."""
    command = rules.parse_new_conversation(payload)
    request_id = rules.parse_request_id(request_id)
    with unit_of_work(read_only=True) as uow:
        viewer = _viewer(uow, "parent", account_id)
        earlier = store.message_by_request(uow, "family", viewer.id, request_id)
        if earlier is not None:
            return _detail(uow, viewer, store.conversation(uow, earlier.conversation_id))
        if command.child_id and store.child_of_family(uow, viewer.family_id, command.child_id) is None:
            raise NotFound("child_not_found", "Cet enfant n'existe pas.")
    attachment = _saved_attachment(files, document)
    try:
        now = clock.now()
        with unit_of_work() as uow:
            conversation_id = store.add_conversation(uow, viewer.family_id, command, now)
            if not store.add_message(uow, conversation_id, "family", viewer.id, viewer.name, command.body, now,
                                     request_id, attachment):
                raise _Repeated()
            row = store.conversation(uow, conversation_id)
            _mail_service(uow, settings, row, command.subject, first=True)
            answer = _detail(uow, viewer, row)
            uow.commit()
            attachment = None  # kept: it belongs to the message now
            return answer
    except _Repeated:
        with unit_of_work(read_only=True) as uow:
            earlier = store.message_by_request(uow, "family", viewer.id, request_id)
            return _detail(uow, viewer, store.conversation(uow, earlier.conversation_id))
    finally:
        if attachment is not None:
            files.delete(attachment["path"])


class _Repeated(Exception):
    """The same request id came twice at once: the other one wrote it."""


def reply(unit_of_work, clock, settings, files, viewer_kind, viewer_id, conversation_id, body, document=None,
          request_id=None):
    """The family or an agent of the service writes in a conversation not closed; the other side is told."""
    body = rules.parse_body(body)
    request_id = rules.parse_request_id(request_id)
    with unit_of_work(read_only=True) as uow:
        viewer = _viewer(uow, viewer_kind, viewer_id)
        row = _readable(uow, viewer, conversation_id)
        earlier = store.message_by_request(uow, viewer.author_kind, viewer.id, request_id)
        if earlier is not None and earlier.conversation_id == row.id:
            return _detail(uow, viewer, row)
        rules.check_open(row.state)
    attachment = _saved_attachment(files, document)
    try:
        now = clock.now()
        with unit_of_work() as uow:
            row = store.conversation(uow, row.id)
            state = rules.state_after(row.state, viewer.author_kind)
            if not store.add_message(uow, row.id, viewer.author_kind, viewer.id, viewer.name, body, now, request_id,
                                     attachment):
                raise _Repeated()
            reader_column = "family_read_at" if viewer.kind == "parent" else "agent_read_at"
            if not store.set_state(uow, row.id, row.state, state, now, reader_column):
                rules.check_open("closed")  # closed meanwhile
            if viewer.kind == "parent":
                _mail_service(uow, settings, row, row.subject, first=False)
            else:
                _mail_family(uow, settings, row, closed=False)
            answer = _detail(uow, viewer, store.conversation(uow, row.id))
            uow.commit()
            attachment = None
            return answer
    except _Repeated:
        with unit_of_work(read_only=True) as uow:
            return _detail(uow, viewer, store.conversation(uow, row.id))
    finally:
        if attachment is not None:
            files.delete(attachment["path"])


def close(unit_of_work, clock, settings, agent_id, conversation_id):
    """An agent of the service closes the conversation; the family is told. Closing a closed one changes nothing."""
    now = clock.now()
    with unit_of_work() as uow:
        viewer = _viewer(uow, "agent", agent_id)
        row = _readable(uow, viewer, conversation_id)
        if store.close(uow, row.id, viewer.id, now):
            _mail_family(uow, settings, row, closed=True)
        answer = _detail(uow, viewer, store.conversation(uow, row.id))
        uow.commit()
    return answer


def conversation(unit_of_work, clock, viewer_kind, viewer_id, conversation_id):
    """One conversation with its messages, for its family or an agent of its service; opening it marks it read for
    that side."""
    with unit_of_work(read_only=True) as uow:
        viewer = _viewer(uow, viewer_kind, viewer_id)
        row = _readable(uow, viewer, conversation_id)
        answer = _detail(uow, viewer, row)
    if answer["unread"]:  # a write only when something was new for this side
        with unit_of_work() as uow:
            store.mark_read(uow, row.id, "family_read_at" if viewer.kind == "parent" else "agent_read_at",
                            clock.now())
            uow.commit()
    return answer


def conversations(unit_of_work, viewer_kind, viewer_id, state=None, family_id=None):
    """A parent's family's conversations (newest activity first), or an agent's inbox over the services of their
    roles (unread first, then those to answer); `state` filters, `family_id` narrows an agent's to one family."""
    state = rules.parse_state_filter(state)
    with unit_of_work(read_only=True) as uow:
        viewer = _viewer(uow, viewer_kind, viewer_id)
        if viewer.kind == "parent":
            rows = store.list_conversations(uow, family_id=viewer.family_id, state=state)
            return [_summary(viewer, r) for r in rows]
        if family_id is not None and not rules.is_id(family_id):
            return []
        rows = store.list_conversations(uow, family_id=family_id, services=viewer.services, state=state)
        return rules.sort_for_agents([_summary(viewer, r) for r in rows])


def attachment(unit_of_work, clock, files, viewer_kind, viewer_id, message_id):
    """A message's attachment, for the family or an agent of the service; every read is recorded (reader, when)."""
    with unit_of_work(read_only=True) as uow:
        viewer = _viewer(uow, viewer_kind, viewer_id)
        row = store.message(uow, message_id) if rules.is_id(message_id) else None
        if row is None or row.attachment_path is None:
            raise NotFound("attachment_not_found", "Cette pièce jointe n'existe pas.")
        _readable(uow, viewer, row.conversation_id)
    content = files.read(row.attachment_path)
    with unit_of_work() as uow:
        store.record_attachment_read(uow, row.id, viewer.reader, clock.now())
        uow.commit()
    return {"name": row.attachment_name, "media_type": row.attachment_type,
            "content_base64": base64.b64encode(content).decode("ascii")}


def attachment_reads(unit_of_work, message_id):
    """Who read a message's attachment, and when (for the data protection officer)."""
    if not rules.is_id(message_id):
        raise NotFound("attachment_not_found", "Cette pièce jointe n'existe pas.")
    with unit_of_work(read_only=True) as uow:
        return [{"reader": r.reader, "read_at": r.read_at.isoformat()} for r in store.attachment_reads(uow, message_id)]


def vocabulary():
    return dict(rules.vocabulary(), attachment={"max_bytes": documents.MAX_BYTES,
                                                "media_types": list(documents.MEDIA_TYPES)})


# --- Answers -------------------------------------------------------------------------------------------------------

def _iso(value):
    return value.isoformat() if value is not None else None


def _unread(viewer, row):
    if viewer.kind == "parent":
        seen = row.family_read_at
        changed = row.closed_at if row.state == "closed" else (row.last_message_at if row.state == "answered" else None)
    else:
        seen = row.agent_read_at
        changed = row.last_message_at if row.state in rules.TO_ANSWER else None
    return changed is not None and (seen is None or seen < changed)


def _common(viewer, row):
    states = rules.FAMILY_STATES if viewer.kind == "parent" else rules.STATES
    return {"id": row.id, "service": row.service, "service_label": rules.SERVICES[row.service],
            "subject": row.subject, "child_id": row.child_id, "invoice_id": row.invoice_id, "state": row.state,
            "state_label": states[row.state], "created_at": _iso(row.created_at),
            "last_message_at": _iso(row.last_message_at), "closed_at": _iso(row.closed_at),
            "unread": _unread(viewer, row), "family_id": row.family_id}


def _summary(viewer, row):
    data = _common(viewer, row)
    data.update(message_count=row.message_count, child_first_name=row.child_first_name)
    if viewer.kind == "agent":
        data["dossier"] = row.dossier
    return data


def _detail(uow, viewer, row):
    data = _common(viewer, row)
    child = store.child_of_family(uow, row.family_id, row.child_id) if row.child_id else None
    data["child_first_name"] = child.first_name if child else None
    data["may_reply"] = row.state != "closed"
    data["may_close"] = viewer.kind == "agent" and row.state != "closed"
    if viewer.kind == "agent":
        data["dossier"] = store.family_dossier(uow, row.family_id)
    data["messages"] = [_message(viewer, m, row.service) for m in store.messages_of(uow, row.id)]
    return data


def _message(viewer, m, service):
    # A family sees "the service" answering, not which agent: the agents' names stay inside the town hall.
    name = m.author_name if (viewer.kind == "agent" or m.author_kind == "family") else \
        f"Service {rules.SERVICES[service]}"
    return {"id": m.id, "author_kind": m.author_kind, "author_name": name, "body": m.body, "at": _iso(m.at),
            "mine": m.author_kind == viewer.author_kind and m.author_id == viewer.id,
            "attachment": ({"name": m.attachment_name, "media_type": m.attachment_type, "size": m.attachment_size}
                           if m.attachment_path else None)}


# --- Hooks for the family's data (GDPR) ------------------------------------------------------------------------------

def export_family(uow, family_id):
    """Everything the family wrote and was answered, for the family's export: conversations with their messages and
    the attachments' names (not their content)."""
    conversations_, messages_ = store.family_export(uow, family_id)
    by_conversation = {}
    for m in messages_:
        by_conversation.setdefault(m.conversation_id, []).append({
            "author": "famille" if m.author_kind == "family" else "service", "author_name":
                m.author_name if m.author_kind == "family" else None,
            "body": m.body, "at": _iso(m.at),
            "attachment": ({"name": m.attachment_name, "media_type": m.attachment_type, "size": m.attachment_size}
                           if m.attachment_path else None)})
    return {"conversations": [{
        "id": c.id, "service": c.service, "service_label": rules.SERVICES.get(c.service, c.service),
        "subject": c.subject, "child_id": c.child_id, "invoice_id": c.invoice_id, "state": c.state,
        "created_at": _iso(c.created_at), "closed_at": _iso(c.closed_at),
        "messages": by_conversation.get(c.id, [])} for c in conversations_]}


def purge_expired(uow, now, retention):
    """Delete the conversations closed for longer than `retention` (a timedelta), their messages and the records
    of their attachments' reads; answers {conversations, messages, files}: `files` are the stored attachments'
    paths, for the caller to delete once the unit of work committed (purge_closed_conversations does it)."""
    ids = store.closed_before(uow, now - retention)
    paths, removed = store.delete_conversations(uow, ids)
    return {"conversations": len(ids), "messages": removed, "files": paths}


def purge_closed_conversations(unit_of_work, clock, files, retention):
    """purge_expired in its own unit of work, then the attachments' files."""
    with unit_of_work() as uow:
        outcome = purge_expired(uow, clock.now(), retention)
        uow.commit()
    for path in outcome["files"]:
        files.delete(path)
    return {"conversations": outcome["conversations"], "messages": outcome["messages"],
            "files": len(outcome["files"])}

