"""Reminders by e-mail (issue #12) in the JSON API: a parent's own choices, per account."""
from flask import jsonify

from ..auth import api_auth, current_principal
from ..services import services
from . import bp
from .validation import body

FIELDS = ("canteen_deadline", "invoice_due", "changed_at", "email", "email_confirmed")


def _answer(saved):
    return jsonify({key: saved[key] for key in FIELDS})


@bp.get("/me/reminders")
@api_auth(kinds=("parent",))
def reminder_preferences():
    return _answer(services().call("identity", "reminder_preferences", current_principal()["id"]))


@bp.put("/me/reminders")
@api_auth(kinds=("parent",))
def set_reminder_preferences():
    """Both choices at once (the body is checked against ReminderPreferencesChange)."""
    data = body()
    return _answer(services().call("identity", "set_reminder_preferences", current_principal()["id"],
                                   data["canteen_deadline"], data["invoice_due"]))
