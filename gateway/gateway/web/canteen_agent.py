"""The agents' canteen pages: school calendar, menus, schools and classes, enrolments, attendance, head-counts,
diets and news. Only agents of the Affaires Scolaires (and administrators) reach them."""
import csv
import io
from datetime import date, timedelta

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from markupsafe import Markup

from espace_common.rpc_client import RemoteError

from ..auth import current_principal, role_required
from ..services import services
from ..trail import actor  # who acts, for the family's trail (issue #12)
from . import news_admin
from .canteen_common import (
    CanteenFormError, Week, canteen, day_fr, justification_response, megabytes, refusal, sorted_courses, today,
    vocabulary,
)
from .helpers import de, render_form

bp = Blueprint("canteen_agent", __name__, url_prefix="/agents/cantine")

CANTEEN_ROLES = ("affaires_scolaires",)


TASKS = (
    ("canteen_agent.calendar", "Calendrier scolaire",
     "Importer les vacances scolaires (fichier iCalendar), fermer ou rouvrir un jour."),
    ("canteen_agent.menus", "Menus", "Saisir les menus de chaque semaine, avec les allergènes et les labels des plats."),
    ("canteen_agent.schools", "Écoles et classes", "Les écoles de la ville et leurs classes, par année scolaire."),
    ("canteen_agent.enrolments", "Inscriptions",
     "Inscrire un enfant à la restauration scolaire : école, année scolaire et classe."),
    ("canteen_agent.attendance", "Présences", "Pointer, par école et par jour, les enfants qui ont mangé."),
    ("canteen_agent.headcount", "Effectifs",
     "Les repas réservés par école et par régime, et leur export CSV pour la cuisine."),
    ("canteen_agent.diets", "Régimes et PAI", "Le régime alimentaire et le PAI de chaque enfant (données sensibles)."),
    ("canteen_agent.news", "Actualités", "Publier, modifier ou retirer une actualité ou une information pratique."),
)


@bp.app_context_processor
def canteen_agent_links():
    return {"canteen_agent_tasks": TASKS, "canteen_agent_pages": [(endpoint, label) for endpoint, label, _ in TASKS]}


def agents_only(view):
    return role_required(*CANTEEN_ROLES)(view)


def parse_day(text, default=None):
    """A date from a form or a query string; a bad one is a 400 page."""
    if not text:
        if default is None:
            abort(400)
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(400)


def back(endpoint, **values):
    return redirect(url_for(endpoint, **values), 303)


@bp.get("/")
@agents_only
def home():
    """The canteen's back office: one link per task."""
    return render_template("agent/canteen/home.html")


# --- School calendar ------------------------------------------------------------------------

def closures(start, end):
    """The closed days ahead (weekdays without canteen left out); holiday periods grouped into one line."""
    days = canteen("school_days", start.isoformat(), end.isoformat())
    periods = []
    for day in days:
        if day["open"]:
            if periods:
                periods[-1]["ended"] = True
            continue
        if day["closure"] == "weekday":
            continue
        current = periods[-1] if periods else None
        groupable = day["closure"] == "holiday"
        if current and groupable and not current.get("ended") and current["reason"] == day["reason"]:
            current["to"] = day["date"]
        else:
            periods.append({"from": day["date"], "to": day["date"], "reason": day["reason"],
                            "reopenable": day["closure"] == "closed"})
    return periods


@bp.get("/calendrier")
@agents_only
def calendar():
    """The school calendar: import the holidays, close or reopen a day, the closed days ahead."""
    start = today()
    return render_form("agent/canteen/calendar.html", closures=closures(start, start + timedelta(days=365)),
                       values={}, error=None)


def calendar_error(error, values):
    start = today()
    return render_form("agent/canteen/calendar.html", error,
                       closures=closures(start, start + timedelta(days=365)), values=values)


