"""The login form: CSRF, French errors, roles."""
import re

from .conftest import remote

AGENT_LOGIN = {"token": "t-1", "token_type": "Bearer", "expires_in": 43200,
               "principal": {"kind": "agent", "id": "a-1", "username": "admin", "roles": ["admin"], "scopes": [],
                             "family_id": None, "token_kind": "web"}}


def csrf_token(client, path="/connexion"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_login_without_csrf_token_is_refused(client, services):
    response = client.post("/connexion", data={"username": "admin", "password": "x"})
    assert response.status_code == 400
    assert services.calls == []


def test_wrong_password_shows_the_french_message(client, services):
    services.answers[("identity", "login")] = remote(
        "Unauthenticated", "bad_credentials", "Identifiant ou mot de passe incorrect.")
    response = client.post("/connexion", data={"username": "admin", "password": "x", "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in response.get_data(as_text=True)


def test_agent_logs_in_and_reaches_the_agents_home(client, services):
    services.answers[("identity", "login")] = AGENT_LOGIN
    services.answers[("identity", "resolve_token")] = AGENT_LOGIN["principal"]
    response = client.post("/connexion?next=/agents/", data={"username": "admin", "password": "x",
                                                             "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/agents/"
    assert "Espace agents" in client.get("/agents/").get_data(as_text=True)


def test_next_never_leaves_the_site(client, services):
    services.answers[("identity", "login")] = AGENT_LOGIN
    services.answers[("identity", "resolve_token")] = AGENT_LOGIN["principal"]
    response = client.post("/connexion?next=//evil.example/", data={"username": "admin", "password": "x",
                                                                     "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/agents/"


def test_agents_home_needs_login(client):
    response = client.get("/agents/")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
