"""«Prélèvement automatique»: a parent gives the family's IBAN and accepts the SEPA mandate, sees its state (the IBAN
masked) and can revoke it. The rules (IBAN check, one active mandate, its reference) are billing's."""
from flask import Blueprint, flash, redirect, request, url_for

from espace_common.rpc_client import RemoteError

from .. import vocabularies
from ..auth import current_principal, parent_required
from ..errors import refusal
from ..schemas import form_problem
from ..services import services
from .helpers import no_store, render_form

bp = Blueprint("direct_debit", __name__, url_prefix="/mon-compte/prelevement")

MANDATE_FIELDS = {("iban",): ("iban", "IBAN"), ("holder",): ("holder", "Titulaire du compte")}


def billing(method, *args):
    return services().call("billing", method, *args)


def terms():
    """The mandate's wording and the creditor, as billing states them."""
    return vocabularies.vocabulary("billing")["direct_debit"]


def page(error=None, values=None):
    mandates = billing("family_mandates", current_principal()["family_id"])
    return no_store(render_form("direct_debit/mandate.html", error, mandates=mandates, terms=terms(),
                                values=values or {}))


@bp.get("/")
@parent_required
def mandate():
    """The family's mandate: its state and reference, or the form that signs one."""
    return page()


@bp.post("/")
@parent_required
def sign():
    values = {"iban": request.form.get("iban", ""), "holder": request.form.get("holder", "")}
    error = form_problem("DirectDebitMandateRequest", values, MANDATE_FIELDS.get)
    if error is None:
        principal = current_principal()
        try:
            signed = billing("sign_mandate", principal["family_id"], values["iban"], values["holder"],
                             request.form.get("accepted") == "oui", principal["id"])
        except RemoteError as exc:
            error = refusal(exc)
        else:
            flash(f"Mandat de prélèvement enregistré (référence {signed['reference']}). Vos prochaines factures "
                  "seront prélevées à leur échéance.")
            return redirect(url_for("direct_debit.mandate"), 303)
    return page(error, values)


@bp.post("/revocation")
@parent_required
def revoke():
    principal = current_principal()
    try:
        billing("revoke_mandate", principal["family_id"], principal["id"])
    except RemoteError as exc:
        flash(refusal(exc).message, "error")
    else:
        flash("Mandat révoqué : vos factures non encore prélevées se paient en ligne, à la Mairie ou au "
              "multi-accueil.")
    return redirect(url_for("direct_debit.mandate"), 303)
