"""Messages to the service (issue #12): a parent's «Messages» pages under Mon espace, and the agents' inbox.

Identity owns the conversations and decides who may see which (the family's own; an agent's services by role):
the pages pass who is calling and render. Each form carries a request id (a hidden field made when the page is
drawn): the same form sent twice, a double click, posts once.
"""
import base64
import time
import uuid

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for

from espace_common.rpc_client import RemoteError, ServiceUnavailable

from ..auth import current_principal, parent_required, role_required
from ..errors import FormError, refusal
from ..schemas import form_problem
from ..services import services
from .helpers import render_form

bp = Blueprint("messages", __name__)
agent_bp = Blueprint("messages_agent", __name__, url_prefix="/agents/messages")

MESSAGE_ROLES = ("affaires_scolaires", "petite_enfance")
NEW_FIELDS = {("service",): ("service", "Service"), ("subject",): ("subject", "Objet"),
              ("body",): ("body", "Message"), ("child_id",): ("child_id", "Enfant concerné"),
              ("invoice_id",): ("invoice_id", "Facture concernée")}
REPLY_FIELDS = {("body",): ("body", "Message")}
VOCABULARY_SECONDS = 300


def identity(method, *args):
    return services().call("identity", method, *args)


def words():
    """identity's messages_vocabulary (services, states, limits), kept a few minutes like the other vocabularies."""
    kept = current_app.extensions.setdefault("vocabularies", {})
    asked_at, answer = kept.get("identity.messages", (None, None))
    now = time.monotonic()
    if asked_at is None or now - asked_at >= current_app.config.get("VOCABULARY_SECONDS", VOCABULARY_SECONDS):
        answer = identity("messages_vocabulary")
        kept["identity.messages"] = (now, answer)
    return answer


def caller():
    principal = current_principal()
    return principal["kind"], principal["id"]


def new_request_id():
    return str(uuid.uuid4())


def posted_request_id():
    value = request.form.get("request_id", "")
    return value if 0 < len(value) <= 80 and value.isascii() and value.isprintable() else None


def read_attachment(upload):
    """The uploaded file as identity's document argument (identity opens it with a real parser), a FormError when
    it is too large, None when no file was chosen."""
    if upload is None or not upload.filename:
        return None
    limit = words()["attachment"]["max_bytes"]
    content = upload.read(limit + 1)
    if len(content) > limit:
        return FormError(f"La pièce jointe ne doit pas dépasser {limit // (1024 * 1024)} Mo.", "document_too_large",
                         about="document")
    return {"name": upload.filename[:150], "content_base64": base64.b64encode(content).decode("ascii")}


def attachment_response(document, message_id):
    """A message's attachment as identity checked and stored it, never cached."""
    response = make_response(base64.b64decode(document["content_base64"]))
    response.headers["Content-Type"] = document["media_type"]
    suffix = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(document["media_type"], "")
    response.headers["Content-Disposition"] = f'inline; filename="piece-jointe-{message_id[:8]}{suffix}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def reply_form(conversation, endpoint, template, error=None, values=None):
    return render_form(template, error, conversation=conversation, values=values or {"body": ""},
                       request_id=posted_request_id() or new_request_id(), words=words(), endpoint=endpoint)


def post_reply(conversation_id, page):
    """The reply form of a conversation page, for the family or an agent; back to the page once written."""
    conversation_id = conversation_id[:40]
    values = {"body": request.form.get("body", "")}
    error = form_problem("MessageReply", values, REPLY_FIELDS.get)
    document = None
    if error is None:
        document = read_attachment(request.files.get("document"))
        if isinstance(document, FormError):
            error = document
    if error is None:
        try:
            answer = identity("reply_to_conversation", *caller(), conversation_id, values["body"], document,
                              posted_request_id())
        except RemoteError as exc:
            if exc.exc_type in ("NotFound", "Forbidden"):
                raise
            error = refusal(exc)
        else:
            g.acted_family_id = answer["family_id"]  # the agents' journal names the family
            flash("Votre message est envoyé.")
            return redirect(url_for(page, conversation_id=conversation_id, _anchor="dernier-message"), 303)
    conversation = identity("conversation", *caller(), conversation_id)
    template = "messages/conversation.html" if current_principal()["kind"] == "parent" else "messages/agent_conversation.html"
    return reply_form(conversation, page, template, error, values)


# --- A parent's pages ----------------------------------------------------------------------------------------------

@bp.get("/mon-espace/messages")
@parent_required
def inbox():
    """The family's conversations with the services, newest activity first."""
    return render_template("messages/list.html", conversations=identity("conversations", *caller()), words=words())


