"""Billing's documents on the pages: a parent's invoice PDF, receipts and tax certificates, the online-invoice choice
(«Mon compte › Facturation»); the agents' invoice PDFs, receipts and the paper batch of a run.

The PDFs are billing's, stored or drawn by it; the gateway passes them on with their French file name, never cached.
"""
import base64

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for

from espace_common.money import format_euros
from espace_common.rpc_client import RemoteError

from .. import vocabularies
from ..auth import current_principal, has_role, parent_required, role_required
from ..errors import FormError, refusal
from ..schemas import form_problem
from ..services import services
from .helpers import render_form

bp = Blueprint("billing_documents", __name__)

BILLING_AGENTS = ("affaires_scolaires", "petite_enfance")
PREFERENCE_FIELDS = {("paperless",): ("paperless", "Mode de réception des factures")}


def billing(method, *args):
    return services().call("billing", method, *args)


def pdf_response(answer):
    """A PDF billing made, as a download with its French file name, never stored by a cache."""
    response = make_response(base64.b64decode(answer["pdf_base64"]))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{answer["filename"]}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def family_id():
    return current_principal()["family_id"]


def for_the_agents_regie(answer):
    """The PDF, or 403 for an agent of the other régie."""
    if not has_role(current_principal(), (answer["regie"],)):
        return render_template("error.html", status=403, message="Ce document relève de l'autre régie."), 403
    return pdf_response(answer)


# --- Parents -----------------------------------------------------------------------------------------------

@bp.get("/mon-compte/factures/<invoice_id>/facture.pdf")
@parent_required
def invoice_pdf(invoice_id):
    """The family's invoice as issued; another family's is a 404."""
    return pdf_response(billing("invoice_pdf", invoice_id, family_id()))


@bp.get("/mon-compte/paiements/<payment_id>/recu.pdf")
@parent_required
def receipt_pdf(payment_id):
    return pdf_response(billing("receipt_pdf", payment_id, family_id()))


@bp.get("/mon-compte/attestations-fiscales/<year>.pdf")
@parent_required
def tax_certificate_pdf(year):
    return pdf_response(billing("tax_certificate_pdf", family_id(), year))


@bp.route("/mon-compte/facturation", methods=["GET", "POST"])
@parent_required
def settings():
    """The online-invoice choice, the tax certificates of the years that have one, the receipts."""
    error = None
    if request.method == "POST":
        choice = request.form.get("paperless", "")
        payload = {"paperless": {"oui": True, "non": False}.get(choice, choice)}
        if choice not in ("oui", "non"):
            error = FormError("Choisissez la facture en ligne ou la facture papier.", "invalid_input", 400,
                              about="paperless")
        elif problem := form_problem("BillingPreferenceChange", payload, PREFERENCE_FIELDS.get):
            error = problem
        else:
            try:
                billing("set_billing_preference", family_id(), payload["paperless"],
                        f"parent:{current_principal()['id']}")
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash("Votre choix est enregistré. Il s'applique à partir de la prochaine facture."
                      if payload["paperless"] else
                      "Votre choix est enregistré : vous recevrez vos prochaines factures par courrier.")
                return redirect(url_for("billing_documents.settings"))
    page = billing("family_documents", family_id())
    words = vocabularies.vocabulary("billing")
    return render_form("billing_documents/settings.html", error, page=page, words=words, euros=format_euros)


# --- Agents ------------------------------------------------------------------------------------------------

@bp.get("/agents/facturation/tournees/<run_id>/papier.pdf")
@role_required(*BILLING_AGENTS)
def run_paper_batch(run_id):
    """The run's paper invoices in one PDF, to print and post."""
    return for_the_agents_regie(billing("run_paper_pdf", run_id))


@bp.get("/agents/facturation/factures/<invoice_id>/facture.pdf")
@role_required(*BILLING_AGENTS)
def agent_invoice_pdf(invoice_id):
    return for_the_agents_regie(billing("invoice_pdf", invoice_id, None))


@bp.get("/agents/facturation/paiements/<payment_id>/recu.pdf")
@role_required(*BILLING_AGENTS)
def agent_receipt_pdf(payment_id):
    return for_the_agents_regie(billing("receipt_pdf", payment_id, None))
