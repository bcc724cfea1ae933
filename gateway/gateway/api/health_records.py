"""A child's health record («fiche sanitaire», issue #12): parents read and save their children's; agents read it
when identity says the child attends their service (identity records every agent's read, granted or refused)."""
from flask import jsonify

from espace_common.rpc_client import RemoteError, ServiceUnavailable

from ..auth import api_auth, current_principal
from ..services import services
from . import bp
from .validation import body

# Any agent of a care role may ask; identity decides with the child's services (admin alone is refused there).
CARE_ROLES = ("affaires_scolaires", "petite_enfance")


def identity(method, *args):
    """One call to identity; the canteen or the crèche not answering identity's question is a 503, not a 500."""
    try:
        return services().call("identity", method, *args)
    except RemoteError as error:
        if error.exc_type == "DependencyUnavailable":
            raise ServiceUnavailable(str(error.message), "not answering identity") from None
        raise


def child_key(child_id):
    return child_id[:100]  # an id is at most 36 characters: identity answers 404 for anything longer


@bp.get("/children/<child_id>/health-record")
@api_auth(kinds=("parent", "agent"), roles=CARE_ROLES)
def health_record(child_id):
    principal = current_principal()
    if principal["kind"] == "parent":
        return jsonify(identity("health_record", principal["id"], child_key(child_id)))
    return jsonify(identity("agent_health_record", principal["id"], child_key(child_id)))


@bp.put("/children/<child_id>/health-record")
@api_auth(kinds=("parent",))
def save_health_record(child_id):
    return jsonify(identity("save_health_record", current_principal()["id"], child_key(child_id), body()))
