"""The agents' back office: find and register families, issue keys and print their letters; the journal of the
agents' actions (docs/agents.md says how an action is recorded once)."""
import base64
import logging
import uuid
from collections import deque
from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for

from espace_common.rpc_client import RemoteError, ServiceUnavailable

from ..auth import current_principal, has_role, role_required
from ..errors import FormError, refusal
from ..responses import no_store
from ..services import services
from ..schemas import form_problem
from ..vocabularies import agent_role_names, vocabulary
from .billing_agent import BILLING_ROLES, agent_regies
from .canteen_agent import CANTEEN_ROLES, enrolments_by_child
from .canteen_common import Month, today
from .childcare_agent import CHILDCARE_ROLES
from .helpers import PARIS, render_form

bp = Blueprint("agent", __name__, url_prefix="/agents")
log = logging.getLogger(__name__)

FAMILY_ROLES = ("affaires_scolaires", "petite_enfance")
REP_FIELDS = ("first_name", "last_name", "email", "phone", "line1", "line2", "postal_code", "city", "caf_number")
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city")
CHILD_FIELDS = ("first_name", "last_name", "birth_date")
# The labels the registration page shows, to name a field the schema refuses.
FIELD_LABELS = {"first_name": "Prénom", "last_name": "Nom", "email": "Adresse e-mail", "phone": "Téléphone",
                "line1": "Numéro et voie", "line2": "Complément d'adresse", "postal_code": "Code postal",
                "city": "Commune", "caf_number": "N° allocataire CAF ou MSA", "birth_date": "Date de naissance"}
SEARCH_FIELD = ("q", "Dossier, nom d'un parent ou d'un enfant, e-mail ou téléphone")
DEFAULT_CHILD_ROWS = 2
MAX_CHILD_ROWS = 12


def identity(method, *args):
    return services().call("identity", method, *args)


@bp.get("/")
@role_required(*FAMILY_ROLES)
def home():
    """The agents' home: what they can do with their roles."""
    return render_template("agent/home.html", role_names=agent_role_names())


@bp.get("/familles")
@role_required(*FAMILY_ROLES)
def search():
    """Find a family by dossier number, a member's name or e-mail."""
    query = request.args.get("q", "").strip()
    families, error = None, None
    if "q" in request.args:
        error = form_problem("FamilyQuery", query, lambda path: SEARCH_FIELD)
        try:
            families = None if error else identity("find_families", query)
        except RemoteError as exc:
            error = refusal(exc)
    return render_form("agent/search.html", error, query=query, families=families)


def _rows(form, prefix, fields, count):
    return [{name: form.get(f"{prefix}{i}_{name}", "").strip() for name in fields} for i in range(count)]


def registration_payload(reps, children, request_id):
    """The register_family payload from the form's rows (blank rows are left out), and where each of its
    representatives and children comes from in the form: {("children", 0): ("child2_", "enfant 3"), ...}."""
    representatives, kids, rows = [], [], {}
    for i, rep in enumerate(reps):
        if not any(rep.values()):
            continue
        item = {name: rep[name] for name in ("first_name", "last_name", "email", "phone", "caf_number")}
        if any(rep[name] for name in ADDRESS_FIELDS):
            item["address"] = {name: rep[name] for name in ADDRESS_FIELDS}
        rows[("representatives", len(representatives))] = (f"rep{i}_", f"représentant légal {i + 1}")
        representatives.append(item)
    for i, child in enumerate(children):
        if any(child.values()):
            rows[("children", len(kids))] = (f"child{i}_", f"enfant {i + 1}")
            kids.append(dict(child))
    return {"representatives": representatives, "children": kids, "request_id": request_id}, rows


def registration_field(rows):
    """The form field and its label for a path of the payload, or None when the path is no single field."""
    def field_of(path):
        if len(path) < 3 or path[:2] not in rows or path[-1] not in FIELD_LABELS:
            return None
        prefix, row = rows[path[:2]]
        return prefix + path[-1], f"{FIELD_LABELS[path[-1]]} ({row})"
    return field_of


