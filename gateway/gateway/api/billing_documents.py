"""Billing's documents in the JSON API: an invoice's PDF, the online-invoice choice, the tax certificates, the paper
batch of a run, payment receipts.

A parent reaches their own family's documents only (the family comes from the token; billing answers 404 for
another's). An agent reaches the documents of the régie their role names (admin: all): billing says which régie a
document belongs to, and the agent of the other régie is answered 403.
"""
from flask import jsonify

from ..auth import api_auth, current_principal, has_role
from ..responses import json_error
from ..services import services
from ..web.billing_documents import pdf_response
from . import bp
from .validation import body

BILLING_AGENTS = ("affaires_scolaires", "petite_enfance")
PREFERENCE_FIELDS = ("paperless", "delivery", "changed_at", "applies_from")


def billing(method, *args):
    return services().call("billing", method, *args)


def own_family():
    """The caller's family when a parent calls, None for an agent (who sees every family of their régie)."""
    principal = current_principal()
    return principal["family_id"] if principal["kind"] == "parent" else None


def of_the_callers_regie(answer):
    """The PDF, unless an agent of the other régie asks for it."""
    principal = current_principal()
    if principal["kind"] == "agent" and not has_role(principal, (answer["regie"],)):
        return json_error(403, "forbidden", "Ce document relève de l'autre régie.")
    return pdf_response(answer)


@bp.get("/invoices/<invoice_id>/pdf")
@api_auth(kinds=("parent", "agent"), roles=BILLING_AGENTS)
def invoice_pdf(invoice_id):
    """An issued invoice's PDF, as stored when it was issued."""
    return of_the_callers_regie(billing("invoice_pdf", invoice_id, own_family()))


@bp.get("/me/billing-preferences")
@api_auth(kinds=("parent",))
def billing_preference():
    answer = billing("billing_preference", current_principal()["family_id"])
    return jsonify({key: answer[key] for key in PREFERENCE_FIELDS})


@bp.put("/me/billing-preferences")
@api_auth(kinds=("parent",))
def set_billing_preference():
    """The online invoice or paper, from the next finalised run."""
    principal = current_principal()
    answer = billing("set_billing_preference", principal["family_id"], body()["paperless"], f"parent:{principal['id']}")
    return jsonify({key: answer[key] for key in PREFERENCE_FIELDS})


@bp.get("/me/tax-certificates/<year>.pdf")
@api_auth(kinds=("parent",))
def tax_certificate(year):
    return pdf_response(billing("tax_certificate_pdf", current_principal()["family_id"], year))


@bp.get("/invoicing-runs/<run_id>/paper.pdf")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def run_paper_batch(run_id):
    """The run's paper invoices in one PDF, for the post."""
    return of_the_callers_regie(billing("run_paper_pdf", run_id))


@bp.get("/payments/<payment_id>/receipt.pdf")
@api_auth(kinds=("parent", "agent"), roles=BILLING_AGENTS)
def payment_receipt(payment_id):
    return of_the_callers_regie(billing("receipt_pdf", payment_id, own_family()))
