"""The canteen pages: public menus, news and schools; a parent's meals, periods, absences and calendar feed."""
import base64
from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from icalendar import Calendar, Event

from espace_common.rpc_client import RemoteError

from ..auth import current_principal, parent_required
from ..services import services
from ..trail import actor  # who acts, for the family's trail (issue #12)
from ..wallet import wallet_justification  # the document wallet (issue #12)
from .canteen_common import (
    CanteenFormError, Month, Week, WEEKDAYS_SHORT, canteen, day_fr, justification_response, megabytes, now, refusal,
    sorted_courses, today, vocabulary,
)
from .helpers import PARIS, de, no_store, render_form

bp = Blueprint("canteen", __name__, url_prefix="/cantine")

WEEKDAY_CHOICES = {1: "Lun", 2: "Mar", 3: "Mer", 4: "Jeu", 5: "Ven", 6: "Sam", 7: "Dim"}


# --- Public pages ------------------------------------------------------------------------

@bp.get("/menus")
def menus():
    """The menus of a week, the same in every school, with allergens and labels written out."""
    week = Week.parse(request.args.get("semaine"), today())
    days = [{"date": m["date"], "courses": sorted_courses(m["courses"])}
            for m in canteen("menus_for_week", week.key)]
    words = vocabulary()
    return render_template("canteen/menus.html", week=week, days=days, courses=words.courses,
                           allergens=words.allergens, labels=words.labels)


@bp.get("/actualites")
def news():
    """The news of the Affaires Scolaires service."""
    return render_template("canteen/news.html", kind="news", items=canteen("list_news", "news"))


@bp.get("/informations-pratiques")
def practical():
    """The practical information of the Affaires Scolaires service."""
    return render_template("canteen/news.html", kind="practical", items=canteen("list_news", "practical"))


@bp.get("/ecoles")
def schools():
    """The schools whose canteen the town runs."""
    return render_template("canteen/schools.html", schools=canteen("list_schools"))


# --- A parent's meals ------------------------------------------------------------------------

def family_id():
    return current_principal()["family_id"]


def my_children():
    """The family's children as the canteen knows them (its own projection of identity's families)."""
    return canteen("family_children", family_id())


def school_weekdays():
    """The weekdays with school meals: a setting of the canteen service, not of the gateway."""
    return vocabulary().school_weekdays


def weekday_columns(days):
    """The weekdays that have canteen days this month (Mon, Tue, Thu, Fri by default), in order."""
    return sorted({date.fromisoformat(d["date"]).isoweekday() for d in days if d.get("closure") != "weekday"})


@bp.get("/")
@parent_required
def month():
    """A month of meals for each child: each day's state, its deadline, and one tap to change it."""
    current = Month.parse(request.args.get("mois"), today())
    calendars = []
    # One call for every child: the page costs what the API's read of a month costs.
    for child in canteen("family_meals", family_id(), current.first.isoformat(), current.last.isoformat()):
        days = child.pop("days")
        calendars.append({"child": child, "days": [d for d in days if d.get("closure") != "weekday"]})
    columns = weekday_columns([d for c in calendars for d in c["days"]]) or school_weekdays()
    for calendar in calendars:
        calendar["days"] = day_cells(calendar["days"], columns, today())
        calendar["reserved"] = sum(d["state"] == "reserved" for d in calendar["days"])
    return render_template("canteen/month.html", month=current, calendars=calendars, columns=columns,
                           weekday_names=WEEKDAY_CHOICES)


def day_cells(days, columns, now_day):
    """What each day's cell shows: its column, its state in French, why it is frozen or closed, the action."""
    cells, previous_week, states = [], None, vocabulary().day_states
    for d in days:
        day = date.fromisoformat(d["date"])
        week = day.isocalendar()[:2]
        column = columns.index(day.isoweekday()) + 1 if day.isoweekday() in columns else 1
        cell = {**d, "day": day, "col": column, "week_start": week != previous_week,
                "wd": WEEKDAYS_SHORT[day.weekday()], "today": day == now_day,
                "label": states.get(d["state"], d["state"]), "action": None, "note": d["reason"] or ""}
        previous_week = week
        if d["state"] == "closed":
            cell["kind"] = "closed"
        elif d["changeable"]:
            cell["kind"] = "open"
            cell["action"] = "cancel" if d["state"] == "reserved" else "reserve"
        elif d["state"] == "absent":
            cell["kind"] = "absent"
        else:
            cell["kind"] = "frozen"
            cell["note"] = "Figé : jour passé." if day < now_day else f"Figé. {d['reason'] or ''}".strip()
        cells.append(cell)
    return cells


