"""«Payer par carte» hands the browser to Paybox with the service's signed form (a page allowed to post to Paybox's
origin alone, with no inline script); a refusal is said on the invoice's page. The return page from Paybox only
informs: what the notification said, or «en cours de confirmation» that reloads itself; the variables in its URL are
ignored, and another family's payment is not found."""
import html
import re

import pytest

from .conftest import remote
from .test_api_billing import INVOICE, VOCABULARY
from .test_web_pages import PARENT, csrf_token, log_in_as

PARENT_WITH_EMAIL = {**PARENT, "email": "claire@example.org"}
FORM = {"id": "tx-1", "invoice_id": "inv-1", "amount_cents": 3240,
        "action_url": "https://preprod-tpeweb.paybox.com/cgi/MYchoix_pagepaiement.cgi",
        "fields": [["PBX_SITE", "1999888"], ["PBX_TOTAL", "3240"],
                   ["PBX_BILLING", '<?xml version="1.0" encoding="utf-8"?><Billing><Address>&</Address></Billing>'],
                   ["PBX_HMAC", "ABC123"]]}


def start(client, services, answer):
    log_in_as(client, services, PARENT_WITH_EMAIL)
    services.answers[("billing", "vocabulary")] = VOCABULARY
    services.answers[("billing", "invoice")] = {**INVOICE, "family_id": "fam-1"}
    services.answers[("payment", "start_card_payment")] = answer
    token = csrf_token(client, "/mon-compte/factures/inv-1")
    return client.post("/mon-compte/factures/inv-1/payer", data={"csrf_token": token})


def test_paying_by_card_renders_the_signed_form_posting_itself_to_paybox(client, services):
    answer = start(client, services, FORM)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "no-store" in answer.headers["Cache-Control"]
    assert [(m, a) for s, m, a, _ in services.calls if s == "payment"] == [
        ("start_card_payment", ("inv-1", "fam-1", "claire@example.org"))]
    form = re.search(r'<form method="post" action="([^"]+)" data-autosubmit>(.*?)</form>', text, re.S)
    assert form.group(1) == FORM["action_url"]
    fields = [tuple(html.unescape(v) for v in pair)
              for pair in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))]
    assert fields == [tuple(pair) for pair in FORM["fields"]]  # in the order signed, the XML intact
    assert "Continuer vers le paiement sécurisé" in form.group(2)  # without script, the parent clicks
    assert re.search(r'<script src="/static/js/autosubmit.js"></script>', text)
    assert "<script>" not in text
    policy = answer.headers["Content-Security-Policy"]
    assert "form-action 'self' https://preprod-tpeweb.paybox.com;" in policy and "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
    # Every other page keeps the strict policy.
    assert "paybox" not in client.get("/mon-compte/factures/inv-1").headers["Content-Security-Policy"]


@pytest.mark.parametrize("code, message", [
    ("invoice_paid", "Cette facture est déjà payée."),
    ("invoice_direct_debit", "Cette facture sera prélevée sur votre compte : elle ne se paie pas par carte.")])
def test_an_invoice_that_cannot_be_paid_by_card_says_why_on_its_page(client, services, code, message):
    answer = start(client, services, remote("Conflict", code, message))
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/mon-compte/factures/inv-1")
    shown = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert re.search(r'<div class="alert" role="alert">\s*<p>' + re.escape(message), shown)


def test_another_familys_invoice_cannot_be_paid_and_the_form_needs_its_token(client, services):
    assert start(client, services, remote("NotFound", "invoice_not_found", "Cette facture n'existe pas.")
                 ).status_code == 404
    assert client.post("/mon-compte/factures/inv-1/payer").status_code == 400  # no CSRF token
    assert [m for s, m, _, _ in services.calls if s == "payment"] == ["start_card_payment"]

PAYMENT = {"id": "tx-1", "invoice_id": "inv-1", "amount_cents": 4215, "status": "pending", "error_code": None,
           "message": "Paiement en cours de confirmation", "created_at": "2026-12-02T00:00:00+00:00", "paid_at": None}


def page(client, services, payment, query=""):
    log_in_as(client, services, PARENT)
    services.answers[("payment", "card_payment")] = payment
    return client.get(f"/mon-compte/paiements/tx-1{query}")


def test_before_the_notification_the_page_waits_and_reloads_itself(client, services):
    # Paybox's return variables in the URL (forgeable) say paid: the page still waits for the notification.
    answer = page(client, services, PAYMENT, "?Mt=4215&Ref=x&Erreur=00000&Sign=abc")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Paiement en cours de confirmation" in text and "42,15" in text
    assert answer.headers["Refresh"] == "4" and "no-store" in answer.headers["Cache-Control"]
    assert [(s, m, a) for s, m, a, _ in services.calls if s == "payment"] == [("payment", "card_payment",
                                                                              ("tx-1", "fam-1"))]


@pytest.mark.parametrize("status, message, title", [
    ("paid", "Paiement accepté.", "Paiement accepté"),
    ("refused", "Paiement refusé par le centre d'autorisation de votre banque : provision insuffisante.",
     "Paiement refusé"),
    ("cancelled", "Vous êtes resté plus de 15 minutes sur la page de paiement.", "Paiement abandonné")])
def test_after_the_notification_the_page_says_the_outcome(client, services, status, message, title):
    answer = page(client, services, {**PAYMENT, "status": status, "message": message,
                                     "error_code": "00151" if status == "refused" else None})
    text = answer.get_data(as_text=True)
    assert title in text and "Refresh" not in answer.headers
    assert 'href="/mon-compte/factures/inv-1"' in text  # back to the invoice, paid or still to pay
    if status == "refused":
        assert "provision insuffisante" in text and "00151" in text


def test_another_family_s_payment_is_404(client, services):
    answer = page(client, services, remote("NotFound", "card_payment_not_found", "Ce paiement n'existe pas."))
    assert answer.status_code == 404


def test_a_visitor_is_sent_to_log_in_first(client):
    answer = client.get("/mon-compte/paiements/tx-1")
    assert answer.status_code == 302 and "next=/mon-compte/paiements/tx-1" in answer.headers["Location"]


def test_billing_not_answering_the_payment_service_is_a_french_503_page(client, services):
    answer = start(client, services, remote("DependencyUnavailable", "billing_unavailable", "billing is slow"))
    assert answer.status_code == 503 and "ne répond pas pour le moment" in answer.get_data(as_text=True)


def test_junk_invoice_ids_are_cut_and_asked_as_they_are(client, services):
    log_in_as(client, services, PARENT_WITH_EMAIL)
    services.answers[("billing", "vocabulary")] = VOCABULARY
    services.answers[("billing", "invoice")] = {**INVOICE, "family_id": "fam-1"}
    services.answers[("payment", "start_card_payment")] = remote("NotFound", "invoice_not_found", "Inconnue.")
    token = csrf_token(client, "/mon-compte/factures/inv-1")
    answer = client.post("/mon-compte/factures/" + "é%00" * 30000 + "/payer", data={"csrf_token": token})
    assert answer.status_code == 404
    asked = [a for s, m, a, _ in services.calls if m == "start_card_payment"]
    assert len(asked) == 1 and len(asked[0][0]) == 64
