"""Billing's back office: tariffs (administrators enter a new dated grid), family resources, invoicing runs (start,
progress, drafts, finalise), invoice search, an invoice with payment entry and credit notes.

Agents act on the régie of their role (affaires_scolaires, petite_enfance; admin on both): the navigation shows
only that, and an invoice or a run of the other régie is 404.
"""
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from espace_common.errors import NotFound
from espace_common.money import parse_euros
from espace_common.rpc_client import RemoteError

from ..auth import current_principal, has_role, role_required
from ..errors import FormError, refusal
from ..schemas import form_problem
from ..services import services
from ..vocabularies import vocabulary
from .canteen_common import today
from .helpers import render_form

bp = Blueprint("billing_agent", __name__, url_prefix="/agents/facturation")

BILLING_ROLES = ("affaires_scolaires", "petite_enfance")
GRID_ROWS = 6
RUN_PAGE = 200  # drafts shown with their lines on a run's page (billing gives lines for so many); the search finds the others
RESOURCE_FIELDS = {("from",): ("from", "Date d'effet"), ("quotient",): ("quotient", "Quotient familial"),
                   ("monthly_resources_cents",): ("resources", "Ressources mensuelles"),
                   ("dependent_children",): ("dependent_children", "Enfants à charge")}
PAYMENT_FIELDS = {("method",): ("method", "Moyen de paiement"), ("amount_cents",): ("amount", "Montant")}
CREDIT_FIELDS = {("amount_cents",): ("credit_amount", "Montant de l'avoir"), ("reason",): ("reason", "Motif")}
GRID_FIELDS = {("from",): ("from", "Date d'application"), ("floor_cents",): ("floor_cents", "Plancher de ressources"),
               ("ceiling_cents",): ("ceiling_cents", "Plafond de ressources"),
               ("brackets",): ("price0", "Tranches de quotient"), ("effort_rates",): ("percent0", "Taux d'effort")}
RUN_FIELDS = {("regie",): ("regie", "Service"), ("month",): ("month", "Mois")}


def agent_regies(principal):
    """The régies an agent acts on: the one of each role held (a régie's code is its agents' role), all for admin."""
    regies = list(vocabulary("billing")["regies"])
    roles = set(principal.get("roles") or [])
    return regies if "admin" in roles else [r for r in regies if r in roles]


def billing(method, *args, **kwargs):
    return services().call("billing", method, *args, **kwargs)


def agents_only(view):
    return role_required(*BILLING_ROLES)(view)


def is_admin():
    return "admin" in (current_principal().get("roles") or [])


@bp.app_context_processor
def billing_agent_links():
    """What the navigation of an agent shows of billing: nothing without a billing role."""
    def pages():
        principal = current_principal()
        if principal is None or not has_role(principal, BILLING_ROLES):
            return []
        return [("billing_agent.runs", "Tournées de facturation"), ("billing_agent.search", "Rechercher une facture"),
                ("billing_agent.tariffs", "Tarifs")]
    return {"billing_agent_pages": pages}


def words():
    return vocabulary("billing")


def my_regies():
    return agent_regies(current_principal())


def own_run(run_id, with_lines=False):
    run = billing("invoicing_run", run_id[:64], with_lines)
    if run["regie"] not in my_regies():
        raise NotFound("run_not_found", "Cette tournée de facturation n'existe pas.")
    return run


def own_invoice(invoice_id):
    invoice = billing("invoice", invoice_id[:64])
    if invoice["regie"] not in my_regies():
        raise NotFound("invoice_not_found", "Cette facture n'existe pas.")
    return invoice


def euros_field(form, name, label):
    """An amount typed in euros ('12,50') as cents, or a FormError about the field."""
    text = (form.get(name) or "").strip()
    try:
        if len(text) > 20:
            raise ValueError(text)
        return parse_euros(text), None
    except (ValueError, ArithmeticError):  # parse_euros raises InvalidOperation for "Infinity"
        return None, FormError(f"« {label} » est un montant en euros, comme « 12,50 ».", about=name)


def int_field(form, name, label):
    text = (form.get(name) or "").strip()
    if len(text) > 9 or not text.isdigit():
        return None, FormError(f"« {label} » est un nombre entier.", about=name)
    return int(text), None


# --- Home and tariffs ---------------------------------------------------------------------------------------------

@bp.get("/")
@agents_only
def home():
    return redirect(url_for("billing_agent.runs"))


