"""Messages to the service (issue #12): a family writes to Affaires Scolaires or Petite Enfance, the agents of that
service answer, an agent closes the conversation. Plain rules over plain values; no framework here.

States of a conversation:
- ``open``: the family wrote and the service has not answered yet;
- ``answered``: the service answered last (the family may write again);
- ``awaiting``: the family wrote again after an answer (the service has to answer again);
- ``closed``: an agent closed it; it takes no more replies (the family writes a new message instead).
"""
import re
import unicodedata
from dataclasses import dataclass

from espace_common.errors import Conflict, Forbidden, InvalidInput, NotFound

# The services a family writes to, each read by the agents holding the role of the same name (admin reads both).
SERVICES = {"affaires_scolaires": "Affaires Scolaires", "petite_enfance": "Petite Enfance"}
STATES = {"open": "Nouveau", "answered": "Répondu", "awaiting": "En attente de réponse", "closed": "Clos"}
# What the family sees of each state (its own point of view).
FAMILY_STATES = {"open": "Envoyé", "answered": "Réponse reçue", "awaiting": "Envoyé", "closed": "Clos"}
# States in which the service has to act: first in the agents' inbox.
TO_ANSWER = ("open", "awaiting")

MAX_SUBJECT = 200
MAX_BODY = 5000
MAX_REQUEST_ID = 80
MAX_ID = 36
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,80}$")  # printable ASCII, as the forms and Idempotency-Key send it

CONVERSATION_NOT_FOUND = ("conversation_not_found", "Cette conversation n'existe pas.")


@dataclass(frozen=True)
class NewConversation:
    service: str
    subject: str
    body: str
    child_id: str | None
    invoice_id: str | None


def _text(raw, code, label, most, multiline):
    """A stripped text of 1..most characters, or InvalidInput; longer is refused, never cut."""
    if not isinstance(raw, str):
        raise InvalidInput(code, f"{label} est obligatoire.")
    value = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not value:
        raise InvalidInput(code, f"{label} est obligatoire.")
    if len(value) > most:
        raise InvalidInput(code, f"{label} ne peut pas dépasser {most} caractères ({len(value)} reçus).")
    allowed = "\n\t" if multiline else ""
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in value):
        raise InvalidInput(code, f"{label} contient des caractères invalides.")
    return value


def parse_subject(raw):
    return _text(raw, "invalid_subject", "L'objet du message", MAX_SUBJECT, multiline=False)


def parse_body(raw):
    return _text(raw, "invalid_body", "Le message", MAX_BODY, multiline=True)


def parse_service(raw):
    if not isinstance(raw, str) or raw not in SERVICES:
        raise InvalidInput("invalid_service", "Choisissez le service : Affaires Scolaires ou Petite Enfance.")
    return raw


def optional_id(raw, code, label):
    """An opaque id (a UUID) or None; anything else is InvalidInput."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not UUID.match(raw):
        raise InvalidInput(code, f"{label} est invalide.")
    return raw.lower()


def is_id(raw):
    """Whether raw can be one of our ids at all (junk ids are simply not found)."""
    return isinstance(raw, str) and bool(UUID.match(raw))


def parse_request_id(raw):
    """The request id that makes a POST idempotent (a form's hidden field, the Idempotency-Key header), or None."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not REQUEST_ID.match(raw):
        raise InvalidInput("invalid_request_id", "L'identifiant de la demande (Idempotency-Key) doit compter de 1 "
                                                 "à 80 caractères ASCII visibles.")
    return raw


def parse_new_conversation(payload):
    if not isinstance(payload, dict):
        raise InvalidInput("invalid_body", "Le message est invalide.")
    return NewConversation(
        service=parse_service(payload.get("service")),
        subject=parse_subject(payload.get("subject")),
        body=parse_body(payload.get("body")),
        child_id=optional_id(payload.get("child_id"), "invalid_child", "L'enfant concerné"),
        invoice_id=optional_id(payload.get("invoice_id"), "invalid_invoice", "La facture concernée"),
    )


def parse_state_filter(raw):
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or raw not in STATES:
        raise InvalidInput("invalid_state", f"L'état doit valoir : {', '.join(STATES)}.")
    return raw


def services_of_roles(roles):
    """The services an agent with these roles reads: the roles of the same name; an administrator reads both."""
    roles = set(roles or [])
    if "admin" in roles:
        return list(SERVICES)
    return [s for s in SERVICES if s in roles]


def check_agent_may_read(service, services):
    """`services`: those the agent reads (services_of_roles); another service's conversation is refused."""
    if service not in services:
        raise Forbidden("not_your_service", f"Cette conversation est adressée au service {SERVICES[service]} : "
                                            "elle est réservée à ses agents.")


def check_family_may_read(conversation_family_id, family_id):
    if family_id is None or conversation_family_id != family_id:
        raise NotFound(*CONVERSATION_NOT_FOUND)


def check_open(state):
    if state == "closed":
        raise Conflict("conversation_closed", "Cette conversation est close : écrivez un nouveau message au service.")


def state_after(state, author_kind):
    """The state once the family ('family') or an agent ('agent') wrote in a conversation not closed."""
    check_open(state)
    if author_kind == "agent":
        return "answered"
    return "open" if state == "open" else "awaiting"


def sort_for_agents(conversations):
    """The inbox: unread first, then those to answer, then the others; newest activity first within each."""
    return sorted(conversations, key=lambda c: (not c["unread"], c["state"] not in TO_ANSWER,
                                                -_stamp(c["last_message_at"])))


def _stamp(iso):
    from datetime import datetime
    return datetime.fromisoformat(iso).timestamp()


def mail_subject_part(subject, most=120):
    """The subject inside a mail's subject line (the outbox keeps 200 characters): shortened with an ellipsis there
    only; the conversation keeps it whole."""
    return subject if len(subject) <= most else subject[:most - 1].rstrip() + "…"


def vocabulary():
    return {"services": dict(SERVICES), "states": dict(STATES), "family_states": dict(FAMILY_STATES),
            "max_subject": MAX_SUBJECT, "max_body": MAX_BODY}