@bp.post("/calendrier/vacances")
@agents_only
def import_holidays():
    """Import the national holiday calendar (an iCalendar file) of the town's zone."""
    upload = request.files.get("ics")
    if upload is None or not upload.filename:
        return calendar_error(CanteenFormError("Choisissez le fichier iCalendar (.ics) des vacances scolaires.",
                                               "invalid_calendar"), {})
    limit = vocabulary().max_ics_bytes
    content = upload.read(limit + 1)
    if len(content) > limit:
        return calendar_error(CanteenFormError(f"Le fichier ne doit pas dépasser {megabytes(limit)}.",
                                               "invalid_calendar"), {})
    try:
        result = canteen("import_holidays", content.decode("utf-8", errors="replace"))
    except RemoteError as exc:
        return calendar_error(refusal(exc), {})
    flash(f"Calendrier importé : {result['periods']} période{'s' if result['periods'] > 1 else ''} de vacances, "
          f"dont {result['added']} nouvelle{'s' if result['added'] > 1 else ''}.")
    return back("canteen_agent.calendar")


@bp.post("/calendrier/fermer")
@agents_only
def close_day():
    """Close a day (a strike, a kitchen incident): no reservation is possible on it."""
    values = {"day": request.form.get("day", "").strip(), "reason": request.form.get("reason", "").strip()}
    if not values["day"]:
        return calendar_error(CanteenFormError("Indiquez le jour à fermer.", "close_day"), values)
    try:
        canteen("close_day", values["day"], values["reason"])
    except RemoteError as exc:
        return calendar_error(refusal(exc), values)
    flash(f"Le restaurant scolaire est fermé le {day_fr(values['day'], year=True)}.")
    return back("canteen_agent.calendar")


@bp.post("/calendrier/rouvrir")
@agents_only
def reopen_day():
    """Reopen a day an agent had closed."""
    day = request.form.get("day", "").strip()
    try:
        canteen("reopen_day", day)
    except RemoteError as exc:
        flash(refusal(exc).message, "error")
    else:
        flash(f"Le {day_fr(day, year=True)} est rouvert aux réservations.")
    return back("canteen_agent.calendar")


# --- Menus ----------------------------------------------------------------------------------

@bp.get("/menus")
@agents_only
def menus():
    """The menus of a week, day by day, each with a link to its editor."""
    week = Week.parse(request.args.get("semaine"), today())
    found = {m["date"]: sorted_courses(m["courses"]) for m in canteen("menus_for_week", week.key)}
    open_days = {d["date"] for d in canteen("school_days", week.monday.isoformat(), week.sunday.isoformat())
                 if d["open"]}
    days = [{"date": d.isoformat(), "courses": found.get(d.isoformat(), [])} for d in week.days
            if d.isoformat() in open_days or d.isoformat() in found]
    words = vocabulary()
    return render_template("agent/canteen/menus.html", week=week, days=days, courses=words.courses,
                           labels=words.labels, allergens=words.allergens)


def courses_from(form):
    """The day's courses from the editor: one row per kind of course, left out when its name is empty."""
    courses, words = [], vocabulary()
    for kind in words.courses:
        name = form.get(f"{kind}-name", "").strip()
        if name:
            courses.append({"course": kind, "name": name,
                            "allergens": [a for a in form.getlist(f"{kind}-allergens") if a in words.allergens],
                            "labels": [lab for lab in form.getlist(f"{kind}-labels") if lab in words.labels]})
    return courses


@bp.route("/menus/<day>", methods=("GET", "POST"))
@agents_only
def edit_menu(day):
    """The menu of one day: a name per course, its allergens and its labels."""
    wanted = parse_day(day)
    week = Week(wanted - timedelta(days=wanted.weekday()))
    error = None
    if request.method == "POST":
        courses = courses_from(request.form)
        if not courses:
            error = CanteenFormError("Saisissez au moins un plat.", "invalid_menu")
        else:
            try:
                canteen("set_menu", wanted.isoformat(), courses)
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash(f"Menu du {day_fr(wanted, year=True)} enregistré.")
                return back("canteen_agent.menus", semaine=week.key)
        current = {c["course"]: c for c in courses}
    else:
        menu = next((m for m in canteen("menus_for_week", week.key) if m["date"] == wanted.isoformat()), None)
        current = {c["course"]: c for c in (menu["courses"] if menu else [])}
    words = vocabulary()
    return render_form("agent/canteen/menu_edit.html", error, day=wanted, week=week, current=current,
                       courses=words.courses, allergens=words.allergens, labels=words.labels)


