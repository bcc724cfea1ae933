"""The family's data in its hands (GDPR, issue #12): «Mes données» for the parents (what is kept, for how long, and
the two downloads), and for the administrators the retention periods, the purge runs and the export of a family
asked for by post (recorded in the agents' journal as any agent's act: web/agent.py's after-request hook)."""
from flask import Blueprint, g, render_template, request

from espace_common.rpc_client import ServiceUnavailable

from ..api.personal_data import download
from ..auth import current_principal, parent_required, role_required
from ..errors import FormError
from ..personal_data import SERVICE_TITLES, SERVICES, family_export
from ..services import services
from .agent import ACTION_LABELS
from .helpers import render_form

bp = Blueprint("personal_data", __name__)

# What the agents' journal says of the export asked by post (the journal's labels are by endpoint).
ACTION_LABELS["personal_data.agent_export"] = "Export des données d'une famille (demande écrite)"


def retention_of_services(runs):
    """Each service's own account of what it keeps and for how long (and, for administrators, its purge runs);
    None for a service that does not answer: the page says so and shows the others."""
    answers = []
    for name in SERVICES:
        try:
            answer = services().call(name, "personal_data", runs)
        except ServiceUnavailable:
            answer = None
        kinds = {k["kind"]: k["label"] for k in (answer or {}).get("retention", [])}
        answers.append({"service": name, "title": SERVICE_TITLES[name], "answer": answer, "kinds": kinds})
    return answers


@bp.get("/mon-espace/mes-donnees")
@parent_required
def mine():
    """Mes données: what the town keeps on the family, for how long and why, and the two downloads."""
    return render_template("myspace/personal_data.html", services=retention_of_services(False))


@bp.get("/mon-espace/mes-donnees/export.<any(json, pdf):kind>")
@parent_required
def my_download(kind):
    """The family's whole export as a file (JSON or PDF); a service that does not answer gives the error page."""
    return download(family_export(current_principal()["family_id"]), kind)


@bp.get("/agents/donnees-personnelles")
@role_required("admin")
def admin():
    """Administrators: the retention period of each kind of data, the latest purge runs, the export by post."""
    return render_template("agent/personal_data.html", services=retention_of_services(True), error=None,
                           dossier="")


@bp.post("/agents/donnees-personnelles/export")
@role_required("admin")
def agent_export():
    """A family's export for a request received by post: by dossier number, as PDF or JSON."""
    dossier = request.form.get("dossier", "").strip()
    kind = request.form.get("format", "pdf")
    error = None
    if not (dossier.isascii() and dossier.isdigit()) or len(dossier) > 6 or kind not in ("pdf", "json"):
        error = FormError("« Numéro de dossier » est un nombre, comme 000042.", about="dossier")
    else:
        found = services().call("identity", "find_families", dossier.zfill(6))
        family = next((f for f in found if f.get("dossier") == dossier.zfill(6)), None)
        if family is None:
            error = FormError(f"Aucune famille n'a le dossier n° {dossier}.", about="dossier")
    if error:
        return render_form("agent/personal_data.html", error, services=retention_of_services(True), dossier=dossier)
    g.acted_family_id = family["id"]  # the agents' journal records who exported which family, and when
    return download(family_export(family["id"]), kind)
