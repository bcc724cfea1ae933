"""The page a parent's browser comes back to from Paybox (PBX_EFFECTUE, PBX_REFUSE, PBX_ANNULE, PBX_ATTENTE).

It only informs: it shows what the payment service learnt from Paybox's signed notification, or «paiement en
cours de confirmation» until the notification arrives (the page then reloads itself every few seconds, by the
Refresh header: no script). The variables Paybox adds to the URL are ignored, since a browser can forge them;
nothing is ever marked paid here.
"""
from flask import Blueprint, abort, make_response, render_template

from espace_common.rpc_client import RemoteError

from ..auth import current_principal, parent_required
from ..services import services
from .helpers import no_store

bp = Blueprint("card_payment", __name__, url_prefix="/mon-compte/paiements")

REFRESH_SECONDS = 4


@bp.get("/<payment_id>")
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