# --- Schools and classes ------------------------------------------------------------------

@bp.route("/ecoles", methods=("GET", "POST"))
@agents_only
def schools():
    """The schools and their classes for a school year; add a school or a class."""
    directory = canteen("school_directory")
    years = directory["school_years"]
    year = request.values.get("annee") if request.values.get("annee") in years else years[0]
    error, values = None, {}
    if request.method == "POST":
        form = request.form
        values = {name: form.get(name, "").strip() for name in ("name", "kind", "address", "school", "class_name")}
        try:
            if form.get("action") == "add_class":
                if not values["school"] or not values["class_name"]:
                    raise_form("Choisissez l'école et donnez un nom à la classe.", "invalid_class")
                canteen("add_class", values["school"], year, values["class_name"])
                flash(f"Classe {values['class_name']} ajoutée pour l'année {year}.")
            else:
                if not values["name"]:
                    raise_form("Donnez le nom de l'école.", "invalid_school")
                canteen("add_school", values["name"], values["kind"] or "public", values["address"])
                flash(f"École « {values['name']} » enregistrée.")
        except FormRefusal as refused:
            error = refused.error
        except RemoteError as exc:
            error = refusal(exc)
        else:
            return back("canteen_agent.schools", annee=year)
    listed = [{**school, "classes": school["classes"][year]} for school in directory["schools"]]
    return render_form("agent/canteen/schools.html", error, schools=listed, years=years, year=year, values=values,
                       kinds=vocabulary().school_kinds)


def known_id(value):
    """An id from the URL: anything longer than an id is no id (404) and is not sent to the service."""
    if len(value) > 64:
        abort(404)
    return value


def directory_school(school_id):
    """The school (with its classes of the offered years) from the directory, or 404."""
    directory = canteen("school_directory")
    school = next((s for s in directory["schools"] if s["id"] == known_id(school_id)), None)
    return school or abort(404), directory["school_years"]


def directory_class(class_id):
    """The class, its school and its year from the directory, or 404."""
    known_id(class_id)
    for school in canteen("school_directory")["schools"]:
        for year, classes in school["classes"].items():
            for klass in classes:
                if klass["id"] == class_id:
                    return {**klass, "school_year": year}, school
    abort(404)


def refused_unless_not_found(exc):
    """A refusal shown on the form; an id the service does not know is the 404 page."""
    if exc.exc_type == "NotFound":
        raise exc
    return refusal(exc)


@bp.route("/ecoles/<school_id>", methods=("GET", "POST"))
@agents_only
def edit_school(school_id):
    """Correct a school's name, kind or address."""
    school, years = directory_school(school_id)
    error, values = None, school
    if request.method == "POST":
        values = {"id": school["id"], **{name: request.form.get(name, "").strip() for name in ("name", "kind", "address")}}
        try:
            if not values["name"]:
                raise_form("Donnez le nom de l'école.", "invalid_school")
            canteen("edit_school", school["id"], values["name"], values["kind"] or "public", values["address"])
        except FormRefusal as refused:
            error = refused.error
        except RemoteError as exc:
            error = refused_unless_not_found(exc)
            if error.code == "school_name_taken":
                error.about = "name"
        else:
            flash(f"École « {values['name']} » modifiée.")
            return back("canteen_agent.schools")
    return render_form("agent/canteen/school_edit.html", error, school=school, values=values,
                       kinds=vocabulary().school_kinds)


