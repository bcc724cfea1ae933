"""The agents' journal: each successful agent write is reported to identity once, and administrators read it."""
import html
import uuid

from espace_common.rpc_client import ServiceUnavailable

from .conftest import remote
from .test_web_pages import AGENT, PARENT, agent_family, log_in_as, post

ADMIN = {**AGENT, "id": "agent-2", "username": "admin", "roles": ["admin"]}
FAMILY_ID = "fam-1"
REP_ID = "rep-1"


def reported(services):
    return services.agent_actions


def key_page():
    return f"/agents/familles/{FAMILY_ID}/representants/{REP_ID}/cle"


def test_a_successful_agent_write_is_reported_with_the_agent_the_family_and_the_action(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = agent_family()
    services.answers[("identity", "issue_key")] = {"key": "ABCD"}
    services.answers[("identity", "record_agent_action")] = lambda action: {"id": action["id"], "recorded": True}
    response = post(client, key_page(), {})
    assert response.status_code == 303
    (action,) = reported(services)
    assert action | {"agent_id": "agent-1", "action": "agent.issue_key", "method": "POST", "path": key_page(),
                     "family_id": FAMILY_ID} == action
    assert uuid.UUID(action["id"]) and action["at"].endswith("+00:00")


def test_a_refused_write_a_read_and_a_parents_write_are_not_reported(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = agent_family()
    services.answers[("identity", "issue_key")] = remote("NotFound", "representative_not_found", "Introuvable.")
    services.answers[("identity", "find_families")] = []
    client.get("/agents/familles?q=martin")
    post(client, "/agents/familles/nouvelle", {"rep0_first_name": "Léa"})  # refused by the schema: 400
    assert reported(services) == []
    log_in_as(client, services, PARENT)
    services.answers[("identity", "change_contact")] = {}
    client.post("/api/v1/me/contact", json={"phone": "0612345678"}, headers={"Authorization": "Bearer t"})
    assert reported(services) == []


def test_the_same_registration_sent_twice_is_one_action_id(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "register_family")] = {"id": "fam-9", "dossier": "000009"}
    services.answers[("identity", "record_agent_action")] = {"recorded": True}
    form = {"request_id": "req-42", "rep0_first_name": "Léa", "rep0_last_name": "Martin",
            "rep0_email": "lea@example.org", "rep0_phone": "0612345678"}
    post(client, "/agents/familles/nouvelle", form)
    post(client, "/agents/familles/nouvelle", form)
    first, second = reported(services)
    assert first["id"] == second["id"] and first["family_id"] == "fam-9" and first["action"] == "agent.register"


def test_an_action_identity_could_not_take_is_sent_again_with_the_next_write(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = agent_family()
    services.answers[("identity", "issue_key")] = {"key": "ABCD"}
    services.answers[("identity", "record_agent_action")] = ServiceUnavailable("identity", "down")
    assert post(client, key_page(), {}).status_code == 303  # the write stands: the page does not fail
    services.answers[("identity", "record_agent_action")] = {"recorded": True}
    post(client, key_page(), {})
    first, again, second = reported(services)
    assert first == again and second["id"] != first["id"]
    services.agent_actions.clear()
    post(client, key_page(), {})
    assert len(reported(services)) == 1  # nothing left waiting


JOURNAL = {"items": [{"id": "a-1", "agent_id": "agent-1", "agent": "guichet", "action": "agent.issue_key",
                      "method": "POST", "path": "/agents/familles/fam-1/representants/rep-1/cle",
                      "family_id": "fam-1", "dossier": "000042", "at": "2026-12-01T16:05:00+00:00"},
                     {"id": "a-2", "agent_id": "agent-3", "agent": "creche", "action": "childcare_agent.close_day",
                      "method": "POST", "path": "/agents/petite-enfance/fermetures", "family_id": None,
                      "dossier": None, "at": "2026-11-30T08:00:00+00:00"}],
           "page": 1, "pages": 3, "total": 120}


def test_the_journal_lists_who_did_what_for_which_family_in_paris_time_and_pages(client, services):
    log_in_as(client, services, ADMIN)
    services.answers[("identity", "agent_journal")] = JOURNAL
    page = html.unescape(client.get("/agents/journal?dossier=42&agent=gui&du=2026-11-01&au=2026-12-01").get_data(
        as_text=True))
    assert "120 actions · page 1 sur 3" in page
    assert "1er décembre 2026 à 17 h 05" in page and "Clé émise" in page and "Dossier n° 000042" in page
    assert "Multi-accueil fermé" in page and "—" in page
    assert 'href="/agents/journal?page=2&dossier=42&agent=gui&du=2026-11-01&au=2026-12-01"' in page
    (filters,) = [args[0] for _, method, args, _ in services.calls if method == "agent_journal"]
    assert filters == {"dossier": "42", "agent": "gui", "from": "2026-10-31T23:00:00+00:00",
                       "to": "2026-12-01T23:00:00+00:00", "page": 1}


def test_the_journal_refuses_a_bad_filter_in_french_and_is_for_administrators(client, services):
    log_in_as(client, services, ADMIN)
    response = client.get("/agents/journal?du=hier")
    assert response.status_code == 400 and "« Du » est une date" in html.unescape(response.get_data(as_text=True))
    assert client.get("/agents/journal?dossier=" + "9" * 100_000).status_code in (400, 414)
    services.answers[("identity", "agent_journal")] = JOURNAL
    assert client.get("/agents/journal?page=%C3%A9&famille=fam-1").status_code == 200
    (filters,) = [args[0] for _, method, args, _ in services.calls if method == "agent_journal"]
    assert filters == {"family_id": "fam-1", "page": 1}
    log_in_as(client, services, AGENT)
    assert client.get("/agents/journal").status_code == 403
    assert "Journal des actions" not in client.get("/agents/").get_data(as_text=True)
    log_in_as(client, services, ADMIN)
    assert "Journal des actions" in client.get("/agents/").get_data(as_text=True)


def test_an_api_registration_names_the_family_it_created(client, services):
    from .test_api_identity import ADMIN as API_ADMIN, FAMILY, VALID_BODIES, as_
    services.answers[("identity", "register_family")] = FAMILY
    client.post("/api/v1/families", headers=as_(services, API_ADMIN), json=VALID_BODIES[("/families", "post")])
    (registered,) = services.agent_actions
    assert registered | {"action": "api.register_family", "family_id": FAMILY["id"], "agent_id": "agent-admin"} \
        == registered
