"""The billing pages (public, parents', agents') against fake services."""
import html
from datetime import datetime

import pytest

from espace_common.clock import PARIS, FixedClock
from espace_common.rpc_client import ServiceUnavailable

from .conftest import remote
from .test_api_billing import INVOICE, PE_INVOICE, RUN, SUMMARY, VOCABULARY
from .test_web_pages import AGENT, FAMILY, PARENT, csrf_token, log_in_as, post

FAMILY_ID = PARENT["family_id"]
OWN_INVOICE = {**INVOICE, "family_id": FAMILY_ID}
OWN_SUMMARY = {**SUMMARY, "family_id": FAMILY_ID}
CRECHE = {**AGENT, "id": "agent-3", "username": "creche", "roles": ["petite_enfance"]}
ADMIN = {**AGENT, "id": "agent-9", "username": "admin", "roles": ["admin"]}
TARIFFS = {
    "affaires_scolaires": {"current": {
        "regie": "affaires_scolaires", "from": "2026-09-01", "unreserved_meal_price_cents": 410,
        "pai_meal_price_cents": 120,
        "brackets": [{"number": 1, "quotient_max": 400, "meal_price_cents": 100},
                     {"number": 2, "quotient_max": 700, "meal_price_cents": 190},
                     {"number": 3, "quotient_max": None, "meal_price_cents": 415}]}, "next": None},
    "petite_enfance": {"current": {
        "regie": "petite_enfance", "from": "2025-09-01", "floor_cents": 80100, "ceiling_cents": 850000,
        "effort_rates": [{"children_from": 1, "percent": "0.0619"}, {"children_from": 2, "percent": "0.0516"},
                         {"children_from": 3, "percent": "0.0413"}, {"children_from": 4, "percent": "0.0310"},
                         {"children_from": 8, "percent": "0.0206"}], "disability_rule": "next_lower_rate"},
        "next": {"from": "2027-01-01"}}}


@pytest.fixture(autouse=True)
def clock_and_vocabulary(app, services):
    app.extensions["clock"] = FixedClock(datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))
    services.answers[("billing", "vocabulary")] = VOCABULARY


def page(response):
    return html.unescape(response.get_data(as_text=True))


def billing_calls(services, method):
    return [(args, kwargs) for service, m, args, kwargs in services.calls if service == "billing" and m == method]


# --- Public ----------------------------------------------------------------------------------------------------

def test_the_tariffs_page_shows_the_brackets_and_the_psu_figures(client, services):
    services.answers[("billing", "current_tariffs")] = TARIFFS
    text = page(client.get("/tarifs"))
    assert "de 0 à 400 €" in text and "de 401 à 700 €" in text and "701 € et plus" in text
    assert "4,15\u00a0€" in text and "4,10\u00a0€" in text and "1,20\u00a0€" in text
    assert "801,00\u00a0€" in text and "8\u202f500,00\u00a0€" in text and "0,0516\u00a0%" in text
    assert "de 4 à 7" in text and "8 et plus" in text and "1er janvier 2027" in text
    assert 'href="/estimer-ma-facture"' in text
    assert 'href="/tarifs"' in page(client.get("/"))  # linked from the public home and the navigation


def test_the_simulator_shows_the_months_lines(client, services):
    services.answers[("billing", "current_tariffs")] = TARIFFS
    services.answers[("billing", "price_estimate")] = {
        "regie": "petite_enfance", "grid_from": "2025-09-01", "total_cents": 1722,
        "lines": [{"kind": "occasional", "label": "accueil 14 h × 1,23 €/h (0,0516 % × 2 384,00 €)",
                   "quantity": "14", "unit_price_cents": 123, "amount_cents": 1722}]}
    assert "Estimation" not in page(client.get("/estimer-ma-facture"))
    text = page(client.get("/estimer-ma-facture?regie=petite_enfance&resources=2+384,00&children=2&hours=14"))
    assert "Estimation : 17,22\u00a0€" in text and "accueil 14 h × 1,23 €/h" in text
    assert billing_calls(services, "price_estimate") == [
        (("petite_enfance", {"monthly_resources_cents": 238400, "children": 2, "hours": 14.0}), {})]
    client.get("/estimer-ma-facture?regie=affaires_scolaires&quotient=850&meals=12")
    assert billing_calls(services, "price_estimate")[-1] == (("affaires_scolaires", {"quotient": 850, "meals": 12}), {})


