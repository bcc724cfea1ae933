"""Billing's documents through the gateway, with fake services: the API's PDFs for their family or régie only, the
online-invoice choice (API and page), the agents' paper batch; every file a download with a French name, no-store."""
import base64
import html

from .conftest import remote
from .test_api_identity import ADMIN, AUTH, FAMILY_ID, KITCHEN, PARENT, PETITE_ENFANCE, SCOLAIRE, as_
from .test_web_pages import AGENT, PARENT as WEB_PARENT, csrf_token, log_in_as, post

PDF = b"%PDF-1.4 une facture"
VOCABULARY = {"regies": {"affaires_scolaires": "Affaires scolaires (restauration scolaire)",
                         "petite_enfance": "Petite enfance (multi-accueil)"},
              "payment_methods": {"cash": "Espèces", "cheque": "Chèque", "cesu": "CESU", "card": "Carte bancaire"},
              "deliveries": {"online": "Facture en ligne : pas de papier, un e-mail à chaque nouvelle facture",
                             "paper": "Facture papier, envoyée par courrier"}}


def pdf_answer(regie="affaires_scolaires", filename="facture-AS-2026-000001.pdf"):
    return {"filename": filename, "media_type": "application/pdf", "regie": regie,
            "pdf_base64": base64.b64encode(PDF).decode("ascii")}


def billing_calls(services):
    return [(method, args) for service, method, args, _ in services.calls if service == "billing"]


def assert_pdf(response, filename):
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert "no-store" in response.headers["Cache-Control"]


def test_a_parent_gets_their_invoice_pdf_and_another_familys_is_404(client, services):
    services.answers[("billing", "invoice_pdf")] = pdf_answer()
    assert_pdf(client.get("/api/v1/invoices/inv-1/pdf", headers=as_(services, PARENT)), "facture-AS-2026-000001.pdf")
    assert billing_calls(services) == [("invoice_pdf", ("inv-1", FAMILY_ID))]
    services.answers[("billing", "invoice_pdf")] = remote("NotFound", "invoice_not_found", "Cette facture n'existe pas.")
    response = client.get("/api/v1/invoices/" + "é" * 500 + "/pdf", headers=AUTH)
    assert response.status_code == 404 and response.get_json()["code"] == "invoice_not_found"


def test_an_agent_gets_the_pdfs_of_their_regie_only(client, services):
    services.answers[("billing", "invoice_pdf")] = pdf_answer("petite_enfance", "facture-PE-2026-000001.pdf")
    assert_pdf(client.get("/api/v1/invoices/inv-1/pdf", headers=as_(services, PETITE_ENFANCE)),
               "facture-PE-2026-000001.pdf")
    assert billing_calls(services)[-1] == ("invoice_pdf", ("inv-1", None))
    assert client.get("/api/v1/invoices/inv-1/pdf", headers=as_(services, ADMIN)).status_code == 200
    assert client.get("/api/v1/invoices/inv-1/pdf", headers=as_(services, SCOLAIRE)).status_code == 403
    assert client.get("/api/v1/invoices/inv-1/pdf", headers=as_(services, KITCHEN)).status_code == 403
    assert client.get("/api/v1/invoices/inv-1/pdf").status_code == 401


def test_the_paper_batch_is_for_the_agents_of_its_regie(client, services):
    services.answers[("billing", "run_paper_pdf")] = pdf_answer(filename="factures-papier-AS-2026-11.pdf")
    assert_pdf(client.get("/api/v1/invoicing-runs/run-1/paper.pdf", headers=as_(services, SCOLAIRE)),
               "factures-papier-AS-2026-11.pdf")
    assert client.get("/api/v1/invoicing-runs/run-1/paper.pdf", headers=as_(services, PETITE_ENFANCE)).status_code == 403
    assert client.get("/api/v1/invoicing-runs/run-1/paper.pdf", headers=as_(services, PARENT)).status_code == 403
    services.answers[("billing", "run_paper_pdf")] = remote("Conflict", "documents_pending", "Réessayez.")
    assert client.get("/api/v1/invoicing-runs/run-1/paper.pdf", headers=as_(services, SCOLAIRE)).status_code == 409


def test_receipts_and_tax_certificates(client, services):
    services.answers[("billing", "receipt_pdf")] = pdf_answer(filename="recu-AS-2026-000001-2026-12-02.pdf")
    assert_pdf(client.get("/api/v1/payments/pay-1/receipt.pdf", headers=as_(services, PARENT)),
               "recu-AS-2026-000001-2026-12-02.pdf")
    services.answers[("billing", "tax_certificate_pdf")] = pdf_answer("petite_enfance", "attestation-fiscale-2026.pdf")
    assert_pdf(client.get("/api/v1/me/tax-certificates/2026.pdf", headers=AUTH), "attestation-fiscale-2026.pdf")
    assert billing_calls(services)[-1] == ("tax_certificate_pdf", (FAMILY_ID, "2026"))
    services.answers[("billing", "tax_certificate_pdf")] = remote("InvalidInput", "invalid_year", "L'année…")
    assert client.get("/api/v1/me/tax-certificates/demain.pdf", headers=AUTH).status_code == 400
    assert client.get("/api/v1/me/tax-certificates/2026.pdf", headers=as_(services, SCOLAIRE)).status_code == 403


