"""Direct debit through the gateway with fake services: a parent's mandate (API and page), the agents' debit file
and rejections, each refused or allowed by role, bad input answered 4xx before any RPC."""
import html
from datetime import datetime

import pytest

from espace_common.clock import PARIS, FixedClock

from .conftest import remote
from .test_api_identity import ADMIN, FAMILY_ID, PARENT, PETITE_ENFANCE, SCOLAIRE, as_
from .test_web_pages import AGENT, PARENT as WEB_PARENT, csrf_token, log_in_as, post

MANDATE = {"id": "m-1", "family_id": FAMILY_ID, "reference": "DONGES-5B0C3F386A52-1", "iban": "FR76 •••• •••• 0189",
           "bic": "AGRIFRPPXXX", "holder": "Claire Martin", "signed_on": "2026-12-01",
           "signed_at": "2026-12-01T08:00:00+00:00", "status": "active", "revoked_at": None}
VOCABULARY = {
    "regies": {"affaires_scolaires": "Affaires scolaires (restauration scolaire)",
               "petite_enfance": "Petite enfance (multi-accueil)"},
    "direct_debit": {"mandate_statuses": {"active": "Actif", "revoked": "Révoqué"},
                     "debit_statuses": {"planned": "À prélever", "sent": "Transmis à la banque", "rejected": "Rejeté",
                                        "cancelled": "Annulé (mandat révoqué)"},
                     "sequence_types": {}, "anomaly_codes": {}, "creditor_name": "Commune de Donges",
                     "creditor_id": "FR12ZZZ123456", "mandate_text": "En signant ce formulaire de mandat, vous autorisez…",
                     "limits": {"holder": 70, "iban_text": 64, "rejection_reason": 500}}}
FILE = {"regie": "affaires_scolaires", "month": "2026-11", "rank": 1, "count": 1, "total_cents": 1245,
        "xml": "<?xml version='1.0' encoding='utf-8'?><Document/>", "created": True,
        "filename": "prelevements-affaires_scolaires-2026-11.xml", "created_at": "2026-12-01T08:00:00+00:00"}
SENT = {"id": "d-1", "invoice_id": "inv-1", "number": "AS-2026-000001", "regie": "affaires_scolaires",
        "period": "2026-11", "mandate_reference": MANDATE["reference"], "iban": "FR76 •••• •••• 0189",
        "holder": "Claire Martin", "status": "sent", "sequence_type": "FRST", "amount_cents": 1245,
        "collection_date": "2026-12-31", "sent_at": "2026-12-01T08:00:00+00:00", "rejected_at": None,
        "rejection_reason": None}
INVOICE = {"id": "inv-1", "number": "AS-2026-000001", "status": "issued", "balance_cents": 1245,
           "payable_by_card": True}


@pytest.fixture(autouse=True)
def fixed_clock_and_vocabulary(app, services):
    app.extensions["clock"] = FixedClock(datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))
    services.answers[("billing", "vocabulary")] = VOCABULARY


def billing_calls(services):
    return [(method, args) for service, method, args, _ in services.calls if service == "billing"]


def last_call(services, method):
    return [args for name, args in billing_calls(services) if name == method][-1]


def page(response):
    return html.unescape(response.get_data(as_text=True))


# --- API ------------------------------------------------------------------------------------------------------

def test_a_parent_signs_a_mandate_for_their_family(client, services):
    services.answers[("billing", "sign_mandate")] = {**MANDATE, "created": True}
    response = client.post("/api/v1/me/direct-debit-mandates", json={"iban": "FR76 3000 6000 0112 3456 7890 189",
                                                                     "holder": "Claire Martin"},
                           headers=as_(services, PARENT))
    assert response.status_code == 201 and response.get_json()["reference"] == "DONGES-5B0C3F386A52-1"
    assert billing_calls(services) == [("sign_mandate", (FAMILY_ID, "FR76 3000 6000 0112 3456 7890 189",
                                                         "Claire Martin", True, PARENT["id"]))]
    services.answers[("billing", "sign_mandate")] = {**MANDATE, "created": False}
    again = client.post("/api/v1/me/direct-debit-mandates", json={"iban": "FR7630006000011234567890189",
                                                                  "holder": "Claire Martin"},
                        headers=as_(services, PARENT))
    assert again.status_code == 200


