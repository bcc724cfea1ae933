"""Slots, bookings, the waiting list, leaves, absences, registrations, planning and attendance: the childcare
service's JSON API.

Parents act on their own family's children and bookings only: the family comes from the token, never from the
request, and childcare answers 404 for any other. Agent routes need the role petite_enfance (admin holds all).
"""
import base64

from flask import jsonify, request

from espace_common.errors import InvalidInput

from ..auth import api_auth, current_principal
from ..services import services
from ..trail import actor  # who acts, for the family's trail (issue #12)
from ..web.canteen_common import justification_response
from . import bp
from .canteen import uploaded_document
from .identity import created
from .validation import body
from ..wallet import wallet_justification  # the document wallet (issue #12)

CHILDCARE_AGENTS = ("petite_enfance",)


def childcare(method, *args, **kwargs):
    return services().call("childcare", method, *args, **kwargs)


def family_id():
    return current_principal()["family_id"]


def query(name):
    value = request.args.get(name)
    if not value:
        raise InvalidInput("invalid_query", f"Le paramètre « {name} » est obligatoire.")
    return value


def reader():
    principal = current_principal()
    return f"{principal['kind']}:{principal['id']}"


SLOT_FIELDS = ("id", "date", "start", "end", "capacity", "available", "waiting")
BOOKING_FIELDS = ("id", "slot_id", "child_id", "status", "position", "date", "start", "end")


@bp.get("/childcare/slots")
def childcare_slots():
    """The crèche's occasional-care slots of a range (public), with places left and waiting-list length."""
    slots = childcare("slots", query("from"), query("to"))
    return jsonify({"slots": [{**{k: s[k] for k in SLOT_FIELDS}, "closed": s["closed"]} for s in slots]})


@bp.post("/children/<child_id>/childcare-bookings")
@api_auth(kinds=("parent",))
def book_slot(child_id):
    """Book a slot: confirmed while places are left, else on the waiting list with its position."""
    payload = body()
    booking = childcare("book", family_id(), child_id, payload["slot_id"], current_principal().get("email"),
                        actor=actor())
    return created({k: booking[k] for k in BOOKING_FIELDS})


@bp.get("/children/<child_id>/childcare-bookings")
@api_auth(kinds=("parent",))
def child_bookings(child_id):
    """The child's bookings of the last month and to come, with status and waiting-list position."""
    return jsonify({"bookings": [{k: b[k] for k in (*BOOKING_FIELDS, "free_cancellation_until")}
                                 for b in childcare("child_bookings", family_id(), child_id)]})


@bp.delete("/childcare-bookings/<booking_id>")
@api_auth(kinds=("parent",))
def cancel_booking(booking_id):
    """Cancel a booking; says whether the cancellation is billed and who was promoted from the waiting list."""
    answer = childcare("cancel_booking", family_id(), booking_id, actor=actor())
    return jsonify({"billed": answer["billed"], "promoted_booking_id": answer["promoted_booking_id"]})


@bp.post("/children/<child_id>/childcare-absences")
@api_auth(kinds=("parent",))
def report_childcare_absence(child_id):
    """Report an absence (multipart form: from, to, reason, optional document)."""
    form = request.form
    for field in ("from", "to", "reason"):
        if not form.get(field):
            raise InvalidInput("invalid_body", f"Le champ « {field} » est obligatoire.")
    document = None
    upload = request.files.get("document")
    if upload is not None and upload.filename:
        document = {"name": upload.filename, "content_base64": base64.b64encode(upload.read()).decode("ascii")}
    document = document or wallet_justification()  # or an accepted document of the wallet (issue #12)
    return created(childcare("report_absence", family_id(), child_id, form["from"], form["to"], form["reason"],
                             document, actor=actor()))


@bp.get("/childcare-absences")
@api_auth(kinds=("parent",))
def childcare_absences():
    """The family's absences at the crèche, newest first, with the decision and what can still be done."""
    return jsonify({"absences": childcare("family_absences", family_id())})


@bp.delete("/childcare-absences/<absence_id>")
@api_auth(kinds=("parent",))
def withdraw_childcare_absence(absence_id):
    """Withdraw an absence not begun and not decided (409 otherwise, 404 for another family's)."""
    return jsonify(childcare("withdraw_absence", family_id(), absence_id[:40], actor=actor()))


