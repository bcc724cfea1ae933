"""The pages of a parent's space and of the agents' back office, against fake services."""
import base64
import re

import pytest

from gateway import create_app

from .conftest import FakeServices, remote

PARENT = {"kind": "parent", "id": "acc-1", "username": "claire.martin", "family_id": "fam-1", "email_confirmed": False,
          "roles": [], "scopes": [], "token_kind": "web"}
AGENT = {"kind": "agent", "id": "agent-1", "username": "guichet", "family_id": None, "roles": ["affaires_scolaires"],
         "scopes": [], "token_kind": "web"}
REP = {"id": "rep-1", "first_name": "Claire", "last_name": "Martin", "email": "claire@example.org", "phone": "0612345678",
       "address": {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"},
       "caf_number": ""}
FAMILY = {"id": "fam-1", "dossier": "000042", "representatives": [REP],
          "children": [{"id": "kid-1", "first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}]}
ME = {"account": {"id": "acc-1", "username": "claire.martin", "email": "claire@example.org", "email_confirmed": False,
                  "representative_id": "rep-1"}, "family": FAMILY}
LOGIN = {"token": "t-parent", "token_type": "Bearer", "expires_in": 43200, "principal": PARENT}
STRONG = "Donges-Cantine-2026!"


def csrf_token(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in_as(client, services, principal):
    services.answers[("identity", "resolve_token")] = principal
    with client.session_transaction() as session:
        session["token"] = "t-" + principal["kind"]


def post(client, path, data, csrf_from=None):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, csrf_from or path)})


def text(response):
    return response.get_data(as_text=True)


def agent_family(**key):
    rep = {**REP, "has_account": False, "key": key or None}
    return {**FAMILY, "representatives": [rep]}


# --- Login page links and landing -------------------------------------------------

def test_login_page_links_to_forgotten_password_and_account_creation(client):
    page = text(client.get("/connexion"))
    assert 'href="/mot-de-passe-oublie"' in page and "Mot de passe oublié" in page
    assert 'href="/creer-mon-espace"' in page and "créer mon espace" in page


def test_a_parent_lands_on_the_dashboard_after_login(client, services):
    services.answers[("identity", "login")] = LOGIN
    response = post(client, "/connexion", {"username": "claire.martin", "password": STRONG})
    assert response.status_code == 302 and response.headers["Location"] == "/tableau-de-bord"


# --- Creating the space -------------------------------------------------------------

def create_form(**changes):
    return {"key": "ABCD-EFGH-JKMN-PQRS", "username": "claire.martin", "email": "claire@example.org",
            "password": STRONG, "password_confirmation": STRONG, **changes}


def test_create_page_shows_the_password_rules(client):
    page = text(client.get("/creer-mon-espace"))
    assert "au moins 12 caractères" in page and "caractère spécial" in page
    assert 'aria-describedby="regles-mot-de-passe"' in page


def test_creating_the_space_logs_the_parent_in(client, services):
    services.answers[("identity", "create_account")] = ME
    services.answers[("identity", "login")] = LOGIN
    response = post(client, "/creer-mon-espace", create_form())
    assert response.status_code == 302 and response.headers["Location"] == "/tableau-de-bord"
    calls = [c[1] for c in services.calls if c[0] == "identity"]
    assert calls[-2:] == ["create_account", "login"]
    with client.session_transaction() as session:
        assert session["token"] == "t-parent"


@pytest.mark.parametrize("kind, code, message, status, field", [
    ("InvalidInput", "invalid_key", "Cette clé n'est pas reconnue. Vérifiez-la sur le courrier reçu.", 400, "key"),
    ("Conflict", "key_used", "Cette clé a déjà servi à créer un espace.", 409, "key"),
    ("Conflict", "username_taken", "Cet identifiant est déjà pris : choisissez-en un autre.", 409, "username"),
    ("InvalidInput", "weak_password", "Le mot de passe doit contenir un chiffre.", 400, "password"),
    ("Throttled", "too_many_attempts", "Trop de tentatives. Réessayez dans 15 minutes.", 429, None),
])
def test_create_shows_each_refusal_in_french_beside_the_form(client, services, kind, code, message, status, field):
    services.answers[("identity", "create_account")] = remote(kind, code, message, 900)
    response = post(client, "/creer-mon-espace", create_form())
    page = text(response)
    assert response.status_code == status
    assert f'role="alert" id="erreur-formulaire"' in page and message.replace("'", "&#39;") in page
    assert "<form" in page and 'value="claire.martin"' in page  # the form again, filled in
    if field:
        assert re.search(rf'id="{field}" name="{field}"[^>]*aria-invalid="true"', page)
    if status == 429:
        assert response.headers["Retry-After"] == "900"


def test_create_refuses_two_different_passwords_without_calling_identity(client, services):
    response = post(client, "/creer-mon-espace", create_form(password_confirmation="Autre-Chose-2026!"))
    assert response.status_code == 400
    assert "Les deux mots de passe saisis ne sont pas identiques." in text(response)
    assert not [c for c in services.calls if c[1] == "create_account"]


def test_create_asks_for_every_field(client, services):
    response = post(client, "/creer-mon-espace", create_form(key=""))
    assert response.status_code == 400 and "Tous les champs sont obligatoires." in text(response)


def test_create_without_csrf_token_is_refused(client, services):
    response = client.post("/creer-mon-espace", data=create_form())
    assert response.status_code == 400 and services.calls == []


# --- Forgotten password and reset -----------------------------------------------------

def test_forgot_always_gives_the_same_answer(client, services):
    services.answers[("identity", "request_password_reset")] = lambda *args: None
    response = post(client, "/mot-de-passe-oublie", {"login": "personne@example.org"})
    assert response.status_code == 302 and response.headers["Location"] == "/mot-de-passe-oublie/envoye"
    assert "Si un espace correspond" in text(client.get("/mot-de-passe-oublie/envoye"))


def test_forgot_asks_for_an_identifier(client, services):
    response = post(client, "/mot-de-passe-oublie", {"login": " "})
    assert response.status_code == 400
    assert "Saisissez votre identifiant ou votre adresse e-mail." in text(response)


def test_forgot_shows_throttling(client, services):
    services.answers[("identity", "request_password_reset")] = remote(
        "Throttled", "too_many_attempts", "Trop de tentatives. Réessayez dans 15 minutes.", 900)
    response = post(client, "/mot-de-passe-oublie", {"login": "claire.martin"})
    assert response.status_code == 429 and "Trop de tentatives" in text(response)


def test_reset_page_refuses_a_used_link(client, services):
    services.answers[("identity", "check_reset_token")] = remote(
        "Conflict", "link_expired", "Ce lien a déjà servi ou a expiré : demandez-en un nouveau.")
    response = client.get("/mot-de-passe-oublie/abc")
    assert response.status_code == 409
    assert "Ce lien a déjà servi ou a expiré" in text(response) and 'href="/mot-de-passe-oublie"' in text(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_reset_sets_the_password_then_asks_to_log_in(client, services):
    services.answers[("identity", "check_reset_token")] = {"valid": True}
    services.answers[("identity", "confirm_password_reset")] = lambda *args: None
    response = post(client, "/mot-de-passe-oublie/abc", {"password": STRONG, "password_confirmation": STRONG})
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert ("identity", "confirm_password_reset", ("abc", STRONG, "127.0.0.1"), {}) in services.calls
    assert "Connectez-vous avec votre nouveau mot de passe." in text(client.get("/connexion"))


def test_reset_shows_a_weak_password(client, services):
    services.answers[("identity", "check_reset_token")] = {"valid": True}
    services.answers[("identity", "confirm_password_reset")] = remote(
        "InvalidInput", "weak_password", "Ce mot de passe est trop courant : choisissez-en un autre.")
    response = post(client, "/mot-de-passe-oublie/abc", {"password": "Password123!", "password_confirmation": "Password123!"})
    assert response.status_code == 400
    assert "Ce mot de passe est trop courant" in text(response)
    assert re.search(r'id="password" name="password"[^>]*aria-invalid="true"', text(response))


def test_reset_refuses_two_different_passwords(client, services):
    services.answers[("identity", "check_reset_token")] = {"valid": True}
    response = post(client, "/mot-de-passe-oublie/abc", {"password": STRONG, "password_confirmation": "x"})
    assert response.status_code == 400 and "ne sont pas identiques" in text(response)


# --- E-mail confirmation ----------------------------------------------------------------

def test_confirm_email_link(client, services):
    services.answers[("identity", "confirm_email")] = {"email": "claire@example.org"}
    response = client.get("/confirmer-email/tok")
    assert response.status_code == 200
    assert "Votre adresse e-mail claire@example.org est confirmée." in text(response)


def test_confirm_email_link_used_twice(client, services):
    services.answers[("identity", "confirm_email")] = remote("Conflict", "link_expired", "Ce lien a déjà servi ou a expiré.")
    response = client.get("/confirmer-email/tok")
    assert response.status_code == 409 and "Ce lien a déjà servi ou a expiré." in text(response)


# --- The dashboard and "Mon espace" ------------------------------------------------------

def test_dashboard_needs_a_parent(client, services):
    assert client.get("/tableau-de-bord").status_code == 302
    log_in_as(client, services, AGENT)
    assert client.get("/tableau-de-bord").status_code == 403


def test_dashboard_tiles_and_the_unconfirmed_email_banner(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    page = text(client.get("/tableau-de-bord"))
    for tile in ("Mon compte", "Cantine", "Multi-accueil", "Absences", "Mon espace"):
        assert f">{tile}</h2>" in page
    assert "Bientôt disponible" not in page  # every tile says what it does today
    absences = page[page.index('id="tuile-absences"'):page.index('id="tuile-espace"')]
    assert 'href="/cantine/absences"' in absences and 'href="/petite-enfance/absences"' in absences
    account = page[page.index('id="tuile-compte"'):page.index('id="tuile-cantine"')]
    # No fake billing here: the tile says it cannot show the invoices now (test_web_billing.py tests the rest).
    assert "ne peuvent pas être affichées pour le moment" in account and 'href="/mon-compte/factures"' in account
    assert "Confirmez votre adresse e-mail" in page and "000042" in page
    assert 'href="/mon-espace/coordonnees"' in page[page.index('id="tuile-espace"'):]
    confirmed = {**ME, "account": {**ME["account"], "email_confirmed": True}}
    services.answers[("identity", "me")] = confirmed
    assert "Confirmez votre adresse e-mail" not in text(client.get("/tableau-de-bord"))


def test_change_password_sends_the_session_token_to_keep(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "change_password")] = lambda *args: None
    response = post(client, "/mon-espace/identifiants", {"current_password": "old", "new_password": STRONG,
                                                          "new_password_confirmation": STRONG})
    assert response.status_code == 302
    assert ("identity", "change_password", ("acc-1", "old", STRONG, "127.0.0.1", "t-parent"), {}) in services.calls


def test_change_password_shows_a_wrong_current_password(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "change_password")] = remote(
        "Forbidden", "wrong_password", "Le mot de passe actuel est incorrect.")
    response = post(client, "/mon-espace/identifiants", {"current_password": "bad", "new_password": STRONG,
                                                          "new_password_confirmation": STRONG})
    assert response.status_code == 403
    assert "Le mot de passe actuel est incorrect." in text(response)
    assert re.search(r'id="current_password" name="current_password"[^>]*aria-invalid="true"', text(response))


def contact_form(**changes):
    return {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges",
            "phone": "06 12 34 56 78", "email": "claire@example.org", **changes}


def test_contact_sends_only_what_changed(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    services.answers[("identity", "change_contact")] = {**ME, "pending_email": "claire.new@example.org"}
    response = post(client, "/mon-espace/coordonnees", contact_form(phone="07 11 22 33 44", email="claire.new@example.org"))
    assert response.status_code == 302
    call = next(c for c in services.calls if c[1] == "change_contact")
    assert call[2][:2] == ("acc-1", {"phone": "07 11 22 33 44", "email": "claire.new@example.org"})
    page = text(client.get("/mon-espace/coordonnees"))
    assert "Un lien de confirmation a été envoyé à claire.new@example.org." in page


def test_contact_unchanged_calls_nothing(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    response = post(client, "/mon-espace/coordonnees", contact_form())
    assert response.status_code == 302
    assert not [c for c in services.calls if c[1] == "change_contact"]


def test_contact_shows_an_invalid_phone(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    message = "Le numéro de téléphone « 12 » n'est pas un numéro français valide."
    services.answers[("identity", "change_contact")] = remote("InvalidInput", "invalid_phone", message)
    response = post(client, "/mon-espace/coordonnees", contact_form(phone="12"))
    assert response.status_code == 400
    page = text(response)
    assert "n&#39;est pas un numéro français valide." in page
    assert re.search(r'id="phone" name="phone"[^>]*aria-invalid="true"', page)
    assert 'value="12"' in page  # what the parent typed is kept


def test_contact_needs_an_email(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    response = post(client, "/mon-espace/coordonnees", contact_form(email=""))
    assert response.status_code == 400 and "Une adresse e-mail personnelle est nécessaire." in text(response)


def test_security_lists_events_in_paris_time(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "recent_events")] = [
        {"kind": "login_ok", "label": "Connexion", "at": "2026-07-14T08:05:00+00:00", "client_ip": "192.0.2.7"},
        {"kind": "account_created", "label": "Création de l'espace", "at": "2026-01-02T23:30:00+00:00", "client_ip": ""},
    ]
    page = text(client.get("/mon-espace/securite"))
    assert "14 juillet 2026 à 10 h 05" in page  # summer time: UTC+2
    assert "3 janvier 2027" not in page and "3 janvier 2026 à 0 h 30" in page  # winter time: UTC+1
    assert "192.0.2.7" in page


# --- Agents -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/agents/", "/agents/familles", "/agents/familles/nouvelle", "/agents/familles/fam-1",
                                  "/agents/familles/fam-1/representants/rep-1/courrier.pdf"])
def test_agent_pages_are_refused_to_a_parent(client, services, path):
    log_in_as(client, services, PARENT)
    response = client.get(path)
    assert response.status_code == 403
    assert not [c for c in services.calls if c[1] not in ("resolve_token",)]


def test_issuing_a_key_is_refused_to_a_parent(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    token = csrf_token(client, "/tableau-de-bord")
    response = client.post("/agents/familles/fam-1/representants/rep-1/cle", data={"csrf_token": token})
    assert response.status_code == 403
    assert not [c for c in services.calls if c[1] == "issue_key"]


def test_agent_search(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "find_families")] = [agent_family()]
    page = text(client.get("/agents/familles?q=martin"))
    assert "1 famille trouvée" in page and 'href="/agents/familles/fam-1"' in page


def test_agent_search_too_short(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "find_families")] = remote(
        "InvalidInput", "query_too_short", "Saisissez au moins deux caractères.")
    response = client.get("/agents/familles?q=m")
    assert response.status_code == 400 and "Saisissez au moins deux caractères." in text(response)


def register_form(**changes):
    return {"request_id": "req-1", "child_rows": "2",
            "rep0_first_name": "Claire", "rep0_last_name": "Martin", "rep0_email": "claire@example.org",
            "rep0_phone": "06 12 34 56 78", "rep0_line1": "12 rue de la Gare", "rep0_postal_code": "44480",
            "rep0_city": "Donges", "child0_first_name": "Léa", "child0_last_name": "Martin",
            "child0_birth_date": "2018-04-17", "action": "register", **changes}


def test_agent_registers_a_family(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "register_family")] = FAMILY
    response = post(client, "/agents/familles/nouvelle", register_form())
    assert response.status_code == 302 and response.headers["Location"] == "/agents/familles/fam-1"
    payload = next(c for c in services.calls if c[1] == "register_family")[2][0]
    assert payload == {
        "request_id": "req-1",
        "representatives": [{"first_name": "Claire", "last_name": "Martin", "email": "claire@example.org",
                             "phone": "06 12 34 56 78", "caf_number": "",
                             "address": {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480",
                                         "city": "Donges"}}],
        "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}],
    }


def test_agent_register_adds_a_child_row_keeping_what_was_typed(client, services):
    log_in_as(client, services, AGENT)
    response = post(client, "/agents/familles/nouvelle", register_form(action="add_child"))
    page = text(response)
    assert response.status_code == 200 and 'name="child2_first_name"' in page and 'value="Léa"' in page
    assert not [c for c in services.calls if c[1] == "register_family"]


def test_agent_register_shows_the_refusal(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "register_family")] = remote(
        "InvalidInput", "invalid_address", "Le code postal doit avoir cinq chiffres.")
    response = post(client, "/agents/familles/nouvelle", register_form(rep0_postal_code="444"))
    assert response.status_code == 400
    assert "Le code postal doit avoir cinq chiffres." in text(response) and 'value="444"' in text(response)