def test_an_invalid_iban_is_400_in_french_and_a_huge_one_never_reaches_billing(client, services):
    services.answers[("billing", "sign_mandate")] = remote(
        "InvalidInput", "invalid_iban", "La clé de contrôle de cet IBAN est fausse : vérifiez chaque caractère.")
    response = client.post("/api/v1/me/direct-debit-mandates", json={"iban": "FR7630006000011234567890188",
                                                                     "holder": "Claire Martin"},
                           headers=as_(services, PARENT))
    assert response.status_code == 400
    assert response.get_json() == {"code": "invalid_iban",
                                   "message": "La clé de contrôle de cet IBAN est fausse : vérifiez chaque caractère."}
    services.calls.clear()
    for bad in ({"iban": "F" * 100_000, "holder": "x"}, {"iban": "FR76", "holder": "   "}, {"iban": 76, "holder": "x"},
                {"iban": "FR76"}, {"iban": "FR76", "holder": "x", "accepted": "yes"}, {"iban": "x", "holder": "x" * 71}):
        refused = client.post("/api/v1/me/direct-debit-mandates", json=bad, headers=as_(services, PARENT))
        assert refused.status_code == 400 and refused.get_json()["code"] == "invalid_body"
    assert billing_calls(services) == []


def test_a_parent_reads_and_revokes_the_mandate_and_agents_see_it(client, services):
    services.answers[("billing", "family_mandates")] = {"active": MANDATE, "mandates": [MANDATE]}
    services.answers[("billing", "revoke_mandate")] = {**MANDATE, "status": "revoked"}
    got = client.get("/api/v1/me/direct-debit-mandates", headers=as_(services, PARENT))
    assert got.status_code == 200 and got.get_json()["active"]["iban"] == "FR76 •••• •••• 0189"
    assert got.headers["Cache-Control"] == "no-store"
    assert client.delete("/api/v1/me/direct-debit-mandates", headers=as_(services, PARENT)).status_code == 204
    assert ("revoke_mandate", (FAMILY_ID, PARENT["id"])) in billing_calls(services)
    assert client.get(f"/api/v1/families/{FAMILY_ID}/direct-debit-mandates",
                      headers=as_(services, PETITE_ENFANCE)).status_code == 200
    assert client.get("/api/v1/me/direct-debit-mandates", headers=as_(services, SCOLAIRE)).status_code == 403
    assert client.get(f"/api/v1/families/{FAMILY_ID}/direct-debit-mandates",
                      headers=as_(services, PARENT)).status_code == 403
    services.answers[("billing", "revoke_mandate")] = remote("NotFound", "no_mandate", "Vous n'avez pas de mandat.")
    assert client.delete("/api/v1/me/direct-debit-mandates", headers=as_(services, PARENT)).status_code == 404