@bp.route("/familles/nouvelle", methods=("GET", "POST"))
@role_required(*FAMILY_ROLES)
def register():
    """Register a family with one or two legal representatives and its children."""
    form = request.form
    try:
        child_rows = min(max(int(form.get("child_rows", DEFAULT_CHILD_ROWS)), 1), MAX_CHILD_ROWS)
    except ValueError:
        child_rows = DEFAULT_CHILD_ROWS
    request_id = form.get("request_id") or str(uuid.uuid4())
    reps = _rows(form, "rep", REP_FIELDS, 2)
    children = _rows(form, "child", CHILD_FIELDS, child_rows)
    error = None
    if request.method == "POST":
        if form.get("action") == "add_child":
            child_rows = min(child_rows + 1, MAX_CHILD_ROWS)
            children.append({name: "" for name in CHILD_FIELDS})
            children = children[:child_rows]
        elif not any(reps[0].values()):
            error = FormError("Renseignez au moins le premier représentant légal.", "invalid_representatives")
        else:
            payload, rows = registration_payload(reps, children, request_id)
            error = form_problem("RegisterFamily", payload, registration_field(rows))
            if error is None:
                try:
                    family = identity("register_family", payload)
                except RemoteError as exc:
                    error = refusal(exc)
                else:
                    g.acted_family_id = family["id"]
                    flash(f"Famille enregistrée : dossier n° {family['dossier']}. Émettez maintenant la clé de "
                          "chaque représentant légal pour qu'il puisse créer son espace.")
                    return redirect(url_for("agent.family", family_id=family["id"]))
    return render_form("agent/register.html", error, reps=reps, children=children, child_rows=child_rows,
                       request_id=request_id)


def _family_and_representative(family_id, representative_id=None, with_mails=False):
    family = identity("family_for_agent", family_id, True) if with_mails else identity("family_for_agent", family_id)
    if representative_id is None:
        return family, None
    rep = next((r for r in family["representatives"] if r["id"] == representative_id), None)
    if rep is None:
        abort(404)
    return family, rep


def _with_key_state(family):
    """Mark each representative's key expired or not, in UTC."""
    now = datetime.now(timezone.utc)
    for rep in family["representatives"]:
        if rep.get("key"):
            expires_at = datetime.fromisoformat(rep["key"]["expires_at"])
            if expires_at.tzinfo is None:  # instants travel in UTC
                expires_at = expires_at.replace(tzinfo=timezone.utc)
            rep["key"]["expired"] = expires_at <= now
    return family


def _live_key(rep):
    """The representative's key when it can still create the space (a new one would void it and its letter)."""
    key = rep.get("key")
    return key if key and not key.get("used") and not key.get("expired") else None


def _section(service, method, *args):
    """One service's part of the family file, or "unavailable" while the service does not answer: the file
    stays readable and the section says so."""
    try:
        return services().call(service, method, *args)
    except ServiceUnavailable:
        return "unavailable"


def _words(service):
    try:
        return vocabulary(service)
    except ServiceUnavailable:
        return {}


def _reader_label(reader):
    kind, _, who = (reader or "").partition(":")
    return {"agent": f"Agent {who[:8]}", "family": "La famille"}.get(kind, reader)


def sensitive_reads(canteen_part, childcare_part, children):
    """Who read the family's justifications, when, newest first: from canteen's and childcare's own records."""
    names = {c["id"]: f"{c['first_name']} {c['last_name']}" for c in children}
    reads = []
    if isinstance(canteen_part, dict):
        for absence in canteen_part.get("absences", []):
            for read in absence.get("reads", []):
                reads.append({"service": "Restauration scolaire", "child": names.get(absence["child_id"], ""),
                              "absence": absence, "reader": _reader_label(read["reader"]), "at": read["read_at"]})
    if isinstance(childcare_part, dict):
        for child in childcare_part.get("children", []):
            for absence in child.get("absences", []):
                for read in absence.get("reads", []):
                    reads.append({"service": "Multi-accueil", "child": names.get(child["child_id"], ""),
                                  "absence": absence, "reader": _reader_label(read["reader"]), "at": read["read_at"]})
    return sorted(reads, key=lambda r: r["at"], reverse=True)