@pytest.mark.parametrize("query, message", [
    ("regie=affaires_scolaires&meals=", "nombre de repas"),
    ("regie=affaires_scolaires&meals=douze", "nombre entier"),
    ("regie=affaires_scolaires&meals=40", "Nombre de repas dans le mois"),
    ("regie=petite_enfance&hours=beaucoup", "nombre, comme"),
    ("regie=petite_enfance&hours=10&resources=" + "9" * 100_000, "montant en euros"),
    ("regie=petite_enfance&hours=10&resources=Infinity", "montant en euros"),
    ("regie=petite_enfance&hours=Infinity", "nombre, comme"),
    ("regie=piscine&meals=3", "Service"),
])
def test_the_simulator_says_what_is_wrong_in_french_and_asks_nothing(client, services, query, message):
    response = client.get(f"/estimer-ma-facture?{query}")
    assert response.status_code == 400 and message in page(response)
    assert billing_calls(services, "price_estimate") == []


def test_a_refused_estimate_is_told_beside_the_form(client, services):
    services.answers[("billing", "price_estimate")] = remote("InvalidInput", "invalid_estimate",
                                                             "Le nombre d'heures va par demi-heure.")
    response = client.get("/estimer-ma-facture?regie=petite_enfance&hours=1,25")
    assert response.status_code == 400 and "par demi-heure" in page(response)


# --- Parents ----------------------------------------------------------------------------------------------------

