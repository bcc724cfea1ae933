"""The identity service over the real broker, on SQLite and PostgreSQL."""
import pytest

from espace_common.rpc_client import RemoteError

pytestmark = pytest.mark.broker

FAMILY = {
    "representatives": [{"first_name": "Nadia", "last_name": "Le Goff", "email": "nadia@example.org",
                         "address": {"line1": "3 allée des Marais", "postal_code": "44480", "city": "Donges"}}],
    "children": [{"first_name": "Inès", "last_name": "Le Goff", "birth_date": "2024-02-11"}],
}


def test_health_reports_database_and_broker(start_service, rpc, database_factory):
    start_service("identity")
    health = rpc.call("identity", "health")
    assert health["status"] == "ok"
    assert health["database"]["backend"] == database_factory.backend
    assert health["broker"]["ok"] is True


def test_register_family_is_idempotent_by_request_id(start_service, rpc):
    start_service("identity")
    first = rpc.call("identity", "register_family", dict(FAMILY, request_id="req-1"))
    again = rpc.call("identity", "register_family", dict(FAMILY, request_id="req-1"))
    other = rpc.call("identity", "register_family", FAMILY)
    assert again == first
    assert other["id"] != first["id"] and other["dossier"] != first["dossier"]
    assert rpc.call("identity", "get_family", first["id"]) == first


def test_domain_errors_travel_as_code_and_message(start_service, rpc):
    start_service("identity")
    with pytest.raises(RemoteError) as error:
        rpc.call("identity", "register_family", {"representatives": [], "children": []})
    assert (error.value.exc_type, error.value.code) == ("InvalidInput", "invalid_representatives")
    with pytest.raises(RemoteError) as error:
        rpc.call("identity", "get_family", "00000000-0000-0000-0000-000000000000")
    assert (error.value.exc_type, error.value.code) == ("NotFound", "family_not_found")


def test_agents_authenticate_whatever_the_case_of_their_identifier(start_service, rpc):
    start_service("identity")
    created = rpc.call("identity", "ensure_agent", "Agent.Scolaire", "Un-mot-de-passe-2026", ["affaires_scolaires"])
    agent = rpc.call("identity", "login", "agent.scolaire", "Un-mot-de-passe-2026")["principal"]
    assert (agent["kind"], agent["id"], agent["username"], agent["roles"]) == (
        "agent", created["id"], "Agent.Scolaire", ["affaires_scolaires"])
    with pytest.raises(RemoteError) as error:
        rpc.call("identity", "login", "agent.scolaire", "wrong")
    assert error.value.code == "bad_credentials"
    with pytest.raises(RemoteError) as unknown:
        rpc.call("identity", "login", "nobody", "wrong")
    assert unknown.value.message == error.value.message


def test_ensure_agent_updates_the_password_instead_of_duplicating(start_service, rpc):
    start_service("identity")
    first = rpc.call("identity", "ensure_agent", "admin", "Premier-Mot-2026", ["admin"])
    second = rpc.call("identity", "ensure_agent", "ADMIN", "Second-Mot-2026", ["admin", "petite_enfance"])
    assert second["id"] == first["id"]
    assert rpc.call("identity", "login", "admin", "Second-Mot-2026")["principal"]["roles"] == ["admin", "petite_enfance"]
    with pytest.raises(RemoteError):
        rpc.call("identity", "login", "admin", "Premier-Mot-2026")