@bp.get("/familles/<family_id>")
@role_required(*FAMILY_ROLES)
def family(family_id):
    """The family's file: representatives with their account and key, children, and what each service the agent
    works for knows of it (canteen: enrolments, the month, absences; crèche: registration, bookings, absences;
    billing: invoices and payments of the agent's régies), the mails sent and who read its justifications.
    One call per service at most; a service that does not answer leaves its section saying so."""
    principal = current_principal()
    month = Month.parse(request.args.get("mois", "")[:7], today())  # a bad month is InvalidInput: a French 400
    family, _ = _family_and_representative(family_id, with_mails=True)
    canteen_part = childcare_part = billing_part = payment_part = None  # None: a section the roles do not show
    if has_role(principal, CANTEEN_ROLES):
        canteen_part = _section("canteen", "family_overview", family_id, month.first.isoformat(),
                                month.last.isoformat())
    if has_role(principal, CHILDCARE_ROLES):
        childcare_part = _section("childcare", "family_overview", family_id, family.get("emails", []))
    regies = []
    if has_role(principal, BILLING_ROLES):
        billing_part = _section("billing", "family_overview", family_id, family.get("emails", []))
        if isinstance(billing_part, dict):
            regies = agent_regies(principal)
            billing_part = {**billing_part, "invoices": [i for i in billing_part["invoices"] if i["regie"] in regies]}
        payment_part = _section("payment", "family_mails", family.get("emails", []))  # the card receipts mailed
    mails = list(family.get("mails", []))
    for part in (childcare_part, billing_part, payment_part):
        if isinstance(part, dict):
            mails += part.get("mails", [])
    mails.sort(key=lambda m: m["created_at"], reverse=True)
    enrolled = enrolments_by_child(canteen_part["enrolments"]) if isinstance(canteen_part, dict) else canteen_part
    meals = {c["child_id"]: c["days"] for c in canteen_part["children"]} if isinstance(canteen_part, dict) else {}
    return render_template(
        "agent/family.html", family=_with_key_state(family), enrolled=enrolled, month=month, meals=meals,
        canteen=canteen_part, childcare=childcare_part, billing=billing_part, payment=payment_part, mails=mails,
        reads=sensitive_reads(canteen_part, childcare_part, family["children"]),
        canteen_words=_words("canteen") if isinstance(canteen_part, dict) else {},
        childcare_words=_words("childcare") if isinstance(childcare_part, dict) else {},
        billing_words=_words("billing") if isinstance(billing_part, dict) else {})


@bp.get("/absences")
@role_required(*FAMILY_ROLES)
def absences():
    """The town's justifications waiting for an agent, both services: the canteen's not yet opened by an agent
    (Affaires Scolaires), the crèche's waiting for a decision (Petite Enfance); an administrator sees both.
    Each leads to where it is decided."""
    principal = current_principal()
    canteen_items = childcare_items = None
    if has_role(principal, CANTEEN_ROLES):
        canteen_items = _section("canteen", "absences_to_review")
    if has_role(principal, CHILDCARE_ROLES):
        childcare_items = _section("childcare", "justifications", "pending")
    return render_template(
        "agent/absences.html", canteen=canteen_items, childcare=childcare_items,
        canteen_words=_words("canteen") if isinstance(canteen_items, list) else {},
        childcare_words=_words("childcare") if isinstance(childcare_items, list) else {})


KEY_CONFIRMATION = ("Cochez la case pour confirmer : la clé en cours et son courrier ne fonctionneront plus.",
                    "confirmation_needed")


@bp.get("/familles/<family_id>/representants/<representative_id>/cle")
@role_required(*FAMILY_ROLES)
def key(family_id, representative_id):
    """A representative's key: when it was issued, its letter to print (the letter carries the key: the key
    itself is shown nowhere else, and reloading this page issues nothing)."""
    family, rep = _family_and_representative(family_id, representative_id)
    _with_key_state(family)
    return no_store(render_form("agent/key_issued.html", family=family, rep=rep, live_key=_live_key(rep)))


