"""The public space of both services, the accessibility statement, and the agents' editing and withdrawing of news,
schools and classes, against fake services."""
import html
import re

import pytest

from espace_common import town
from espace_common.rpc_client import ServiceUnavailable
from gateway.web.public import guillemets

from .conftest import remote
from .test_web_canteen import ADMIN, CRECHE, VOCABULARY as CANTEEN_VOCABULARY
from .test_web_childcare import VOCABULARY as CHILDCARE_VOCABULARY
from .test_web_pages import AGENT, PARENT, log_in_as, post

NEWS = {"id": "n-1", "title": "Menu de Noël", "body": "Le **17** décembre.", "kind": "news",
        "published_at": "2026-11-20T08:00:00+00:00"}
CRECHE_NEWS = {"id": "c-1", "title": "Fermeture estivale", "body": "Du 3 au 21 août.", "kind": "news",
               "published_at": "2026-11-21T08:00:00+00:00"}
DIRECTORY = {"school_years": ["2026-2027", "2027-2028"], "schools": [
    {"id": "s-1", "name": "École Jules Verne", "kind": "public", "address": "1 rue des Écoles",
     "classes": {"2026-2027": [{"id": "k-1", "name": "CE1"}], "2027-2028": []}},
    {"id": "s-2", "name": "École en double", "kind": "public", "address": "", "classes": {"2026-2027": [], "2027-2028": []}}]}


@pytest.fixture(autouse=True)
def answers(services):
    services.answers.update({
        ("canteen", "vocabulary"): CANTEEN_VOCABULARY, ("childcare", "vocabulary"): CHILDCARE_VOCABULARY,
        ("canteen", "rules_summary"): {"school_weekdays": [1, 2, 4, 5], "deadline_working_days": 2,
                                       "deadline_time": "10:00", "timezone": "Europe/Paris"},
        ("canteen", "list_news"): lambda kind="news", limit=20: [NEWS] if kind == "news" else [],
        ("childcare", "list_news"): lambda kind="news", limit=20: [CRECHE_NEWS] if kind == "news" else [],
        ("canteen", "news_item"): lambda news_id: NEWS if news_id == "n-1" else (_ for _ in ()).throw(
            remote("NotFound", "news_not_found", "Cette actualité n'existe pas ou a été retirée.")),
        ("childcare", "news_item"): lambda news_id: CRECHE_NEWS if news_id == "c-1" else (_ for _ in ()).throw(
            remote("NotFound", "news_not_found", "Cette actualité n'existe pas ou a été retirée.")),
        ("canteen", "school_directory"): DIRECTORY,
    })


def text(response):
    return html.unescape(response.get_data(as_text=True))


def calls(services, service, method):
    return [c[2] for c in services.calls if c[:2] == (service, method)]


# --- The public space ----------------------------------------------------------------------------------

