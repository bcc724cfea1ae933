"""The family's trail (issue #12) in the web UI: the parent's «Historique» under Mon espace, and the same trail in
the agents' family file, each agent seeing the part of the services they work for."""
from datetime import timedelta

from flask import Blueprint, render_template, request

from espace_common.rpc_client import RemoteError

from ..auth import current_principal, has_role, parent_required, role_required
from ..errors import refusal
from ..services import services
from ..trail import MAX_DATE_TEXT, family_trail
from .canteen_agent import CANTEEN_ROLES
from .canteen_common import today
from .childcare_agent import CHILDCARE_ROLES
from .helpers import render_form

bp = Blueprint("trail", __name__)

DEFAULT_DAYS = 30
SERVICE_LABELS = {"canteen": "Restauration scolaire", "childcare": "Multi-accueil"}
AGENT_ROLES = ("affaires_scolaires", "petite_enfance")


def dates_asked():
    """The range asked in the page's form (du, au), by default the last 30 days up to today."""
    end = request.args.get("au", "")[:MAX_DATE_TEXT] or today().isoformat()
    start = request.args.get("du", "")[:MAX_DATE_TEXT] or (today() - timedelta(days=DEFAULT_DAYS)).isoformat()
    return start, end


def who(actor, me=None):
    """The author of an entry, in French, for the page."""
    kind, name = actor.get("kind"), actor.get("name") or ""
    if kind == "parent":
        if me is not None and actor.get("id") == me:
            return "vous"
        return f"le compte « {name} »" if name else "un représentant légal"
    if kind == "agent":
        return f"un agent de la mairie ({name})" if name else "un agent de la mairie"
    return "le service, automatiquement"


def trail_page(template, family_id, wanted, me=None, **context):
    start, end = dates_asked()
    error, entries, down, truncated = None, [], [], False
    try:
        entries, down, truncated = family_trail(family_id, start, end, wanted, tolerate_down=True)
    except RemoteError as exc:
        error = refusal(exc)
    return render_form(template, error, entries=entries, down=[SERVICE_LABELS[s] for s in down], truncated=truncated,
                       start=start, end=end, who=lambda actor: who(actor, me), services=SERVICE_LABELS, **context)


@bp.get("/mon-espace/historique")
@parent_required
def mine():
    """Every change to the family's meals, absences and crèche bookings, newest first: what, when, by whom."""
    principal = current_principal()
    return trail_page("myspace/trail.html", principal["family_id"], ("canteen", "childcare"), me=principal["id"])


@bp.get("/agents/familles/<family_id>/historique")
@role_required(*AGENT_ROLES)
def family(family_id):
    """The family's trail for its file: the canteen's part to the Affaires Scolaires, the crèche's to the Petite
    Enfance, both to an administrator. An unknown family is 404 (identity says so)."""
    principal = current_principal()
    found = services().call("identity", "family_for_agent", family_id)
    wanted = tuple(s for s, roles in (("canteen", CANTEEN_ROLES), ("childcare", CHILDCARE_ROLES))
                   if has_role(principal, roles))
    return trail_page("agent/trail.html", family_id, wanted, family=found,
                      services_shown=[SERVICE_LABELS[s] for s in wanted])
