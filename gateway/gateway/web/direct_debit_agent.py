"""«Prélèvements»: the agents' month of direct debits for their régie — the SEPA file for the bank (its first
download sends the debits, the next ones give the same file) and the rejections the bank sends back."""
import re
from datetime import timedelta

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for

from espace_common import formatting
from espace_common.money import format_euros
from espace_common.rpc_client import RemoteError

from .. import vocabularies
from ..api.billing_debits import REGIES, debit_file_response
from ..auth import current_principal, has_role, role_required
from ..errors import FormError, refusal
from ..schemas import form_problem
from ..services import services
from .canteen_common import today
from .helpers import no_store

bp = Blueprint("direct_debit_agent", __name__, url_prefix="/agents/facturation/prelevements")

MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def billing(method, *args):
    return services().call("billing", method, *args)


@bp.app_template_filter("debit_euros")
def debit_euros(cents):
    return format_euros(cents) if isinstance(cents, int) else ""


def chosen():
    """The month (last month by default) and the régie (the agent's own by default) the page is about."""
    month = request.values.get("mois") or (today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    if not MONTH.fullmatch(month):
        abort(400)
    held = [r for r in REGIES if has_role(current_principal(), (r,))]
    regie = request.values.get("regie") or held[0]
    if regie not in held:
        abort(403)
    return month, regie, held


def month_fr(month):
    return formatting.month_year(month)


@bp.get("/")
@role_required(*REGIES)
def month_page(error=None, status=200):
    """The month's debits with their state, the file's download, and a rejection form beside each sent debit."""
    month, regie, held = chosen()
    words = vocabularies.vocabulary("billing")
    debits = billing("month_debits", regie, month)
    page = render_template("direct_debit/agent_month.html", month=month, month_label=month_fr(month), regie=regie,
                           regies={r: words["regies"][r] for r in held}, debits=debits, words=words, error=error)
    return no_store(make_response(page, status))


@bp.post("/fichier")
@role_required(*REGIES)
def download():
    """The SEPA file of the month (a POST: its first download sends the debits)."""
    month, regie, _ = chosen()
    try:
        answer = billing("debit_file", regie, month, current_principal()["id"])
    except RemoteError as exc:
        flash(refusal(exc).message, "error")
        return redirect(url_for("direct_debit_agent.month_page", mois=month, regie=regie), 303)
    return debit_file_response(answer)


@bp.post("/rejets")
@role_required(*REGIES)
def reject():
    """Record the bank's rejection of an invoice's debit: the invoice is to pay again."""
    month, regie, _ = chosen()
    reason = request.form.get("reason", "")
    error = form_problem("DebitRejection", {"reason": reason}, lambda path: ("reason", "Motif du rejet"))
    if error is None:
        try:
            answer = billing("reject_debit", request.form.get("invoice_id", ""), reason, current_principal()["id"])
        except RemoteError as exc:
            error = refusal(exc)
        else:
            invoice = answer["invoice"]
            flash(f"Rejet enregistré : la facture {invoice['number']} est de nouveau à payer "
                  f"({format_euros(invoice['balance_cents'])}).")
            return redirect(url_for("direct_debit_agent.month_page", mois=month, regie=regie), 303)
    return month_page(error=error, status=error.status if isinstance(error, FormError) else 400)


@bp.get("/anomalies")
@role_required(*REGIES)
def anomalies():
    """Card payments billing could not apply (more than the balance, a settled or unknown invoice), to settle by
    hand: a refund or an entry."""
    return no_store(make_response(render_template("direct_debit/anomalies.html",
                                                  anomalies=billing("payment_anomalies")["anomalies"])))
