"""Identity's vocabulary (role names, password rules) comes from identity, asked once per process, never copied."""
import re

from .conftest import IDENTITY_VOCABULARY


def vocabulary_calls(services):
    return [call for call in services.calls if call[:2] == ("identity", "vocabulary")]


def text(response):
    return response.get_data(as_text=True)


def test_the_password_rules_shown_are_identitys_and_asked_once(client, services):
    rules = ["au moins 14 signes ;", "une règle que seul identity connaît."]
    services.answers[("identity", "vocabulary")] = {**IDENTITY_VOCABULARY,
                                                    "password": {**IDENTITY_VOCABULARY["password"], "rules": rules}}
    for _ in range(2):
        page = text(client.get("/creer-mon-espace"))
        items = re.findall(r"<li>([^<]*)</li>", page.split('id="regles-mot-de-passe"')[1].split("</ul>")[0])
        assert items == rules
    assert len(vocabulary_calls(services)) == 1


def test_a_page_without_password_rules_does_not_ask_for_them(client, services):
    assert client.get("/connexion").status_code == 200
    assert vocabulary_calls(services) == []


def test_the_agents_home_names_their_roles_as_identity_does(client, services):
    services.answers[("identity", "vocabulary")] = {
        **IDENTITY_VOCABULARY, "agent_roles": {"affaires_scolaires": "Service des écoles", "admin": "Gestion"}}
    services.answers[("identity", "resolve_token")] = {
        "kind": "agent", "id": "agent-1", "username": "guichet", "family_id": None,
        "roles": ["affaires_scolaires", "admin"], "scopes": [], "token_kind": "web"}
    with client.session_transaction() as session:
        session["token"] = "t-agent"
    page = text(client.get("/agents/"))
    assert "(Service des écoles, Gestion)" in page


def test_when_identity_is_down_a_page_that_needs_its_vocabulary_is_503(client, services):
    del services.answers[("identity", "vocabulary")]
    response = client.get("/creer-mon-espace")
    assert response.status_code == 503 and "Retry-After" in response.headers