@bp.post("/familles/<family_id>/representants/<representative_id>/cle")
@role_required(*FAMILY_ROLES)
def issue_key(family_id, representative_id):
    """Issue a key, then redirect to the key's page (post/redirect/get). Replacing a key that still works is
    an explicit action: the agent ticks that the key in use and its letter will stop working."""
    family, rep = _family_and_representative(family_id, representative_id)
    _with_key_state(family)
    live_key = _live_key(rep)
    if live_key and request.form.get("confirm") != "yes":
        error = FormError(*KEY_CONFIRMATION, about="confirm")
        return no_store(render_form("agent/key_issued.html", error, family=family, rep=rep, live_key=live_key))
    try:
        identity("issue_key", representative_id, current_principal()["id"])
    except RemoteError as exc:
        error = refusal(exc)
        flash(error.message, "error")
        return redirect(url_for("agent.family", family_id=family_id))
    flash(f"Clé émise pour {rep['first_name']} {rep['last_name']}. Téléchargez et imprimez le courrier : il porte "
          "la clé, qui n'est affichée nulle part ailleurs.")
    return redirect(url_for("agent.key", family_id=family_id, representative_id=representative_id), code=303)


@bp.get("/familles/<family_id>/representants/<representative_id>/courrier.pdf")
@role_required(*FAMILY_ROLES)
def key_letter(family_id, representative_id):
    """The letter of the current key, to download and print as many times as needed."""
    _family_and_representative(family_id, representative_id)
    letter = identity("key_letter", representative_id)
    response = make_response(base64.b64decode(letter["pdf_base64"]))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{letter["filename"]}"'
    return no_store(response)


# --- The agents' journal ------------------------------------------------------------------------------------------

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
NOT_ACTIONS = {"api.revoke_token", "api.issue_token"}  # an agent's own session, not an act on a family
ACTION_NAMESPACE = uuid.UUID("5d1e0c8a-7a34-4d0b-9f3e-0a6c2b7e9d41")
PENDING_MOST = 1000  # actions identity did not take yet, kept to send again with the next agent write


def _request_id():
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        value = body.get("request_id") if isinstance(body, dict) else None
    else:
        value = request.form.get("request_id")
    return value if isinstance(value, str) and 0 < len(value) <= 80 else None


def _action_id(principal):
    """The action's id: derived from the form's request_id when it has one (the same form sent twice is one
    action, as the write itself is), else new."""
    request_id = _request_id()
    if request_id:
        return str(uuid.uuid5(ACTION_NAMESPACE, f"{principal['id']}|{request.endpoint}|{request.path}|{request_id}"))
    return str(uuid.uuid4())


def _pending():
    return current_app.extensions.setdefault("agent_actions_pending", deque(maxlen=PENDING_MOST))


def send_agent_actions(actions):
    """Hand the actions to identity (idempotent by id); those it could not take wait for the next write."""
    pending = _pending()
    for action in actions:
        try:
            identity("record_agent_action", action)
        except ServiceUnavailable:
            pending.append(action)
        except RemoteError as exc:  # refused (malformed): keeping it would not help
            log.error("identity refused the agent action %s: %s", action["id"], exc)


@bp.after_app_request
def record_agent_action(response):
    """After an agent's successful write (2xx or a redirect: a refused form answers 4xx), tell identity who did
    what to which family, and when. Reads are not actions; the justification reads are recorded by their service."""
    if request.method not in WRITES or request.endpoint in NOT_ACTIONS or request.endpoint is None \
            or not request.path.startswith(("/agents/", "/api/")) or response.status_code >= 400:
        return response
    principal = g.get("principal")
    if not principal or principal.get("kind") != "agent":
        return response
    family_id = g.get("acted_family_id") or (request.view_args or {}).get("family_id")
    action = {"id": _action_id(principal), "agent_id": principal["id"], "action": request.endpoint,
              "method": request.method, "path": request.path[:300],
              "family_id": family_id[:36] if isinstance(family_id, str) else None,
              "at": datetime.now(timezone.utc).isoformat()}
    pending = _pending()
    waiting = [pending.popleft() for _ in range(len(pending))]
    send_agent_actions(waiting + [action])
    return response


