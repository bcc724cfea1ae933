"""The crèche's back office: the day's planning and occupancy, capacities, registrations and contracts,
justifications to review, attendance entry, closures and news. Only agents of Petite Enfance (and administrators)."""
from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from espace_common.rpc_client import RemoteError

from ..auth import current_principal, role_required
from ..errors import refusal
from ..trail import actor  # who acts, for the family's trail (issue #12)
from . import news_admin
from .canteen_common import day_fr, justification_response, today
from .childcare import childcare, hhmm_fr, vocabulary
from .helpers import FormError, render_form

bp = Blueprint("childcare_agent", __name__, url_prefix="/agents/petite-enfance")

CHILDCARE_ROLES = ("petite_enfance",)

TASKS = (
    ("childcare_agent.planning", "Planning du jour", "Les créneaux du jour : enfants attendus, liste d'attente, occupation ; "
                                                     "changer la capacité d'un créneau."),
    ("childcare_agent.attendance", "Présences", "Saisir les arrivées et départs, et un enfant venu sans réservation."),
    ("childcare_agent.registrations", "Inscriptions et contrats", "Inscrire un enfant en accueil occasionnel ou régulier."),
    ("childcare_agent.justifications", "Justificatifs", "Accepter ou refuser les justificatifs d'absence envoyés par les familles."),
    ("childcare_agent.closures", "Fermetures", "Fermer la crèche un jour (fermeture estivale, journée pédagogique)."),
    ("childcare_agent.news", "Actualités", "Publier, modifier ou retirer une actualité ou une information pratique."),
)


@bp.app_context_processor
def childcare_agent_links():
    return {"childcare_agent_tasks": TASKS, "childcare_agent_pages": [(e, label) for e, label, _ in TASKS]}


def agents_only(view):
    return role_required(*CHILDCARE_ROLES)(view)


def reader():
    return f"agent:{current_principal()['id']}"


def parse_day(text):
    if not text:
        return today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(400)


def back(endpoint, **values):
    return redirect(url_for(endpoint, **values), 303)


@bp.get("/")
@agents_only
def home():
    return render_template("agent/childcare/home.html")


# --- Planning and capacities -------------------------------------------------------------------------------

@bp.get("/planning")
@agents_only
def planning():
    """The day's slots with who is expected and who waits, the occupancy, the contracted children."""
    day = parse_day(request.args.get("date"))
    return render_template("agent/childcare/planning.html", day=day, planning=childcare("planning", day.isoformat()),
                           previous=day - timedelta(days=1), following=day + timedelta(days=1))


@bp.post("/creneaux/<slot_id>/capacite")
@agents_only
def set_capacity(slot_id):
    day = request.form.get("date", "")
    try:
        capacity = int(request.form.get("capacity", ""))
    except ValueError:
        flash("La capacité est un nombre de places.", "error")
        return back("childcare_agent.planning", date=day or None)
    try:
        answer = childcare("set_capacity", slot_id, capacity)
    except RemoteError as exc:
        flash(refusal(exc).message, "error")
    else:
        promoted = len(answer["promoted_booking_ids"])
        flash(f"Capacité du créneau : {answer['capacity']} place(s)."
              + (f" {promoted} enfant(s) de la liste d'attente ont reçu une place." if promoted else ""))
    return back("childcare_agent.planning", date=day or None)


# --- Registrations -----------------------------------------------------------------------------------------------

WEEKDAY_NAMES = {1: "Lundi", 2: "Mardi", 3: "Mercredi", 4: "Jeudi", 5: "Vendredi"}


def registrations_page(error=None, values=None, query="", found=None):
    return render_form("agent/childcare/registrations.html", error, registrations=childcare("registrations"),
                       values=values or {"kind": "occasional"}, weekdays=WEEKDAY_NAMES, words=vocabulary(),
                       query=query, found=found)


@bp.get("/inscriptions")
@agents_only
def registrations():
    """Registered children, and a search of the children known from the families to register one."""
    query, found, error = request.args.get("q", "").strip(), None, None
    if query:
        try:
            found = childcare("find_children", query)
        except RemoteError as exc:
            error = refusal(exc)
    values = {"kind": "occasional", "child_id": request.args.get("enfant", "")}
    return registrations_page(error, values, query, found)


@bp.post("/inscriptions")
@agents_only
def register():
    """Register a child (its identifier, from the family's file) for occasional or regular care."""
    form = request.form
    values = {k: form.get(k, "").strip() for k in ("child_id", "kind", "weeks_per_year", "start", "end", "leave_days")}
    for weekday in WEEKDAY_NAMES:
        values[f"arrives_{weekday}"] = form.get(f"arrives_{weekday}", "").strip()
        values[f"leaves_{weekday}"] = form.get(f"leaves_{weekday}", "").strip()
    if not values["child_id"]:
        return registrations_page(FormError("Indiquez l'identifiant de l'enfant (fiche de la famille).", "child_id"),
                                  values)
    contract = None
    if values["kind"] == "regular":
        hours = {str(d): [values[f"arrives_{d}"], values[f"leaves_{d}"]] for d in WEEKDAY_NAMES
                 if values[f"arrives_{d}"] and values[f"leaves_{d}"]}
        try:
            contract = {"weekly_hours": hours, "weeks_per_year": int(values["weeks_per_year"] or 0),
                        "start": values["start"], "end": values["end"], "leave_days": int(values["leave_days"] or 0)}
        except ValueError:
            return registrations_page(FormError("Les semaines par an et les jours de congé sont des nombres.",
                                                "invalid_contract"), values)
    try:
        answer = childcare("register", values["child_id"], values["kind"], contract, actor=actor())
    except RemoteError as exc:
        return registrations_page(refusal(exc), values)
    flash(f"{answer['first_name']} {answer['last_name']} est inscrit(e) au multi-accueil.")
    return back("childcare_agent.registrations")