@bp.post("/childcare-absences/<absence_id>/document")
@api_auth(kinds=("parent",))
def attach_childcare_absence_document(absence_id):
    """Add a justification afterwards (multipart `document`); it then waits for the crèche's decision."""
    return jsonify(childcare("attach_justification", family_id(), absence_id[:40], uploaded_document(), actor=actor()))


@bp.get("/childcare-absences/<absence_id>/document")
@api_auth(kinds=("parent", "agent"), roles=CHILDCARE_AGENTS)
def childcare_absence_document(absence_id):
    """A justification, for its family or the crèche's agents; every read is recorded."""
    principal = current_principal()
    own = principal["family_id"] if principal["kind"] == "parent" else None
    return justification_response(childcare("absence_document", absence_id, own, reader()), absence_id)


@bp.post("/children/<child_id>/childcare-leaves")
@api_auth(kinds=("parent",))
def declare_leave(child_id):
    """Declare leave days of a regular contract in advance; the answer gives the allowance left."""
    payload = body()
    return created(childcare("declare_leave", family_id(), child_id, payload["from"], payload["to"], actor=actor()))


@bp.get("/childcare/family")
@api_auth(kinds=("parent",))
def family_childcare():
    """The caller's children at the crèche: registration, contract and leave balance, bookings, absences."""
    return jsonify({"children": childcare("family_childcare", family_id())})


# --- Agents -------------------------------------------------------------------------------------------------------

@bp.post("/childcare/registrations")
@api_auth(kinds=("agent",), roles=CHILDCARE_AGENTS)
def register_child():
    """Register a child for occasional care, or regular care with a contract."""
    payload = body()
    return created(childcare("register", payload["child_id"], payload["kind"], payload.get("contract"),
                             actor=actor()))


@bp.get("/childcare/registrations")
@api_auth(kinds=("agent",), roles=CHILDCARE_AGENTS)
def registrations():
    return jsonify({"registrations": childcare("registrations")})


@bp.put("/childcare/slots/<slot_id>")
@api_auth(kinds=("agent",), roles=CHILDCARE_AGENTS)
def set_capacity(slot_id):
    """Change a slot's capacity for its day; new places go to the waiting list first."""
    return jsonify(childcare("set_capacity", slot_id, body()["capacity"]))


@bp.get("/childcare/planning")
@api_auth(kinds=("agent",), roles=CHILDCARE_AGENTS)
def planning():
    """The day's slots with who is expected and who waits, the contracted children, the attendance."""
    return jsonify(childcare("planning", query("date")))


@bp.get("/childcare/justifications")
@api_auth(kinds=("agent",), roles=CHILDCARE_AGENTS)
def justifications():
    status = request.args.get("status") or "pending"
    return jsonify({"justifications": childcare("justifications", status)})


@bp.post("/childcare-absences/<absence_id>/decision")
@api_auth(kinds=("agent",), roles=CHILDCARE_AGENTS)
def decide(absence_id):
    """Accept or refuse a justification with a comment."""
    payload = body()
    return jsonify(childcare("decide_justification", absence_id, payload["accepted"], payload.get("comment", ""),
                             reader(), actor=actor()))


@bp.post("/childcare/attendance")
@api_auth(kinds=("agent",), roles=CHILDCARE_AGENTS)
def record_attendance():
    """Arrival and departure of a child (HH:MM), any day up to today; a child without booking is a walk-in."""
    payload = body()
    return created(childcare("record_attendance", payload["child_id"], payload["date"], payload["arrived_at"],
                             payload.get("left_at"), actor=actor()))


@bp.post("/childcare/closures")
@api_auth(kinds=("agent",), roles=CHILDCARE_AGENTS)
def close_day():
    payload = body()
    return created(childcare("close_day", payload["date"], payload["kind"], payload.get("reason", "")))


@bp.get("/childcare/billable-facts")
@api_auth(kinds=("agent", "client"), roles=CHILDCARE_AGENTS, scopes=("billing",))
def billable_facts():
    """Per child, a month's contract hours, occasional hours, late cancellations and deductions."""
    return jsonify(childcare("billable_facts", query("month"), request.args.get("family_id")))


@bp.get("/childcare/news")
def childcare_news():
    """The Petite Enfance service's news and practical information (public)."""
    kind = request.args.get("kind") or "news"
    return jsonify({"news": childcare("list_news", kind if kind in ("news", "practical") else "news", 20)})
