"""The Petite Enfance pages: the crèche's practical pages and news (public); a parent's week of slots with one-tap
booking and cancelling, their bookings and waiting-list positions, contract and leave balance, leaves and absences."""
import base64
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from espace_common import formatting
from espace_common.rpc_client import RemoteError

from .. import vocabularies
from ..auth import current_principal, parent_required
from ..errors import refusal
from ..services import services
from ..trail import actor  # who acts, for the family's trail (issue #12)
from ..wallet import wallet_justification  # the document wallet (issue #12)
from .canteen_common import Week, day_fr, justification_response, megabytes, today
from .helpers import FormError, render_form

bp = Blueprint("childcare", __name__, url_prefix="/petite-enfance")

def childcare(method, *args, **kwargs):
    return services().call("childcare", method, *args, **kwargs)


def vocabulary():
    """The childcare service's codes, labels, limits and settings: its only source is that service."""
    return vocabularies.vocabulary("childcare")


@bp.app_template_filter("hhmm_fr")
def hhmm_fr(value):
    """'08:00' -> '8h00'."""
    return formatting.clock(str(value))


@bp.app_template_filter("instant_fr")
def instant_fr(value):
    """An instant as 'sam. 05/12 à 8h00' in the town's time."""
    return formatting.instant_day(value)


def family_id():
    return current_principal()["family_id"]


def not_found_as_404(call, *args, **kwargs):
    try:
        return childcare(call, *args, **kwargs)
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        raise


# --- Public pages ----------------------------------------------------------------------------------------

@bp.get("/")
def home():
    """The Petite Enfance service: the crèche, how to register, its practical information and news."""
    words = vocabulary()
    return render_template("childcare/home.html", words=words, practical=childcare("list_news", "practical", 20),
                           news=childcare("list_news", "news", 5))


@bp.get("/actualites")
def news():
    return render_template("childcare/news.html", items=childcare("list_news", "news", 20))


# --- A parent's week of slots -------------------------------------------------------------------------------

@bp.get("/creneaux")
@parent_required
def week():
    """A week of occasional-care slots with the places left; one tap books or cancels for the chosen child."""
    current = Week.parse(request.args.get("semaine"), today())
    children = childcare("family_childcare", family_id())
    bookable = [c for c in children if c["registration"]]
    chosen = next((c for c in bookable if c["child_id"] == request.args.get("enfant")), bookable[0] if bookable else None)
    slots = childcare("slots", current.monday.isoformat(), current.sunday.isoformat())
    mine = {b["slot_id"]: b for b in (chosen["bookings"] if chosen else [])}
    days = []
    for day in current.days:
        found = [dict(s, booking=mine.get(s["id"])) for s in slots if s["date"] == day.isoformat()]
        if found:
            days.append({"date": day, "slots": found})
    return render_template("childcare/week.html", week=current, days=days, children=children, bookable=bookable,
                           chosen=chosen, words=vocabulary())


@bp.post("/creneaux/<slot_id>/reserver")
@parent_required
def book(slot_id):
    """Book a slot for a child: confirmed while places are left, else on the waiting list with its position."""
    child_id, semaine = request.form.get("child", ""), request.form.get("semaine", "")
    try:
        booking = childcare("book", family_id(), child_id, slot_id, current_principal().get("email"), actor=actor())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        flash(f"Réservation impossible. {refusal(exc).message}", "error")
    else:
        when = f"{day_fr(booking['date'])} de {hhmm_fr(booking['start'])} à {hhmm_fr(booking['end'])}"
        if booking["status"] == "confirmed":
            flash(f"Créneau réservé : {when}.")
        else:
            flash(f"Ce créneau est complet : vous êtes sur la liste d'attente du {when}, en position "
                  f"{booking['position']}. Vous recevrez un e-mail si une place se libère.")
    return redirect(url_for("childcare.week", semaine=semaine or None, enfant=child_id or None), 303)


@bp.post("/reservations/<booking_id>/annuler")
@parent_required
def cancel(booking_id):
    """Cancel a booking; the page says whether the cancellation is billed."""
    semaine, child_id = request.form.get("semaine", ""), request.form.get("child", "")
    try:
        answer = childcare("cancel_booking", family_id(), booking_id, actor=actor())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        flash(f"Annulation impossible. {refusal(exc).message}", "error")
    else:
        hours = vocabulary()["cancellation_hours"]
        if answer["billed"]:
            flash(f"Réservation annulée. Annulée moins de {hours} heures avant le créneau, elle sera facturée, "
                  "sauf absence justifiée (maladie, hospitalisation).")
        else:
            flash("Réservation annulée, sans frais.")
    target = request.form.get("retour")
    if target == "mes-reservations":
        return redirect(url_for("childcare.mine"), 303)
    return redirect(url_for("childcare.week", semaine=semaine or None, enfant=child_id or None), 303)


@bp.get("/mes-reservations")
@parent_required
def mine():
    """My children at the crèche: bookings and waiting-list positions, contract and leave balance, absences."""
    return render_template("childcare/mine.html", children=childcare("family_childcare", family_id()),
                           words=vocabulary())


# --- Leaves and absences ----------------------------------------------------------------------------------------