def day_anchor(index, day):
    """The id of a day's cell on the month page: the child's rank in the family and the date."""
    return f"e{index}-{day}"


@bp.post("/repas/<child_id>/<day>")
@parent_required
def change_day(child_id, day):
    """One tap on a day: reserve or cancel its meal, then back to the month (POST-redirect-GET)."""
    action = request.form.get("action")
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if action not in ("reserve", "cancel"):
        abort(400)
    # One call: the change (or the rule that refused it) with the child's name and rank; 404 for another's child.
    try:
        answer = canteen("change_day", family_id(), child_id, day, action, actor=actor())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        raise
    name = answer["first_name"]
    if answer["changed"]:
        done = "réservé" if action == "reserve" else "annulé"
        flash(f"Repas {de(name)} du {day_fr(wanted)} {done}.")
    else:
        flash(f"Le repas {de(name)} du {day_fr(wanted)} n'a pas été modifié. {answer['refusal']['message']}", "error")
    target = url_for("canteen.month", mois=day[:7], _anchor=day_anchor(answer["rank"], day))
    return redirect(target, 303)


def next_month_bounds():
    following = Month.parse(None, today()).next
    return following.first.isoformat(), following.last.isoformat()


@bp.route("/reservations", methods=("GET", "POST"))
@parent_required
def period():
    """Reserve or cancel a period for several children with a weekday pattern; the answer says day by day."""
    children = my_children()
    names = {c["child_id"]: c["first_name"] for c in children}
    start, end = next_month_bounds()
    values = {"children": list(names), "from": start, "to": end, "weekdays": school_weekdays(),
              "action": "reserve"}
    error, outcome = None, None
    if request.method == "POST":
        form = request.form
        values = {"children": [c for c in form.getlist("children") if c in names],
                  "from": form.get("from", "").strip(), "to": form.get("to", "").strip(),
                  "weekdays": [int(d) for d in form.getlist("weekdays") if d.isdigit()],
                  "action": form.get("action")}
        if not values["children"]:
            error = CanteenFormError("Cochez au moins un enfant.", "invalid_children")
        elif not values["from"] or not values["to"]:
            error = CanteenFormError("Indiquez la première et la dernière date de la période.", "invalid_date")
        elif not values["weekdays"]:
            error = CanteenFormError("Cochez au moins un jour de la semaine.", "invalid_weekdays")
        elif values["action"] not in ("reserve", "cancel"):
            error = CanteenFormError("Choisissez de réserver ou d'annuler.", "invalid_action")
        else:
            try:
                answer = canteen("change_meals", family_id(), {
                    "children": values["children"], "from": values["from"], "to": values["to"],
                    "weekdays": values["weekdays"], "action": values["action"]}, actor=actor())
            except RemoteError as exc:
                error = refusal(exc)
            else:
                outcome = outcome_view(answer, children, values["action"])
    return render_form("canteen/period.html", error, children=children, values=values, outcome=outcome,
                       weekdays={d: WEEKDAY_CHOICES[d] for d in school_weekdays()})


def outcome_view(answer, children, action):
    """The bulk answer day by day (dates in order, children in family order), with a summary."""
    order = {c["child_id"]: i for i, c in enumerate(children)}
    names = {c["child_id"]: c["first_name"] for c in children}
    results = vocabulary().bulk_results
    rows = sorted(answer["results"], key=lambda r: (r["date"], order.get(r["child_id"], 99)))
    for row in rows:
        row["first_name"] = names.get(row["child_id"], "")
        row["label"] = results.get(row["result"], row["result"])
        if row["result"] == "unchanged":
            row["label"] = "déjà réservé" if action == "reserve" else "pas de repas à annuler"
        if row["result"] == "refused" and row.get("closure"):
            # A day the canteen is closed is no refusal of the parent's request: it reads as closed, not in red.
            row["result"] = "closed"
            row["label"] = f"fermé ({CLOSURE_WORDS[row['closure']]})" if row["closure"] in CLOSURE_WORDS else "fermé"
    summary = dict(answer["summary"])
    summary["closed"] = sum(row["result"] == "closed" for row in rows)
    summary["refused"] = max(summary.get("refused", 0) - summary["closed"], 0)
    return {"rows": rows, "summary": summary}


# The closed days' kinds the canteen names (calendar_rules.SchoolCalendar.closure), as the period result says them.
CLOSURE_WORDS = {"public_holiday": "jour férié", "holiday": "vacances", "closed": "restaurant fermé",
                 "weekday": "pas de cantine ce jour-là"}


