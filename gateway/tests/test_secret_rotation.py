"""Rotating SECRET_KEY (docs/ops.md): with the old key in SECRET_KEY_FALLBACKS a logged-in agent stays logged in,
without it the old cookie is worthless; the setting comes from the environment through config.yml."""
from gateway import create_app

from .conftest import FakeServices
from .test_auth import AGENT_LOGIN, csrf_token


def gateway(secret_key, fallbacks=None):
    services = FakeServices()
    services.answers[("identity", "login")] = AGENT_LOGIN
    services.answers[("identity", "resolve_token")] = AGENT_LOGIN["principal"]
    overrides = {"LOCAL_RUN": True, "SECRET_KEY": secret_key, "TESTING": True}
    if fallbacks is not None:
        overrides["SECRET_KEY_FALLBACKS"] = fallbacks
    return create_app(overrides, services=services)


def logged_in_cookie(secret_key):
    client = gateway(secret_key).test_client()
    response = client.post("/connexion", data={"username": "admin", "password": "x", "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    return client.get_cookie("session").value


def agents_home(app, cookie):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get("/agents/")


def test_a_session_signed_by_the_previous_key_is_kept_while_that_key_is_a_fallback():
    cookie = logged_in_cookie("old-key-0123456789")
    kept = agents_home(gateway("new-key-9876543210", "old-key-0123456789"), cookie)
    assert kept.status_code == 200 and "Espace agents" in kept.get_data(as_text=True)
    lost = agents_home(gateway("new-key-9876543210"), cookie)
    assert lost.status_code == 302 and "/connexion" in lost.headers["Location"]


def test_new_sessions_are_signed_by_the_new_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", " old-1 ,, 12345 ")  # digits stay a string, blanks go
    app = create_app({"LOCAL_RUN": True, "SECRET_KEY": "new-key", "TESTING": True}, services=FakeServices())
    assert app.config["SECRET_KEY_FALLBACKS"] == ["old-1", "12345"]
    cookie = logged_in_cookie("new-key")
    assert agents_home(gateway("new-key"), cookie).status_code == 200  # no fallback needed for it
    assert agents_home(gateway("other-key", "old-1"), cookie).status_code == 302


def test_no_fallback_by_default():
    assert gateway("k").config["SECRET_KEY_FALLBACKS"] == []