def grid_payload(regie, form):
    """A TariffGridRequest from the new-grid form (blank rows left out), or the FormError of the first bad field."""
    payload = {"regie": regie, "from": (form.get("from") or "").strip()}
    if regie == "affaires_scolaires":
        brackets = []
        for i in range(GRID_ROWS):
            price, limit = (form.get(f"price{i}") or "").strip(), (form.get(f"quotient_max{i}") or "").strip()
            if not price and not limit:
                continue
            cents, error = euros_field(form, f"price{i}", f"Prix de la tranche {i + 1}")
            if error:
                return None, error
            bracket = {"meal_price_cents": cents, "quotient_max": None}
            if limit:
                bracket["quotient_max"], error = int_field(form, f"quotient_max{i}", f"Plafond de la tranche {i + 1}")
                if error:
                    return None, error
            brackets.append(bracket)
        payload["brackets"] = brackets
        for name, label in (("unreserved_meal_price_cents", "Prix du repas non réservé"),
                            ("pai_meal_price_cents", "Prix du repas panier (PAI)")):
            payload[name], error = euros_field(form, name, label)
            if error:
                return None, error
    else:
        for name, label in (("floor_cents", "Plancher de ressources"), ("ceiling_cents", "Plafond de ressources")):
            payload[name], error = euros_field(form, name, label)
            if error:
                return None, error
        rates = []
        for i in range(GRID_ROWS):
            children, percent = (form.get(f"children_from{i}") or "").strip(), (form.get(f"percent{i}") or "").strip()
            if not children and not percent:
                continue
            count, error = int_field(form, f"children_from{i}", f"Nombre d'enfants de la ligne {i + 1}")
            if error:
                return None, error
            rates.append({"children_from": count, "percent": percent.replace(",", ".")})
        payload["effort_rates"] = rates
    return payload, form_problem("TariffGridRequest", payload, GRID_FIELDS.get)


@bp.route("/tarifs", methods=("GET", "POST"))
@agents_only
def tariffs():
    """Every grid of each régie, oldest first; administrators enter a new dated grid."""
    error, regie_posted = None, None
    if request.method == "POST":
        if not is_admin():
            abort(403)
        regie_posted = request.form.get("regie")
        if regie_posted not in words()["regies"]:
            abort(400)
        payload, error = grid_payload(regie_posted, request.form)
        if error is None:
            try:
                answer = billing("add_tariff_grid", payload.pop("regie"), payload, current_principal()["id"])
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash("La nouvelle grille est enregistrée." if answer.get("created")
                      else "Cette grille était déjà enregistrée : rien n'a changé.")
                return redirect(url_for("billing_agent.tariffs"), 303)
    grids = {regie: billing("tariff_grids", regie)["grids"] for regie in words()["regies"]}
    prefill = {regie: grid_form(found[-1]) if found else {} for regie, found in grids.items()}
    return render_form("billing/agent/tariffs.html", error, grids=grids, words=words(), admin=is_admin(),
                       rows=range(GRID_ROWS), form=request.form if error else {}, posted=regie_posted,
                       prefill=prefill)


def euros_text(cents):
    """285 -> '2,85': an amount as an agent types it."""
    return f"{cents // 100},{cents % 100:02d}"


def grid_form(grid):
    """The new-grid form filled with the latest grid, so that an administrator changes only what changes."""
    values = {}
    for i, bracket in enumerate(grid.get("brackets") or []):
        values[f"price{i}"] = euros_text(bracket["meal_price_cents"])
        values[f"quotient_max{i}"] = "" if bracket["quotient_max"] is None else str(bracket["quotient_max"])
    for i, rate in enumerate(grid.get("effort_rates") or []):
        values[f"children_from{i}"], values[f"percent{i}"] = str(rate["children_from"]), rate["percent"].replace(".", ",")
    for name in ("unreserved_meal_price_cents", "pai_meal_price_cents", "floor_cents", "ceiling_cents"):
        if grid.get(name) is not None:
            values[name] = euros_text(grid[name])
    return values


# --- Family resources ---------------------------------------------------------------------------------------------

@bp.route("/familles/<family_id>", methods=("GET", "POST"))
@agents_only
def family(family_id):
    """A family's quotient and resources: the ones in force, their history with the agent, a new entry."""
    family_id = family_id[:64]
    found = services().call("identity", "family_for_agent", family_id)
    error = None
    if request.method == "POST":
        form = request.form
        payload = {"from": (form.get("from") or "").strip(), "disability": bool(form.get("disability"))}
        for name, label in (("quotient", "Quotient familial"), ("dependent_children", "Enfants à charge")):
            payload[name], error = int_field(form, name, label)
            if error:
                break
        if error is None:
            payload["monthly_resources_cents"], error = euros_field(form, "resources", "Ressources mensuelles")
        error = error or form_problem("FamilyResourcesRequest", payload, RESOURCE_FIELDS.get)
        if error is None:
            try:
                billing("set_family_resources", family_id, payload, current_principal()["id"])
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash("Les ressources de la famille sont enregistrées.")
                return redirect(url_for("billing_agent.family", family_id=family_id), 303)
    resources = billing("family_resources", family_id)
    invoices = billing("search_invoices", family_id=family_id, limit=24)["invoices"]
    return render_form("billing/agent/family.html", error, family=found, resources=resources, words=words(),
                       invoices=[i for i in invoices if i["regie"] in my_regies()],
                       form=request.form if error else {})


# --- Invoicing runs -----------------------------------------------------------------------------------------------

