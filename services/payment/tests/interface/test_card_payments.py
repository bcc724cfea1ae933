"""Card payments with real processes (identity, billing, payment) over the real broker: Paybox's notification
(signed here with the sandbox's key, which the local settings trust) pays the invoice once however often it comes,
forged ones change nothing, a notification while billing is stopped pays the invoice once billing is back, and the
reconciliation repairs a payment billing never heard of."""
import base64
import itertools
import time
import uuid
from datetime import date, datetime, timezone
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import func, insert, select

from billing import orm as billing_orm
from espace_common.db import create_database_engine
from espace_common.rpc_client import RemoteError
from espace_deploy.paybox_settings import KEYS
from payment import orm as payment_orm

pytestmark = pytest.mark.broker

SANDBOX_KEY = load_pem_private_key((KEYS / "private.pem").read_bytes(), password=None)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FAMILY = {"request_id": "payment-interface-family", "representatives": [
    {"first_name": "Claire", "last_name": "Martin", "email": "claire.martin@example.org",
     "address": {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"}}],
    "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}]}


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def signed(reference, amount_cents, error="00000", key=SANDBOX_KEY):
    query = f"Mt={amount_cents}&Ref={quote(reference, safe='')}&Auto=123456&Erreur={error}&Trans=1&Appel=2"
    signature = key.sign(query.encode("ascii"), padding.PKCS1v15(), hashes.SHA1())
    return f"{query}&Sign={quote(base64.b64encode(signature).decode('ascii'), safe='')}"


@pytest.fixture(scope="module")
def suite(module_services):
    module_services.start("identity", wait=False)
    billing = module_services.start("billing", wait=False)
    payment = module_services.start("payment", wait=False)
    module_services.wait_healthy()
    family = module_services.rpc.call("identity", "register_family", FAMILY, timeout=30)
    engines = {"billing": create_database_engine(billing.database_url),
               "payment": create_database_engine(payment.database_url)}
    yield module_services, family["id"], engines
    for engine in engines.values():
        engine.dispose()


MONTHS = (f"{year}-{month:02d}" for year, month in itertools.product(range(2020, 2030), range(1, 13)))


def issued_invoice(engine, family_id, total_cents):
    """An issued invoice written straight into billing's tables (runs are tested in billing's own tests); one
    month each, since a family has one invoice per régie and month."""
    run_id, invoice_id, now = str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(timezone.utc)
    month = next(MONTHS)
    with engine.begin() as db:
        db.execute(insert(billing_orm.invoicing_runs).values(id=run_id, regie="affaires_scolaires", month=month,
                                                             status="final", done=1, total=1, started_at=now))
        db.execute(insert(billing_orm.invoices).values(
            id=invoice_id, run_id=run_id, family_id=family_id, regie="affaires_scolaires", period=month,
            number=f"AS-2026-{uuid.uuid4().int % 10**6:06d}", status="issued", total_cents=total_cents, paid_cents=0,
            credited_cents=0, balance_cents=total_cents, issued_on=date(2026, 12, 1), due_date=date(2026, 12, 31),
            created_at=now, finalized_at=now, direct_debit=False))
    return invoice_id


def card_payments(engine, invoice_id):
    with engine.connect() as db:
        return db.execute(select(func.count()).select_from(billing_orm.payments)
                          .where(billing_orm.payments.c.invoice_id == invoice_id)).scalar()


def started(services, family_id, engines, total_cents=1245):
    invoice_id = issued_invoice(engines["billing"], family_id, total_cents)
    form = services.rpc.call("payment", "start_card_payment", invoice_id, family_id, "claire.martin@example.org")
    return invoice_id, form, dict(form["fields"])


def test_the_form_of_an_invoice_s_balance(suite):
    services, family_id, engines = suite
    invoice_id, form, fields = started(services, family_id, engines, 4215)
    assert fields["PBX_TOTAL"] == "4215" and form["fields"][-1][0] == "PBX_HMAC"
    assert "<LastName>Martin</LastName>" in fields["PBX_BILLING"] and "<City>Donges</City>" in fields["PBX_BILLING"]
    with pytest.raises(RemoteError) as refused:
        services.rpc.call("payment", "start_card_payment", invoice_id, "another-family", "x@example.org")
    assert refused.value.exc_type == "NotFound"


def test_a_notification_three_times_is_one_payment(suite):
    services, family_id, engines = suite
    invoice_id, form, fields = started(services, family_id, engines)
    for _ in range(3):
        assert services.rpc.call("payment", "handle_notification", signed(fields["PBX_CMD"], 1245))["status"] == "paid"
    assert wait_for(lambda: services.rpc.call("billing", "invoice", invoice_id)["status"] == "paid")
    time.sleep(1)  # a second payment would show now
    assert card_payments(engines["billing"], invoice_id) == 1
    with engines["payment"].connect() as db:
        assert db.execute(select(func.count()).select_from(payment_orm.outbox).where(
            payment_orm.outbox.c.payload["data"]["transaction_id"].as_string() == form["id"])).scalar() == 1
        receipts = db.execute(select(payment_orm.mail_outbox.c.body).where(
            payment_orm.mail_outbox.c.body.contains(fields["PBX_CMD"]))).all()
    assert len(receipts) == 1  # the payer's receipt, once


@pytest.mark.parametrize("forge, kind", [
    (lambda ref: signed(ref, 1300), "InvalidInput"), (lambda ref: signed(ref + "x", 1245), "InvalidInput"),
    (lambda ref: signed(ref, 1245, key=OTHER_KEY), "Forbidden"), (lambda ref: signed(ref, 1245)
                                                                  .rpartition("&")[0], "Forbidden")])
def test_forged_notifications_change_nothing(suite, forge, kind):
    services, family_id, engines = suite
    invoice_id, form, fields = started(services, family_id, engines)
    with pytest.raises(RemoteError) as refused:
        services.rpc.call("payment", "handle_notification", forge(fields["PBX_CMD"]))
    assert refused.value.exc_type == kind
    assert services.rpc.call("payment", "card_payment", form["id"])["status"] == "pending"
    assert card_payments(engines["billing"], invoice_id) == 0


def test_billing_stopped_when_the_notification_arrives_pays_once_it_is_back(suite):
    services, family_id, engines = suite
    invoice_id, form, fields = started(services, family_id, engines)
    billing = services.processes["billing"]
    billing.stop()
    try:
        assert services.rpc.call("payment", "handle_notification", signed(fields["PBX_CMD"], 1245))["status"] == "paid"
        assert card_payments(engines["billing"], invoice_id) == 0
    finally:
        billing.start()
    assert wait_for(lambda: services.rpc.call("billing", "invoice", invoice_id)["status"] == "paid")
    assert card_payments(engines["billing"], invoice_id) == 1


def test_the_reconciliation_repairs_a_payment_billing_never_heard_of(suite):
    services, family_id, engines = suite
    invoice_id = issued_invoice(engines["billing"], family_id, 800)
    lost = str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    with engines["payment"].begin() as db:  # paid, but its event never left (as if the outbox row were lost)
        db.execute(insert(payment_orm.card_transactions).values(
            id=lost, reference=f"LOST.{lost[:8]}", invoice_id=invoice_id, family_id=family_id, amount_cents=800,
            payer_email="claire.martin@example.org", server_url="http://sandbox", status="paid", error_code="00000",
            message="Paiement accepté.", created_at=now, notified_at=now, paid_at=now))
    report = services.rpc.call("payment", "reconcile", "agent-1", timeout=30)
    assert [r["transaction_id"] for r in report["repaired"]] == [lost]
    assert wait_for(lambda: services.rpc.call("billing", "invoice", invoice_id)["status"] == "paid")
    assert services.rpc.call("payment", "reconcile", timeout=30)["repaired"] == []