def test_the_debit_file_is_the_agents_of_its_regie(client, services):
    services.answers[("billing", "debit_file")] = FILE
    response = client.get("/api/v1/direct-debits/2026-11.xml", headers=as_(services, SCOLAIRE))
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="prelevements-affaires_scolaires-2026-11.xml"'
    assert response.get_data(as_text=True) == FILE["xml"] and response.headers["Cache-Control"] == "no-store"
    assert billing_calls(services)[-1] == ("debit_file", ("affaires_scolaires", "2026-11", SCOLAIRE["id"]))

    forbidden = client.get("/api/v1/direct-debits/2026-11.xml?regie=petite_enfance", headers=as_(services, SCOLAIRE))
    assert forbidden.status_code == 403 and forbidden.get_json()["code"] == "forbidden_regie"
    unnamed = client.get("/api/v1/direct-debits/2026-11.xml", headers=as_(services, ADMIN))
    assert unnamed.status_code == 400 and unnamed.get_json()["code"] == "regie_required"
    assert client.get("/api/v1/direct-debits/2026-11.xml?regie=petite_enfance",
                      headers=as_(services, ADMIN)).status_code == 200
    assert client.get("/api/v1/direct-debits/2026-11.xml?regie=%00x", headers=as_(services, ADMIN)).status_code == 400
    assert client.get("/api/v1/direct-debits/2026-11.xml", headers=as_(services, PARENT)).status_code == 403
    services.answers[("billing", "debit_file")] = remote("NotFound", "no_debits", "Aucun prélèvement.")
    assert client.get("/api/v1/direct-debits/2026-10.xml", headers=as_(services, SCOLAIRE)).status_code == 404
    services.answers[("billing", "month_debits")] = {"regie": "affaires_scolaires", "month": "2026-11",
                                                     "debits": [SENT], "files": []}
    listed = client.get("/api/v1/direct-debits/2026-11", headers=as_(services, SCOLAIRE))
    assert listed.status_code == 200 and listed.get_json()["debits"][0]["status"] == "sent"


def test_an_agent_records_a_rejection(client, services):
    services.answers[("billing", "reject_debit")] = {"invoice": INVOICE, "debit": {"status": "rejected"},
                                                     "created": True}
    response = client.post("/api/v1/invoices/inv-1/debit-rejections", json={"reason": "AM04 provision insuffisante"},
                           headers=as_(services, SCOLAIRE))
    assert response.status_code == 201 and response.get_json()["invoice"]["payable_by_card"] is True
    assert billing_calls(services)[-1] == ("reject_debit", ("inv-1", "AM04 provision insuffisante", SCOLAIRE["id"]))
    services.calls.clear()
    for bad in ({}, {"reason": ""}, {"reason": "  "}, {"reason": "x" * 501}):
        refused = client.post("/api/v1/invoices/inv-1/debit-rejections", json=bad, headers=as_(services, SCOLAIRE))
        assert refused.status_code == 400
    assert billing_calls(services) == []
    assert client.post("/api/v1/invoices/inv-1/debit-rejections", json={"reason": "AM04"},
                       headers=as_(services, PARENT)).status_code == 403


# --- Pages ------------------------------------------------------------------------------------------------------

def test_the_parent_page_signs_with_the_mandate_accepted(client, services):
    services.answers[("billing", "family_mandates")] = {"active": None, "mandates": []}
    log_in_as(client, services, WEB_PARENT)
    shown = client.get("/mon-compte/prelevement/")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert "En signant ce formulaire de mandat" in page(shown) and "FR12ZZZ123456" in page(shown)

    services.answers[("billing", "sign_mandate")] = remote("InvalidInput", "mandate_not_accepted",
                                                           "Cochez la case qui accepte le mandat de prélèvement SEPA.")
    refused = post(client, "/mon-compte/prelevement/", {"iban": "FR7630006000011234567890189", "holder": "Claire"})
    assert refused.status_code == 400 and "Cochez la case" in page(refused)
    assert 'value="FR7630006000011234567890189"' in page(refused)
    assert last_call(services, "sign_mandate") == ("fam-1", "FR7630006000011234567890189", "Claire", False, "acc-1")

    services.answers[("billing", "sign_mandate")] = {**MANDATE, "created": True}
    signed = post(client, "/mon-compte/prelevement/", {"iban": "FR7630006000011234567890189", "holder": "Claire",
                                                       "accepted": "oui"})
    assert signed.status_code == 303
    assert last_call(services, "sign_mandate")[3] is True
    services.answers[("billing", "family_mandates")] = {"active": MANDATE, "mandates": [MANDATE]}
    after = page(client.get("/mon-compte/prelevement/"))
    assert "DONGES-5B0C3F386A52-1" in after and "FR76 •••• •••• 0189" in after and "Révoquer le mandat" in after