def new_page(error=None, values=None, request_id=None):
    """The new-message form: the family's children (identity) and invoices (billing, left out when it is down)."""
    me = identity("me", current_principal()["id"])
    try:
        invoices = services().call("billing", "family_invoices", current_principal()["family_id"])["invoices"]
    except ServiceUnavailable:
        invoices = []
    return render_form("messages/new.html", error, children=me["family"]["children"], invoices=invoices,
                       values=values or {"service": request.args.get("service", ""), "subject": "", "body": "",
                                         "child_id": "", "invoice_id": ""},
                       request_id=request_id or new_request_id(), words=words())


@bp.get("/mon-espace/messages/nouveau")
@parent_required
def new():
    return new_page()


@bp.post("/mon-espace/messages/nouveau")
@parent_required
def create():
    """Write to a service: the schema checks the fields, identity the child, the attachment and the rest."""
    form = request.form
    values = {name: form.get(name, "") for name in ("service", "subject", "body", "child_id", "invoice_id")}
    payload = {"service": values["service"], "subject": values["subject"].strip(), "body": values["body"]}
    for optional in ("child_id", "invoice_id"):
        if values[optional]:
            payload[optional] = values[optional]
    request_id = posted_request_id()
    error = form_problem("NewConversation", payload, NEW_FIELDS.get)
    document = None
    if error is None:
        document = read_attachment(request.files.get("document"))
        if isinstance(document, FormError):
            error = document
    if error is None:
        try:
            conversation = identity("start_conversation", current_principal()["id"], payload, document, request_id)
        except RemoteError as exc:
            error = refusal(exc)
        else:
            flash(f"Votre message est envoyé au service {conversation['service_label']}. Vous serez prévenu par "
                  "e-mail de sa réponse.")
            return redirect(url_for("messages.conversation", conversation_id=conversation["id"]), 303)
    return new_page(error, values, request_id)


@bp.get("/mon-espace/messages/<conversation_id>")
@parent_required
def conversation(conversation_id):
    """One conversation and the reply form (none once closed: the family writes a new message instead)."""
    found = identity("conversation", *caller(), conversation_id[:40])
    return reply_form(found, "messages.conversation", "messages/conversation.html")


@bp.post("/mon-espace/messages/<conversation_id>")
@parent_required
def reply(conversation_id):
    return post_reply(conversation_id, "messages.conversation")


@bp.get("/mon-espace/messages/pieces-jointes/<message_id>/fichier")
@parent_required
def attachment(message_id):
    """An attachment of the family's conversation (another family's is 404); the read is recorded."""
    return attachment_response(identity("message_attachment", *caller(), message_id[:40]), message_id)


# --- The agents' pages -----------------------------------------------------------------------------------------------

@agent_bp.get("/")
@role_required(*MESSAGE_ROLES)
def agent_inbox():
    """The conversations of the agent's services: unread first, then those to answer; ?etat= and ?famille= filter."""
    state = request.args.get("etat") or None
    family_id = request.args.get("famille") or None
    vocabulary = words()
    if state is not None and state not in vocabulary["states"]:
        abort(404)
    conversations = identity("conversations", *caller(), state, family_id[:40] if family_id else None)
    return render_template("messages/agent_list.html", conversations=conversations, words=vocabulary, state=state,
                           family_id=family_id)


@agent_bp.get("/<conversation_id>")
@role_required(*MESSAGE_ROLES)
def agent_conversation(conversation_id):
    found = identity("conversation", *caller(), conversation_id[:40])
    return reply_form(found, "messages_agent.agent_conversation", "messages/agent_conversation.html")


@agent_bp.post("/<conversation_id>")
@role_required(*MESSAGE_ROLES)
def agent_reply(conversation_id):
    return post_reply(conversation_id, "messages_agent.agent_conversation")


@agent_bp.post("/<conversation_id>/clore")
@role_required(*MESSAGE_ROLES)
def agent_close(conversation_id):
    """Close the conversation: the family is told by mail, and can no longer reply (it may write a new message)."""
    closed = identity("close_conversation", current_principal()["id"], conversation_id[:40])
    g.acted_family_id = closed["family_id"]  # the agents' journal names the family
    flash(f"La conversation « {closed['subject']} » est close ; la famille en est prévenue par e-mail.")
    return redirect(url_for("messages_agent.agent_conversation", conversation_id=closed["id"]), 303)


@agent_bp.get("/pieces-jointes/<message_id>/fichier")
@role_required(*MESSAGE_ROLES)
def agent_attachment(message_id):
    """An attachment, for an agent of the conversation's service; the read is recorded (GDPR)."""
    return attachment_response(identity("message_attachment", *caller(), message_id[:40]), message_id)
