"""The family's trail in the gateway (issue #12): who acts is passed to the services' write RPCs, the API and the
pages merge canteen's and childcare's trails newest first, each agent sees the services they work for, and each
invoice line says how its price was computed."""
import html
from datetime import datetime

import pytest

from espace_common.clock import PARIS, FixedClock
from espace_common.rpc_client import ServiceUnavailable

from .conftest import remote
from .test_api_billing import INVOICE, VOCABULARY as BILLING_VOCABULARY
from .test_api_identity import ADMIN, FAMILY_ID, KITCHEN, PARENT, PETITE_ENFANCE, SCOLAIRE, as_
from .test_web_pages import AGENT, FAMILY, PARENT as WEB_PARENT, log_in_as

CLAIRE = {"kind": "parent", "id": "acc-1", "name": "claire.martin"}
PAUL = {"kind": "parent", "id": "acc-2", "name": "paul.martin"}
DURAND = {"kind": "agent", "id": "agent-1", "name": "m.durand"}
SYSTEM = {"kind": "system", "id": "", "name": ""}
MEAL = {"at": "2026-12-01T09:15:00+00:00", "actor": CLAIRE, "action": "meal_reserved", "child_id": "kid-1",
        "details": {"date": "2026-12-10", "via": "day"}, "service": "canteen",
        "summary": "Repas du jeudi 10 décembre 2026 réservé pour Léa."}
CANCELLED = {**MEAL, "at": "2026-11-20T07:00:00+00:00", "actor": PAUL, "action": "meal_cancelled",
             "summary": "Repas du jeudi 10 décembre 2026 annulé pour Léa."}
BOOKING = {"at": "2026-11-28T16:00:00+00:00", "actor": DURAND, "action": "booking_made", "child_id": "kid-2",
           "details": {"booking_id": "b-1", "date": "2026-12-07", "start": "08:00", "end": "12:00",
                       "status": "confirmed"}, "service": "childcare",
           "summary": "Créneau du lundi 7 décembre 2026 de 8h00 à 12h00 réservé pour Lina."}
PROMOTED = {**BOOKING, "at": "2026-12-01T10:00:00+00:00", "actor": SYSTEM, "action": "booking_promoted",
            "summary": "Une place s'est libérée : le créneau du lundi 7 décembre 2026 de 8h00 à 12h00 est confirmé "
                       "pour Lina."}


@pytest.fixture(autouse=True)
def clock(app):
    app.extensions["clock"] = FixedClock(datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))


def both_trails(services):
    services.answers[("canteen", "family_trail")] = {"entries": [MEAL, CANCELLED], "truncated": False}
    services.answers[("childcare", "family_trail")] = {"entries": [PROMOTED, BOOKING], "truncated": False}


def trail_calls(services):
    return [(s, args) for s, m, args, kwargs in services.calls if m == "family_trail"]


def page(response):
    return html.unescape(response.get_data(as_text=True))


# --- Who acts ----------------------------------------------------------------------------------------------------

def test_each_write_says_who_makes_it(client, services):
    services.answers[("canteen", "change_meal")] = {"child_id": "kid-1", "date": "2026-12-10", "state": "reserved"}
    assert client.put("/api/v1/children/kid-1/meals/2026-12-10", headers=as_(services, PARENT)).status_code == 200
    services.answers[("canteen", "record_attendance")] = {"date": "2026-12-01", "eaten": 1, "without_reservation": 0}
    client.post("/api/v1/schools/s-1/attendance", json={"date": "2026-12-01", "eaten": ["kid-1"]},
                headers=as_(services, KITCHEN))
    writes = [(m, kwargs) for s, m, args, kwargs in services.calls if m in ("change_meal", "record_attendance")]
    assert writes == [("change_meal", {"actor": {"kind": "parent", "id": "acc-1", "name": "acc-1"}}),
                      ("record_attendance", {"actor": {"kind": "system", "id": "client-kitchen",
                                                       "name": "client-kitchen"}})]


# --- The API -----------------------------------------------------------------------------------------------------