def test_the_parent_page_refuses_a_huge_iban_before_billing(client, services):
    services.answers[("billing", "family_mandates")] = {"active": None, "mandates": []}
    log_in_as(client, services, WEB_PARENT)
    refused = post(client, "/mon-compte/prelevement/", {"iban": "é" * 100_000, "holder": "Claire", "accepted": "oui"})
    assert refused.status_code == 400 and "IBAN" in page(refused)
    assert not any(method == "sign_mandate" for method, _ in billing_calls(services))


def test_the_parent_revokes_from_the_page(client, services):
    services.answers[("billing", "family_mandates")] = {"active": MANDATE, "mandates": [MANDATE]}
    services.answers[("billing", "revoke_mandate")] = {**MANDATE, "status": "revoked"}
    log_in_as(client, services, WEB_PARENT)
    response = post(client, "/mon-compte/prelevement/revocation", {}, csrf_from="/mon-compte/prelevement/")
    assert response.status_code == 303 and ("revoke_mandate", ("fam-1", "acc-1")) in billing_calls(services)


def test_the_agent_page_downloads_the_file_and_records_a_rejection(client, services):
    services.answers[("billing", "month_debits")] = {"regie": "affaires_scolaires", "month": "2026-11",
                                                     "debits": [SENT], "files": []}
    log_in_as(client, services, AGENT)
    shown = client.get("/agents/facturation/prelevements/")  # last month by default
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    text = page(shown)
    assert "novembre 2026" in text and "AS-2026-000001" in text and "12,45\u00a0€" in text and "FR76 •••• •••• 0189" in text
    assert billing_calls(services)[-1] == ("month_debits", ("affaires_scolaires", "2026-11"))

    services.answers[("billing", "debit_file")] = FILE
    downloaded = post(client, "/agents/facturation/prelevements/fichier", {"mois": "2026-11"},
                      csrf_from="/agents/facturation/prelevements/")
    assert downloaded.status_code == 200 and downloaded.mimetype == "application/xml"

    services.answers[("billing", "reject_debit")] = {"invoice": INVOICE, "debit": {"status": "rejected"},
                                                     "created": True}
    rejected = post(client, "/agents/facturation/prelevements/rejets",
                    {"mois": "2026-11", "invoice_id": "inv-1", "reason": "AM04"},
                    csrf_from="/agents/facturation/prelevements/")
    assert rejected.status_code == 303
    assert last_call(services, "reject_debit") == ("inv-1", "AM04", "agent-1")
    blank = post(client, "/agents/facturation/prelevements/rejets", {"mois": "2026-11", "invoice_id": "inv-1",
                                                                     "reason": " "},
                 csrf_from="/agents/facturation/prelevements/")
    assert blank.status_code == 400 and "Motif du rejet" in page(blank)


def test_the_agent_page_keeps_to_the_agents_regie(client, services):
    services.answers[("billing", "month_debits")] = {"regie": "affaires_scolaires", "month": "2026-11",
                                                     "debits": [], "files": []}
    log_in_as(client, services, AGENT)
    assert client.get("/agents/facturation/prelevements/?regie=petite_enfance").status_code == 403
    assert client.get("/agents/facturation/prelevements/?mois=x" + "9" * 1000).status_code == 400
    log_in_as(client, services, WEB_PARENT)
    assert client.get("/agents/facturation/prelevements/").status_code == 403


def test_the_agents_see_the_card_payments_to_settle(client, services):
    services.answers[("billing", "payment_anomalies")] = {"anomalies": [
        {"id": "a-1", "transaction_id": "paybox-9", "invoice_id": "inv-1", "amount_cents": 90000, "code": "overpayment",
         "message": "Le montant dépasse le reste à payer (12,45\u00a0€).", "received_at": "2026-12-01T08:00:00+00:00"}]}
    log_in_as(client, services, AGENT)
    shown = client.get("/agents/facturation/prelevements/anomalies")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert "paybox-9" in page(shown) and "900,00\u00a0€" in page(shown) and "1er décembre 2026 à 9 h 00" in page(shown)
    anomalies = client.get("/api/v1/payment-anomalies", headers=as_(services, PETITE_ENFANCE))
    assert anomalies.status_code == 200 and anomalies.get_json()["anomalies"][0]["code"] == "overpayment"
