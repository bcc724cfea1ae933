"""Meals, absences, menus, schools, enrolments and head-counts: the canteen service's JSON API.

Parents act on their own family's children only: the family comes from the
token, never from the request, and canteen answers 404 for any other child.
"""
import base64

from flask import jsonify, request

from espace_common.errors import InvalidInput

from ..auth import api_auth, current_principal
from ..services import services
from ..trail import actor  # who acts, for the family's trail (issue #12)
from ..web.canteen_common import justification_response
from . import bp
from .identity import created, no_content
from .validation import body
from ..wallet import wallet_justification  # the document wallet (issue #12)

CANTEEN_AGENTS = ("affaires_scolaires",)


def canteen(method, *args, **kwargs):
    return services().call("canteen", method, *args, **kwargs)


def family_id():
    return current_principal()["family_id"]


def query(name):
    value = request.args.get(name)
    if not value:
        raise InvalidInput("invalid_query", f"Le paramètre « {name} » est obligatoire.")
    return value


@bp.get("/children/<child_id>/meals")
@api_auth(kinds=("parent",))
def child_meals(child_id):
    """One entry per calendar day of the range: state, whether it can still change, its deadline."""
    result = canteen("meals", family_id(), child_id, query("from"), query("to"))
    return jsonify({"days": result["days"]})


@bp.put("/children/<child_id>/meals/<date>")
@api_auth(kinds=("parent",))
def reserve_meal(child_id, date):
    """Reserve the meal of a day; 409 once the day is frozen or closed."""
    return jsonify(canteen("change_meal", family_id(), child_id, date, "reserve", actor=actor()))


@bp.delete("/children/<child_id>/meals/<date>")
@api_auth(kinds=("parent",))
def cancel_meal(child_id, date):
    """Cancel the meal of a day; 409 once the day is frozen or closed."""
    canteen("change_meal", family_id(), child_id, date, "cancel", actor=actor())
    return no_content()


@bp.post("/meal-reservations")
@api_auth(kinds=("parent",))
def change_meals():
    """Several children, a period and a weekday pattern: the answer says day by day what was done."""
    return jsonify(canteen("change_meals", family_id(), body(), actor=actor()))


@bp.post("/children/<child_id>/absences")
@api_auth(kinds=("parent",))
def report_absence(child_id):
    """Report an absence (multipart form), with an optional justification file."""
    form = request.form
    document = None
    upload = request.files.get("document")
    if upload is not None and upload.filename:
        document = {"name": upload.filename, "content_base64": base64.b64encode(upload.read()).decode("ascii")}
    for field in ("from", "to", "reason"):
        if not form.get(field):
            raise InvalidInput("invalid_body", f"Le champ « {field} » est obligatoire.")
    document = document or wallet_justification()  # or an accepted document of the wallet (issue #12)
    absence = canteen("report_absence", family_id(), child_id, form["from"], form["to"], form["reason"], document,
                      actor=actor())
    return created(absence)


@bp.get("/absences")
@api_auth(kinds=("parent",))
def absences():
    """The absences reported for the caller's family, newest first."""
    return jsonify({"absences": canteen("family_absences", family_id())})


def uploaded_document():
    """The multipart `document` file as the service's argument (the service opens it with a real parser)."""
    upload = request.files.get("document")
    if upload is None or not upload.filename:
        raise InvalidInput("invalid_document", "Joignez le fichier du justificatif (champ « document »).")
    return {"name": upload.filename[:150], "content_base64": base64.b64encode(upload.read()).decode("ascii")}


@bp.delete("/absences/<absence_id>")
@api_auth(kinds=("parent",))
def withdraw_absence(absence_id):
    """Withdraw one of the family's absences that has not begun (409 once begun, 404 for another family's)."""
    return jsonify(canteen("withdraw_absence", family_id(), absence_id[:40], actor=actor()))


@bp.post("/absences/<absence_id>/document")
@api_auth(kinds=("parent",))
def attach_absence_document(absence_id):
    """Add the medical certificate afterwards (multipart `document`), once, within the justification window."""
    return jsonify(canteen("attach_justification", family_id(), absence_id[:40], uploaded_document(), actor=actor()))


@bp.get("/absences/<absence_id>/document")
@api_auth(kinds=("parent",))
def absence_document(absence_id):
    """The justification of one of the family's absences (404 for another family's); each read is recorded."""
    document = canteen("absence_document", absence_id, family_id(), f"parent:{current_principal()['id']}")
    return justification_response(document, absence_id)


@bp.get("/menus")
def menus():
    """The menus of an ISO week (public); a week without menus gives an empty list."""
    week = query("week")
    return jsonify({"week": week, "menus": canteen("menus_for_week", week)})


@bp.get("/schools")
def schools():
    """The schools whose canteen the town runs (public)."""
    return jsonify({"schools": [{"id": s["id"], "name": s["name"], "kind": s["kind"]}
                                for s in canteen("list_schools")]})


@bp.post("/enrolments")
@api_auth(kinds=("agent",), roles=CANTEEN_AGENTS)
def enrol():
    """An agent enrols a child in a school (and class) for a school year."""
    payload = body()
    return created(canteen("enrol", payload["child_id"], payload["school_id"], payload["school_year"],
                           payload.get("class_id")))


@bp.get("/schools/<school_id>/headcount")
@api_auth(kinds=("agent", "client"), roles=CANTEEN_AGENTS, scopes=("kitchen",))
def headcount(school_id):
    """Meals reserved for a school and day, by diet: for agents and the kitchen's system."""
    return jsonify(canteen("headcount", school_id, query("date")))


# --- Attendance from other systems (the school's tablet) -------------------------------------------------------

@bp.post("/schools/<school_id>/attendance")
@api_auth(kinds=("agent", "client"), roles=CANTEEN_AGENTS, scopes=("kitchen",))
def record_canteen_attendance(school_id):
    """Who ate at a school on a school day up to today; sending the day again replaces it. A child who ate
    without a reservation is counted as such (billed at the surcharged price)."""
    payload = body()
    return jsonify(canteen("record_attendance", school_id, payload["date"], payload["eaten"], actor=actor()))
