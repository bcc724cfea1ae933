"""Issue 3's "Done when", in a real browser: from the agent's key to a parent who keeps their details current.

The suite of this module sends its mails to a real SMTP server (aiosmtpd), and the
parent follows the links of the mails it receives.
"""
import re
import uuid

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient
from espace_deploy.testing import MailCatcher, link_in, start_suite, stop_suite

from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

AGENT_PASSWORD = "Guichet-Mairie-Donges-2026!"
FIRST_PASSWORD = "Camille-Cantine-44480!"
NEW_PASSWORD = "Nouveau-Depart-Donges-7?"


@pytest.fixture(scope="module")
def mailbox():
    catcher = MailCatcher()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="module")
def suite(tmp_path_factory, mailbox):
    """This module's own suite, whose services mail the SMTP server above (it overrides the shared one)."""
    running = start_suite(tmp_path_factory.mktemp("journey-var"), SMTP_URL=mailbox.url)
    yield running
    stop_suite(running)


@pytest.fixture(scope="module")
def rpc(suite):
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="journey-tests")
    yield client
    client.close()


@pytest.fixture(scope="module")
def agent(rpc):
    username = f"guichet-{uuid.uuid4().hex[:8]}"
    rpc.call("identity", "ensure_agent", username, AGENT_PASSWORD, ["admin"])
    return {"username": username, "password": AGENT_PASSWORD}


def register_family_through_the_pages(page, check, last_name, email):
    page.get_by_role("link", name="Enregistrer une nouvelle famille").click()
    expect(heading(page)).to_have_text("Enregistrer une famille")
    check(page)
    rep = page.get_by_role("group", name="Représentant légal 1")
    rep.get_by_label("Prénom").fill("Camille")
    rep.get_by_label("Nom", exact=True).fill(last_name)
    rep.get_by_label("Adresse e-mail").fill(email)
    rep.get_by_label("Téléphone").fill("06 12 34 56 78")
    rep.get_by_label("Numéro et voie").fill("5 rue du Stade")
    rep.get_by_label("Code postal").fill("44480")
    rep.get_by_label("Commune").fill("Donges")
    child = page.get_by_role("group", name="Enfant 1")
    child.get_by_label("Prénom").fill("Zoé")
    child.get_by_label("Nom", exact=True).fill(last_name)
    child.get_by_label("Date de naissance").fill("2019-05-14")
    page.get_by_role("button", name="Enregistrer la famille").click()
    expect(heading(page)).to_have_text(re.compile(r"^Dossier n° \d{6}$"))
    expect(page.get_by_role("status")).to_contain_text("Famille enregistrée")
    return heading(page).inner_text().split("° ")[1]


