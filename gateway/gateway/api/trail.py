"""The family's trail (issue #12): every change to the family's meals and crèche bookings, newest first."""
from flask import jsonify, request

from espace_common.errors import InvalidInput

from ..auth import api_auth, current_principal
from ..trail import api_entry, family_trail
from . import bp


@bp.get("/me/trail")
@api_auth(kinds=("parent",))
def my_trail():
    """The changes made between two dates (both included, Paris time) to the family's meals, absences and bookings:
    what, when and by whom, newest first. Over 366 days, or a date that is not YYYY-MM-DD, is 400."""
    for name in ("from", "to"):
        if not request.args.get(name):
            raise InvalidInput("invalid_query", f"Le paramètre « {name} » est obligatoire (AAAA-MM-JJ).")
    entries, _, truncated = family_trail(current_principal()["family_id"], request.args["from"], request.args["to"])
    return jsonify({"entries": [api_entry(e) for e in entries], "truncated": truncated})