# What the journal says of each action, by the gateway's endpoint (the others are named by their path).
ACTION_LABELS = {
    "agent.register": "Famille enregistrée", "agent.issue_key": "Clé émise",
    "api.register_family": "Famille enregistrée (API)", "api.issue_key": "Clé émise (API)",
    "canteen_agent.enrol_family": "Inscription à la cantine", "api.enrol": "Inscription à la cantine (API)",
    "canteen_agent.news": "Actualité de la cantine publiée", "canteen_agent.schools": "Écoles et classes",
    "canteen_agent.close_day": "Jour de cantine fermé", "canteen_agent.reopen_day": "Jour de cantine rouvert",
    "canteen_agent.import_holidays": "Vacances scolaires importées", "canteen_agent.edit_menu": "Menu modifié",
    "canteen_agent.attendance": "Présences à la cantine", "canteen_agent.diets": "Régime ou PAI",
    "childcare_agent.news": "Actualité de la petite enfance publiée",
    "childcare_agent.set_capacity": "Capacité d'un créneau", "childcare_agent.close_day": "Multi-accueil fermé",
    "childcare_agent.reopen_day": "Multi-accueil rouvert", "childcare_agent.register": "Inscription au multi-accueil",
    "childcare_agent.decide": "Justificatif décidé", "childcare_agent.record_attendance": "Présence au multi-accueil",
    "billing_agent.tariffs": "Tarifs", "billing_agent.family": "Ressources de la famille",
    "billing_agent.runs": "Tournée de facturation lancée", "billing_agent.finalize": "Tournée finalisée",
    "billing_agent.payment": "Paiement enregistré", "billing_agent.credit_note": "Avoir émis",
    "direct_debit_agent.download": "Fichier de prélèvements", "direct_debit_agent.reject": "Rejet de prélèvement",
    "api.record_payment": "Paiement enregistré (API)", "api.credit_note": "Avoir émis (API)",
    # the document wallet (issue #12)
    "wallet.decide": "Document du porte-documents examiné", "api.wallet_decide": "Document du porte-documents examiné (API)",
}
JOURNAL_FIELDS = {"dossier": ("dossier", "Numéro de dossier"), "agent": ("agent", "Agent"),
                  "du": ("du", "Du"), "au": ("au", "Au")}


def _day(text, name):
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise _JournalInputError(FormError(f"« {JOURNAL_FIELDS[name][1]} » est une date, comme 2026-12-02.",
                                           about=name)) from None


class _JournalInputError(Exception):
    def __init__(self, error):
        self.error = error


def journal_filters(args):
    """identity's filters from the page's query: Paris days turned into UTC bounds, the page number."""
    criteria = {name: args.get(name, "").strip()[:80] for name in ("dossier", "agent", "du", "au", "famille")}
    filters = {}
    if criteria["famille"]:
        filters["family_id"] = criteria["famille"][:36]
    if criteria["dossier"]:
        if not criteria["dossier"].isdigit() or len(criteria["dossier"]) > 6:
            raise _JournalInputError(FormError("« Numéro de dossier » est un nombre, comme 000042.", about="dossier"))
        filters["dossier"] = criteria["dossier"]
    if criteria["agent"]:
        filters["agent"] = criteria["agent"]
    start, end = _day(criteria["du"], "du"), _day(criteria["au"], "au")
    if start:
        filters["from"] = datetime.combine(start, time(), PARIS).astimezone(timezone.utc).isoformat()
    if end:
        filters["to"] = datetime.combine(end + timedelta(days=1), time(), PARIS).astimezone(timezone.utc).isoformat()
    page = args.get("page", "1")
    filters["page"] = int(page) if page.isdigit() and 0 < len(page) <= 6 and int(page) > 0 else 1
    return criteria, filters


@bp.get("/journal")
@role_required("admin")
def journal():
    """The administrators' journal of the agents' actions, newest first, by family, agent and dates."""
    error, found, criteria = None, None, {}
    try:
        criteria, filters = journal_filters(request.args)
        found = identity("agent_journal", filters)
    except _JournalInputError as exc:
        error = exc.error
    except RemoteError as exc:
        error = refusal(exc)
    args = {k: v for k, v in criteria.items() if v}
    return render_form("agent/journal.html", error, criteria=criteria, found=found, labels=ACTION_LABELS, args=args)
