"""The document wallet («porte-documents», issue #12): a parent's documents and the agents' review.

The family comes from the token, never from the request; identity checks the files (as the absences'
justifications), bounds each document's validity by its kind's rule and answers 404 for another family's.
"""
import base64

from flask import g, jsonify, request

from espace_common.errors import InvalidInput

from ..auth import api_auth, current_principal
from ..services import services
from ..web.canteen_common import justification_response
from . import bp
from .validation import body

WALLET_AGENTS = ("affaires_scolaires", "petite_enfance")


def identity(method, *args):
    return services().call("identity", method, *args)


def reader():
    principal = current_principal()
    return f"{'agent' if principal['kind'] == 'agent' else 'parent'}:{principal['id']}"


@bp.get("/me/documents")
@api_auth(kinds=("parent",))
def wallet_my_documents():
    """The family's current documents, where each required kind stands and whether the wallet is complete."""
    return jsonify(identity("family_documents", current_principal()["family_id"]))


@bp.post("/me/documents")
@api_auth(kinds=("parent",))
def wallet_upload_document():
    """A document (multipart: kind, valid_until, document), pending until an agent decides."""
    upload = request.files.get("document")
    if upload is None or not upload.filename:
        raise InvalidInput("invalid_document", "Joignez le fichier du document (champ « document »).")
    document = {"name": upload.filename[:150], "content_base64": base64.b64encode(upload.read()).decode("ascii")}
    answer = identity("upload_wallet_document", current_principal()["family_id"], reader(),
                      request.form.get("kind", "")[:40], request.form.get("valid_until", "")[:10], document)
    response = jsonify(answer)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/me/documents/{answer['id']}/file"
    return response


@bp.get("/me/documents/<document_id>/file")
@api_auth(kinds=("parent",))
def wallet_my_document_file(document_id):
    """The file of one of the family's documents (404 for another family's); each read is recorded."""
    document = identity("wallet_document_file", document_id[:40], current_principal()["family_id"], reader())
    return justification_response(document, document_id)


@bp.get("/documents")
@api_auth(kinds=("agent",), roles=WALLET_AGENTS)
def wallet_documents_to_review():
    """The town's documents in a status (pending by default), oldest first."""
    status = request.args.get("status") or "pending"
    if status not in ("pending", "accepted", "refused"):
        raise InvalidInput("invalid_query", "Le paramètre « status » vaut pending, accepted ou refused.")
    return jsonify({"documents": identity("wallet_documents_to_review", status)})


@bp.get("/documents/<document_id>/file")
@api_auth(kinds=("agent",), roles=WALLET_AGENTS)
def wallet_document_file(document_id):
    """A document's file for an agent; identity records who read it."""
    return justification_response(identity("wallet_document_file", document_id[:40], None, reader()), document_id)


@bp.post("/documents/<document_id>/decision")
@api_auth(kinds=("agent",), roles=WALLET_AGENTS)
def wallet_decide(document_id):
    """Accept or refuse (with a reason, mailed to the family) a pending document, once."""
    payload = body()
    answer = identity("decide_wallet_document", document_id[:40], payload["decision"], payload.get("reason", ""),
                      reader())
    g.acted_family_id = answer.get("family_id")  # for the agents' journal (web/agent.py)
    return jsonify(answer)


@bp.get("/families/<family_id>/documents")
@api_auth(kinds=("agent",), roles=WALLET_AGENTS)
def wallet_family_documents(family_id):
    """A family's wallet for a registration: each required kind's state, the documents and who read them."""
    return jsonify(identity("family_wallet_for_agent", family_id[:40]))