def test_a_new_parent_from_the_key_to_a_confirmed_new_email(page, phone_page, agent, mailbox, check, suite):
    suffix = uuid.uuid4().hex[:6]
    last_name = f"Durand{suffix}"
    family_email = f"camille.{suffix}@example.org"
    personal_email = f"camille.perso.{suffix}@example.org"
    newer_email = f"camille.nouvelle.{suffix}@example.org"
    username = f"camille.{suffix}"

    # --- The agent registers the family and issues the key ------------------------------------
    log_in(page, agent["username"], agent["password"])
    expect(heading(page)).to_have_text("Espace agents")
    check(page)
    dossier = register_family_through_the_pages(page, check, last_name, family_email)
    representative = page.get_by_role("region", name=f"Camille {last_name}")
    expect(representative).to_contain_text("pas encore créé")
    expect(representative).to_contain_text("aucune clé émise")
    check(page)
    representative.get_by_role("button", name=re.compile("Émettre la clé")).click()
    # Post, redirect, get: the key's page shows that a key was issued and its letter, never the key itself.
    expect(heading(page)).to_have_text(f"Clé de Camille {last_name}")
    expect(page.get_by_role("status")).to_contain_text(f"Clé émise pour Camille {last_name}")
    check(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le courrier à imprimer (PDF)").click()
    assert download.value.suggested_filename.endswith(".pdf")
    from pypdf import PdfReader
    letter = PdfReader(download.value.path()).pages[0].extract_text()
    key = re.search(r"[2-9A-HJKMNP-TW-Z]{4}(-[2-9A-HJKMNP-TW-Z]{4}){3}", letter).group(0)
    # Reloading the key's page issues no other key: the letter just printed still carries the one that works.
    page.reload()
    expect(page.locator("#etat-cle")).to_contain_text("valable jusqu'au")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le courrier à imprimer (PDF)").click()
    assert key in PdfReader(download.value.path()).pages[0].extract_text()
    # The letter can be downloaded again from the family page, without a new key.
    page.get_by_role("link", name=f"Dossier n° {dossier}").click()
    expect(page.get_by_role("region", name=f"Camille {last_name}")).to_contain_text("valable jusqu'au")
    again = page.request.get(page.get_by_role("link", name=re.compile("Télécharger le courrier")).get_attribute("href"))
    assert again.status == 200 and again.headers["content-type"] == "application/pdf" and again.body()[:5] == b"%PDF-"
    # And the agent finds the family by name.
    page.goto("/agents/")
    page.get_by_role("search").get_by_label("Dossier, nom d'un parent ou d'un enfant, e-mail ou téléphone").fill(last_name)
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("heading", level=2, name="1 famille trouvée")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(f"Dossier n° {dossier}"))).to_be_visible()
    check(page)
    page.get_by_role("button", name="Se déconnecter").click()

    # --- The parent creates the space with the key, on a phone ------------------------------
    parent = phone_page
    parent.goto("/connexion")
    parent.get_by_role("link", name=re.compile("créer mon espace")).click()
    expect(heading(parent)).to_have_text("Créer mon espace")
    check(parent)
    parent.get_by_label("Clé reçue par courrier").fill(key.lower().replace("-", " "))
    parent.get_by_label("Identifiant choisi").fill(username)
    parent.get_by_label("Adresse e-mail personnelle").fill(personal_email)
    parent.get_by_label("Mot de passe", exact=True).fill("trop-court")
    parent.get_by_label("Confirmation du mot de passe").fill("trop-court")
    parent.get_by_role("button", name="Créer mon espace").click()
    expect(parent.get_by_role("alert")).to_contain_text("Le mot de passe doit contenir au moins 12 caractères")
    expect(parent.get_by_label("Mot de passe", exact=True)).to_have_attribute("aria-invalid", "true")
    check(parent)
    parent.get_by_label("Mot de passe", exact=True).fill(FIRST_PASSWORD)
    parent.get_by_label("Confirmation du mot de passe").fill(FIRST_PASSWORD)
    parent.get_by_role("button", name="Créer mon espace").click()
    expect(parent).to_have_url(re.compile(r"/tableau-de-bord$"))
    expect(heading(parent)).to_have_text("Mon tableau de bord")
    expect(parent.get_by_role("status")).to_contain_text(f"Un lien de confirmation a été envoyé à {personal_email}")
    banner = parent.get_by_role("region", name="Confirmez votre adresse e-mail")
    expect(banner).to_contain_text(personal_email)
    expect(parent.get_by_role("main")).to_contain_text(dossier)
    for tile in ("Mon compte", "Cantine", "Multi-accueil", "Absences", "Mon espace"):
        expect(parent.get_by_role("heading", level=2, name=tile)).to_be_visible()
    check(parent)

    # --- The e-mail is confirmed through the link received by the SMTP server -----------------
    welcome = mailbox.wait_for(personal_email, 1)[0]
    assert username in welcome.get_body(preferencelist=("plain",)).get_content()
    parent.goto(link_in(welcome, "confirmer-email"))
    expect(heading(parent)).to_have_text("Adresse e-mail confirmée")
    expect(parent.get_by_role("status")).to_contain_text(f"Votre adresse e-mail {personal_email} est confirmée.")
    check(parent)
    parent.get_by_role("link", name="Aller à mon tableau de bord").click()
    expect(parent.get_by_role("region", name="Confirmez votre adresse e-mail")).to_have_count(0)
    expect(parent.get_by_role("region", name="Mon espace")).to_contain_text("confirmé")

    # --- Logs out, forgets the password, resets it from the mailed link -----------------------
    parent.get_by_role("button", name="Se déconnecter").click()
    expect(parent.get_by_role("status")).to_contain_text("Vous êtes déconnecté.")
    parent.goto("/connexion")
    parent.get_by_role("link", name="Mot de passe oublié ?").click()
    expect(heading(parent)).to_have_text("Mot de passe oublié")
    check(parent)
    parent.get_by_label("Identifiant ou adresse e-mail").fill(personal_email)
    parent.get_by_role("button", name="Recevoir un lien").click()
    expect(heading(parent)).to_have_text("Vérifiez votre messagerie")
    check(parent)
    reset_mail = mailbox.wait_for(personal_email, 2)[-1]
    assert reset_mail["Subject"] == "Réinitialisation de votre mot de passe"
    assert f"votre identifiant est : {username}" in reset_mail.get_body(preferencelist=("plain",)).get_content()
    reset_link = link_in(reset_mail, "mot-de-passe-oublie")
    parent.goto(reset_link)
    expect(heading(parent)).to_have_text("Choisir un nouveau mot de passe")
    check(parent)
    parent.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    parent.get_by_label("Confirmation du nouveau mot de passe").fill(NEW_PASSWORD)
    parent.get_by_role("button", name="Enregistrer le nouveau mot de passe").click()
    expect(parent).to_have_url(re.compile(r"/connexion$"))
    expect(parent.get_by_role("status")).to_contain_text("Connectez-vous avec votre nouveau mot de passe.")
    # The link works once.
    parent.goto(reset_link)
    expect(heading(parent)).to_have_text("Ce lien ne peut plus servir")
    expect(parent.get_by_role("alert")).to_contain_text("déjà servi")
    check(parent)
    # The old password no longer opens the space; the new one does.
    log_in(parent, username, FIRST_PASSWORD)
    expect(parent.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
    log_in(parent, username, NEW_PASSWORD)
    expect(parent).to_have_url(re.compile(r"/tableau-de-bord$"))

    # --- Changes phone and e-mail, then confirms the new e-mail -------------------------------
    parent.get_by_role("region", name="Mon espace").get_by_role("link", name="Mes coordonnées").click()
    expect(heading(parent)).to_have_text("Mes coordonnées")
    expect(parent.get_by_label("Téléphone", exact=True)).to_have_value("06 12 34 56 78")
    check(parent)
    parent.get_by_label("Téléphone", exact=True).fill("07 98 76 54 32")
    parent.get_by_label("Adresse e-mail personnelle").fill(newer_email)
    parent.get_by_role("button", name="Enregistrer mes coordonnées").click()
    expect(parent.get_by_role("status")).to_contain_text("Vos coordonnées sont enregistrées.")
    expect(parent.get_by_role("status")).to_contain_text(f"Un lien de confirmation a été envoyé à {newer_email}")
    expect(parent.get_by_label("Téléphone", exact=True)).to_have_value("07 98 76 54 32")
    # The old address is still the account's until the new one is confirmed.
    expect(parent.get_by_label("Adresse e-mail personnelle")).to_have_value(personal_email)
    notice = mailbox.wait_for(personal_email, 3)[-1]
    assert notice["Subject"] == "Changement de votre adresse e-mail" and newer_email in notice.get_body().get_content()
    parent.goto(link_in(mailbox.wait_for(newer_email, 1)[0], "confirmer-email"))
    expect(parent.get_by_role("status")).to_contain_text(f"Votre adresse e-mail {newer_email} est confirmée.")
    parent.goto("/mon-espace/coordonnees")
    expect(parent.get_by_label("Adresse e-mail personnelle")).to_have_value(newer_email)
    expect(parent.locator("#etat-email")).to_have_text("confirmée")
    parent.get_by_role("link", name="Mon tableau de bord").click()
    space = parent.get_by_role("region", name="Mon espace")
    expect(space).to_contain_text(newer_email)
    expect(space).to_contain_text("confirmé")

    # --- Mon espace › sécurité tells the story ---------------------------------------------------
    parent.goto("/mon-espace/")
    check(parent)
    parent.get_by_role("link", name="Voir l'activité de mon espace").click()
    expect(heading(parent)).to_have_text("Sécurité de mon espace")
    events = parent.get_by_role("table")
    for label in ("Création de l'espace", "Adresse e-mail confirmée", "Réinitialisation du mot de passe demandée",
                  "Mot de passe réinitialisé", "Échec de connexion", "Coordonnées modifiées", "Connexion"):
        expect(events).to_contain_text(label)
    expect(events.locator("time").first).to_have_attribute("datetime", re.compile(r"\+0[12]:00$"))
    check(parent)


def create_parent_by_rpc(rpc, suffix):
    family = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Yann", "last_name": f"Le Floch{suffix}", "email": f"yann.{suffix}@example.org",
                             "address": {"line1": "1 place de la Mairie", "postal_code": "44480", "city": "Donges"}}],
        "children": [{"first_name": "Maël", "last_name": f"Le Floch{suffix}", "birth_date": "2021-03-02"}]})
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    username = f"yann.{suffix}"
    rpc.call("identity", "create_account", key, username, f"yann.{suffix}@example.org", FIRST_PASSWORD, "192.0.2.1")
    return {"username": username, "password": FIRST_PASSWORD, "family": family, "key": key}


