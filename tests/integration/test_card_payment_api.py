"""A card payment through the whole suite: the gateway, the payment service, billing and the Paybox sandbox as a
real process. The parent's form is posted to the sandbox, the sandbox notifies the gateway, the invoice is paid
once; the refused card is recorded with its French meaning; a forged notification is 403."""
import time
import uuid
from datetime import date, datetime, timezone
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import insert

from billing import orm as billing_orm
from espace_common.db import create_database_engine
from espace_common.rpc_client import RpcClient
from espace_deploy.testing import pay_in_the_sandbox

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Brise-Marine-44!"


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def parent(suite):
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    tag = uuid.uuid4().hex[:6]
    family = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Claire", "last_name": f"Carte{tag}",
                             "address": {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480",
                                         "city": "Donges"}}],
        "children": [{"first_name": "Léa", "last_name": f"Carte{tag}", "birth_date": "2018-01-01"}]})
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    rpc.call("identity", "create_account", key, f"carte.{tag}", f"carte{tag}@example.org", PASSWORD)
    rpc.close()
    token = requests.post(f"{suite.url}/api/v1/auth/token", json={"username": f"carte.{tag}", "password": PASSWORD},
                          timeout=10).json()["access_token"]
    engine = create_database_engine(suite.database_urls["billing"])
    yield {"family_id": family["id"], "headers": {"Authorization": f"Bearer {token}"}, "engine": engine,
           "rpc": RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")}
    engine.dispose()


def issued_invoice(engine, family_id, total_cents, month):
    run_id, invoice_id, now = str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(timezone.utc)
    with engine.begin() as db:
        db.execute(insert(billing_orm.invoicing_runs).values(id=run_id, regie="petite_enfance", month=month,
                                                             status="final", done=1, total=1, started_at=now))
        db.execute(insert(billing_orm.invoices).values(
            id=invoice_id, run_id=run_id, family_id=family_id, regie="petite_enfance", period=month,
            number=f"PE-2026-{uuid.uuid4().int % 10**6:06d}", status="issued", total_cents=total_cents, paid_cents=0,
            credited_cents=0, balance_cents=total_cents, issued_on=date(2026, 12, 1), due_date=date(2026, 12, 31),
            created_at=now, finalized_at=now, direct_debit=False))
    return invoice_id


def card_payment(suite, parent, payment_id):
    return requests.get(f"{suite.url}/api/v1/card-payments/{payment_id}", headers=parent["headers"], timeout=10).json()


def test_the_test_card_pays_the_invoice_once(suite, parent):
    invoice_id = issued_invoice(parent["engine"], parent["family_id"], 4215, "2026-10")
    payment_id, back = pay_in_the_sandbox(suite, parent, invoice_id, "1111 2222 3333 4444")
    assert urlsplit(back).path == f"/mon-compte/paiements/{payment_id}"
    assert wait_for(lambda: card_payment(suite, parent, payment_id)["status"] == "paid")
    assert wait_for(lambda: parent["rpc"].call("billing", "invoice", invoice_id)["status"] == "paid")
    # The return's variables are signed like the notification: sent again to the notification route, they are a
    # valid duplicate, accepted and paying nothing twice.
    again = requests.get(f"{suite.url}/api/v1/paybox/notifications?{urlsplit(back).query}", timeout=10)
    assert again.status_code == 200
    time.sleep(1)
    assert len(parent["rpc"].call("billing", "invoice", invoice_id)["payments"]) == 1
    paid_again = requests.post(f"{suite.url}/api/v1/invoices/{invoice_id}/card-payments", headers=parent["headers"],
                               timeout=20)
    assert paid_again.status_code == 409 and paid_again.json()["code"] == "invoice_paid"


def test_the_return_before_the_notification_only_waits(suite, parent):
    invoice_id = issued_invoice(parent["engine"], parent["family_id"], 990, "2026-08")
    payment_id, back = pay_in_the_sandbox(suite, parent, invoice_id, "1111 2222 3333 4444", notify_count="0")
    # The browser is back with variables saying 00000; without the notification nothing is paid.
    assert "Erreur=00000" in back
    assert card_payment(suite, parent, payment_id)["status"] == "pending"
    assert parent["rpc"].call("billing", "invoice", invoice_id)["status"] == "issued"
    # Paybox's notification comes late (the same signed variables): now it is paid.
    late = requests.get(f"{suite.url}/api/v1/paybox/notifications?{urlsplit(back).query}", timeout=10)
    assert late.status_code == 200 and card_payment(suite, parent, payment_id)["status"] == "paid"
    assert wait_for(lambda: parent["rpc"].call("billing", "invoice", invoice_id)["status"] == "paid")


def test_the_refused_card_says_why_and_pays_nothing(suite, parent):
    invoice_id = issued_invoice(parent["engine"], parent["family_id"], 1245, "2026-09")
    payment_id, _ = pay_in_the_sandbox(suite, parent, invoice_id, "1111 2222 3333 4441")
    assert wait_for(lambda: card_payment(suite, parent, payment_id)["status"] == "refused")
    answer = card_payment(suite, parent, payment_id)
    assert answer["error_code"] == "00151" and "provision insuffisante" in answer["message"]
    assert parent["rpc"].call("billing", "invoice", invoice_id)["status"] == "issued"


def test_a_forged_notification_is_403_and_a_mismatching_one_400(suite, parent):
    forged = requests.get(f"{suite.url}/api/v1/paybox/notifications?Mt=100&Ref=X&Erreur=00000&Sign=abcd", timeout=10)
    assert forged.status_code == 403 and forged.json()["code"] == "bad_signature"
    assert requests.post(f"{suite.url}/api/v1/paybox/notifications", data="Mt=1", timeout=10).status_code == 403
    from espace_deploy import paybox_sandbox
    settings = paybox_sandbox.SandboxSettings.from_environ({})
    query = paybox_sandbox.returned_query("Mt:M;Ref:R;Erreur:E;Sign:K", {"M": "100", "R": "PE-NOT-OURS.1",
                                                                         "E": "00000"}, settings.private_key)
    unknown = requests.get(f"{suite.url}/api/v1/paybox/notifications?{query}", timeout=10)
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_reference"