def test_the_online_invoice_choice_is_checked_then_recorded_with_who_made_it(client, services):
    services.answers[("billing", "set_billing_preference")] = {
        "family_id": FAMILY_ID, "paperless": True, "delivery": "online", "changed_by": "parent:acc-1",
        "changed_at": "2026-12-02T09:00:00+00:00", "applies_from": "next_run"}
    for bad in ({}, {"paperless": "oui"}, {"paperless": True, "family_id": "autre"}):
        response = client.put("/api/v1/me/billing-preferences", json=bad, headers=as_(services, PARENT))
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
    assert billing_calls(services) == []
    response = client.put("/api/v1/me/billing-preferences", json={"paperless": True}, headers=AUTH)
    assert response.status_code == 200 and response.get_json() == {
        "paperless": True, "delivery": "online", "changed_at": "2026-12-02T09:00:00+00:00", "applies_from": "next_run"}
    assert billing_calls(services) == [("set_billing_preference", (FAMILY_ID, True, "parent:acc-1"))]
    assert client.put("/api/v1/me/billing-preferences", json={"paperless": False},
                      headers=as_(services, SCOLAIRE)).status_code == 403


def page_answer(paperless=False):
    return {"preference": {"paperless": paperless, "delivery": "online" if paperless else "paper",
                           "changed_at": None, "changed_by": None, "applies_from": "next_run"},
            "tax_certificate_years": [2026],
            "payments": [{"id": "pay-1", "invoice_id": "inv-1", "invoice_number": "AS-2026-000001",
                          "regie": "affaires_scolaires", "period": "2026-11", "method": "cheque", "amount_cents": 1250,
                          "received_at": "2026-12-02T09:00:00+00:00"}]}


def test_the_facturation_page_shows_the_choice_the_certificates_and_the_receipts(client, services):
    log_in_as(client, services, WEB_PARENT)
    services.answers[("billing", "vocabulary")] = VOCABULARY
    services.answers[("billing", "family_documents")] = page_answer()
    response = client.get("/mon-compte/facturation")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    assert "Aujourd'hui : <strong>Facture papier, envoyée par courrier</strong>" in page
    assert "/mon-compte/attestations-fiscales/2026.pdf" in page and "/mon-compte/paiements/pay-1/recu.pdf" in page
    assert "12,50\u00a0€" in page and "Chèque" in page
    services.answers[("billing", "set_billing_preference")] = page_answer(True)["preference"]
    response = post(client, "/mon-compte/facturation", {"paperless": "oui"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/mon-compte/facturation")
    assert billing_calls(services)[-1] == ("set_billing_preference", ("fam-1", True, "parent:acc-1"))
    response = post(client, "/mon-compte/facturation", {"paperless": "x" * 100_000})
    assert response.status_code == 400 and "Choisissez la facture en ligne" in html.unescape(response.get_data(as_text=True))


def test_a_parents_pdfs_on_the_pages_and_another_familys_is_404(client, services):
    log_in_as(client, services, WEB_PARENT)
    services.answers[("billing", "invoice_pdf")] = pdf_answer()
    assert_pdf(client.get("/mon-compte/factures/inv-1/facture.pdf"), "facture-AS-2026-000001.pdf")
    assert billing_calls(services)[-1] == ("invoice_pdf", ("inv-1", "fam-1"))
    services.answers[("billing", "invoice_pdf")] = remote("NotFound", "invoice_not_found", "Cette facture n'existe pas.")
    assert client.get("/mon-compte/factures/inv-2/facture.pdf").status_code == 404
    services.answers[("billing", "receipt_pdf")] = pdf_answer(filename="recu.pdf")
    assert_pdf(client.get("/mon-compte/paiements/pay-1/recu.pdf"), "recu.pdf")


def test_the_agents_paper_batch_page_and_the_other_regie(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("billing", "run_paper_pdf")] = pdf_answer(filename="factures-papier-AS-2026-11.pdf")
    assert_pdf(client.get("/agents/facturation/tournees/run-1/papier.pdf"), "factures-papier-AS-2026-11.pdf")
    services.answers[("billing", "run_paper_pdf")] = pdf_answer("petite_enfance", "factures-papier-PE-2026-11.pdf")
    assert client.get("/agents/facturation/tournees/run-1/papier.pdf").status_code == 403
    log_in_as(client, services, WEB_PARENT)
    assert client.get("/agents/facturation/tournees/run-1/papier.pdf").status_code == 403