# --- Justifications ----------------------------------------------------------------------------------------------------

@bp.get("/justificatifs")
@agents_only
def justifications():
    status = request.args.get("statut") or "pending"
    if status not in ("pending", "accepted", "refused"):
        abort(400)
    return render_template("agent/childcare/justifications.html", status=status,
                           items=childcare("justifications", status), words=vocabulary())


@bp.post("/justificatifs/<absence_id>/decision")
@agents_only
def decide(absence_id):
    accepted = request.form.get("decision") == "accept"
    try:
        childcare("decide_justification", absence_id, accepted, request.form.get("comment", "").strip(), reader(),
                  actor=actor())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        flash(refusal(exc).message, "error")
    else:
        flash("Justificatif accepté." if accepted else "Justificatif refusé.")
    return back("childcare_agent.justifications")


@bp.get("/justificatifs/<absence_id>/fichier")
@agents_only
def justification_file(absence_id):
    """The file, for the crèche's agents; the childcare service records the read."""
    try:
        document = childcare("absence_document", absence_id, None, reader())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        raise
    return justification_response(document, absence_id)


# --- Attendance -------------------------------------------------------------------------------------------------------------

@bp.get("/presences")
@agents_only
def attendance():
    """Fast on a tablet: each child expected today with arrival and departure fields, then walk-ins."""
    day = parse_day(request.args.get("date"))
    plan = childcare("planning", day.isoformat())
    expected, seen = [], set()
    for slot in plan["slots"]:
        for child in slot["expected"]:
            if child["child_id"] not in seen:
                seen.add(child["child_id"])
                expected.append({**child, "planned": f"{hhmm_fr(slot['start'])}–{hhmm_fr(slot['end'])}"})
    for child in plan["contracted"]:
        if child["child_id"] not in seen and not child["on_leave"]:
            seen.add(child["child_id"])
            expected.append({**child, "planned": f"{hhmm_fr(child['arrives'])}–{hhmm_fr(child['leaves'])} (contrat)"})
    recorded = {a["child_id"]: a for a in plan["attendance"]}
    return render_template("agent/childcare/attendance.html", day=day, expected=expected, recorded=recorded,
                           attendance=plan["attendance"], registrations=childcare("registrations"))


@bp.post("/presences")
@agents_only
def record_attendance():
    form = request.form
    day = form.get("date", "")
    try:
        answer = childcare("record_attendance", form.get("child_id", ""), day, form.get("arrived_at", ""),
                           form.get("left_at", "") or None, actor=actor())
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            abort(404)
        flash(refusal(exc).message, "error")
    else:
        flash("Présence enregistrée" + (" (enfant venu sans réservation : facturé en accueil occasionnel)."
                                        if answer["walk_in"] else "."))
    return back("childcare_agent.attendance", date=day or None)


# --- Closures and news ----------------------------------------------------------------------------------------------------------

def closures_page(error=None, values=None):
    start = today()
    return render_form("agent/childcare/closures.html", error, values=values or {},
                       closures=childcare("closures", start.isoformat(), (start + timedelta(days=365)).isoformat()))


@bp.get("/fermetures")
@agents_only
def closures():
    return closures_page()


@bp.post("/fermetures")
@agents_only
def close_day():
    values = {k: request.form.get(k, "").strip() for k in ("date", "kind", "reason")}
    try:
        childcare("close_day", values["date"], values["kind"] or "closed", values["reason"])
    except RemoteError as exc:
        return closures_page(refusal(exc), values)
    flash(f"Crèche fermée le {day_fr(values['date'], year=True)}.")
    return back("childcare_agent.closures")


@bp.post("/fermetures/<day>/rouvrir")
@agents_only
def reopen_day(day):
    try:
        childcare("reopen_day", day)
    except RemoteError as exc:
        flash(refusal(exc).message, "error")
    return back("childcare_agent.closures")


@bp.route("/actualites", methods=("GET", "POST"))
@agents_only
def news():
    error, values = None, {"kind": "news"}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("title", "body", "kind")}
        if not values["title"] or not values["body"]:
            error = FormError("Donnez un titre et un texte.", "invalid_news")
        else:
            try:
                childcare("publish_news", values["title"], values["body"], values["kind"] or "news")
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash(f"« {values['title']} » est publié.")
                return back("childcare_agent.news")
    return render_form("agent/childcare/news.html", error, values=values, limits=vocabulary()["limits"],
                       news=childcare("list_news", "news", 50), practical=childcare("list_news", "practical", 50))


@bp.route("/actualites/<news_id>", methods=("GET", "POST"))
@agents_only
def edit_news(news_id):
    """Correct a published item (title, text, section); it keeps its publication date."""
    return news_admin.edit("childcare", news_id, "childcare_agent.news", "agent/childcare/_nav.html",
                           vocabulary()["limits"])


@bp.route("/actualites/<news_id>/retirer", methods=("GET", "POST"))
@agents_only
def withdraw_news(news_id):
    """Withdraw a published item from the public pages, after a confirmation."""
    return news_admin.withdraw("childcare", news_id, "childcare_agent.news", "agent/childcare/_nav.html")
