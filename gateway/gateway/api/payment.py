"""Card payments through Paybox: a parent starts one for an invoice, Paybox calls back its notification, an
administrator reconciles the payment service with billing.

The notification route takes no session, no CSRF token and no bearer token: Paybox's RSA signature is its
authentication, checked by the payment service over the query string exactly as received (never re-encoded
here), and the caller's address proves nothing (Paybox has changed its addresses without notice).
"""
from flask import jsonify, request

from espace_common.errors import Forbidden
from espace_common.rpc_client import RemoteError, ServiceUnavailable

from ..auth import api_auth, current_principal
from ..responses import created
from ..services import services
from . import bp

MAX_NOTIFICATION_BYTES = 4096


def payment(method, *args):
    try:
        return services().call("payment", method, *args)
    except RemoteError as error:
        if error.exc_type == "DependencyUnavailable":  # billing or identity did not answer the payment service
            raise ServiceUnavailable(str(error.message), "not answering the payment service") from None
        raise


@bp.post("/invoices/<invoice_id>/card-payments")
@api_auth(kinds=("parent",))
def start_card_payment(invoice_id):
    """A new card payment of the invoice's balance: the form (fields in the order signed) to post to Paybox."""
    principal = current_principal()
    form = payment("start_card_payment", invoice_id[:100], principal["family_id"], principal.get("email") or "")
    return created({"id": form["id"], "action_url": form["action_url"], "fields": form["fields"],
                    "invoice_id": form["invoice_id"], "amount_cents": form["amount_cents"]},
                   location=f"{bp.url_prefix}/card-payments/{form['id']}")


@bp.get("/card-payments/<payment_id>")
@api_auth(kinds=("parent",))
def card_payment(payment_id):
    """What is known of a card payment of the family (from Paybox's notification, never from the browser)."""
    answer = payment("card_payment", payment_id[:100], current_principal()["family_id"])
    return {key: answer[key] for key in ("id", "invoice_id", "amount_cents", "status", "error_code", "message")}


@bp.route("/paybox/notifications", methods=["GET", "POST"])
def paybox_notification():
    """Paybox's server-to-server call (PBX_REPONDRE_A): 200 accepted, 403 bad signature, 400 not ours."""
    if request.method == "POST":
        if (request.content_length or 0) > MAX_NOTIFICATION_BYTES:
            raise Forbidden("bad_signature", "La signature de la notification Paybox est absente ou invalide.")
        raw = request.get_data(cache=False)
    else:
        raw = request.query_string
    try:
        query = raw.decode("ascii")
    except UnicodeDecodeError:
        query = ""  # refused by the service as unsigned, like any bytes Paybox never sends
    answer = payment("handle_notification", query, request.method)
    return jsonify({"accepted": True, "status": answer["status"]})


@bp.post("/payments/reconciliations")
@api_auth(kinds=("agent",), roles=("admin",))
def reconcile_payments():
    """Compare the payment service's successful transactions with billing's card payments, repair, report."""
    return payment("reconcile", current_principal()["id"])
