"""The health record («fiche sanitaire», issue #12): a parent fills each child's record under Mon espace and sees
which agents read it; an agent of the service the child attends reads it (identity decides and records the read)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from espace_common.rpc_client import RemoteError, ServiceUnavailable

from ..auth import current_principal, parent_required, role_required
from ..errors import refusal
from ..schemas import form_problem
from ..services import services
from .helpers import render_form

bp = Blueprint("health_records", __name__)

CARE_ROLES = ("affaires_scolaires", "petite_enfance")
PERSON_ROWS = {"authorised_persons": ("ap", 6, "Personne autorisée"), "emergency_contacts": ("ec", 4, "Personne à prévenir")}
LABELS = {("allergies",): ("allergies", "Allergies"), ("treatment",): ("treatment", "Traitement en cours"),
          ("doctor", "name"): ("doctor_name", "Médecin traitant"),
          ("doctor", "phone"): ("doctor_phone", "Téléphone du médecin")}
PERSON_LABELS = {"name": "nom", "phone": "téléphone", "relation": "lien avec l'enfant"}


def identity(method, *args):
    try:
        return services().call("identity", method, *args)
    except RemoteError as error:
        if error.exc_type == "DependencyUnavailable":  # the canteen or the crèche did not answer identity
            raise ServiceUnavailable(str(error.message), "not answering identity") from None
        raise


def payload_of(form):
    """The API's body from the form, and where each person of it came from (its row), to name a refused field."""
    payload = {"allergies": form.get("allergies", ""), "treatment": form.get("treatment", ""),
               "doctor": {"name": form.get("doctor_name", ""), "phone": form.get("doctor_phone", "")},
               "vaccinations_up_to_date": form.get("vaccinations") == "1"}
    rows = {}
    for key, (prefix, count, _) in PERSON_ROWS.items():
        persons, rows[key] = [], []
        for row in range(count):
            person = {part: form.get(f"{prefix}-{row}-{part}", "").strip() for part in ("name", "phone", "relation")}
            if person["name"] or person["phone"]:
                persons.append({k: v for k, v in person.items() if v or k != "relation"})
                rows[key].append(row)
        payload[key] = persons
    return payload, rows


def field_of(rows):
    def lookup(path):
        if path in LABELS:
            return LABELS[path]
        if len(path) == 3 and path[0] in PERSON_ROWS and isinstance(path[1], int) and path[1] < len(rows[path[0]]):
            prefix, _, label = PERSON_ROWS[path[0]]
            row = rows[path[0]][path[1]]
            return f"{prefix}-{row}-{path[2]}", f"{label} {row + 1} : {PERSON_LABELS.get(path[2], path[2])}"
        return None
    return lookup


def padded(record):
    """The record with as many person rows as the form shows (blank ones after the filled ones)."""
    record = dict(record)
    for key, (_, count, _) in PERSON_ROWS.items():
        persons = list(record.get(key) or [])
        record[key] = persons + [{"name": "", "phone": "", "relation": ""}] * (count - len(persons))
    return record


@bp.get("/mon-espace/fiches-sanitaires")
@parent_required
def children():
    """The family's children and whether each one's health record is filled."""
    return render_template("myspace/health_records.html",
                           listing=identity("family_health_records", current_principal()["id"]))


@bp.route("/mon-espace/fiches-sanitaires/<child_id>", methods=("GET", "POST"))
@parent_required
def record(child_id):
    """The child's record to fill or update, and the agents' reads of it."""
    account_id, child_id = current_principal()["id"], child_id[:100]
    current = identity("health_record", account_id, child_id)  # another family's child: 404 here
    error, shown = None, current
    if request.method == "POST":
        payload, rows = payload_of(request.form)
        error = form_problem("HealthRecordInput", payload, field_of(rows))
        if error is None:
            try:
                identity("save_health_record", account_id, child_id, payload)
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash(f"La fiche sanitaire de {current['first_name']} est enregistrée.")
                return redirect(url_for("health_records.record", child_id=child_id), 303)
        shown = {**current, **payload}
    return render_form("myspace/health_record.html", error, record=padded(shown), reads=current["reads"],
                       relations=current["vocabulary"]["relations"], rows=PERSON_ROWS)


@bp.get("/agents/enfants/<child_id>/fiche-sanitaire")
@role_required(*CARE_ROLES)
def agent_record(child_id):
    """An agent reads a child's record: identity grants it to the service the child attends, refuses it otherwise
    (a French 403 page), and records the read either way."""
    answer = identity("agent_health_record", current_principal()["id"], child_id[:100])
    return render_template("agent/health_record.html", record=answer, relations=answer["vocabulary"]["relations"])