def test_the_invoices_page_lists_each_service_with_state_balance_and_due_date(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("billing", "family_invoices")] = {"invoices": [OWN_SUMMARY]}
    response = client.get("/mon-compte/factures")
    text = page(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "1 facture à régler" in text and "32,40\u00a0€" in text and "1er janvier 2027" in text
    assert "Partiellement payée" in text and "novembre 2026" in text and "Aucune facture pour ce service." in text
    assert 'href="/mon-compte/facturation"' in text and 'href="/mon-compte/prelevement"' in text
    assert billing_calls(services, "family_invoices") == [((FAMILY_ID,), {})]


def test_an_invoice_page_has_its_lines_payments_pdf_and_a_card_button(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("billing", "invoice")] = OWN_INVOICE
    text = page(client.get("/mon-compte/factures/inv-1"))
    assert "Léa — 12 repas réservés × 2,85 € (tranche 3)" in text and "34,20\u00a0€" in text
    assert "42,40\u00a0€" in text and "Espèces, 10,00\u00a0€" in text
    assert 'href="/mon-compte/factures/inv-1/facture.pdf"' in text
    button = text[text.index('id="paiement-carte"'):text.index("<h2>Détail")]
    assert "Payer par carte 32,40\u00a0€" in button and 'action="/mon-compte/factures/inv-1/payer"' in button
    assert 'name="csrf_token"' in button
    assert billing_calls(services, "invoice") == [(("inv-1", FAMILY_ID), {})]
    services.answers[("billing", "invoice")] = {**OWN_INVOICE, "payable_by_card": False, "status": "paid"}
    assert "Payer par carte" not in page(client.get("/mon-compte/factures/inv-1"))
    services.answers[("billing", "invoice")] = {**OWN_INVOICE, "payable_by_card": False, "direct_debit": True}
    debited = page(client.get("/mon-compte/factures/inv-1"))
    assert "Payer par carte" not in debited
    assert "prélevée sur votre compte à l'échéance du 1er janvier 2027" in debited


def test_another_familys_invoice_is_404_and_pages_are_for_parents(client, services):
    assert client.get("/mon-compte/factures").status_code == 302  # to the login page
    log_in_as(client, services, PARENT)
    services.answers[("billing", "invoice")] = remote("NotFound", "invoice_not_found", "Cette facture n'existe pas.")
    assert client.get("/mon-compte/factures/" + "x" * 5000).status_code == 404
    log_in_as(client, services, AGENT)
    assert client.get("/mon-compte/factures").status_code == 403


def test_the_dashboard_tile_tells_the_unpaid_invoices_in_one_call(client, services):
    from .test_web_pages import ME
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    services.answers[("billing", "family_invoices")] = {"invoices": [
        OWN_SUMMARY, {**OWN_SUMMARY, "id": "inv-3", "balance_cents": 1000, "due_date": "2026-12-20"},
        {**OWN_SUMMARY, "id": "inv-4", "status": "paid", "balance_cents": 0}]}
    text = page(client.get("/tableau-de-bord"))
    tile = text[text.index('id="tuile-compte"'):text.index('id="tuile-cantine"')]
    assert "2 factures à régler" in tile and "42,40\u00a0€" in tile and "20 décembre 2026" in tile
    assert len(billing_calls(services, "family_invoices")) == 1
    services.answers[("billing", "family_invoices")] = {"invoices": [{**OWN_SUMMARY, "status": "paid",
                                                                      "balance_cents": 0}]}
    assert "sont réglées" in page(client.get("/tableau-de-bord"))
    services.answers[("billing", "family_invoices")] = ServiceUnavailable("billing", "down")
    down = client.get("/tableau-de-bord")
    assert down.status_code == 200 and "ne peuvent pas être affichées" in page(down)


# --- Agents ---------------------------------------------------------------------------------------------------------

def test_the_agents_navigation_shows_billing_only_to_billing_roles(client, services):
    log_in_as(client, services, AGENT)
    assert 'href="/agents/facturation/tournees"' in page(client.get("/agents/"))
    log_in_as(client, services, PARENT)
    assert client.get("/agents/facturation/tournees").status_code == 403


def test_starting_a_run_goes_to_its_page_which_refreshes_while_it_runs(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("billing", "invoicing_runs")] = {"runs": []}
    services.answers[("billing", "start_invoicing_run")] = RUN
    text = page(client.get("/agents/facturation/tournees"))
    assert 'value="2026-11"' in text and "Petite enfance" not in text  # last month; only the agent's régie
    response = post(client, "/agents/facturation/tournees", {"regie": "affaires_scolaires", "month": "2026-11"})
    assert response.status_code == 303 and response.headers["Location"] == "/agents/facturation/tournees/run-1"
    assert billing_calls(services, "start_invoicing_run") == [(("affaires_scolaires", "2026-11", "agent-1"), {})]
    services.answers[("billing", "invoicing_run")] = {**RUN, "invoices": [{**SUMMARY, "status": "draft",
                                                                            "lines": INVOICE["lines"]}]}
    text = page(client.get("/agents/facturation/tournees/run-1"))
    assert 'http-equiv="refresh"' in text and "40 familles sur 120" in text
    assert "Léa — 2 repas non réservés × 4,10 €" in text
    assert billing_calls(services, "invoicing_run")[-1] == (("run-1", True), {})


def test_a_run_that_failed_says_why_and_offers_to_try_now(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("billing", "invoicing_run")] = {**RUN, "error": "Le service de la restauration scolaire ne "
                                                      "répond pas.", "attempts": 3, "retry_at": "2026-12-02T08:04:00+00:00"}
    text = page(client.get("/agents/facturation/tournees/run-1"))
    assert "ne répond pas" in text and "tentative 3" in text and "Réessayer maintenant" in text
    assert "2 décembre 2026 à 9 h 04" in text


def test_bad_run_requests_are_told_in_french(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("billing", "invoicing_runs")] = {"runs": []}
    for data, message in (({"regie": "affaires_scolaires", "month": "novembre"}, "« 2026-11 »"),
                          ({"regie": "petite_enfance", "month": "2026-11"}, "votre régie")):
        response = post(client, "/agents/facturation/tournees", data, csrf_from="/agents/facturation/tournees")
        assert response.status_code == 400 and message in page(response)
    services.answers[("billing", "start_invoicing_run")] = remote("Conflict", "month_not_started", "Pas commencé.")
    response = post(client, "/agents/facturation/tournees", {"regie": "affaires_scolaires", "month": "2027-05"})
    assert response.status_code == 409 and "Pas commencé." in page(response)


def test_a_draft_run_is_finalised_and_the_other_regies_run_is_404(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("billing", "invoicing_run")] = {**RUN, "status": "draft"}
    services.answers[("billing", "finalize_run")] = {**RUN, "status": "final"}
    text = page(client.get("/agents/facturation/tournees/run-1"))
    assert "Finaliser" in text and 'http-equiv="refresh"' not in text
    response = post(client, "/agents/facturation/tournees/run-1/finaliser", {},
                    csrf_from="/agents/facturation/tournees/run-1")
    assert response.status_code == 303 and billing_calls(services, "finalize_run") == [(("run-1", "agent-1"), {})]
    log_in_as(client, services, CRECHE)
    assert client.get("/agents/facturation/tournees/run-1").status_code == 404
    token = csrf_token(client, "/agents/")
    assert client.post("/agents/facturation/tournees/run-1/finaliser", data={"csrf_token": token}).status_code == 404


def test_the_counter_records_a_payment_and_a_credit_note(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("billing", "invoice")] = INVOICE
    services.answers[("billing", "record_payment")] = {"id": "p-2", "invoice": SUMMARY}
    services.answers[("billing", "credit_note")] = {"id": "cn-1", "number": "AS-AV-2026-000001", "invoice": SUMMARY}
    text = page(client.get("/agents/facturation/factures/inv-1"))
    assert "Enregistrer un paiement" in text and "CESU" in text and "Carte bancaire" not in text
    response = post(client, "/agents/facturation/factures/inv-1/paiement", {"method": "cheque", "amount": "12,50"},
                    csrf_from="/agents/facturation/factures/inv-1")
    assert response.status_code == 303
    assert billing_calls(services, "record_payment") == [(("inv-1", "cheque", 1250, "agent-1"), {})]
    response = post(client, "/agents/facturation/factures/inv-1/avoir", {"credit_amount": "2,85", "reason": "Repas"},
                    csrf_from="/agents/facturation/factures/inv-1")
    assert response.status_code == 303
    assert billing_calls(services, "credit_note") == [(("inv-1", 285, "Repas", "agent-1"), {})]
    assert "AS-AV-2026-000001" in page(client.get(response.headers["Location"]))


@pytest.mark.parametrize("path, data, message", [
    ("paiement", {"method": "cash", "amount": "douze"}, "montant en euros"),
    ("paiement", {"method": "cash", "amount": "1e999"}, "montant en euros"),
    ("paiement", {"method": "card", "amount": "12"}, "Moyen de paiement"),
    ("paiement", {"method": "cash", "amount": "0"}, "Montant"),
    ("avoir", {"credit_amount": "2", "reason": ""}, "Motif"),
    ("avoir", {"credit_amount": "2", "reason": "é" * 501}, "500"),
])
def test_bad_counter_entries_are_told_and_nothing_is_recorded(client, services, path, data, message):
    log_in_as(client, services, AGENT)
    services.answers[("billing", "invoice")] = INVOICE
    response = post(client, f"/agents/facturation/factures/inv-1/{path}", data,
                    csrf_from="/agents/facturation/factures/inv-1")
    assert response.status_code == 400 and message in page(response)
    assert not billing_calls(services, "record_payment") and not billing_calls(services, "credit_note")


def test_an_overpayment_is_told_and_the_other_regies_invoice_is_404(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("billing", "invoice")] = INVOICE
    services.answers[("billing", "record_payment")] = remote("Conflict", "overpayment", "Le montant dépasse le reste.")
    response = post(client, "/agents/facturation/factures/inv-1/paiement", {"method": "cash", "amount": "99"},
                    csrf_from="/agents/facturation/factures/inv-1")
    assert response.status_code == 409 and "Le montant dépasse le reste." in page(response)
    services.answers[("billing", "invoice")] = PE_INVOICE
    assert client.get("/agents/facturation/factures/inv-2").status_code == 404


def test_the_search_by_number_and_dossier(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("billing", "search_invoices")] = {"invoices": [SUMMARY], "count": 1, "limit": 100, "offset": 0}
    text = page(client.get("/agents/facturation/factures?numero=AS-2026"))
    assert "1 facture" in text and 'href="/agents/facturation/factures/inv-1"' in text
    assert billing_calls(services, "search_invoices")[-1][1] == {
        "number": "AS-2026", "family_id": None, "regie": "affaires_scolaires", "period": None, "status": None,
        "limit": 100}
    services.answers[("identity", "find_families")] = [{"id": FAMILY_ID, "dossier": "000042"}]
    client.get("/agents/facturation/factures?dossier=000042")
    assert billing_calls(services, "search_invoices")[-1][1]["family_id"] == FAMILY_ID
    services.answers[("billing", "search_invoices")] = remote("InvalidInput", "invalid_month", "Le mois s'écrit…")
    response = client.get("/agents/facturation/factures?mois=novembre")
    assert response.status_code == 400 and "Le mois s'écrit" in page(response)
    assert client.get("/agents/facturation/factures?regie=petite_enfance&numero=x").status_code == 400


def test_family_resources_are_entered_on_the_familys_billing_page(client, services):
    log_in_as(client, services, CRECHE)
    services.answers[("identity", "family_for_agent")] = FAMILY
    services.answers[("billing", "family_resources")] = {"family_id": FAMILY_ID, "current": None, "history": []}
    services.answers[("billing", "search_invoices")] = {"invoices": [], "count": 0, "limit": 24, "offset": 0}
    services.answers[("billing", "set_family_resources")] = {}
    path = f"/agents/facturation/familles/{FAMILY_ID}"
    assert "tranche la plus haute" in page(client.get(path))
    response = post(client, path, {"from": "2026-01-01", "quotient": "850", "resources": "2 384,00",
                                   "dependent_children": "2", "disability": "1"})
    assert response.status_code == 303
    assert billing_calls(services, "set_family_resources") == [((FAMILY_ID, {
        "from": "2026-01-01", "disability": True, "quotient": 850, "dependent_children": 2,
        "monthly_resources_cents": 238400}, "agent-3"), {})]
    response = post(client, path, {"from": "2026-01-01", "quotient": "huit", "resources": "1",
                                   "dependent_children": "2"})
    assert response.status_code == 400 and "Quotient familial" in page(response)
    response = post(client, path, {"from": "demain", "quotient": "8", "resources": "1", "dependent_children": "2"})
    assert response.status_code == 400 and "Date d'effet" in page(response)


def test_only_an_administrator_enters_a_grid(client, services):
    services.answers[("billing", "tariff_grids")] = lambda regie: {"regie": regie,
                                                                   "grids": [TARIFFS[regie]["current"]]}
    log_in_as(client, services, AGENT)
    text = page(client.get("/agents/facturation/tarifs"))
    assert "Grille du 1er septembre 2026" in text and "Enregistrer la grille" not in text
    token = csrf_token(client, "/agents/")
    assert client.post("/agents/facturation/tarifs", data={"csrf_token": token, "regie": "petite_enfance"}
                       ).status_code == 403
    log_in_as(client, services, ADMIN)
    form = page(client.get("/agents/facturation/tarifs"))
    assert 'name="price2" type="text" value="4,15"' in form and 'name="percent1" type="text" value="0,0516"' in form
    assert 'name="ceiling_cents" type="text" value="8500,00"' in form  # the latest grid, to change what changes
    services.answers[("billing", "add_tariff_grid")] = {"created": True}
    response = post(client, "/agents/facturation/tarifs", {
        "regie": "petite_enfance", "from": "2027-01-01", "floor_cents": "801", "ceiling_cents": "8 500",
        "children_from0": "1", "percent0": "0,0619", "children_from1": "2", "percent1": "0,0516"})
    assert response.status_code == 303
    assert billing_calls(services, "add_tariff_grid") == [(("petite_enfance", {
        "from": "2027-01-01", "floor_cents": 80100, "ceiling_cents": 850000,
        "effort_rates": [{"children_from": 1, "percent": "0.0619"}, {"children_from": 2, "percent": "0.0516"}]},
        "agent-9"), {})]
    response = post(client, "/agents/facturation/tarifs", {
        "regie": "affaires_scolaires", "from": "2027-01-01", "price0": "deux", "unreserved_meal_price_cents": "4",
        "pai_meal_price_cents": "1"}, csrf_from="/agents/facturation/tarifs")
    assert response.status_code == 400 and "Prix de la tranche 1" in page(response)
    services.answers[("billing", "add_tariff_grid")] = remote("Conflict", "grid_in_use", "Des factures de 2026-11…")
    response = post(client, "/agents/facturation/tarifs", {
        "regie": "affaires_scolaires", "from": "2026-11-01", "price0": "2", "unreserved_meal_price_cents": "4",
        "pai_meal_price_cents": "1"}, csrf_from="/agents/facturation/tarifs")
    assert response.status_code == 409 and "Des factures de 2026-11" in page(response)