@bp.route("/ecoles/<school_id>/supprimer", methods=("GET", "POST"))
@agents_only
def delete_school(school_id):
    """Delete a school entered by mistake, after a confirmation; the service refuses one with enrolled children."""
    school, years = directory_school(school_id)
    error = None
    if request.method == "POST":
        try:
            canteen("delete_school", school["id"])
        except RemoteError as exc:
            error = refused_unless_not_found(exc)
        else:
            flash(f"École « {school['name']} » supprimée.")
            return back("canteen_agent.schools")
    classes = sum(len(school["classes"][year]) for year in years)
    return render_form("agent/confirm.html", error, nav="agent/canteen/_nav.html", heading=Markup("Supprimer l'école « <bdi>{}</bdi> » ?").format(school["name"]),
                       explanation=("Ses classes seront supprimées avec elle" if classes else "Elle n'a aucune classe")
                       + ". Une école où des enfants sont inscrits ne peut pas être supprimée.",
                       button="Supprimer l'école", cancel=url_for("canteen_agent.schools"))


@bp.route("/classes/<class_id>", methods=("GET", "POST"))
@agents_only
def rename_class(class_id):
    """Correct a class's name."""
    klass, school = directory_class(class_id)
    error, values = None, {"class_name": klass["name"]}
    if request.method == "POST":
        values = {"class_name": request.form.get("class_name", "").strip()}
        try:
            if not values["class_name"]:
                raise_form("Donnez un nom à la classe.", "invalid_class")
            canteen("rename_class", class_id, values["class_name"])
        except FormRefusal as refused:
            error = refused.error
        except RemoteError as exc:
            error = refused_unless_not_found(exc)
        if error is not None:
            error.about = "class_name"
        else:
            flash(f"Classe renommée « {values['class_name']} ».")
            return back("canteen_agent.schools", annee=klass["school_year"])
    return render_form("agent/canteen/class_edit.html", error, klass=klass, school=school, values=values)


@bp.route("/classes/<class_id>/supprimer", methods=("GET", "POST"))
@agents_only
def delete_class(class_id):
    """Delete a class entered by mistake, after a confirmation; the service refuses one with enrolled children."""
    klass, school = directory_class(class_id)
    error = None
    if request.method == "POST":
        try:
            canteen("delete_class", class_id)
        except RemoteError as exc:
            error = refused_unless_not_found(exc)
        else:
            flash(f"Classe « {klass['name']} » supprimée.")
            return back("canteen_agent.schools", annee=klass["school_year"])
    return render_form("agent/confirm.html", error, nav="agent/canteen/_nav.html",
                       heading=Markup("Supprimer la classe « <bdi>{}</bdi> » (<bdi>{}</bdi>, {}) ?").format(
                           klass["name"], school["name"], klass["school_year"]),
                       explanation="Une classe où des enfants sont inscrits ne peut pas être supprimée : "
                                   "changez d'abord leur inscription.",
                       button="Supprimer la classe", cancel=url_for("canteen_agent.schools", annee=klass["school_year"]))


class FormRefusal(Exception):
    def __init__(self, error):
        super().__init__(error.message)
        self.error = error


def raise_form(message, code):
    raise FormRefusal(CanteenFormError(message, code))


# --- Enrolments -----------------------------------------------------------------------------

@bp.get("/inscriptions")
@agents_only
def enrolments():
    """Find the family of the child to enrol."""
    query = request.args.get("q", "").strip()
    families, error = None, None
    if "q" in request.args:
        try:
            families = services().call("identity", "find_families", query)
        except RemoteError as exc:
            error = refusal(exc)
    return render_form("agent/canteen/enrolments.html", error, query=query, families=families)


def placements():
    """Every (school, school year, class) an enrolment can choose, grouped by school and year (one call)."""
    groups = []
    directory = canteen("school_directory")
    for school in directory["schools"]:
        for year in directory["school_years"]:
            options = [{"value": f"{school['id']}|{year}|", "label": f"{school['name']}, sans classe précisée"}]
            options += [{"value": f"{school['id']}|{year}|{c['id']}", "label": f"{school['name']}, classe {c['name']}"}
                        for c in school["classes"][year]]
            groups.append({"label": f"{school['name']} — année {year}", "school": school, "year": year,
                           "options": options})
    return groups


