"""Reminders by e-mail (issue #12) through the gateway, with fake services: the API's choices for the caller's own
account, the page «Rappels par courriel» (CSRF form, French messages), the agents' family file."""
import html

import pytest

from .conftest import remote
from .test_api_identity import ADMIN, AUTH, PARENT, SCOLAIRE, as_
from .test_web_pages import AGENT, PARENT as WEB_PARENT, agent_family, csrf_token, log_in_as, post

SAVED = {"canteen_deadline": True, "invoice_due": False, "changed_at": "2026-12-02T09:30:00+00:00",
         "email": "claire.perso@example.org", "email_confirmed": True}
NOTHING_CHOSEN = {**SAVED, "canteen_deadline": False, "changed_at": None}


def identity_calls(services, method):
    return [args for service, m, args, _ in services.calls if service == "identity" and m == method]


# --- API --------------------------------------------------------------------------------------------------------

def test_a_parent_reads_and_saves_their_own_choices(client, services):
    services.answers[("identity", "reminder_preferences")] = NOTHING_CHOSEN
    response = client.get("/api/v1/me/reminders", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.get_json() == NOTHING_CHOSEN
    assert "no-store" in response.headers["Cache-Control"]
    services.answers[("identity", "set_reminder_preferences")] = SAVED
    response = client.put("/api/v1/me/reminders", json={"canteen_deadline": True, "invoice_due": False}, headers=AUTH)
    assert response.status_code == 200 and response.get_json() == SAVED
    assert identity_calls(services, "set_reminder_preferences") == [("acc-1", True, False)]


@pytest.mark.parametrize("bad", [{}, {"canteen_deadline": True}, {"canteen_deadline": "true", "invoice_due": False},
                                 {"canteen_deadline": True, "invoice_due": False, "sms": True},
                                 {"canteen_deadline": 1, "invoice_due": 0}, ["x"], "é" * 100_000])
def test_a_bad_body_is_a_400_in_french_and_nothing_is_saved(client, services, bad):
    response = client.put("/api/v1/me/reminders", json=bad, headers=as_(services, PARENT))
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
    assert identity_calls(services, "set_reminder_preferences") == []


def test_only_a_parent_has_reminders(client, services):
    for who in (SCOLAIRE, ADMIN):
        assert client.get("/api/v1/me/reminders", headers=as_(services, who)).status_code == 403
    assert client.put("/api/v1/me/reminders", json={"canteen_deadline": True, "invoice_due": True}).status_code == 401


def test_identity_down_is_a_503(client, services):
    response = client.get("/api/v1/me/reminders", headers=as_(services, PARENT))  # no answer from identity
    assert response.status_code == 503 and response.get_json()["code"]


# --- The page -------------------------------------------------------------------------------------------------

def test_the_page_shows_the_choices_and_saving_them_posts_both(client, services):
    log_in_as(client, services, WEB_PARENT)
    services.answers[("identity", "reminder_preferences")] = NOTHING_CHOSEN
    page = html.unescape(client.get("/mon-espace/rappels").get_data(as_text=True))
    assert "<h1>Rappels par courriel</h1>" in page and "claire.perso@example.org" in page
    assert 'aria-current="page">Rappels par courriel</a>' in page  # in Mon espace's sub-navigation
    assert 'name="canteen_deadline" value="oui"' in page and " checked" not in page
    services.answers[("identity", "set_reminder_preferences")] = SAVED
    response = post(client, "/mon-espace/rappels", {"canteen_deadline": "oui"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/mon-espace/rappels")
    assert identity_calls(services, "set_reminder_preferences") == [("acc-1", True, False)]
    services.answers[("identity", "reminder_preferences")] = SAVED
    page = html.unescape(client.get("/mon-espace/rappels").get_data(as_text=True))
    assert "Vos choix de rappels sont enregistrés." in page
    assert 'name="canteen_deadline" value="oui" aria-describedby="aide-cantine" checked' in page


def test_unchecking_everything_opts_out(client, services):
    log_in_as(client, services, WEB_PARENT)
    services.answers[("identity", "reminder_preferences")] = SAVED
    services.answers[("identity", "set_reminder_preferences")] = NOTHING_CHOSEN
    assert post(client, "/mon-espace/rappels", {}).status_code == 302
    assert identity_calls(services, "set_reminder_preferences") == [("acc-1", False, False)]


def test_a_junk_value_or_a_missing_token_changes_nothing(client, services):
    log_in_as(client, services, WEB_PARENT)
    services.answers[("identity", "reminder_preferences")] = SAVED
    response = post(client, "/mon-espace/rappels", {"invoice_due": "é" * 100_000})
    assert response.status_code == 400 and "Cochez ou décochez chaque rappel." in html.unescape(
        response.get_data(as_text=True))
    assert client.post("/mon-espace/rappels", data={"canteen_deadline": "oui"}).status_code == 400  # no CSRF token
    assert identity_calls(services, "set_reminder_preferences") == []


def test_an_unconfirmed_address_is_said(client, services):
    log_in_as(client, services, WEB_PARENT)
    services.answers[("identity", "reminder_preferences")] = {**SAVED, "email_confirmed": False}
    page = html.unescape(client.get("/mon-espace/rappels").get_data(as_text=True))
    assert "Aucun rappel ne part tant que l'adresse n'est pas confirmée" in page


def test_a_refusal_is_shown_in_french(client, services):
    log_in_as(client, services, WEB_PARENT)
    services.answers[("identity", "reminder_preferences")] = SAVED
    services.answers[("identity", "set_reminder_preferences")] = remote(
        "InvalidInput", "invalid_preferences", "Chaque rappel est activé (oui) ou désactivé (non).")
    response = post(client, "/mon-espace/rappels", {"canteen_deadline": "oui"})
    assert response.status_code == 400 and "Chaque rappel est activé" in html.unescape(response.get_data(as_text=True))


def test_the_page_needs_a_parent(client, services):
    assert client.get("/mon-espace/rappels").status_code == 302
    log_in_as(client, services, AGENT)
    assert client.get("/mon-espace/rappels").status_code in (302, 403)


# --- The agents' family file ----------------------------------------------------------------------------------------

def test_the_family_file_shows_each_representatives_choice_and_the_reminders_sent(client, services):
    reminders = {"kinds": {"canteen_deadline": "Semaine de cantine non réservée, avant la date limite",
                           "invoice_due": "Facture à payer, avant sa date d'échéance"},
                 "accounts": [{"account_id": "acc-1", "representative_id": "rep-1", "username": "claire.martin",
                               "first_name": "Claire", "last_name": "Martin", "email": "claire.perso@example.org",
                               "email_confirmed": True, "canteen_deadline": True, "invoice_due": False,
                               "changed_at": "2026-12-01T17:00:00+00:00"}],
                 "sent": [{"account_id": "acc-1", "kind": "canteen_deadline",
                           "label": "Semaine de cantine non réservée, avant la date limite", "subject": "2026-12-07",
                           "recipient": "claire.perso@example.org", "detail": "Léa",
                           "sent_at": "2026-12-02T09:30:00+00:00"}]}
    family = {**agent_family(), "emails": [], "mails": [], "reminders": reminders}
    services.answers[("identity", "family_for_agent")] = lambda family_id, with_mails=False: family
    log_in_as(client, services, AGENT)
    page = html.unescape(client.get("/agents/familles/fam-1").get_data(as_text=True))
    section = page[page.index('id="titre-rappels"'):]
    assert "Claire Martin</bdi> (claire.martin) :" in section
    assert "Semaine de cantine non réservée, avant la date limite" in section and "Facture à payer" not in section
    assert "Semaine du 7 décembre 2026 : <bdi>Léa</bdi>" in section
    assert "2 décembre 2026 à 10 h 30" in section and "(choix du 1 décembre 2026 à 18 h 00)" in section.replace(
        "1er", "1")