def test_forms_show_their_french_errors_and_stay_accessible(phone_page, rpc, check):
    suffix = uuid.uuid4().hex[:6]
    parent = create_parent_by_rpc(rpc, suffix)
    page = phone_page
    # A key that already served.
    page.goto("/creer-mon-espace")
    page.get_by_label("Clé reçue par courrier").fill(parent["key"])
    page.get_by_label("Identifiant choisi").fill(f"autre.{suffix}")
    page.get_by_label("Adresse e-mail personnelle").fill(f"autre.{suffix}@example.org")
    page.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Créer mon espace").click()
    expect(page.get_by_role("alert")).to_contain_text("Cette clé a déjà servi")
    expect(page.get_by_label("Clé reçue par courrier")).to_have_attribute("aria-invalid", "true")
    check(page)
    # A reset link that does not exist.
    response = page.goto("/mot-de-passe-oublie/pas-un-vrai-jeton")
    assert response.status == 404
    expect(page.get_by_role("alert")).to_have_text("Ce lien de réinitialisation n'est pas valide.")
    # An e-mail link that does not exist.
    page.goto("/confirmer-email/pas-un-vrai-jeton")
    expect(page.get_by_role("alert")).to_have_text("Ce lien n'est pas valide.")
    check(page)

    log_in(page, parent["username"], parent["password"])
    expect(heading(page)).to_have_text("Mon tableau de bord")
    # A wrong current password.
    page.goto("/mon-espace/identifiants")
    page.get_by_label("Mot de passe actuel").fill("pas-le-bon")
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer mon mot de passe").click()
    expect(page.get_by_role("alert")).to_have_text("Le mot de passe actuel est incorrect.")
    expect(page.get_by_label("Mot de passe actuel")).to_have_attribute("aria-invalid", "true")
    check(page)
    # The right one, then the new password works.
    page.get_by_label("Mot de passe actuel").fill(parent["password"])
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer mon mot de passe").click()
    expect(page.get_by_role("status")).to_contain_text("Votre mot de passe est modifié.")
    # A phone that is not French.
    page.goto("/mon-espace/coordonnees")
    page.get_by_label("Téléphone", exact=True).fill("12 34")
    page.get_by_role("button", name="Enregistrer mes coordonnées").click()
    expect(page.get_by_role("alert")).to_contain_text("n'est pas un numéro français valide")
    expect(page.get_by_label("Téléphone", exact=True)).to_have_attribute("aria-invalid", "true")
    check(page)
    # A postal code of four digits.
    page.get_by_label("Téléphone", exact=True).fill("")
    page.get_by_label("Code postal").fill("4448")
    page.get_by_role("button", name="Enregistrer mes coordonnées").click()
    expect(page.get_by_role("alert")).to_have_text("Le code postal doit avoir cinq chiffres.")
    # The agents' pages are not for parents.
    response = page.goto("/agents/familles")
    assert response.status == 403
    expect(page.get_by_role("main")).to_contain_text("Vous n'avez pas accès à cette page.")


