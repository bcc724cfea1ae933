"""Messages to the service (issue #12): identity's conversations between a family and Affaires Scolaires or Petite
Enfance, as JSON.

A parent reads and writes their own family's conversations (another family's is 404); an agent reads those of the
services of their roles (another service's is 403) and answers and closes them. Who may see what is identity's
decision: the gateway passes who is calling (kind and id), never a family or a service. Each POST may carry an
`Idempotency-Key` header: the same key sent again by the same caller posts once.
"""
from flask import g, jsonify, request

from ..auth import api_auth, current_principal
from ..services import services
from ..web.messages import attachment_response
from . import bp
from .validation import body

MESSAGE_AGENTS = ("affaires_scolaires", "petite_enfance")


def identity(method, *args):
    return services().call("identity", method, *args)


def caller():
    principal = current_principal()
    return principal["kind"], principal["id"]


def idempotency_key():
    """The Idempotency-Key header as sent (identity refuses one that is not 1-80 visible ASCII characters)."""
    return request.headers.get("Idempotency-Key") or None


@bp.get("/messages")
@api_auth(kinds=("parent", "agent"), roles=MESSAGE_AGENTS)
def list_messages():
    """The family's conversations, or the agent's inbox (unread first); ?state=open|answered|awaiting|closed."""
    return jsonify({"conversations": identity("conversations", *caller(), request.args.get("state") or None)})


@bp.post("/messages")
@api_auth(kinds=("parent",))
def start_conversation():
    """A parent writes to a service; 201 with the conversation (the same Idempotency-Key answers the first one)."""
    conversation = identity("start_conversation", current_principal()["id"], body(), None, idempotency_key())
    response = jsonify(conversation)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/messages/{conversation['id']}"
    return response


@bp.get("/messages/<conversation_id>")
@api_auth(kinds=("parent", "agent"), roles=MESSAGE_AGENTS)
def conversation(conversation_id):
    """One conversation with its messages (opening it marks it read for the caller's side)."""
    return jsonify(identity("conversation", *caller(), conversation_id[:40]))


@bp.post("/messages/<conversation_id>/replies")
@api_auth(kinds=("parent", "agent"), roles=MESSAGE_AGENTS)
def reply(conversation_id):
    """The family or an agent of the service answers; 201 with the conversation; 409 once it is closed."""
    answer = identity("reply_to_conversation", *caller(), conversation_id[:40], body()["body"], None,
                      idempotency_key())
    g.acted_family_id = answer["family_id"]  # an agent's answer: the agents' journal names the family
    response = jsonify(answer)
    response.status_code = 201
    return response


@bp.post("/messages/<conversation_id>/close")
@api_auth(kinds=("agent",), roles=MESSAGE_AGENTS)
def close(conversation_id):
    """An agent of the service closes the conversation; closing a closed one changes nothing."""
    closed = identity("close_conversation", current_principal()["id"], conversation_id[:40])
    g.acted_family_id = closed["family_id"]
    return jsonify(closed)


@bp.get("/message-attachments/<message_id>")
@api_auth(kinds=("parent", "agent"), roles=MESSAGE_AGENTS)
def attachment(message_id):
    """A message's attachment, for the family or an agent of the service; every read is recorded."""
    document = identity("message_attachment", *caller(), message_id[:40])
    return attachment_response(document, message_id)
