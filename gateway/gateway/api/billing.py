"""Tariffs, the simulator, invoices, invoicing runs, payments, credit notes and the accounting export: the billing
service's JSON API.

Parents read their own family's issued invoices only: the family comes from the token, and billing answers 404 for
any other. Agents act on the régie of their role (`affaires_scolaires`, `petite_enfance`; `admin` on both): a
request naming the other régie is 403, an invoice or a run of the other régie is 404 (they may not know it).
"""
import csv
import io

from flask import jsonify, make_response, request

from espace_common.errors import Forbidden, InvalidInput, NotFound

from ..auth import api_auth, current_principal
from ..services import services
from ..vocabularies import vocabulary
from ..web.billing_agent import agent_regies
from ..web.canteen_agent import spreadsheet_cell
from . import bp
from .identity import created, int_arg
from .validation import body

BILLING_AGENTS = ("affaires_scolaires", "petite_enfance")
ADMINS = ("admin",)
ACCOUNTING = ("accounting",)
INVOICE_FIELDS = ("id", "number", "regie", "period", "total_cents", "balance_cents", "due_date", "status",
                  "payable_by_card")
LINE_FIELDS = ("kind", "label", "quantity", "unit_price_cents", "amount_cents", "explanation")  # explanation: issue #12


def billing(method, *args, **kwargs):
    return services().call("billing", method, *args, **kwargs)


def require_regie(regie):
    """An agent naming a régie not theirs is refused (403); an unknown régie is left to billing (400)."""
    principal = current_principal()
    if principal["kind"] == "agent" and regie in vocabulary("billing")["regies"] \
            and regie not in agent_regies(principal):
        raise Forbidden("other_regie", "Cette régie n'est pas la vôtre.")
    return regie


def agents_invoice(invoice_id):
    """An invoice of the agent's régie, or 404."""
    invoice = billing("invoice", invoice_id)
    if invoice["regie"] not in agent_regies(current_principal()):
        raise NotFound("invoice_not_found", "Cette facture n'existe pas.")
    return invoice


def agents_run(run_id):
    run = billing("invoicing_run", run_id)
    if run["regie"] not in agent_regies(current_principal()):
        raise NotFound("run_not_found", "Cette tournée de facturation n'existe pas.")
    return run


def invoice_summary(invoice):
    return {k: invoice.get(k) for k in INVOICE_FIELDS}


def invoice_detail(invoice):
    return {**invoice_summary(invoice), "issued_on": invoice.get("issued_on"),
            "paid_cents": invoice.get("paid_cents"), "credited_cents": invoice.get("credited_cents"),
            "lines": [{k: line.get(k) for k in LINE_FIELDS} for line in invoice["lines"]],
            "payments": [{k: p.get(k) for k in ("id", "method", "amount_cents", "received_at")}
                         for p in invoice["payments"]],
            "credit_notes": [{k: c.get(k) for k in ("id", "number", "amount_cents", "reason", "created_at")}
                             for c in invoice["credit_notes"]]}


def run_answer(run):
    return {k: run.get(k) for k in ("id", "regie", "month", "status", "done", "total", "error", "attempts",
                                    "retry_at", "started_at", "finalized_at")} | {
        "invoices": [{**invoice_summary(i), "family_id": i.get("family_id")} for i in run.get("invoices", [])]}


# --- Public ----------------------------------------------------------------------------------------------------

@bp.get("/tariffs")
def tariffs():
    """Both régies' grids in force today, and the next one announced (public)."""
    return jsonify(billing("current_tariffs"))


@bp.post("/price-estimates")
def price_estimate():
    """The month's price from a quotient and meals, or monthly resources, children and hours (public)."""
    payload = dict(body())
    return jsonify(billing("price_estimate", payload.pop("regie"), payload))


# --- Parents ------------------------------------------------------------------------------------------------------

@bp.get("/invoices")
@api_auth(kinds=("parent",))
def my_invoices():
    """The family's issued invoices, newest month first."""
    invoices = billing("family_invoices", current_principal()["family_id"])["invoices"]
    return jsonify({"invoices": [invoice_summary(i) for i in invoices]})


@bp.get("/invoices/<invoice_id>")
@api_auth(kinds=("parent", "agent"), roles=BILLING_AGENTS)
def get_invoice(invoice_id):
    """An invoice with its lines, payments and credit notes: the family's own, or one of the agent's régie."""
    principal = current_principal()
    if principal["kind"] == "parent":
        return jsonify(invoice_detail(billing("invoice", invoice_id, principal["family_id"])))
    invoice = agents_invoice(invoice_id)
    return jsonify({**invoice_detail(invoice), "family_id": invoice["family_id"], "run_id": invoice.get("run_id")})


# --- Agents ---------------------------------------------------------------------------------------------------------

