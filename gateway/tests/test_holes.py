"""The holes a probe found from outside (issue #7, §5), each closed on the gateway's side."""
import pytest

from espace_common.rpc_client import RemoteError
from gateway import create_app

from .conftest import FakeServices, remote
from .test_api_identity import AUTH, PARENT as API_PARENT, ME as API_ME
from .test_auth import AGENT_LOGIN, csrf_token
from .test_web_pages import ME, PARENT, STRONG, log_in_as, text


def crash_on_non_ascii(token, *rest, **kwargs):
    """What identity did with a token it could not encode: a 500 for the caller."""
    token.encode("ascii")
    raise RemoteError.from_reply("identity", {"exc_type": "NotFound",
                                              "exc_args": ["link_invalid", "Ce lien n'est pas valide."]})


def not_ascii_crash():
    return RemoteError.from_reply("identity", {"exc_type": "UnicodeEncodeError", "exc_args": ["ascii codec"]})


# --- 1. No open redirect after login --------------------------------------------------------------

def log_in(client, services, next_):
    services.answers[("identity", "login")] = AGENT_LOGIN
    services.answers[("identity", "resolve_token")] = AGENT_LOGIN["principal"]
    return client.post("/connexion", query_string={"next": next_},
                       data={"username": "admin", "password": "x", "csrf_token": csrf_token(client)})


@pytest.mark.parametrize("next_", ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "//evil.example",
                                   "/\\evil.example", "\\\\evil.example", "https://evil.example/", "/%09/x\x00",
                                   "javascript:alert(1)", "evil.example", "/ /evil.example", "/é"])
def test_after_login_only_a_path_of_this_site_is_followed(client, services, next_):
    response = log_in(client, services, next_)
    assert response.status_code == 302 and response.headers["Location"] == "/agents/"


def test_after_login_a_path_of_this_site_is_followed(client, services):
    response = log_in(client, services, "/agents/familles?q=Martin")
    assert response.headers["Location"] == "/agents/familles?q=Martin"


# --- 2. A malformed token is an invalid token -------------------------------------------------------

@pytest.mark.parametrize("token", ["é", "Ã©", "a b", "x" * 10_000])
def test_a_malformed_bearer_token_is_401_without_asking_identity(client, services, token):
    services.answers[("identity", "resolve_token")] = not_ascii_crash()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.get_json()["code"] == "unauthenticated"
    assert services.calls == []


def test_a_well_formed_bearer_token_still_reaches_identity(client, services):
    services.answers[("identity", "resolve_token")] = API_PARENT
    services.answers[("identity", "me")] = API_ME
    assert client.get("/api/v1/me", headers=AUTH).status_code == 200


@pytest.mark.parametrize("path, body", [
    ("/api/v1/email-confirmations", {"token": "é"}),
    ("/api/v1/password-resets/confirm", {"token": "é", "password": STRONG}),
])
def test_a_malformed_link_token_is_an_invalid_link_in_the_api(client, services, path, body):
    services.answers[("identity", "confirm_email")] = crash_on_non_ascii
    services.answers[("identity", "confirm_password_reset")] = crash_on_non_ascii
    response = client.post(path, json=body)
    assert response.status_code == 404 and response.get_json()["code"] == "link_invalid"
    assert services.calls == []


@pytest.mark.parametrize("path", ["/confirmer-email/%C3%A9", "/mot-de-passe-oublie/%C3%A9",
                                  "/mot-de-passe-oublie/" + "x" * 5000])
def test_a_malformed_link_token_shows_the_invalid_link_page(client, services, path):
    services.answers[("identity", "confirm_email")] = crash_on_non_ascii
    services.answers[("identity", "check_reset_token")] = crash_on_non_ascii
    response = client.get(path)
    assert response.status_code == 404 and "pas valide" in text(response)
    assert services.calls == []


# --- 3. The web login's throttling says when to come back -------------------------------------------

def test_the_web_logins_429_carries_retry_after(client, services):
    services.answers[("identity", "login")] = remote("Throttled", "too_many_attempts",
                                                     "Trop de tentatives. Réessayez dans 15 minutes.", 900)
    response = client.post("/connexion", data={"username": "admin", "password": "x",
                                               "csrf_token": csrf_token(client)})
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
    assert "Trop de tentatives" in text(response)


# --- 6. Caching, HSTS, Allow -----------------------------------------------------------------------

def test_a_private_page_is_never_stored(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    response = client.get("/tableau-de-bord")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_a_public_page_seen_by_a_logged_in_parent_is_not_stored_either(client, services):
    log_in_as(client, services, PARENT)
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_private_json_is_never_stored(client, services):
    services.answers[("identity", "resolve_token")] = API_PARENT
    services.answers[("identity", "me")] = API_ME
    response = client.get("/api/v1/me", headers=AUTH)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_a_public_page_for_anyone_may_be_cached(client):
    response = client.get("/")
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")
    assert "no-store" not in client.get("/api/v1/openapi.json").headers.get("Cache-Control", "")


def test_hsts_outside_local_runs_only(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    production = create_app({"LOCAL_RUN": False, "SECRET_KEY": "test", "TESTING": True}, services=FakeServices())
    response = production.test_client().get("/")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("method, path, allowed", [
    ("delete", "/connexion", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("put", "/api/v1/accounts", {"OPTIONS", "POST"}),
])
def test_a_405_says_which_methods_are_allowed(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