def test_the_api_merges_both_services_newest_first_for_the_tokens_family(client, services):
    both_trails(services)
    response = client.get("/api/v1/me/trail?from=2026-11-01&to=2026-12-02", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    entries = response.get_json()["entries"]
    assert [(e["action"], e["actor"]["name"]) for e in entries] == [
        ("booking_promoted", ""), ("meal_reserved", "claire.martin"), ("booking_made", "m.durand"),
        ("meal_cancelled", "paul.martin")]
    assert set(entries[1]) == {"at", "actor", "action", "child_id", "details", "service", "summary"}
    assert entries[1]["details"] == {"date": "2026-12-10", "via": "day"} and entries[1]["child_id"] == "kid-1"
    assert trail_calls(services) == [("canteen", (FAMILY_ID, "2026-11-01", "2026-12-02")),
                                     ("childcare", (FAMILY_ID, "2026-11-01", "2026-12-02"))]


def test_the_api_refuses_missing_junk_and_long_ranges_with_a_code(client, services):
    assert client.get("/api/v1/me/trail?from=2026-11-01", headers=as_(services, PARENT)).get_json()["code"] == \
        "invalid_query"
    services.answers[("canteen", "family_trail")] = remote("InvalidInput", "range_too_long",
                                                           "L'historique se consulte sur 366 jours au plus.")
    response = client.get("/api/v1/me/trail?from=2020-01-01&to=2026-12-02", headers=as_(services, PARENT))
    assert response.status_code == 400 and response.get_json()["code"] == "range_too_long"
    client.get("/api/v1/me/trail?from=" + "é" * 100_000 + "&to=2026-12-02", headers=as_(services, PARENT))
    assert all(len(args[1]) <= 20 for _, args in trail_calls(services))


def test_the_api_is_the_parents_and_a_service_down_is_503(client, services):
    assert client.get("/api/v1/me/trail?from=2026-11-01&to=2026-12-02").status_code == 401
    assert client.get("/api/v1/me/trail?from=2026-11-01&to=2026-12-02",
                      headers=as_(services, ADMIN)).status_code == 403
    services.answers[("canteen", "family_trail")] = {"entries": [], "truncated": False}
    services.answers[("childcare", "family_trail")] = ServiceUnavailable("childcare", "down")
    assert client.get("/api/v1/me/trail?from=2026-11-01&to=2026-12-02",
                      headers=as_(services, PARENT)).status_code == 503


# --- The parent's page -------------------------------------------------------------------------------------------

def test_the_parents_historique_says_what_when_and_who_in_french(client, services):
    log_in_as(client, services, WEB_PARENT)
    both_trails(services)
    text = page(client.get("/mon-espace/historique"))
    assert 'aria-current="page">Historique' in text
    assert text.index("Une place s'est libérée") < text.index("Repas du jeudi 10 décembre 2026 réservé") < \
        text.index("Créneau du lundi 7 décembre") < text.index("annulé pour Léa")
    assert "Par vous." in text  # claire.martin is the logged-in account acc-1
    assert "Par le compte « paul.martin »." in text and "Par un agent de la mairie (m.durand)." in text
    assert "Par le service, automatiquement." in text and "1er décembre 2026 à 10 h 15" in text
    assert trail_calls(services)[0] == ("canteen", ("fam-1", "2026-11-02", "2026-12-02"))  # the last 30 days


def test_a_bad_range_is_told_in_french_and_a_service_down_leaves_the_other_part(client, services):
    log_in_as(client, services, WEB_PARENT)
    services.answers[("canteen", "family_trail")] = remote("InvalidInput", "invalid_range",
                                                           "La date de début doit précéder la date de fin.")
    response = client.get("/mon-espace/historique?du=2026-12-31&au=2026-12-01")
    assert response.status_code == 400 and "La date de début doit précéder la date de fin." in page(response)
    services.answers[("canteen", "family_trail")] = {"entries": [MEAL], "truncated": False}
    services.answers[("childcare", "family_trail")] = ServiceUnavailable("childcare", "down")
    response = client.get("/mon-espace/historique?du=2026-11-01&au=2026-12-02")
    assert response.status_code == 200
    assert "Le service Multi-accueil ne répond pas" in page(response) and "réservé pour Léa" in page(response)


def test_an_agent_cannot_open_the_parents_page(client, services):
    log_in_as(client, services, AGENT)
    assert client.get("/mon-espace/historique").status_code == 403


# --- The agents' page --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("roles, asked", [(["affaires_scolaires"], ["canteen"]), (["petite_enfance"], ["childcare"]),
                                          (["admin"], ["canteen", "childcare"])])
def test_an_agent_sees_the_trail_of_the_services_they_work_for(client, services, roles, asked):
    log_in_as(client, services, {**AGENT, "roles": roles})
    services.answers[("identity", "family_for_agent")] = FAMILY
    both_trails(services)
    text = page(client.get("/agents/familles/fam-1/historique?du=2026-11-01&au=2026-12-02"))
    assert "Historique du dossier n° 000042" in text
    assert [s for s, _ in trail_calls(services)] == asked
    assert ("réservé pour Léa" in text) == ("canteen" in asked)
    assert ("Créneau du lundi 7 décembre" in text) == ("childcare" in asked)
    assert ("Par le compte « claire.martin »." in text) == ("canteen" in asked)  # no «vous» for an agent
    assert "Par vous." not in text


def test_an_unknown_family_is_404_and_the_file_links_to_its_trail(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "family_for_agent")] = remote("NotFound", "family_not_found", "Famille inconnue.")
    assert client.get("/agents/familles/nope/historique").status_code == 404
    assert trail_calls(services) == []


# --- The invoice -------------------------------------------------------------------------------------------------

def test_the_invoice_says_how_each_price_is_computed(client, services):
    log_in_as(client, services, WEB_PARENT)
    services.answers[("billing", "vocabulary")] = BILLING_VOCABULARY
    steps = ["Tarif de la restauration scolaire voté en vigueur depuis le 01/09/2026.",
             "Quotient familial 850 € : tranche 3 (jusqu'à 1 000 €), 2,85 € le repas.",
             "Jours : du 2 au 13 (12 repas).", "12 × 2,85 € = 34,20 € (calculé exactement puis arrondi une fois au centime)."]
    lines = [{**INVOICE["lines"][0], "explanation": {"basis": "quotient_bracket", "steps": steps}},
             {**INVOICE["lines"][1], "explanation": None}]
    services.answers[("billing", "invoice")] = {**INVOICE, "lines": lines, "family_id": "fam-1"}
    text = page(client.get("/mon-compte/factures/inv-1"))
    assert "Comment ce prix est calculé : Léa — 12 repas réservés × 2,85 € (tranche 3)" in text
    assert all(step in text for step in steps)
    assert "Comment ce prix est calculé : Léa — 2 repas non réservés" not in text
