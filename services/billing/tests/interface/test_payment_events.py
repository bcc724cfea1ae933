"""Card payments reach billing as payment.succeeded events over the real broker: the same event delivered three
times is one payment and one billing.invoice_paid; one that cannot be applied is kept as an anomaly. Mandates and
the debit file answer over RPC too."""
import time
import uuid
from datetime import date, datetime, timezone

import pytest
from kombu import Connection, Exchange, Producer, Queue
from sqlalchemy import func, insert, select

from billing import orm
from espace_common.amqp import event_exchange
from espace_common.db import create_database_engine
from espace_common.rpc_client import RemoteError

pytestmark = pytest.mark.broker


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def billing(module_services):
    process = module_services.start("billing")
    engine = create_database_engine(process.database_url)
    yield process, engine
    engine.dispose()


def issued_invoice(engine, family_id, total_cents):
    """An issued invoice written straight into billing's tables (runs are tested in test_invoicing.py)."""
    run_id, invoice_id, now = str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(timezone.utc)
    with engine.begin() as db:
        db.execute(insert(orm.invoicing_runs).values(id=run_id, regie="affaires_scolaires", month="2026-11",
                                                     status="final", done=1, total=1, started_at=now))
        db.execute(insert(orm.invoices).values(
            id=invoice_id, run_id=run_id, family_id=family_id, regie="affaires_scolaires", period="2026-11",
            number=f"AS-2026-{uuid.uuid4().int % 10**6:06d}", status="issued", total_cents=total_cents, paid_cents=0,
            credited_cents=0, balance_cents=total_cents, issued_on=date(2026, 12, 1), due_date=date(2026, 12, 31),
            created_at=now, finalized_at=now, direct_debit=False))
    return invoice_id


def succeeded(transaction_id, invoice_id, amount_cents):
    return {"id": str(uuid.uuid4()), "source": "payment", "type": "succeeded",
            "occurred_at": datetime.now(timezone.utc).isoformat(),
            "data": {"transaction_id": transaction_id, "invoice_id": invoice_id, "amount_cents": amount_cents,
                     "paid_at": datetime.now(timezone.utc).isoformat()}}


def test_a_payment_event_delivered_three_times_is_one_payment(module_services, billing):
    process, engine = billing
    vhost = module_services.vhost
    assert wait_for(lambda: (vhost.queue("evt-payment-succeeded--billing.on_payment_succeeded") or {})
                    .get("consumers"))
    invoice_id = issued_invoice(engine, "fam-card", 1245)
    paid_events = Queue(f"test-invoice-paid-{uuid.uuid4()}", exchange=Exchange("billing.events", type="topic",
                                                                               durable=True),
                        routing_key="invoice_paid", durable=False, auto_delete=False)
    message = succeeded("paybox-000123", invoice_id, 1245)
    with Connection(vhost.amqp_uri) as connection:
        paid_events(connection.channel()).declare()
        producer = Producer(connection.channel(), exchange=event_exchange("payment"), serializer="json")
        for _ in range(3):  # the same event, delivered again and again: same id and transaction
            producer.publish(message, routing_key="succeeded", declare=[producer.exchange])
        # The same transaction in a new event (the payment service retried its publication) changes nothing either.
        producer.publish(dict(message, id=str(uuid.uuid4())), routing_key="succeeded")

        rpc = module_services.rpc
        assert wait_for(lambda: rpc.call("billing", "invoice", invoice_id)["status"] == "paid")
        assert wait_for(lambda: paid_events(connection.channel()).queue_declare(passive=True).message_count >= 1)
        time.sleep(1)  # a second payment or a second invoice_paid would show now
        invoice = rpc.call("billing", "invoice", invoice_id)
        assert [(p["method"], p["amount_cents"], p["external_id"]) for p in invoice["payments"]] == [
            ("card", 1245, "paybox-000123")]
        assert paid_events(connection.channel()).queue_declare(passive=True).message_count == 1
        got = paid_events(connection.channel()).get(no_ack=True)
        assert got.payload["data"]["invoice_id"] == invoice_id and got.payload["data"]["total_cents"] == 1245
        paid_events(connection.channel()).delete()


def test_a_card_payment_on_a_settled_invoice_is_kept_as_an_anomaly(module_services, billing):
    process, engine = billing
    invoice_id = issued_invoice(engine, "fam-over", 500)
    with Connection(module_services.vhost.amqp_uri) as connection:
        producer = Producer(connection.channel(), exchange=event_exchange("payment"), serializer="json")
        producer.publish(succeeded("paybox-over", invoice_id, 900), routing_key="succeeded",
                         declare=[producer.exchange])
    rpc = module_services.rpc
    assert wait_for(lambda: any(a["transaction_id"] == "paybox-over"
                                for a in rpc.call("billing", "payment_anomalies")["anomalies"]))
    anomaly = next(a for a in rpc.call("billing", "payment_anomalies")["anomalies"]
                   if a["transaction_id"] == "paybox-over")
    assert (anomaly["code"], anomaly["amount_cents"], anomaly["invoice_id"]) == ("overpayment", 900, invoice_id)
    assert rpc.call("billing", "invoice", invoice_id)["balance_cents"] == 500
    with engine.connect() as db:
        assert db.execute(select(func.count()).select_from(orm.payments)
                          .where(orm.payments.c.invoice_id == invoice_id)).scalar() == 0


def test_mandates_over_rpc(module_services, billing):
    rpc = module_services.rpc
    with pytest.raises(RemoteError) as refused:
        rpc.call("billing", "sign_mandate", "fam-rpc", "FR76" + "9" * 100_000, "Claire Martin", True)
    assert refused.value.code == "invalid_iban"
    signed = rpc.call("billing", "sign_mandate", "fam-rpc", "FR7630006000011234567890189", "Claire Martin", True,
                      "parent-1")
    assert signed["reference"] == "DONGES-FAMRPC-1" and signed["iban"] == "FR76 •••• •••• 0189"
    assert rpc.call("billing", "family_mandates", "fam-rpc")["active"]["id"] == signed["id"]
    assert "direct_debit" in rpc.call("billing", "vocabulary")
