"""Mon tableau de bord: live tiles from one call per service, each leading to its page; a service that does not
answer leaves its tile saying so in French while the others still show."""
import html
import re

from espace_common.rpc_client import ServiceUnavailable

from .test_web_pages import ME, PARENT, log_in_as

LOGINS = [{"at": "2026-12-01T08:05:00+00:00", "client_ip": "10.0.0.8"},
          {"at": "2026-11-28T19:42:00+00:00", "client_ip": "10.0.0.7"}]
CANTEEN = {"today": "2026-11-26", "children": [
    {"child_id": "kid-1", "first_name": "Inès", "last_name": "Martin", "birth_date": "2018-04-17", "enrolled": True,
     "next_meals": ["2026-12-01", "2026-12-04"], "next_deadline": "2026-11-26T09:00:00+00:00",
     "to_reserve": ["2026-11-30"]},
    {"child_id": "kid-2", "first_name": "Paul", "last_name": "Martin", "birth_date": "2024-01-01", "enrolled": False,
     "next_meals": [], "next_deadline": None, "to_reserve": []}],
    "justifications_to_send": [{"id": "abs-1", "child_id": "kid-1", "first_name": "Inès", "from": "2026-11-25",
                                "to": "2026-11-25", "justification": "waiting",
                                "justify_until": "2026-11-26T23:00:00+00:00"}]}
CHILDCARE = {"today": "2026-11-26", "children": [
    {"child_id": "kid-2", "first_name": "Paul", "last_name": "Martin", "kind": "occasional",
     "next_bookings": [{"id": "b-1", "date": "2026-11-30", "start": "08:00", "end": "12:00", "status": "confirmed",
                        "position": None}],
     "waiting": [{"id": "b-2", "date": "2026-12-01", "start": "13:30", "end": "18:00", "status": "waiting",
                  "position": 1}]}],
    "justifications_pending": [{"id": "cab-1", "child_id": "kid-2", "first_name": "Paul", "from": "2026-12-07",
                                "to": "2026-12-07", "decision": "pending"}]}
INVOICE = {"id": "inv-1", "family_id": "fam-1", "regie": "affaires_scolaires", "number": "AS-2026-000012",
           "month": "2026-11", "status": "issued", "total_cents": 3240, "balance_cents": 3240,
           "due_date": "2026-12-15", "issued_at": "2026-12-01T06:00:00+00:00", "payable_by_card": True}


def page(response):
    return html.unescape(response.get_data(as_text=True))