def test_agent_forms_show_their_french_errors(page, agent, check):
    log_in(page, agent["username"], agent["password"])
    page.goto("/agents/familles?q=x")
    expect(page.get_by_role("alert")).to_have_text("Saisissez au moins deux caractères.")
    check(page)
    page.goto("/agents/familles?q=personne-de-ce-nom")
    expect(page.get_by_role("heading", level=2, name="Aucune famille trouvée")).to_be_visible()
    page.goto("/agents/familles/nouvelle")
    page.get_by_role("button", name="Enregistrer la famille").click()
    expect(page.get_by_role("alert")).to_have_text("Renseignez au moins le premier représentant légal.")
    rep = page.get_by_role("group", name="Représentant légal 1")
    rep.get_by_label("Prénom").fill("Anne")
    rep.get_by_label("Nom", exact=True).fill("Sans-Code")
    rep.get_by_label("Numéro et voie").fill("2 rue des Écoles")
    rep.get_by_label("Code postal").fill("444")
    rep.get_by_label("Commune").fill("Donges")
    page.get_by_role("button", name="Ajouter un enfant").click()
    expect(page.get_by_role("group", name="Enfant 3")).to_be_visible()
    expect(page.get_by_role("group", name="Représentant légal 1").get_by_label("Prénom")).to_have_value("Anne")
    page.get_by_role("button", name="Enregistrer la famille").click()
    expect(page.get_by_role("alert")).to_have_text("Le code postal doit avoir cinq chiffres.")
    check(page)
    response = page.goto(f"/agents/familles/{uuid.uuid4()}")
    assert response.status == 404
    expect(page.get_by_role("main")).to_contain_text("Cette famille n'existe pas.")
