"""A parent's card payment in pages: the «Payer par carte» button of an invoice hands the browser to Paybox, and
the page the browser comes back to (PBX_EFFECTUE, PBX_REFUSE, PBX_ANNULE, PBX_ATTENTE) says what happened.

Handing over: the payment service builds and signs the form; the gateway renders it in a page that posts it to
Paybox by itself (a self-hosted script, the site's policy forbidding inline ones) or by a button without script.
The site's policy only lets forms post to the site: that page alone also allows Paybox's origin.

It only informs: it shows what the payment service learnt from Paybox's signed notification, or «paiement en
cours de confirmation» until the notification arrives (the page then reloads itself every few seconds, by the
Refresh header: no script). The variables Paybox adds to the URL are ignored, since a browser can forge them;
nothing is ever marked paid here.
"""
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for

from espace_common.rpc_client import RemoteError

from ..api.payment import payment as payment_call
from ..auth import current_principal, parent_required
from ..errors import status_of
from ..services import services
from .helpers import no_store

bp = Blueprint("card_payment", __name__)

REFRESH_SECONDS = 4


def handover_policy(action_url):
    """The site's Content-Security-Policy, with the payment server's origin as a place forms may be posted to."""
    parts = urlsplit(action_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in parts.netloc for c in " ;,'\""):
        raise ValueError(f"not a payment server's address: {action_url!r}")
    return (f"default-src 'self'; frame-ancestors 'none'; form-action 'self' {parts.scheme}://{parts.netloc}; "
            "base-uri 'none'")


@bp.post("/mon-compte/factures/<invoice_id>/payer")
@parent_required
def start(invoice_id):
    """«Payer par carte»: the signed form of a new payment of the invoice's balance, posted on to Paybox."""
    principal = current_principal()
    invoice_id = invoice_id[:64]
    try:
        form = payment_call("start_card_payment", invoice_id, principal["family_id"], principal.get("email") or "")
    except RemoteError as exc:
        status = status_of(exc)
        if status is None or status == 404:
            raise  # a bug, or another family's invoice: the error page
        flash(exc.message, "error")  # paid, cancelled, paid by direct debit: said on the invoice's page
        return redirect(url_for("billing.invoice", invoice_id=invoice_id), 303)
    response = no_store(make_response(render_template("card_payment/handover.html", form=form)))
    response.headers["Content-Security-Policy"] = handover_policy(form["action_url"])
    return response


@bp.get("/mon-compte/paiements/<payment_id>")
@parent_required
def outcome(payment_id):
    try:
        payment = services().call("payment", "card_payment", payment_id[:100], current_principal()["family_id"])
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        raise
    response = no_store(make_response(render_template("card_payment/outcome.html", payment=payment,
                                                      refresh_seconds=REFRESH_SECONDS)))
    if payment["status"] == "pending":
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response
