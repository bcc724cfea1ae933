"""The return page from Paybox only informs: what the notification said, or «en cours de confirmation» that
reloads itself; the variables in its URL are ignored, and another family's payment is not found."""
import pytest

from .conftest import remote
from .test_web_pages import PARENT, log_in_as

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
    if status == "refused":
        assert "provision insuffisante" in text and "00151" in text


def test_another_family_s_payment_is_404(client, services):
    answer = page(client, services, remote("NotFound", "card_payment_not_found", "Ce paiement n'existe pas."))
    assert answer.status_code == 404


def test_a_visitor_is_sent_to_log_in_first(client):
    answer = client.get("/mon-compte/paiements/tx-1")
    assert answer.status_code == 302 and "next=/mon-compte/paiements/tx-1" in answer.headers["Location"]
