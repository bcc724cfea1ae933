"""Billing's public and parents' pages: the tariffs, the simulator («estimer ma facture»), a family's invoices and
one invoice with its lines, payments and credit notes.

The PDF, the online-invoice choice and the direct debit are other pages (linked here by their literal paths); the
«Payer par carte» button posts to the card payment's pages (web/card_payment.py).
"""
from decimal import Decimal, InvalidOperation

from flask import Blueprint, render_template, request

from espace_common import formatting
from espace_common.money import format_euros, parse_euros
from espace_common.rpc_client import RemoteError

from ..auth import current_principal, parent_required
from ..errors import FormError, refusal
from ..schemas import form_problem
from ..services import services
from ..vocabularies import vocabulary
from .helpers import render_form

bp = Blueprint("billing", __name__)

UNPAID = ("issued", "partially_paid")
# The simulator's fields by their place in the PriceEstimateRequest payload, with the labels the page shows.
ESTIMATE_FIELDS = {("regie",): ("regie", "Service"), ("quotient",): ("quotient", "Quotient familial"),
                   ("meals",): ("meals", "Nombre de repas dans le mois"),
                   ("monthly_resources_cents",): ("resources", "Ressources mensuelles du foyer"),
                   ("children",): ("children", "Nombre d'enfants à charge"),
                   ("hours",): ("hours", "Nombre d'heures d'accueil dans le mois")}


def billing(method, *args, **kwargs):
    return services().call("billing", method, *args, **kwargs)


@bp.app_template_filter("euros")
def euros(cents):
    """1234 -> '12,34 €' (nothing for None)."""
    return "" if cents is None else format_euros(int(cents))


@bp.app_template_filter("percent_fr")
def percent_fr(text):
    """'0.0516' -> '0,0516 %'."""
    try:
        return formatting.percent(text)
    except ArithmeticError:
        return str(text)


@bp.app_template_filter("month_fr")
def month_fr(period):
    """'2026-11' -> 'novembre 2026'."""
    try:
        return formatting.month_year(str(period))
    except (ValueError, IndexError):
        return str(period)


def billing_words():
    return vocabulary("billing")


# --- Public ------------------------------------------------------------------------------------------------------

@bp.get("/tarifs")
def tariffs():
    """Both services' tariffs in force: the quotient brackets, the PSU floor, ceiling and effort rates."""
    return render_template("billing/tariffs.html", tariffs=billing("current_tariffs"), words=billing_words())


def _integer(form, name, label, errors):
    text = (form.get(name) or "").strip()
    if not text:
        return None
    if len(text) > 12 or not text.isdigit():
        errors.append(FormError(f"« {label} » est un nombre entier.", about=name))
        return None
    return int(text)


def estimate_payload(form):
    """The PriceEstimateRequest payload from the simulator's fields, or the FormError of the first bad one."""
    errors = []
    regie = form.get("regie") or ""
    payload = {"regie": regie}
    if regie == "petite_enfance":
        resources = (form.get("resources") or "").strip()
        if resources:
            try:
                if len(resources) > 20:
                    raise ValueError(resources)
                payload["monthly_resources_cents"] = parse_euros(resources)
            except (ValueError, ArithmeticError):  # parse_euros raises InvalidOperation for "Infinity"
                errors.append(FormError("« Ressources mensuelles du foyer » est un montant en euros, comme "
                                        "« 2 384,00 ».", about="resources"))
        children = _integer(form, "children", "Nombre d'enfants à charge", errors)
        if children is not None:
            payload["children"] = children
        if form.get("disability"):
            payload["disability"] = True
        hours = (form.get("hours") or "").strip().replace(",", ".")
        try:
            if len(hours) > 10:
                raise InvalidOperation(hours)
            value = Decimal(hours) if hours else None
            if value is not None and not value.is_finite():
                raise InvalidOperation
            if value is not None:
                payload["hours"] = float(value)
        except InvalidOperation:
            errors.append(FormError("« Nombre d'heures » est un nombre, comme « 14,5 ».", about="hours"))
        if "hours" not in payload and not errors:
            errors.append(FormError("Indiquez le nombre d'heures d'accueil dans le mois.", about="hours"))
    else:
        quotient = _integer(form, "quotient", "Quotient familial", errors)
        if quotient is not None:
            payload["quotient"] = quotient
        meals = _integer(form, "meals", "Nombre de repas", errors)
        if meals is not None:
            payload["meals"] = meals
        elif not errors:
            errors.append(FormError("Indiquez le nombre de repas dans le mois.", about="meals"))
    if errors:
        return None, errors[0]
    return payload, form_problem("PriceEstimateRequest", payload, ESTIMATE_FIELDS.get)


@bp.get("/estimer-ma-facture")
def estimate():
    """The simulator: a service, a quotient or resources, children, meals or hours → the month's price and lines."""
    result, error = None, None
    if request.args.get("regie"):
        payload, error = estimate_payload(request.args)
        if error is None:
            regie = payload.pop("regie")
            try:
                result = billing("price_estimate", regie, payload)
            except RemoteError as exc:
                error = refusal(exc)
    return render_form("billing/estimate.html", error, form=request.args, result=result, words=billing_words())


# --- Parents ------------------------------------------------------------------------------------------------------

def unpaid_summary(invoices):
    """How many invoices are left to pay and their balance: what the dashboard tile says."""
    unpaid = [i for i in invoices if i["status"] in UNPAID and i["balance_cents"] > 0]
    return {"count": len(unpaid), "balance_cents": sum(i["balance_cents"] for i in unpaid),
            "next_due": min((i["due_date"] for i in unpaid if i.get("due_date")), default=None)}


@bp.get("/mon-compte/factures")
@parent_required
def invoices():
    """Mon compte: the invoices of each service, their state, balance and due date."""
    mine = billing("family_invoices", current_principal()["family_id"])["invoices"]
    words = billing_words()
    by_regie = [(regie, label, [i for i in mine if i["regie"] == regie]) for regie, label in words["regies"].items()]
    return render_template("billing/invoices.html", by_regie=by_regie, unpaid=unpaid_summary(mine), words=words)


@bp.get("/mon-compte/factures/<invoice_id>")
@parent_required
def invoice(invoice_id):
    """One invoice of the family: its lines, payments and credit notes (another family's is 404)."""
    found = billing("invoice", invoice_id[:64], current_principal()["family_id"])
    return render_template("billing/invoice.html", invoice=found, words=billing_words())