def last_month():
    return (today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


@bp.route("/tournees", methods=("GET", "POST"))
@agents_only
def runs():
    """The runs of the agent's régies, and starting one: it computes in the background."""
    regies, error = my_regies(), None
    if request.method == "POST":
        payload = {"regie": request.form.get("regie") or "", "month": (request.form.get("month") or "").strip()}
        if payload["regie"] not in regies:
            error = FormError("Choisissez un service de votre régie.", about="regie")
        error = error or form_problem("InvoicingRunRequest", payload, RUN_FIELDS.get)
        if error is None:
            try:
                run = billing("start_invoicing_run", payload["regie"], payload["month"], current_principal()["id"])
            except RemoteError as exc:
                error = refusal(exc)
            else:
                return redirect(url_for("billing_agent.run", run_id=run["id"]), 303)
    regie = regies[0] if len(regies) == 1 else None
    listed = [r for r in billing("invoicing_runs", regie, 24)["runs"] if r["regie"] in regies]
    return render_form("billing/agent/runs.html", error, runs=listed, regies=regies, words=words(),
                       month=(request.form.get("month") if error else None) or last_month())


@bp.get("/tournees/<run_id>")
@agents_only
def run(run_id):
    """A run's progress (the page refreshes itself while it runs), its drafts with their lines, finalising."""
    found = own_run(run_id, with_lines=True)
    shown = found["invoices"][:RUN_PAGE]
    return render_template("billing/agent/run.html", run=found, shown=shown, words=words(),
                           drafts=sum(1 for i in found["invoices"] if i["status"] == "draft"))


@bp.post("/tournees/<run_id>/finaliser")
@agents_only
def finalize(run_id):
    own_run(run_id)
    try:
        billing("finalize_run", run_id[:64], current_principal()["id"])
    except RemoteError as exc:
        flash(refusal(exc).message, "error")
    else:
        flash("La tournée est finalisée : les factures sont numérotées et émises.")
    return redirect(url_for("billing_agent.run", run_id=run_id[:64]), 303)


# --- Invoices -----------------------------------------------------------------------------------------------------

@bp.get("/factures")
@agents_only
def search():
    """Invoices by number, dossier number, service, month and state, of the agent's régies."""
    args, regies = request.args, my_regies()
    criteria = {"number": (args.get("numero") or "").strip(), "dossier": (args.get("dossier") or "").strip(),
                "regie": args.get("regie") or "", "period": (args.get("mois") or "").strip(),
                "status": args.get("etat") or ""}
    results, error = None, None
    if any(criteria.values()) or "numero" in args:
        regie = criteria["regie"] or (regies[0] if len(regies) == 1 else None)
        if regie and regie not in regies:
            error = FormError("Choisissez un service de votre régie.", about="regie")
        else:
            try:
                family_id = None
                if criteria["dossier"]:
                    found = [f for f in services().call("identity", "find_families", criteria["dossier"][:20])
                             if f.get("dossier") == criteria["dossier"]]
                    family_id = found[0]["id"] if found else "-"  # no such dossier: nothing found
                answer = billing("search_invoices", number=criteria["number"][:30] or None, family_id=family_id,
                                 regie=regie, period=criteria["period"] or None, status=criteria["status"] or None,
                                 limit=100)
                results = [i for i in answer["invoices"] if i["regie"] in regies]
            except RemoteError as exc:
                error = refusal(exc)
    return render_form("billing/agent/search.html", error, criteria=criteria, results=results, regies=regies,
                       words=words())


@bp.get("/factures/<invoice_id>")
@agents_only
def invoice(invoice_id):
    """An invoice with its lines, payments and credit notes, and the counter's forms."""
    return render_invoice(own_invoice(invoice_id))


def render_invoice(found, error=None, form=None):
    return render_form("billing/agent/invoice.html", error, invoice=found, words=words(), form=form or {})


@bp.post("/factures/<invoice_id>/paiement")
@agents_only
def payment(invoice_id):
    """A cash, cheque or CESU payment received at the counter."""
    found = own_invoice(invoice_id)
    method = request.form.get("method") or ""
    amount, error = euros_field(request.form, "amount", "Montant")
    error = error or form_problem("PaymentRequest", {"method": method, "amount_cents": amount}, PAYMENT_FIELDS.get)
    if error is None:
        try:
            billing("record_payment", found["id"], method, amount, current_principal()["id"])
        except RemoteError as exc:
            error = refusal(exc)
        else:
            flash("Le paiement est enregistré.")
            return redirect(url_for("billing_agent.invoice", invoice_id=found["id"]), 303)
    return render_invoice(found, error, request.form)


@bp.post("/factures/<invoice_id>/avoir")
@agents_only
def credit_note(invoice_id):
    """A credit note lowers the balance; one for the whole balance cancels the invoice."""
    found = own_invoice(invoice_id)
    amount, error = euros_field(request.form, "credit_amount", "Montant de l'avoir")
    reason = (request.form.get("reason") or "").strip()
    error = error or form_problem("CreditNoteRequest", {"amount_cents": amount, "reason": reason}, CREDIT_FIELDS.get)
    if error is None:
        try:
            note = billing("credit_note", found["id"], amount, reason, current_principal()["id"])
        except RemoteError as exc:
            error = refusal(exc)
        else:
            flash(f"L'avoir n° {note['number']} est enregistré.")
            return redirect(url_for("billing_agent.invoice", invoice_id=found["id"]), 303)
    return render_invoice(found, error, request.form)