@bp.route("/inscriptions/<family_id>", methods=("GET", "POST"))
@agents_only
def enrol_family(family_id):
    """Enrol each child of a family in a school, for a school year, in a class."""
    family = services().call("identity", "family_for_agent", family_id)
    error, values = None, {}
    if request.method == "POST":
        child_id = request.form.get("child", "")
        child = next((c for c in family["children"] if c["id"] == child_id), None)
        if child is None:
            abort(404)
        values = {"child": child_id, "placement": request.form.get("placement", "")}
        school_id, _, rest = values["placement"].partition("|")
        year, _, class_id = rest.partition("|")
        if not school_id or not year:
            error = CanteenFormError(f"Choisissez l'école et l'année {de(child['first_name'])}.", "invalid_class")
        else:
            try:
                canteen("enrol", child_id, school_id, year, class_id or None)
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash(f"{child['first_name']} {child['last_name']} est inscrit(e) à la restauration scolaire "
                      f"pour l'année {year}.")
                return back("canteen_agent.enrol_family", family_id=family_id)
    absences = canteen("family_absences", family_id)
    enrolled = enrolments_by_child(canteen("enrolments_of_family", family_id))
    names = {c["id"]: f"{c['first_name']} {c['last_name']}" for c in family["children"]}
    for absence in absences:
        absence["child_name"] = names.get(absence["child_id"], "")
    return render_form("agent/canteen/enrol_family.html", error, family=family, groups=placements(), values=values,
                       absences=absences, reasons=vocabulary().absence_reasons, enrolled=enrolled)


def enrolments_by_child(enrolments):
    """{child_id: [enrolment, ...]} by school year, from canteen's enrolments_of_family."""
    by_child = {}
    for enrolment in enrolments:
        by_child.setdefault(enrolment["child_id"], []).append(enrolment)
    return by_child


@bp.get("/absences/<absence_id>/justificatif")
@agents_only
def justification(absence_id):
    """A justification file, for the agent; the canteen service records who read it."""
    principal = current_principal()
    return justification_response(canteen("absence_document", absence_id, None, f"agent:{principal['id']}"),
                                  absence_id)


# --- Attendance -----------------------------------------------------------------------------

def school_day():
    """The schools, the chosen one (the first by default), its school year and its sheet of the day: one call."""
    day = parse_day(request.values.get("date"), today())
    return canteen("school_day", request.values.get("ecole") or None, day.isoformat()), day


@bp.route("/presences", methods=("GET", "POST"))
@agents_only
def attendance():
    """Who ate, per school and day; a meal eaten without reservation is shown and kept as such."""
    if request.method == "POST":
        day = parse_day(request.values.get("date"), today())
        school_id = request.form.get("ecole") or abort(404)
        eaten = request.form.getlist("eaten")
        try:
            result = canteen("record_attendance", school_id, day.isoformat(), eaten, actor=actor())
        except RemoteError as exc:
            flash(refusal(exc).message, "error")
        else:
            extra = result["without_reservation"]
            flash(f"Présences du {day_fr(day, year=True)} enregistrées : {result['eaten']} repas pris"
                  + (f", dont {extra} sans réservation." if extra else "."))
        return back("canteen_agent.attendance", ecole=school_id, date=day.isoformat())
    answer, day = school_day()
    school, sheet = answer["school"], answer["sheet"]
    # Taken, even when nobody ate: the canteen keeps when the sheet was recorded.
    recorded = bool(answer.get("attendance_recorded_at")) or any(row["eaten"] for row in sheet)
    return render_template("agent/canteen/attendance.html", schools=answer["schools"], school=school, day=day,
                           sheet=sheet, recorded=recorded, without=[r for r in sheet if r["eaten"] and not r["reserved"]])


# --- Head-counts ------------------------------------------------------------------------------

def headcounts(day):
    """Every school's head-count of the day, in one call."""
    return canteen("headcounts", day.isoformat())["schools"]