@bp.get("/invoices/search")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def search_invoices():
    """Invoices by number (or part of it), dossier number, family, régie, month and state; of the agent's régies."""
    args = request.args
    regies = agent_regies(current_principal())
    regie = args.get("regie") or (regies[0] if len(regies) == 1 else None)
    require_regie(regie)
    family_id = args.get("family_id") or None
    dossier = (args.get("dossier") or "").strip()
    if dossier:
        if len(dossier) > 20:
            raise InvalidInput("invalid_query", "Le numéro de dossier compte au plus 20 caractères.")
        found = [f for f in services().call("identity", "find_families", dossier) if f.get("dossier") == dossier]
        if not found:
            return jsonify({"invoices": [], "count": 0, "limit": 0, "offset": 0})
        family_id = found[0]["id"]
    answer = billing("search_invoices", number=args.get("number"), family_id=family_id, regie=regie,
                     period=args.get("period") or None, status=args.get("status") or None,
                     limit=int_arg("limit", 50, 1, 200), offset=int_arg("offset", 0, 0, 1_000_000))
    invoices = [i for i in answer["invoices"] if i["regie"] in regies]
    return jsonify({**answer, "invoices": [{**invoice_summary(i), "family_id": i["family_id"]} for i in invoices]})


@bp.get("/families/<family_id>/resources")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def family_resources(family_id):
    """A family's quotient and resources in force, and every entry with its agent."""
    return jsonify(billing("family_resources", family_id))


@bp.put("/families/<family_id>/resources")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def set_family_resources(family_id):
    """New resources from a date, kept with the agent who entered them."""
    return jsonify(billing("set_family_resources", family_id, body(), current_principal()["id"]))


@bp.post("/tariffs")
@api_auth(kinds=("agent",), roles=ADMINS)
def add_tariff_grid():
    """A new grid with the date it applies from (administrators); never edited once an invoice used it."""
    payload = dict(body())
    regie = payload.pop("regie")
    return created(billing("add_tariff_grid", regie, payload, current_principal()["id"]))


@bp.get("/invoicing-runs")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def invoicing_runs():
    """The latest runs of the agent's régies, newest first."""
    regies = agent_regies(current_principal())
    regie = request.args.get("regie") or (regies[0] if len(regies) == 1 else None)
    require_regie(regie)
    runs = billing("invoicing_runs", regie, int_arg("limit", 24, 1, 100))["runs"]
    return jsonify({"runs": [{k: v for k, v in run_answer(r).items() if k != "invoices"}
                             for r in runs if r["regie"] in regies]})


@bp.post("/invoicing-runs")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def start_invoicing_run():
    """Start a régie's month in the background: 202 at once, then follow GET /invoicing-runs/{id}."""
    payload = body()
    run = billing("start_invoicing_run", require_regie(payload["regie"]), payload["month"],
                  current_principal()["id"])
    response = jsonify(run_answer(run))
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/invoicing-runs/{run['id']}"
    return response


@bp.get("/invoicing-runs/<run_id>")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def get_invoicing_run(run_id):
    """A run's progress (done of total families), its last failure if any, and its invoices."""
    return jsonify(run_answer(agents_run(run_id)))


@bp.post("/invoicing-runs/<run_id>/finalize")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def finalize_run(run_id):
    """Number the drafts without gaps and issue them; finalising again changes nothing."""
    agents_run(run_id)
    return jsonify(run_answer(billing("finalize_run", run_id, current_principal()["id"])))


@bp.post("/invoices/<invoice_id>/payments")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def record_payment(invoice_id):
    """A cash, cheque or CESU payment received at the counter; partial leaves a balance, more is refused."""
    payload = body()
    agents_invoice(invoice_id)
    payment = billing("record_payment", invoice_id, payload["method"], payload["amount_cents"],
                      current_principal()["id"])
    return created({k: payment.get(k) for k in ("id", "method", "amount_cents", "received_at")}
                   | {"invoice": invoice_summary(payment["invoice"])})


@bp.post("/invoices/<invoice_id>/credit-notes")
@api_auth(kinds=("agent",), roles=BILLING_AGENTS)
def credit_note(invoice_id):
    """A credit note lowers the balance of an issued invoice; one for the whole balance cancels it."""
    payload = body()
    agents_invoice(invoice_id)
    note = billing("credit_note", invoice_id, payload["amount_cents"], payload["reason"], current_principal()["id"])
    return created({k: note.get(k) for k in ("id", "number", "amount_cents", "reason")}
                   | {"invoice": invoice_summary(note["invoice"])})


# --- Accounting ----------------------------------------------------------------------------------------------------

@bp.get("/accounting/export")
@api_auth(kinds=("agent", "client"), roles=ADMINS, scopes=ACCOUNTING)
def accounting_export():
    """Invoices issued, credit notes and payments from one day to another, as JSON or CSV (semicolons, UTF-8
    with BOM, cells that a spreadsheet would read as a formula neutralised)."""
    fmt = request.args.get("format") or "json"
    if fmt not in ("csv", "json"):
        raise InvalidInput("invalid_query", "Le paramètre « format » vaut « csv » ou « json ».")
    for name in ("from", "to"):
        if not request.args.get(name):
            raise InvalidInput("invalid_query", f"Le paramètre « {name} » est obligatoire.")
    export = billing("accounting_export", request.args["from"], request.args["to"])
    if fmt == "json":
        return jsonify(export)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(export["columns"])
    for row in export["rows"]:
        writer.writerow([spreadsheet_cell("" if row[c] is None else row[c]) for c in export["columns"]])
    response = make_response("\ufeff" + out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (f'attachment; filename="export-comptable-{export["from"]}'
                                               f'-{export["to"]}.csv"')
    return response
