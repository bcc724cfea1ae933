"""Mon espace › Rappels par courriel (issue #12): a parent opts in or out of each reminder, for their own account."""
from flask import Blueprint, flash, redirect, request, url_for

from espace_common.rpc_client import RemoteError

from ..auth import current_principal, parent_required
from ..errors import FormError, refusal
from ..schemas import form_problem
from ..services import services
from .helpers import render_form

bp = Blueprint("reminders", __name__)

FIELDS = {("canteen_deadline",): ("canteen_deadline", "Semaine de cantine non réservée"),
          ("invoice_due",): ("invoice_due", "Facture à payer")}


def identity(method, *args):
    return services().call("identity", method, *args)


@bp.route("/mon-espace/rappels", methods=("GET", "POST"))
@parent_required
def preferences():
    """Two check boxes, saved together; the page says where the mails go and whether that address is confirmed."""
    account_id = current_principal()["id"]
    error = None
    if request.method == "POST":
        values = {name: request.form.get(name) for name, _ in FIELDS.values()}
        payload = {name: value == "oui" for name, value in values.items()}
        wrong = next((name for name, value in values.items() if value not in (None, "oui")), None)
        if wrong:
            error = FormError("Cochez ou décochez chaque rappel.", "invalid_input", 400, about=wrong)
        elif problem := form_problem("ReminderPreferencesChange", payload, FIELDS.get):
            error = problem
        else:
            try:
                identity("set_reminder_preferences", account_id, payload["canteen_deadline"], payload["invoice_due"])
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash("Vos choix de rappels sont enregistrés." if any(payload.values()) else
                      "Vos choix sont enregistrés : vous ne recevrez aucun rappel par courriel.")
                return redirect(url_for("reminders.preferences"))
    return render_form("myspace/reminders.html", error, prefs=identity("reminder_preferences", account_id))
