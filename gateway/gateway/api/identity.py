"""Accounts, tokens, families and keys: the identity service's JSON API.

Thin views: each checks who calls (bearer token, kind, role or scope), hands the
already-validated body to one identity RPC and shapes its answer. Refusals come
back from identity as RemoteError and become {code, message} in errors.py.
"""
import base64

from flask import Response, g, jsonify, request

from espace_common.errors import InvalidInput

from ..auth import api_auth, bearer_token, client_ip, current_principal, log_out_token
from ..responses import created, no_content, no_store
from ..schemas import validate
from ..services import services
from ..tokens import check_link_token
from . import bp
from .validation import body

# Agents of either service may register families and issue keys; admin holds every role.
FAMILY_AGENTS = ("affaires_scolaires", "petite_enfance")
FAMILIES_READ = ("families:read",)


def identity(method, *args, **kwargs):
    return services().call("identity", method, *args, **kwargs)


def int_arg(name, default, low, high):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise InvalidInput("invalid_query", f"Le paramètre « {name} » doit être un nombre entier de {low} à {high}.")
    return value


# --- Accounts and tokens ------------------------------------------------------------

@bp.post("/accounts")
def create_account():
    """A parent creates the account with the key mailed by the town."""
    data = body()
    account = identity("create_account", data["key"], data["username"], data["email"], data["password"], client_ip())
    return no_store(created(account, "/api/v1/me"))


@bp.post("/auth/token")
def issue_token():
    """A bearer token for a parent or an agent (identifier and password) or a system (client credentials)."""
    data = body()
    if data.get("grant_type") == "client_credentials":
        result = identity("client_login", data["client_id"], data["client_secret"], client_ip())
    else:
        result = identity("login", data["username"], data["password"], client_ip(), "api")
    return no_store(jsonify({"access_token": result["token"], "token_type": result["token_type"],
                           "expires_in": result["expires_in"]}))


@bp.delete("/auth/token")
@api_auth()
def revoke_token():
    """The caller's own token stops working at once (in this process too, whose cache held it)."""
    log_out_token(bearer_token())
    return no_content()


@bp.get("/me")
@api_auth(kinds=("parent",))
def me():
    return jsonify(identity("me", current_principal()["id"]))


@bp.put("/me/password")
@api_auth(kinds=("parent",))
def change_password():
    """Needs the current password; every other token and session of the account ends, this one stays."""
    data = body()
    identity("change_password", current_principal()["id"], data["current_password"], data["new_password"],
             client_ip(), keep_token=bearer_token())
    return no_content()


@bp.patch("/me/contact")
@api_auth(kinds=("parent",))
def change_contact():
    """Phone and address change at once; a new e-mail waits for the link sent to it (see pending_email)."""
    return jsonify(identity("change_contact", current_principal()["id"], body(), client_ip()))


@bp.get("/me/events")
@api_auth(kinds=("parent",))
def my_events():
    """The account's recent events (logins, changes), newest first."""
    limit = int_arg("limit", 20, 1, 100)
    return jsonify({"events": identity("recent_events", current_principal()["id"], limit)})


@bp.post("/password-resets")
def request_password_reset():
    """By identifier or e-mail; the answer is the same whether anything matched or not."""
    identity("request_password_reset", body()["login"], client_ip())
    response = jsonify({"message": "Si un espace correspond à cet identifiant ou à cette adresse, un e-mail vient "
                                   "d'y être envoyé avec un lien valable peu de temps."})
    response.status_code = 202
    return response


@bp.post("/password-resets/confirm")
def confirm_password_reset():
    data = body()
    identity("confirm_password_reset", check_link_token(data["token"]), data["password"], client_ip())
    return no_content()


@bp.post("/email-confirmations")
def confirm_email():
    """The token of the link mailed to a new address."""
    return jsonify(identity("confirm_email", check_link_token(body()["token"])))


# --- Families and keys (agents) ---------------------------------------------------------

@bp.get("/families")
@api_auth(kinds=("agent", "client"), roles=FAMILY_AGENTS, scopes=FAMILIES_READ)
def find_families():
    """Search by dossier number, a member's name or e-mail."""
    query = request.args.get("q", "")
    validate("FamilyQuery", query, code="invalid_query", root="q")
    return jsonify({"families": identity("find_families", query)})


@bp.post("/families")
@api_auth(kinds=("agent",), roles=FAMILY_AGENTS)
def register_family():
    family = identity("register_family", body())
    g.acted_family_id = family["id"]  # for the agents' journal (web/agent.py)
    return created(family, f"/api/v1/families/{family['id']}")


@bp.get("/families/<family_id>")
@api_auth(kinds=("parent", "agent", "client"), roles=FAMILY_AGENTS, scopes=FAMILIES_READ)
def get_family(family_id):
    """A parent reads only their own family (any other is 404); agents also see accounts and keys."""
    principal = current_principal()
    if principal["kind"] == "parent":
        return jsonify(identity("get_family", family_id, account_id=principal["id"]))
    if principal["kind"] == "agent":
        return jsonify(identity("family_for_agent", family_id))
    return jsonify(identity("get_family", family_id))


@bp.post("/representatives/<representative_id>/keys")
@api_auth(kinds=("agent",), roles=FAMILY_AGENTS)
def issue_key(representative_id):
    """A new key (the previous one is revoked); the key is shown this once."""
    issued = identity("issue_key", representative_id, agent_id=current_principal()["id"])
    return no_store(created(issued, f"/api/v1/representatives/{representative_id}/keys/letter.pdf"))


@bp.get("/representatives/<representative_id>/keys/letter.pdf")
@api_auth(kinds=("agent",), roles=FAMILY_AGENTS)
def key_letter(representative_id):
    """The printable letter of the current key, as often as needed while the key can be used."""
    letter = identity("key_letter", representative_id)
    response = Response(base64.b64decode(letter["pdf_base64"]), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{letter["filename"]}"'
    return no_store(response)


# --- API clients (administrators) ---------------------------------------------------------

@bp.post("/api-clients")
@api_auth(kinds=("agent",), roles=("admin",))
def create_api_client():
    """Another municipal system's client id and secret; the secret is shown this once."""
    data = body()
    return no_store(created(identity("create_api_client", data["name"], data["scopes"])))