def absences_page(error=None, values=None, leave_values=None, leave_error=None, attach_error=None, attach_id=None):
    """The absences page from one call: the forms, and the family's absences (newest first) with what can be done."""
    children = childcare("family_childcare", family_id())
    registered = [c for c in children if c["registration"]]
    words = vocabulary()
    one = registered[0]["child_id"] if len(registered) == 1 else ""
    absences = sorted((a for c in children for a in c["absences"]), key=lambda a: a["from"], reverse=True)
    if attach_id is not None and not any(a["id"] == attach_id for a in absences):
        abort(404)
    return render_form("childcare/absences.html", error or leave_error or attach_error, absence_error=error,
                       leave_error=leave_error, attach_error=attach_error, attach_id=attach_id,
                       children=registered, regular=[c for c in registered if c["registration"]["kind"] == "regular"],
                       values=values or {"child": one, "from": "", "to": "", "reason": ""},
                       leave_values=leave_values or {"child": one, "from": "", "to": ""}, absences=absences,
                       words=words, max_document=megabytes(words["justification"]["max_bytes"]))


@bp.get("/absences")
@parent_required
def absences():
    return absences_page()


@bp.post("/absences")
@parent_required
def report_absence():
    """Report an absence with a reason and, if the parent has one, a justification (PDF, JPEG or PNG)."""
    form, words = request.form, vocabulary()
    values = {name: form.get(name, "").strip() for name in ("child", "from", "to", "reason")}
    if not values["child"]:
        return absences_page(FormError("Choisissez l'enfant absent.", "invalid_children"), values)
    if not values["from"] or not values["to"]:
        return absences_page(FormError("Indiquez le premier et le dernier jour d'absence.", "invalid_date"), values)
    if values["reason"] not in words["absence_reasons"]:
        return absences_page(FormError("Choisissez le motif de l'absence.", "invalid_reason"), values)
    document = read_document(request.files.get("document"), words["justification"]["max_bytes"])
    if isinstance(document, FormError):
        return absences_page(document, values)
    try:
        document = document or wallet_justification()  # or an accepted wallet document (issue #12)
        childcare("report_absence", family_id(), values["child"], values["from"], values["to"], values["reason"],
                  document, actor=actor())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        return absences_page(refusal(exc), values)
    with_file = " Le justificatif sera examiné par l'équipe de la crèche." if document else ""
    flash(f"Absence enregistrée du {day_fr(values['from'])} au {day_fr(values['to'])}.{with_file}")
    return redirect(url_for("childcare.mine"), 303)


def read_document(upload, limit):
    """An uploaded file as the service's document argument (the service opens it with a real parser), a FormError
    when it is too large, None when no file was chosen."""
    if upload is None or not upload.filename:
        return None
    content = upload.read(limit + 1)
    if len(content) > limit:
        return FormError(f"Le justificatif ne doit pas dépasser {megabytes(limit)}.", "document_too_large")
    return {"name": upload.filename[:150], "content_base64": base64.b64encode(content).decode("ascii")}


@bp.post("/absences/<absence_id>/retirer")
@parent_required
def withdraw_absence(absence_id):
    """Withdraw an absence that has not begun and whose justification the crèche has not decided on."""
    absence_id = absence_id[:40]
    try:
        answer = not_found_as_404("withdraw_absence", family_id(), absence_id, actor=actor())
    except RemoteError as exc:
        flash(refusal(exc).message, "error")
        return redirect(url_for("childcare.absences", _anchor=f"absence-{absence_id}"), 303)
    flash(f"L'absence du {day_fr(answer['from'])} au {day_fr(answer['to'])} est retirée.")
    return redirect(url_for("childcare.absences", _anchor="absences-signalees"), 303)


@bp.post("/absences/<absence_id>/justificatif")
@parent_required
def attach_justification(absence_id):
    """Add a justification afterwards; the crèche's team then decides on it."""
    absence_id = absence_id[:40]
    document = read_document(request.files.get("document"), vocabulary()["justification"]["max_bytes"])
    error = document if isinstance(document, FormError) else None
    if document is None:
        error = FormError("Choisissez le fichier du justificatif.", "invalid_document")
    if error is None:
        try:
            answer = not_found_as_404("attach_justification", family_id(), absence_id, document, actor=actor())
        except RemoteError as exc:
            error = refusal(exc)
        else:
            flash(f"Justificatif « {document['name']} » ajouté à l'absence du {day_fr(answer['from'])} : il sera "
                  "examiné par l'équipe de la crèche.")
            return redirect(url_for("childcare.absences", _anchor=f"absence-{absence_id}"), 303)
    return absences_page(attach_error=error, attach_id=absence_id)


@bp.post("/conges")
@parent_required
def declare_leave():
    """Declare leave days of a regular contract in advance; the answer says what is left of the allowance."""
    values = {name: request.form.get(name, "").strip() for name in ("child", "from", "to")}
    if not values["child"] or not values["from"] or not values["to"]:
        return absences_page(leave_values=values,
                             leave_error=FormError("Indiquez l'enfant, le premier et le dernier jour du congé.",
                                                   "invalid_date"))
    try:
        answer = childcare("declare_leave", family_id(), values["child"], values["from"], values["to"], actor=actor())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        return absences_page(leave_values=values, leave_error=refusal(exc))
    flash(f"Congé enregistré : {answer['days']} jour(s) d'accueil. Il vous reste {answer['remaining']} jour(s) "
          f"de congé sur {answer['allowed']}.")
    return redirect(url_for("childcare.mine"), 303)


@bp.get("/absences/<absence_id>/justificatif")
@parent_required
def justification(absence_id):
    """A justification the family sent, read back by one of its parents (another family's is 404); recorded."""
    document = not_found_as_404("absence_document", absence_id, family_id(), f"parent:{current_principal()['id']}")
    return justification_response(document, absence_id)


def week_of(value):
    """The ISO week key of a date, for links from a booking to its week."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    year, number, _ = day.isocalendar()
    return f"{year:04d}-W{number:02d}"


bp.add_app_template_filter(week_of, "week_of")