PUBLIC_PAGES = ["/", "/espace-famille", "/inscriptions", "/contacts", "/questions-frequentes", "/accessibilite",
                "/petite-enfance/informations-pratiques"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_each_public_page_answers_without_an_account_with_the_footer_links(client, path):
    response = client.get(path)
    page = text(response)
    assert response.status_code == 200
    for target in ("/accessibilite", "/espace-famille", "/inscriptions", "/questions-frequentes", "/contacts",
                   "/cantine/actualites", "/petite-enfance/actualites", "/petite-enfance/informations-pratiques"):
        assert f'href="{target}"' in page, target
    assert "Accessibilité : partiellement conforme" in page


def test_the_home_page_shows_the_last_news_of_both_services(client, services):
    page = text(client.get("/"))
    assert "Menu de Noël" in page and "Fermeture estivale" in page
    assert 'href="/cantine/actualites#actu-n-1"' in page and 'href="/petite-enfance/actualites#actu-c-1"' in page
    assert calls(services, "canteen", "list_news") == [("news", 3)]
    assert calls(services, "childcare", "list_news") == [("news", 3)]


def test_the_home_page_stays_up_when_a_service_does_not_answer(client, services):
    services.answers[("childcare", "list_news")] = ServiceUnavailable("childcare", "down")
    response = client.get("/")
    assert response.status_code == 200
    assert "Les actualités de la Petite Enfance ne sont pas disponibles pour le moment." in text(response)
    assert "Menu de Noël" in text(response)


def test_how_it_works_tells_the_brochures_steps(client):
    page = text(client.get("/espace-famille"))
    for words in ("clé espace citoyens/enfance", "sa propre clé", "adresse e-mail personnelle", "24 h/24",
                  'href="/creer-mon-espace"', "téléphone"):
        assert words in page, words


def test_the_registration_page_lists_the_documents_of_school_canteen_creche_and_the_relais(client):
    page = text(client.get("/inscriptions"))
    for words in ("justificatif de domicile", "certificat de radiation", "projet d'accueil individualisé",
                  "Multi-accueil « Bout D'chou »".lower(), "Relais Petite Enfance", "assistantes maternelles",
                  "carnet de santé"):
        assert words.lower() in page.lower(), words


def test_contacts_come_from_the_towns_single_source(client):
    page = text(client.get("/contacts"))
    for name, phone in town.CONTACTS:
        assert guillemets(name) in page and phone in page and f'href="{town.tel_uri(phone)}"' in page
    assert town.tel_uri("02 40 45 79 79") == "tel:+33240457979"
    assert "02 40 45 79 79" in page and "02 40 91 01 91" in page and "02 40 45 25 03" in page


def test_the_questions_answer_lost_key_identifier_password_online_invoice_and_paying(client):
    page = text(client.get("/questions-frequentes"))
    for words in ("J'ai perdu ma clé", "J'ai oublié mon identifiant", "J'ai oublié mon mot de passe",
                  "facture en ligne", "carte bancaire", "prélèvement automatique", "espèces ou par chèque",
                  'href="/mot-de-passe-oublie"', "2 jours ouvrés avant le repas, avant 10 h", "dans les 48 heures"):
        assert words in page, words


def test_the_questions_page_answers_in_general_words_when_the_services_do_not(client, services):
    services.answers[("canteen", "rules_summary")] = ServiceUnavailable("canteen", "down")
    services.answers[("childcare", "vocabulary")] = ServiceUnavailable("childcare", "down")
    response = client.get("/questions-frequentes")
    assert response.status_code == 200 and "jours ouvrés" not in text(response)


def test_the_accessibility_statement_says_status_tests_derogations_contact_and_recourse(client):
    page = text(client.get("/accessibilite"))
    for words in ("partiellement conforme", "RGAA", "4.1", "axe-core", "WCAG 2.1", "320 pixels", "1280 pixels",
                  "Contenus non accessibles", "Dérogations", "Paybox", "Défenseur des droits", "Libre réponse 71120",
                  town.TOWN_HALL[1], town.TOWN_HALL_ADDRESS, "2 décembre 2026"):
        assert words in page, words


def test_the_practical_information_of_petite_enfance_is_public(client, services):
    services.answers[("childcare", "list_news")] = lambda kind, limit: [{**CRECHE_NEWS, "kind": "practical",
                                                                          "title": "Les horaires"}]
    page = text(client.get("/petite-enfance/informations-pratiques"))
    assert "Les horaires" in page and calls(services, "childcare", "list_news") == [("practical", 50)]


# --- Agents edit and withdraw news -----------------------------------------------------------------------

SERVICES_NEWS = [("canteen", "/agents/cantine/actualites", "n-1", AGENT),
                 ("childcare", "/agents/petite-enfance/actualites", "c-1", CRECHE)]


@pytest.mark.parametrize("service, base, news_id, agent", SERVICES_NEWS)
def test_an_agent_edits_a_news_item_then_is_redirected(client, services, service, base, news_id, agent):
    log_in_as(client, services, agent)
    listing = text(client.get(base))
    assert f'href="{base}/{news_id}"' in listing and f'href="{base}/{news_id}/retirer"' in listing
    services.answers[(service, "edit_news")] = lambda *args: {"id": news_id}
    response = post(client, f"{base}/{news_id}", {"title": "Nouveau titre", "body": "Texte", "kind": "practical"})
    assert response.status_code == 303 and response.headers["Location"].endswith(base)
    assert calls(services, service, "edit_news") == [(news_id, "Nouveau titre", "Texte", "practical")]


@pytest.mark.parametrize("service, base, news_id, agent", SERVICES_NEWS)
def test_withdrawing_asks_for_a_confirmation_then_withdraws_once(client, services, service, base, news_id, agent):
    log_in_as(client, services, agent)
    page = client.get(f"{base}/{news_id}/retirer")
    assert page.status_code == 200 and "Retirer cette publication ?" in text(page)
    assert calls(services, service, "withdraw_news") == []
    services.answers[(service, "withdraw_news")] = lambda i: {"id": i, "title": "T", "kind": "news"}
    response = post(client, f"{base}/{news_id}/retirer", {})
    assert response.status_code == 303 and calls(services, service, "withdraw_news") == [(news_id,)]
    assert "est retiré des pages publiques" in text(client.get(base))


@pytest.mark.parametrize("service, base, news_id, agent", SERVICES_NEWS)
@pytest.mark.parametrize("junk", ["inconnu", "x" * 5000, "%C3%A9t%C3%A9"])
def test_a_junk_news_id_is_404_and_nothing_is_sent(client, services, service, base, news_id, agent, junk):
    log_in_as(client, services, agent)
    for suffix in ("", "/retirer"):
        assert client.get(f"{base}/{junk}{suffix}").status_code == 404
    assert calls(services, service, "edit_news") == [] and calls(services, service, "withdraw_news") == []


@pytest.mark.parametrize("service, base, news_id, agent", SERVICES_NEWS)
def test_an_edit_with_a_100k_character_text_is_a_french_400_and_nothing_changes(client, services, service, base,
                                                                              news_id, agent):
    log_in_as(client, services, agent)
    services.answers[(service, "edit_news")] = remote("InvalidInput", "invalid_news",
                                                      "Le texte d'une actualité ne peut pas dépasser 20000 caractères.")
    response = post(client, f"{base}/{news_id}", {"title": "T", "body": "x" * 100_000, "kind": "news"})
    assert response.status_code == 400 and "ne peut pas dépasser" in text(response)
    response = post(client, f"{base}/{news_id}", {"title": "", "body": "x", "kind": "news"})
    assert response.status_code == 400 and "Donnez un titre et un texte." in text(response)
    assert 'aria-invalid="true"' in text(response)


@pytest.mark.parametrize("path", ["/agents/cantine/actualites/n-1", "/agents/cantine/actualites/n-1/retirer",
                                  "/agents/cantine/ecoles/s-1", "/agents/cantine/ecoles/s-1/supprimer",
                                  "/agents/cantine/classes/k-1", "/agents/cantine/classes/k-1/supprimer"])
def test_canteen_editing_is_for_affaires_scolaires_and_admin_only(client, services, path):
    log_in_as(client, services, CRECHE)
    assert client.get(path).status_code == 403
    log_in_as(client, services, PARENT)
    assert client.get(path).status_code == 403
    log_in_as(client, services, ADMIN)
    assert client.get(path).status_code == 200
    with client.session_transaction() as session:
        session.clear()
    assert client.get(path).status_code in (302, 303)


@pytest.mark.parametrize("path", ["/agents/petite-enfance/actualites/c-1", "/agents/petite-enfance/actualites/c-1/retirer"])
def test_creche_news_editing_is_for_petite_enfance_and_admin_only(client, services, path):
    log_in_as(client, services, AGENT)
    assert client.get(path).status_code == 403
    assert calls(services, "childcare", "news_item") == []
    log_in_as(client, services, ADMIN)
    assert client.get(path).status_code == 200


# --- Agents edit and delete schools and classes ----------------------------------------------------------

def test_a_school_is_corrected_then_back_to_the_list(client, services):
    log_in_as(client, services, AGENT)
    listing = text(client.get("/agents/cantine/ecoles"))
    for href in ("/agents/cantine/ecoles/s-1", "/agents/cantine/ecoles/s-1/supprimer", "/agents/cantine/classes/k-1",
                 "/agents/cantine/classes/k-1/supprimer"):
        assert f'href="{href}"' in listing
    form = text(client.get("/agents/cantine/ecoles/s-1"))
    assert 'value="École Jules Verne"' in form and 'value="1 rue des Écoles"' in form
    services.answers[("canteen", "edit_school")] = lambda *args: {"id": "s-1"}
    response = post(client, "/agents/cantine/ecoles/s-1", {"name": "École Jules-Verne", "kind": "public", "address": ""})
    assert response.status_code == 303
    assert calls(services, "canteen", "edit_school") == [("s-1", "École Jules-Verne", "public", "")]


def test_a_school_name_taken_or_too_long_is_shown_on_its_field(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("canteen", "edit_school")] = remote("Conflict", "school_name_taken",
                                                          "Une autre école s'appelle déjà « École en double ».")
    response = post(client, "/agents/cantine/ecoles/s-1", {"name": "École en double", "kind": "public"})
    assert response.status_code == 409 and "Une autre école s'appelle déjà" in text(response)
    assert re.search(r'id="name"[^>]*aria-invalid="true"', text(response))
    services.answers[("canteen", "edit_school")] = remote("InvalidInput", "invalid_school",
                                                          "Le nom d'une école ne peut pas dépasser 100 caractères.")
    response = post(client, "/agents/cantine/ecoles/s-1", {"name": "É" * 100_000, "kind": "public"})
    assert response.status_code == 400


def test_deleting_a_school_with_children_is_refused_in_french(client, services):
    log_in_as(client, services, AGENT)
    page = text(client.get("/agents/cantine/ecoles/s-1/supprimer"))
    assert "Supprimer l'école « <bdi>École Jules Verne</bdi> » ?" in page and calls(services, "canteen", "delete_school") == []
    message = ("L'école « École Jules Verne » a un enfant inscrit : elle ne peut pas être supprimée. "
               "Changez d'abord l'inscription de ces enfants, ou corrigez son nom.")
    services.answers[("canteen", "delete_school")] = remote("Conflict", "school_in_use", message)
    response = post(client, "/agents/cantine/ecoles/s-1/supprimer", {})
    assert response.status_code == 409 and message in text(response)


def test_an_empty_school_is_deleted_after_confirmation(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("canteen", "delete_school")] = lambda i: {"id": i, "name": "École en double"}
    response = post(client, "/agents/cantine/ecoles/s-2/supprimer", {})
    assert response.status_code == 303 and calls(services, "canteen", "delete_school") == [("s-2",)]


def test_a_class_is_renamed_and_deleted(client, services):
    log_in_as(client, services, AGENT)
    assert 'value="CE1"' in text(client.get("/agents/cantine/classes/k-1"))
    services.answers[("canteen", "rename_class")] = lambda *args: {"id": "k-1"}
    response = post(client, "/agents/cantine/classes/k-1", {"class_name": "CE1 A"})
    assert response.status_code == 303 and "annee=2026-2027" in response.headers["Location"]
    services.answers[("canteen", "delete_class")] = remote("Conflict", "class_in_use",
                                                           "La classe « CE1 » a 3 enfants inscrits : elle ne peut pas être supprimée.")
    response = post(client, "/agents/cantine/classes/k-1/supprimer", {})
    assert response.status_code == 409 and "3 enfants inscrits" in text(response)
    response = post(client, "/agents/cantine/classes/k-1", {"class_name": ""})
    assert response.status_code == 400 and re.search(r'id="class_name"[^>]*aria-invalid="true"', text(response))


@pytest.mark.parametrize("path", ["/agents/cantine/ecoles/{}", "/agents/cantine/ecoles/{}/supprimer",
                                  "/agents/cantine/classes/{}", "/agents/cantine/classes/{}/supprimer"])
@pytest.mark.parametrize("junk", ["inconnue", "x" * 5000, "%E2%80%AEabc"])
def test_junk_school_and_class_ids_are_404(client, services, path, junk):
    log_in_as(client, services, AGENT)
    assert client.get(path.format(junk)).status_code == 404
    for method in ("edit_school", "delete_school", "rename_class", "delete_class"):
        assert calls(services, "canteen", method) == []
