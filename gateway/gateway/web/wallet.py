"""The document wallet's pages (issue #12): «Porte-documents» in Mon espace, and the agents' review of the
documents (/agents/documents). Identity owns every rule: the kinds and their validity, the file checks, who may
read what; the gateway renders its answers and records nothing itself."""
import base64

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from espace_common.rpc_client import RemoteError

from ..auth import current_principal, parent_required, role_required
from ..errors import FormError, refusal
from ..schemas import form_problem
from ..services import services
from ..vocabularies import vocabulary
from .canteen_common import justification_response, today
from .helpers import render_form

bp = Blueprint("wallet", __name__)

WALLET_ROLES = ("affaires_scolaires", "petite_enfance")
DECISION_FIELDS = {("decision",): ("decision", "Décision"), ("reason",): ("reason", "Motif du refus")}


def identity(method, *args):
    return services().call("identity", method, *args)


def words():
    return vocabulary("identity")["wallet"]


def family_id():
    return current_principal()["family_id"]


def reader():
    principal = current_principal()
    return f"{'agent' if principal['kind'] == 'agent' else 'parent'}:{principal['id']}"


def not_found_as_404(method, *args):
    try:
        return identity(method, *args)
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        raise


# --- The parent's wallet ------------------------------------------------------------------------------------------

@bp.route("/mon-espace/porte-documents", methods=("GET", "POST"))
@parent_required
def mine():
    """The family's documents with their status and validity, where each required one stands, and the form that
    adds one (kind, valid until, file)."""
    error, values = None, {"kind": "", "valid_until": ""}
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip()[:40] for name in values}
        upload = request.files.get("document")
        if values["kind"] not in words()["kinds"]:
            error = FormError("Choisissez le type de document.", "invalid_kind")
        elif not values["valid_until"]:
            error = FormError("Indiquez jusqu'à quand le document est valable.", "invalid_valid_until")
        elif upload is None or not upload.filename:
            error = FormError("Choisissez le fichier du document.", "invalid_document")
        else:
            document = {"name": upload.filename[:150], "content_base64": base64.b64encode(upload.read()).decode()}
            try:
                identity("upload_wallet_document", family_id(), reader(), values["kind"], values["valid_until"][:10],
                         document)
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash(f"Document « {words()['kinds'][values['kind']]} » déposé : un agent de la mairie va le "
                      "vérifier.")
                return redirect(url_for("wallet.mine"), 303)
    wallet = identity("family_documents", family_id())
    return render_form("myspace/wallet.html", error, wallet=wallet, words=words(), values=values,
                       today=today().isoformat())


@bp.get("/mon-espace/porte-documents/<document_id>/fichier")
@parent_required
def my_file(document_id):
    """A file of the family's wallet, read back by one of its parents (another family's is 404)."""
    document = not_found_as_404("wallet_document_file", document_id[:40], family_id(), reader())
    return justification_response(document, document_id)


# --- The agents' review -----------------------------------------------------------------------------------------------

@bp.get("/agents/documents")
@role_required(*WALLET_ROLES)
def review():
    """The documents to review (or accepted, refused), oldest first; with ?famille=, one family's wallet: where
    each required document stands for a registration, and who read each file."""
    family = request.args.get("famille", "")[:40]
    if family:
        wallet = not_found_as_404("family_wallet_for_agent", family)
        return render_template("agent/documents.html", wallet=wallet, words=words(), status=None, items=None)
    status = request.args.get("statut", "pending")
    if status not in ("pending", "accepted", "refused"):
        status = "pending"
    return render_template("agent/documents.html", wallet=None, words=words(), status=status,
                           items=identity("wallet_documents_to_review", status))


@bp.get("/agents/documents/<document_id>/fichier")
@role_required(*WALLET_ROLES)
def file(document_id):
    """The file, for an agent; identity records the read (who, when)."""
    return justification_response(not_found_as_404("wallet_document_file", document_id[:40], None, reader()),
                                  document_id)


@bp.post("/agents/documents/<document_id>/decision")
@role_required(*WALLET_ROLES)
def decide(document_id):
    """Accept, or refuse with a reason (mailed to the family); back to the queue or to the family's wallet."""
    payload = {"decision": request.form.get("decision", ""), "reason": request.form.get("reason", "").strip()}
    family = request.form.get("famille", "")[:40]
    back = url_for("wallet.review", famille=family) if family else url_for("wallet.review")
    problem = form_problem("WalletDecision", payload, DECISION_FIELDS.get)
    if problem is not None:
        flash(problem.message, "error")
        return redirect(back, 303)
    try:
        answer = identity("decide_wallet_document", document_id[:40], payload["decision"], payload["reason"],
                          reader())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        flash(refusal(exc).message, "error")
    else:
        g.acted_family_id = answer.get("family_id")  # for the agents' journal (web/agent.py)
        flash(f"Document « {answer['kind_label']} » {'accepté' if answer['status'] == 'accepted' else 'refusé'}.")
    return redirect(back, 303)


# --- The absence forms (canteen, childcare) may give an accepted document instead of a file ------------------------

@bp.app_context_processor
def wallet_choices():
    """`wallet_absence_choices()` for templates/_wallet_choice.html: asked only by the pages that include it."""
    from ..wallet import absence_choices
    return {"wallet_absence_choices": absence_choices}