def test_agent_register_needs_a_representative(client, services):
    log_in_as(client, services, AGENT)
    form = {k: v for k, v in register_form().items() if not k.startswith("rep0_")}
    response = post(client, "/agents/familles/nouvelle", form)
    assert response.status_code == 400 and "Renseignez au moins le premier représentant légal." in text(response)


def test_agent_family_page_shows_account_and_key_state(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = agent_family(
        issued_at="2026-01-10T09:00:00+00:00", expires_at="2099-04-10T09:00:00+00:00", used=False, letter_available=True)
    page = text(client.get("/agents/familles/fam-1"))
    assert "pas encore créé" in page and "émise le 10 janvier 2026" in page
    assert "/agents/familles/fam-1/representants/rep-1/courrier.pdf" in page and "Émettre une nouvelle clé" in page


def test_agent_family_page_after_the_account_is_created(client, services):
    log_in_as(client, services, AGENT)
    family = agent_family(issued_at="2026-01-10T09:00:00+00:00", expires_at="2099-04-10T09:00:00+00:00", used=True,
                          letter_available=False)
    family["representatives"][0]["has_account"] = True
    services.answers[("identity", "family_for_agent")] = family
    page = text(client.get("/agents/familles/fam-1"))
    assert "espace créé" in page and "utilisée" in page and "Émettre" not in page and "courrier.pdf" not in page


LIVE_KEY = dict(issued_at="2026-01-10T09:00:00+00:00", expires_at="2099-04-10T09:00:00+00:00", used=False,
                letter_available=True)


def test_agent_issues_a_key_then_is_redirected_and_reloading_issues_nothing(client, services):
    log_in_as(client, services, AGENT)
    families = iter([agent_family(), agent_family()] + [agent_family(**LIVE_KEY)] * 2)
    services.answers[("identity", "family_for_agent")] = lambda *args: next(families)
    services.answers[("identity", "issue_key")] = {"key": "ABCD-EFGH-JKMN-PQRS", "expires_at": "2099-04-10T09:00:00+00:00",
                                                   "representative_id": "rep-1"}
    token = csrf_token(client, "/agents/familles/fam-1")
    response = client.post("/agents/familles/fam-1/representants/rep-1/cle", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/agents/familles/fam-1/representants/rep-1/cle"
    assert ("identity", "issue_key", ("rep-1", "agent-1"), {}) in services.calls
    shown = client.get(response.headers["Location"])
    page = text(shown)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert "Clé émise pour Claire Martin" in page and "émise le 10 janvier 2026" in page
    assert "/agents/familles/fam-1/representants/rep-1/courrier.pdf" in page
    assert "ABCD-EFGH-JKMN-PQRS" not in page  # the plain key travels only in the letter
    with client.session_transaction() as session:
        assert "ABCD" not in repr(dict(session))  # nor in the (signed, readable) session cookie
    text(client.get(response.headers["Location"]))  # a reload
    assert len([c for c in services.calls if c[1] == "issue_key"]) == 1


def test_replacing_a_key_that_still_works_needs_the_confirmation(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = agent_family(**LIVE_KEY)
    services.answers[("identity", "issue_key")] = {"key": "ABCD-EFGH-JKMN-PQRS", "expires_at": "2099-04-10T09:00:00+00:00",
                                                   "representative_id": "rep-1"}
    family_page = text(client.get("/agents/familles/fam-1"))
    assert 'href="/agents/familles/fam-1/representants/rep-1/cle"' in family_page
    key_page = "/agents/familles/fam-1/representants/rep-1/cle"
    page = text(client.get(key_page))
    assert 'name="confirm"' in page and "son courrier déjà imprimé ne fonctionneront plus" in page
    refused = post(client, key_page, {})
    assert refused.status_code == 400 and "Cochez la case pour confirmer" in text(refused)
    assert 'aria-invalid="true"' in text(refused)
    assert not [c for c in services.calls if c[1] == "issue_key"]
    confirmed = post(client, key_page, {"confirm": "yes"})
    assert confirmed.status_code == 303
    assert len([c for c in services.calls if c[1] == "issue_key"]) == 1


def test_agent_issue_key_refused_when_the_account_exists(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = agent_family()
    services.answers[("identity", "issue_key")] = remote(
        "Conflict", "account_exists", "Ce représentant a déjà créé son espace : il n'a plus besoin de clé.")
    response = post(client, "/agents/familles/fam-1/representants/rep-1/cle", {}, csrf_from="/agents/familles/fam-1")
    assert response.status_code == 302
    assert "il n&#39;a plus besoin de clé." in text(client.get("/agents/familles/fam-1"))


def test_agent_issue_key_for_a_representative_of_another_family_is_404(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = agent_family()
    response = post(client, "/agents/familles/fam-1/representants/rep-9/cle", {}, csrf_from="/agents/familles/fam-1")
    assert response.status_code == 404
    assert not [c for c in services.calls if c[1] == "issue_key"]


def test_agent_downloads_the_letter(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = agent_family()
    services.answers[("identity", "key_letter")] = {"filename": "cle-espace-famille-rep1.pdf",
                                                    "pdf_base64": base64.b64encode(b"%PDF-1.4 test").decode()}
    response = client.get("/agents/familles/fam-1/representants/rep-1/courrier.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == b"%PDF-1.4 test"
    assert 'filename="cle-espace-famille-rep1.pdf"' in response.headers["Content-Disposition"]


def test_agent_letter_unavailable_is_a_french_404(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = agent_family()
    services.answers[("identity", "key_letter")] = remote(
        "NotFound", "letter_unavailable", "Aucun courrier à imprimer : la clé a été utilisée.")
    response = client.get("/agents/familles/fam-1/representants/rep-1/courrier.pdf")
    assert response.status_code == 404 and "Aucun courrier à imprimer" in text(response)


# --- The development outbox ----------------------------------------------------------------

def write_mail(folder, subject, to, body):
    from espace_common.mail import build_message
    folder.mkdir(parents=True, exist_ok=True)
    message = build_message("Espace Famille <espace-famille@mairie-donges.fr>", to, subject, body)
    (folder / f"{subject[:8]}.eml").write_bytes(bytes(message))


def test_dev_outbox_lists_mails_with_clickable_links(tmp_path):
    write_mail(tmp_path, "Réinitialisation de votre mot de passe", "claire@example.org",
               "Suivez ce lien :\nhttp://localhost:8000/mot-de-passe-oublie/abc?x=1&y=<2>\nMerci.")
    app = create_app({"LOCAL_RUN": True, "SECRET_KEY": "t", "TESTING": True, "MAIL_OUTBOX_DIR": str(tmp_path)},
                     services=FakeServices())
    page = text(app.test_client().get("/dev/courriels"))
    assert "Réinitialisation de votre mot de passe" in page and "claire@example.org" in page
    assert '<a href="http://localhost:8000/mot-de-passe-oublie/abc?x=1&amp;y=">' in page
    assert "&lt;2&gt;" in page  # the body is escaped


def test_dev_outbox_is_404_outside_local_runs(tmp_path):
    write_mail(tmp_path, "Secret", "claire@example.org", "http://localhost:8000/mot-de-passe-oublie/abc")
    app = create_app({"LOCAL_RUN": False, "SECRET_KEY": "t", "TESTING": True, "MAIL_OUTBOX_DIR": str(tmp_path)},
                     services=FakeServices())
    response = app.test_client().get("/dev/courriels")
    assert response.status_code == 404 and "Secret" not in text(response)
    assert "courriels envoyés" not in text(app.test_client().get("/connexion"))


# --- French elision ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("Inès", "d'Inès"), ("Hugo", "d'Hugo"), ("Éloïse", "d'Éloïse"), ("avril 2027", "d'avril 2027"),
    ("Yves", "d'Yves"), ("Léa", "de Léa"), ("Yann", "de Yann"), ("décembre 2026", "de décembre 2026"),
])
def test_de_elides_before_a_vowel_or_a_mute_h(name, expected):
    from gateway.web.helpers import de
    assert de(name) == expected