def spreadsheet_cell(value):
    """A text cell a spreadsheet would read as a formula (=, +, -, @, tab, CR) is prefixed with an apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/effectifs")
@agents_only
def headcount():
    """The meals reserved per school for a day, by diet: what the kitchen cooks."""
    day = parse_day(request.args.get("date"), today())
    rows, columns = headcounts(day), vocabulary().meal_kinds
    totals = {"total": sum(r["total"] for r in rows),
              **{key: sum(r["by_diet"].get(key, 0) for r in rows) for key, _ in columns}}
    return render_template("agent/canteen/headcount.html", day=day, rows=rows, totals=totals, columns=columns)


@bp.get("/effectifs.csv")
@agents_only
def headcount_csv():
    """The head-counts of a day as CSV: semicolons and a UTF-8 BOM, as French spreadsheets expect."""
    day = parse_day(request.args.get("date"), today())
    out, columns = io.StringIO(), vocabulary().meal_kinds
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["date", "école", "total", *(key for key, _ in columns)])
    for row in headcounts(day):
        writer.writerow([spreadsheet_cell(cell) for cell in (
            day.isoformat(), row["school"]["name"], row["total"], *(row["by_diet"].get(key, 0) for key, _ in columns))])
    response = make_response("\ufeff" + out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="effectifs-cantine-{day.isoformat()}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Diets (sensitive: only these agents see them) ---------------------------------------------

@bp.route("/regimes", methods=("GET", "POST"))
@agents_only
def diets():
    """Each enrolled child's diet and PAI, per school, set from the family's request."""
    query = request.values.get("q", "").strip()
    if request.method == "POST":
        child_id = request.form.get("child", "")
        diet = request.form.get("diet", "")
        pai = request.form.get("pai") == "1"
        name = request.form.get("name", "")
        try:
            canteen("set_diet", child_id, diet, pai, actor=actor())
        except RemoteError as exc:
            flash(refusal(exc).message, "error")
        else:
            flash(f"Régime {de(name)} enregistré : {vocabulary().diets.get(diet, diet).lower()}"
                  + (", avec un PAI (panier repas)." if pai else ", sans PAI."))
        return back("canteen_agent.diets", ecole=request.values.get("ecole") or None, q=query or None)
    answer, day = school_day()
    school, sheet = answer["school"], answer["sheet"]
    if query:
        needle = query.casefold()
        sheet = [r for r in sheet if needle in f"{r['first_name']} {r['last_name']}".casefold()]
    response = make_response(render_template("agent/canteen/diets.html", schools=answer["schools"], school=school,
                                              day=day, sheet=sheet, query=query, diets=vocabulary().diets,
                                              school_year=answer["school_year"]))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- News --------------------------------------------------------------------------------------

@bp.route("/actualites", methods=("GET", "POST"))
@agents_only
def news():
    """Publish a news item or a practical information (Markdown, rendered safely)."""
    error, values = None, {"kind": "news"}
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in ("title", "body", "kind")}
        if not values["title"] or not values["body"]:
            error = CanteenFormError("Donnez un titre et un texte.", "invalid_news")
        else:
            try:
                canteen("publish_news", values["title"], values["body"], values["kind"] or "news")
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash(f"« {values['title']} » est publié.")
                return back("canteen_agent.news")
    return render_form("agent/canteen/news.html", error, values=values, news=canteen("list_news", "news", 50),
                       practical=canteen("list_news", "practical", 50))


@bp.route("/actualites/<news_id>", methods=("GET", "POST"))
@agents_only
def edit_news(news_id):
    """Correct a published item (title, text, section); it keeps its publication date."""
    return news_admin.edit("canteen", news_id, "canteen_agent.news", "agent/canteen/_nav.html", vocabulary().limits)


@bp.route("/actualites/<news_id>/retirer", methods=("GET", "POST"))
@agents_only
def withdraw_news(news_id):
    """Withdraw a published item from the public pages, after a confirmation."""
    return news_admin.withdraw("canteen", news_id, "canteen_agent.news", "agent/canteen/_nav.html")
