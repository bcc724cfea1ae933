"""Logging in and out through the real form, against the whole suite."""
import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient

pytestmark = pytest.mark.browser

PASSWORD = "Correct-Horse-Donges-44480"


@pytest.fixture(scope="module")
def agent(suite):
    """An agent with every role, created in the suite's identity service."""
    username = f"agent-{uuid.uuid4().hex[:8]}"
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="browser-tests")
    try:
        client.call("identity", "ensure_agent", username, PASSWORD, ["admin", "affaires_scolaires", "petite_enfance"])
    finally:
        client.close()
    return {"username": username, "password": PASSWORD}


def log_in(page, username, password):
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_an_agent_logs_in_and_lands_on_the_agents_space(page, agent, assert_accessible):
    log_in(page, agent["username"], agent["password"])
    expect(page).to_have_url(re.compile(r"/agents/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace agents")
    expect(page.get_by_role("status")).to_contain_text("Vous êtes connecté.")
    expect(page.get_by_role("main")).to_contain_text(agent["username"])
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav.get_by_role("link", name="Espace agents")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("button", name="Se déconnecter")).to_be_visible()
    assert_accessible(page)


def test_a_wrong_password_shows_the_error_and_the_form_again(page, agent, assert_accessible):
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(agent["username"])
    page.get_by_label("Mot de passe").fill("not-the-password")
    with page.expect_response(lambda r: r.url.endswith("/connexion") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Se connecter").click()
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion à mon espace")
    expect(page.get_by_label("Identifiant")).to_have_value(agent["username"])
    expect(page.get_by_label("Mot de passe")).to_have_value("")
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    assert_accessible(page)
    # the private space stays closed
    page.goto("/agents/")
    expect(page).to_have_url(re.compile(r"/connexion\?next=%2Fagents%2F$|/connexion\?next=/agents/$"))


def test_an_empty_form_asks_for_both_fields(page):
    page.goto("/connexion")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_have_text("Saisissez votre identifiant et votre mot de passe.")


def test_login_returns_to_the_page_asked_for(page, agent):
    page.goto("/agents/")
    expect(page).to_have_url(re.compile(r"/connexion\?next="))
    page.get_by_label("Identifiant").fill(agent["username"])
    page.get_by_label("Mot de passe").fill(agent["password"])
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/agents/$"))


def test_logging_out(page, agent):
    log_in(page, agent["username"], agent["password"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace agents")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté.")
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav.get_by_role("link", name="Se connecter")).to_be_visible()
    expect(nav.get_by_role("button", name="Se déconnecter")).to_have_count(0)
    page.goto("/agents/")
    expect(page).to_have_url(re.compile(r"/connexion\?next="))


def test_logout_button_is_reachable_on_a_phone(phone_page, agent):
    log_in(phone_page, agent["username"], agent["password"])
    button = phone_page.get_by_role("button", name="Se déconnecter")
    expect(button).to_be_in_viewport()
    assert phone_page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    button.click()
    expect(phone_page.get_by_role("status")).to_contain_text("Vous êtes déconnecté.")


def test_a_post_without_the_csrf_token_is_refused(suite, agent):
    with requests.Session() as http:
        assert http.get(f"{suite.url}/connexion", timeout=10).status_code == 200  # a session cookie, no token
        response = http.post(f"{suite.url}/connexion", timeout=10, allow_redirects=False,
                             data={"username": agent["username"], "password": agent["password"]})
    assert response.status_code == 400
    assert "formulaire a expiré" in response.text
    assert "Espace agents" not in response.text


def test_a_post_with_a_forged_csrf_token_is_refused(suite, agent):
    response = requests.post(f"{suite.url}/connexion", timeout=10, allow_redirects=False,
                             data={"csrf_token": "forged", "username": agent["username"],
                                   "password": agent["password"]})
    assert response.status_code == 400