def read_document(upload, words):
    """An uploaded file as the service's document argument, or a FormError when it is too large; None when the
    parent chose no file. The canteen service opens it with a real parser (a PDF library, Pillow)."""
    if upload is None or not upload.filename:
        return None
    content = upload.read(words.max_document_bytes + 1)
    if len(content) > words.max_document_bytes:
        return CanteenFormError(f"Le justificatif ne doit pas dépasser {megabytes(words.max_document_bytes)}.",
                                "document_too_large")
    return {"name": upload.filename[:150], "content_base64": base64.b64encode(content).decode("ascii")}


def period_words(start, end):
    start, end = date.fromisoformat(start), date.fromisoformat(end)
    return f"pour le {day_fr(start)}" if start == end else f"du {day_fr(start)} au {day_fr(end)}"


@bp.route("/absences", methods=("GET", "POST"))
@parent_required
def absence():
    """Report an absence for a period, for one or several children at once (one form, one call), with an optional
    justification (PDF, JPEG or PNG); the family's absences listed below with what can still be done to each."""
    children = my_children()
    names = {c["child_id"]: c["first_name"] for c in children}
    values = {"children": [children[0]["child_id"]] if len(children) == 1 else [], "from": "", "to": "",
              "reason": ""}
    error, words = None, vocabulary()
    if request.method == "POST":
        form = request.form
        values = {name: form.get(name, "").strip() for name in ("from", "to", "reason")}
        values["children"] = [c for c in dict.fromkeys(form.getlist("children")) if c in names]
        document = None
        if not values["children"]:
            error = CanteenFormError("Cochez l'enfant absent (ou les enfants absents).", "invalid_children")
        elif not values["from"] or not values["to"]:
            error = CanteenFormError("Indiquez le premier et le dernier jour d'absence.", "invalid_date")
        elif values["reason"] not in words.absence_reasons:
            error = CanteenFormError("Choisissez le motif de l'absence.", "invalid_reason")
        else:
            document = read_document(request.files.get("document"), words)
            if isinstance(document, CanteenFormError):
                error, document = document, None
        if error is None:
            try:
                document = document or wallet_justification()  # or an accepted wallet document (issue #12)
                answer = canteen("report_absences", family_id(), values["children"], values["from"], values["to"],
                                 values["reason"], document, actor=actor())
            except RemoteError as exc:
                error = refusal(exc)
            else:
                done = [r for r in answer["results"] if r["absence"]]
                refused = [r for r in answer["results"] if r["refusal"]]
                if not done:
                    first = refused[0]
                    error = CanteenFormError(first["refusal"]["message"], first["refusal"]["code"], 409)
                else:
                    period = period_words(values["from"], values["to"])
                    with_file = f", avec le justificatif « {document['name']} »" if document else ""
                    who = " et ".join(", ".join(names[r["child_id"]] for r in done).rsplit(", ", 1))
                    flash(f"Absence {de(who)} enregistrée {period}{with_file}.")
                    for r in refused:
                        flash(f"L'absence {de(names[r['child_id']])} n'a pas été enregistrée : "
                              f"{r['refusal']['message']}", "error")
                    return redirect(url_for("canteen.month", mois=values["from"][:7]), 303)
    absences = canteen("family_absences", family_id())
    if request.method == "GET" and request.args.get("jour"):
        # From an absent day of the month page: straight to the absence that covers it.
        wanted, child = request.args.get("jour", "")[:10], request.args.get("enfant", "")[:40]
        match = next((a for a in absences if a["child_id"] == child and a["from"] <= wanted <= a["to"]), None)
        if match:
            return redirect(url_for("canteen.absence", _anchor=f"absence-{match['id']}"))
    return absences_page(error, children, values, absences)


def absences_page(error, children, values, absences, attach_error=None, attach_id=None):
    words = vocabulary()
    return render_form("canteen/absence.html", error or attach_error, form_error=error, attach_error=attach_error,
                       attach_id=attach_id, children=children, values=values, reasons=words.absence_reasons,
                       absences=absences, justification_hours=words.justification_hours,
                       states=words.justification_states, max_document=megabytes(words.max_document_bytes))


def absence_call(method, *args):
    """A parent's call about one absence of theirs; another family's (or a junk id) is 404."""
    try:
        return canteen(method, family_id(), *args, actor=actor())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        raise


@bp.post("/absences/<absence_id>/retirer")
@parent_required
def withdraw_absence(absence_id):
    """Withdraw an absence that has not begun: the meals still reserved on its days are served again."""
    try:
        answer = absence_call("withdraw_absence", absence_id[:40])
    except RemoteError as exc:
        flash(refusal(exc).message, "error")
        return redirect(url_for("canteen.absence", _anchor=f"absence-{absence_id[:40]}"), 303)
    name = next((c["first_name"] for c in my_children() if c["child_id"] == answer["child_id"]), "")
    flash(f"L'absence {de(name)} {period_words(answer['from'], answer['to'])} est retirée : les repas réservés "
          "ces jours-là sont de nouveau servis.")
    return redirect(url_for("canteen.month", mois=answer["from"][:7]), 303)