def words(fragment):
    """The text a reader hears, tags left out and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment))


def tile(text, name, following):
    return text[text.index(f'id="{name}"'):text.index(f'id="{following}"') if following else None]


def as_parent(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = {**ME, "account": {**ME["account"], "last_logins": LOGINS}}
    services.answers[("billing", "family_invoices")] = {"invoices": [INVOICE]}
    services.answers[("canteen", "family_dashboard")] = CANTEEN
    services.answers[("childcare", "family_dashboard")] = CHILDCARE


def calls_per_service(services):
    counted = {}
    for service, method, _, _ in services.calls:
        if method not in ("resolve_token", "vocabulary"):
            counted[service] = counted.get(service, 0) + 1
    return counted


def test_the_dashboard_makes_one_call_per_service_and_every_tile_is_live(client, services):
    as_parent(client, services)
    response = client.get("/tableau-de-bord")
    assert response.status_code == 200
    assert calls_per_service(services) == {"identity": 1, "billing": 1, "canteen": 1, "childcare": 1}
    assert ("canteen", "family_dashboard", ("fam-1",), {}) in services.calls
    text = page(response)
    account = tile(text, "tuile-compte", "tuile-cantine")
    assert "1 facture à régler" in account and "32,40\u00a0€" in account and 'href="/mon-compte/factures"' in account
    canteen = tile(text, "tuile-cantine", "tuile-multi-accueil")
    assert "Inès : prochains repas mar. 1 déc., ven. 4 déc." in words(canteen)
    assert "À réserver avant le jeu. 26/11 à 10h00 : lun. 30 nov." in words(canteen)
    assert "Paul" not in canteen  # not enrolled at the canteen
    assert 'href="/cantine/"' in canteen
    creche = tile(text, "tuile-multi-accueil", "tuile-absences")
    assert "Paul : lun. 30 nov. 8h00–12h00 " in words(creche)
    assert "Liste d'attente : 1re place le mar. 1 déc. 13h30–18h00" in words(creche)
    assert 'href="/petite-enfance/mes-reservations"' in creche
    absences = tile(text, "tuile-absences", "tuile-espace")
    assert "certificat médical d'Inès" in words(absences)
    assert "avant le ven. 27/11 à 0h00" in absences and 'href="/cantine/absences#absence-abs-1"' in absences
    assert "justificatif de Paul en attente" in words(absences)
    assert 'href="/petite-enfance/absences#absence-cab-1"' in absences
    space = tile(text, "tuile-espace", None)
    assert "Connexion précédente le 28 novembre 2026 à 20 h 42" in words(space) and "à confirmer" in space
    assert 'href="/mon-espace/securite"' in space
    assert "Confirmez votre adresse e-mail" in text


def test_a_service_that_does_not_answer_leaves_its_tile_saying_so_and_the_others_show(client, services):
    as_parent(client, services)
    services.answers[("canteen", "family_dashboard")] = ServiceUnavailable("canteen", "down")
    text = page(client.get("/tableau-de-bord"))
    assert "le service de restauration scolaire ne répond pas" in tile(text, "tuile-cantine", "tuile-multi-accueil")
    assert "la restauration scolaire ne répond pas" in tile(text, "tuile-absences", "tuile-espace")
    assert "lun. 30 nov. 8h00–12h00" in words(text) and "1 facture à régler" in text
    services.answers[("canteen", "family_dashboard")] = CANTEEN
    services.answers[("childcare", "family_dashboard")] = ServiceUnavailable("childcare", "down")
    services.answers[("billing", "family_invoices")] = ServiceUnavailable("billing", "down")
    response = client.get("/tableau-de-bord")
    text = page(response)
    assert response.status_code == 200
    assert "le service Petite Enfance ne répond pas" in tile(text, "tuile-multi-accueil", "tuile-absences")
    assert "le multi-accueil ne répond pas" in tile(text, "tuile-absences", "tuile-espace")
    assert "ne peuvent pas être affichées" in tile(text, "tuile-compte", "tuile-cantine")
    assert "prochains repas mar. 1 déc." in words(text)
    services.answers[("canteen", "family_dashboard")] = ServiceUnavailable("canteen", "down")
    text = page(client.get("/tableau-de-bord"))
    assert "la restauration scolaire et le multi-accueil ne répondent pas" in tile(text, "tuile-absences", "tuile-espace")
    assert "Dossier famille n° 000042" in words(text)  # identity still answers: the page is whole


def test_an_empty_family_gets_plain_tiles(client, services):
    as_parent(client, services)
    services.answers[("identity", "me")] = {**ME, "account": {**ME["account"], "email_confirmed": True,
                                                              "last_logins": LOGINS[:1]}}
    services.answers[("billing", "family_invoices")] = {"invoices": []}
    services.answers[("canteen", "family_dashboard")] = {"today": "2026-11-26", "children": [],
                                                         "justifications_to_send": []}
    services.answers[("childcare", "family_dashboard")] = {"today": "2026-11-26", "children": [],
                                                           "justifications_pending": []}
    text = page(client.get("/tableau-de-bord"))
    assert "Aucun de vos enfants n'est inscrit à la restauration scolaire." in text
    assert "Aucun de vos enfants n'est inscrit au multi-accueil" in text
    assert "Aucun justificatif en attente." in text and "Première connexion à votre espace." in text
    assert "Confirmez votre adresse e-mail" not in text and "pas encore de facture" in text
