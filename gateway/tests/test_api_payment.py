"""Card payments through the gateway with fake services: a parent starts one, reads it; Paybox's notification
reaches the payment service as received (no session, no CSRF, no token); an admin reconciles."""
import pytest

from .conftest import remote
from .test_api_identity import ADMIN, FAMILY_ID, PARENT, SCOLAIRE, as_

PARENT_WITH_EMAIL = {**PARENT, "email": "lea@example.fr"}
FORM = {"id": "tx-1", "invoice_id": "inv-1", "amount_cents": 1245, "action_url": "https://paybox.example/cgi",
        "fields": [["PBX_SITE", "1999888"], ["PBX_HMAC", "ABC"]]}
PAYMENT = {"id": "tx-1", "invoice_id": "inv-1", "amount_cents": 1245, "status": "refused", "error_code": "00151",
           "message": "Paiement refusé…", "created_at": "2026-12-02T00:00:00+00:00", "paid_at": None}
SIGNED = "Mt=1245&Ref=AS-2026-000001.abc&Auto=XXXXXX&Erreur=00000&Trans=1&Appel=2&Sign=ab%2Bc%3D"


def payment_calls(services, method):
    return [args for service, name, args, _ in services.calls if service == "payment" and name == method]


def test_a_parent_starts_a_card_payment_of_their_family_s_invoice(client, services):
    services.answers[("payment", "start_card_payment")] = FORM
    answer = client.post("/api/v1/invoices/inv-1/card-payments", headers=as_(services, PARENT_WITH_EMAIL))
    assert answer.status_code == 201 and answer.json["fields"][-1] == ["PBX_HMAC", "ABC"]
    assert answer.headers["Location"] == "/api/v1/card-payments/tx-1"
    assert payment_calls(services, "start_card_payment") == [("inv-1", FAMILY_ID, "lea@example.fr")]


@pytest.mark.parametrize("kind, status", [("Conflict", 409), ("NotFound", 404)])
def test_an_invoice_that_cannot_be_paid_answers_its_reason(client, services, kind, status):
    services.answers[("payment", "start_card_payment")] = remote(kind, "invoice_paid", "Cette facture est déjà payée.")
    answer = client.post("/api/v1/invoices/inv-1/card-payments", headers=as_(services, PARENT_WITH_EMAIL))
    assert answer.status_code == status and answer.json["code"] == "invoice_paid"


def test_an_agent_cannot_start_a_parent_s_payment(client, services):
    answer = client.post("/api/v1/invoices/inv-1/card-payments", headers=as_(services, SCOLAIRE))
    assert answer.status_code == 403 and payment_calls(services, "start_card_payment") == []


def test_a_parent_reads_a_card_payment_of_their_family(client, services):
    services.answers[("payment", "card_payment")] = PAYMENT
    answer = client.get("/api/v1/card-payments/tx-1", headers=as_(services, PARENT))
    assert answer.json == {key: PAYMENT[key] for key in ("id", "invoice_id", "amount_cents", "status",
                                                         "error_code", "message")}
    assert payment_calls(services, "card_payment") == [("tx-1", FAMILY_ID)]
    assert "no-store" in answer.headers["Cache-Control"]


def test_paybox_s_notification_reaches_the_service_exactly_as_received(client, services):
    services.answers[("payment", "handle_notification")] = {**PAYMENT, "status": "paid", "accepted": True}
    assert client.get(f"/api/v1/paybox/notifications?{SIGNED}").status_code == 200
    answer = client.post("/api/v1/paybox/notifications", data=SIGNED,
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200 and answer.json == {"accepted": True, "status": "paid"}
    assert payment_calls(services, "handle_notification") == [(SIGNED, "GET"), (SIGNED, "POST")]


@pytest.mark.parametrize("kind, status", [("Forbidden", 403), ("InvalidInput", 400)])
def test_a_refused_notification_answers_403_or_400(client, services, kind, status):
    services.answers[("payment", "handle_notification")] = remote(kind, "bad_signature", "Signature invalide.")
    assert client.get(f"/api/v1/paybox/notifications?{SIGNED}").status_code == status


def test_non_ascii_bytes_are_passed_as_an_unsigned_notification(client, services):
    services.answers[("payment", "handle_notification")] = remote("Forbidden", "bad_signature", "Signature invalide.")
    answer = client.post("/api/v1/paybox/notifications", data="Mt=é".encode("latin-1"),
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 403 and payment_calls(services, "handle_notification") == [("", "POST")]


def test_only_an_admin_reconciles(client, services):
    services.answers[("payment", "reconcile")] = {"checked": 2, "repaired": [], "differences": []}
    assert client.post("/api/v1/payments/reconciliations", headers=as_(services, SCOLAIRE)).status_code == 403
    answer = client.post("/api/v1/payments/reconciliations", headers=as_(services, ADMIN))
    assert answer.status_code == 200 and answer.json["checked"] == 2
    assert payment_calls(services, "reconcile") == [("agent-admin",)]


def test_billing_not_answering_the_payment_service_is_a_503(client, services):
    from espace_common.rpc_client import RemoteError
    services.answers[("payment", "start_card_payment")] = RemoteError.from_reply(
        "payment", {"exc_type": "DependencyUnavailable", "value": "billing"})
    answer = client.post("/api/v1/invoices/inv-1/card-payments", headers=as_(services, PARENT_WITH_EMAIL))
    assert answer.status_code == 503 and answer.json["code"] == "service_unavailable"