@bp.post("/absences/<absence_id>/justificatif")
@parent_required
def attach_justification(absence_id):
    """Add the medical certificate afterwards, within the hours the page announces."""
    absence_id, words = absence_id[:40], vocabulary()
    document = read_document(request.files.get("document"), words)
    error = document if isinstance(document, CanteenFormError) else None
    if document is None:
        error = CanteenFormError("Choisissez le fichier du justificatif.", "invalid_document")
    if error is None:
        try:
            answer = absence_call("attach_justification", absence_id, document)
        except RemoteError as exc:
            error = refusal(exc)
        else:
            name = next((c["first_name"] for c in my_children() if c["child_id"] == answer["child_id"]), "")
            flash(f"Justificatif « {document['name']} » ajouté à l'absence {de(name)} "
                  f"{period_words(answer['from'], answer['to'])}.")
            return redirect(url_for("canteen.absence", _anchor=f"absence-{absence_id}"), 303)
    children = my_children()
    absences = canteen("family_absences", family_id())
    if not any(a["id"] == absence_id for a in absences):
        abort(404)
    return absences_page(None, children, {"children": [], "from": "", "to": "", "reason": ""}, absences,
                         attach_error=error, attach_id=absence_id)


@bp.get("/absences/<absence_id>/justificatif")
@parent_required
def justification(absence_id):
    """A justification the family sent, read back by one of its parents (another family's is 404); the
    canteen service records the read as it records agents' reads."""
    try:
        document = canteen("absence_document", absence_id, family_id(), f"parent:{current_principal()['id']}")
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        raise
    return justification_response(document, absence_id)


# --- The family's private calendar feed ------------------------------------------------------

@bp.get("/agenda")
@parent_required
def feed_page():
    """The private calendar feed of the reserved meals: create, renew or revoke its address."""
    return no_store(make_response(render_template("canteen/feed.html", feed_url=None)))


@bp.post("/agenda/nouvelle-adresse")
@parent_required
def renew_feed():
    """A new private address (the previous one stops working), shown this once."""
    token = canteen("renew_calendar_feed", family_id())["token"]
    url = url_for("canteen.feed", token=token, _external=True)
    webcal = "webcal://" + url.split("://", 1)[1]
    return no_store(make_response(render_template("canteen/feed.html", feed_url=url, webcal_url=webcal)))


@bp.post("/agenda/revoquer")
@parent_required
def revoke_feed():
    """Revoke the address: calendars subscribed to it stop receiving the meals."""
    canteen("revoke_calendar_feed", family_id())
    flash("L'adresse de votre agenda est révoquée : les agendas abonnés ne reçoivent plus vos repas.")
    return redirect(url_for("canteen.feed_page"), 303)


@bp.get("/calendrier/<token>.ics")
def feed(token):
    """The family's reserved meals and crèche bookings as iCalendar; an unknown or revoked address is 404."""
    try:
        feed = canteen("family_calendar_feed", token)
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        raise
    meals = feed["meals"]
    creche_bookings = services().call("childcare", "family_bookings_feed", feed["family_id"])
    calendar = Calendar()
    calendar.add("prodid", "-//Ville de Donges//Espace Famille//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Cantine et multi-accueil · Espace Famille de Donges")
    calendar.add("x-wr-timezone", "Europe/Paris")
    stamp = now().astimezone(timezone.utc).replace(microsecond=0)
    for meal in meals:
        day = date.fromisoformat(meal["date"])
        event = Event()
        event.add("uid", f"cantine-{meal['child_id']}-{meal['date']}@espace-famille.donges")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", f"Cantine : {meal['first_name']}")
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    for booking in creche_bookings:
        day = date.fromisoformat(booking["date"])
        starts, ends = (datetime.combine(day, time.fromisoformat(booking[k]), PARIS) for k in ("start", "end"))
        event = Event()
        event.add("uid", f"creche-{booking['child_id']}-{booking['date']}-{booking['start']}@espace-famille.donges")
        event.add("dtstamp", stamp)
        event.add("dtstart", starts.astimezone(timezone.utc))
        event.add("dtend", ends.astimezone(timezone.utc))
        event.add("summary", f"Multi-accueil : {booking['first_name']}")
        calendar.add_component(event)
    response = make_response(calendar.to_ical())
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="cantine.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
