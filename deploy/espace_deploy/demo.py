"""Demo data for a town: loaded through the services' own commands, idempotent by request id."""
import json
import os
from datetime import datetime, timezone

ADMIN_ROLES = ["admin", "affaires_scolaires", "petite_enfance"]
DEFAULT_AGENT_USERNAME = "admin"
DEFAULT_AGENT_PASSWORD = "Donges-Mairie-2026!"

DEMO_FAMILIES = (
    {
        "request_id": "demo-family-martin",
        "representatives": [
            {"first_name": "Claire", "last_name": "Martin", "email": "claire.martin@example.org", "phone": "06 12 34 56 78",
             "address": {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"},
             "caf_number": "1234567"},
            {"first_name": "Julien", "last_name": "Martin", "email": "julien.martin@example.org", "phone": "06 98 76 54 32",
             "address": {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"}},
        ],
        "children": [
            {"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"},
            {"first_name": "Hugo", "last_name": "Martin", "birth_date": "2020-09-03"},
        ],
    },
    {
        "request_id": "demo-family-le-goff",
        "representatives": [
            {"first_name": "Nadia", "last_name": "Le Goff", "email": "nadia.legoff@example.org", "phone": "07 11 22 33 44",
             "address": {"line1": "3 allée des Marais", "line2": "Résidence Les Ajoncs", "postal_code": "44480", "city": "Donges"}},
        ],
        "children": [
            {"first_name": "Inès", "last_name": "Le Goff", "birth_date": "2024-02-11"},
        ],
    },
    {
        "request_id": "demo-family-bernard",
        "representatives": [
            {"first_name": "Sophie", "last_name": "Bernard", "email": "sophie.bernard@example.org", "phone": "06 55 44 33 22",
             "address": {"line1": "8 route de Savenay", "line2": "", "postal_code": "44480", "city": "Donges"}},
        ],
        "children": [
            {"first_name": "Tom", "last_name": "Bernard", "birth_date": "2017-11-30"},
            {"first_name": "Jade", "last_name": "Bernard", "birth_date": "2019-06-08"},
            {"first_name": "Louis", "last_name": "Bernard", "birth_date": "2023-01-21"},
        ],
    },
)


def agent_credentials(environ=os.environ):
    return (environ.get("DEMO_AGENT_USERNAME") or DEFAULT_AGENT_USERNAME,
            environ.get("DEMO_AGENT_PASSWORD") or DEFAULT_AGENT_PASSWORD)


def ensure_admin_agent(client, environ=os.environ):
    """Create or update the administrator from DEMO_AGENT_USERNAME / DEMO_AGENT_PASSWORD, at every start."""
    username, password = agent_credentials(environ)
    return client.call("identity", "ensure_agent", username, password, ADMIN_ROLES, timeout=30)


def load_demo_data(client):
    """Register the demo families; running it again creates nothing twice."""
    return [client.call("identity", "register_family", family, timeout=30) for family in DEMO_FAMILIES]


def demo_keys(client, families, saved_path):
    """A usable key for each demo representative without an account, printed at every start.

    Keys are kept in var/ (local runs only) and reused while still valid, so a
    restart issues no new key; a used, revoked or expired one is replaced.
    """
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    now = datetime.now(timezone.utc)
    keys = []
    for family in families:
        state = client.call("identity", "family_for_agent", family["id"], timeout=30)
        for rep in state["representatives"]:
            name = f"{rep['first_name']} {rep['last_name']}"
            if rep["has_account"]:
                keys.append((name, None))
                continue
            current, remembered = rep["key"], saved.get(rep["id"])
            still_valid = (current and remembered and not current["used"]
                           and current["expires_at"] == remembered["expires_at"]
                           and datetime.fromisoformat(current["expires_at"]) > now)
            if not still_valid:
                issued = client.call("identity", "issue_key", rep["id"], timeout=30)
                remembered = saved[rep["id"]] = {"key": issued["key"], "expires_at": issued["expires_at"]}
            keys.append((name, remembered["key"]))
    saved_path.write_text(json.dumps(saved, indent=1))
    saved_path.chmod(0o600)
    return keys
