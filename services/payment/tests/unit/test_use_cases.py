"""The payment use cases on a migrated SQLite file, with fake billing and identity: starting a payment, Paybox's
notification (once, whatever comes), the server chosen, the reconciliation."""
import http.server
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from espace_common.clock import FixedClock
from espace_common.errors import Conflict, Forbidden, InvalidInput, NotFound
from espace_deploy.testing import SqliteUnits, migrated_sqlite
from payment import collaborators, orm, use_cases
from payment.policy import PaymentSettings

from .paybox_fakes import OTHER_KEY, PAYBOX_KEY, FakeBilling, FakePayers, notification, public_pem

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)
FAMILY = "fam-1"


def settings_for(tmp_path, **overrides):
    key_file = tmp_path / "paybox-test.pem"
    key_file.write_bytes(public_pem(PAYBOX_KEY))
    config = {"PAYBOX_SITE": "text:1999888", "PAYBOX_RANG": "text:32", "PAYBOX_IDENTIFIANT": "text:107904776",
              "PAYBOX_SECRET": "text:" + "0123456789ABCDEF" * 8, "PAYBOX_ENV": "sandbox",
              "PAYBOX_PUBLIC_KEY_FILE": str(key_file), "PUBLIC_URL": "http://localhost:8000", **overrides}
    return PaymentSettings.from_config(config)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    return migrated_sqlite("payment", tmp_path_factory.mktemp("payment-template"))


@pytest.fixture
def units(migrated, tmp_path):
    units = SqliteUnits(migrated, tmp_path / "payment.sqlite", orm.metadata, FixedClock(NOW))
    yield units
    units.dispose()


@pytest.fixture
def billing():
    return FakeBilling()


@pytest.fixture
def payments(units, billing, tmp_path):
    return use_cases.Payments(units, units.clock, settings_for(tmp_path), billing, FakePayers(),
                              collaborators.probe)


def count(units, table, *where):
    with units.engine.connect() as db:
        return db.execute(select(func.count()).select_from(table).where(*where)).scalar()


def events(units):
    with units.engine.connect() as db:
        return [row.payload for row in db.execute(select(orm.outbox).order_by(orm.outbox.c.position))]


def mails(units):
    with units.engine.connect() as db:
        return db.execute(select(orm.mail_outbox).order_by(orm.mail_outbox.c.position)).all()


def started(payments, billing, amount=1245):
    invoice_id = billing.add(f"inv-{len(billing.invoices)}", FAMILY, amount)
    form = payments.start_card_payment(invoice_id, FAMILY, "parent@example.fr")
    return form, dict(form["fields"])


def test_starting_a_payment_asks_the_balance_from_billing_and_records_a_transaction(payments, billing, units):
    form, fields = started(payments, billing, 4215)
    assert form["action_url"] == "http://127.0.0.1:8090/cgi/MYchoix_pagepaiement.cgi"
    assert fields["PBX_TOTAL"] == "4215" and fields["PBX_PORTEUR"] == "parent@example.fr"
    assert fields["PBX_CMD"].startswith("AS-2026-000001.")
    assert fields["PBX_REPONDRE_A"] == "http://localhost:8000/api/v1/paybox/notifications"
    assert fields["PBX_EFFECTUE"] == f"http://localhost:8000/mon-compte/paiements/{form['id']}"
    assert form["fields"][-1][0] == "PBX_HMAC" and "<City>Donges</City>" in fields["PBX_BILLING"]
    assert payments.card_payment(form["id"], FAMILY)["status"] == "pending"
    again = payments.start_card_payment("inv-0", FAMILY, "parent@example.fr")
    assert dict(again["fields"])["PBX_CMD"] != fields["PBX_CMD"]  # each attempt its own reference


@pytest.mark.parametrize("status, direct_debit, code", [("paid", False, "invoice_paid"),
                                                        ("cancelled", False, "invoice_cancelled"),
                                                        ("issued", True, "invoice_direct_debit")])
def test_an_invoice_that_cannot_be_paid_by_card_is_refused_with_a_reason(payments, billing, units, status,
                                                                         direct_debit, code):
    billing.add("inv-x", FAMILY, 1000 if status != "paid" else 0, status=status, direct_debit=direct_debit)
    with pytest.raises(Conflict) as refused:
        payments.start_card_payment("inv-x", FAMILY, "parent@example.fr")
    assert refused.value.code == code and count(units, orm.card_transactions) == 0


def test_another_family_s_invoice_is_not_found(payments, billing):
    billing.add("inv-x", "fam-2", 1000)
    with pytest.raises(NotFound):
        payments.start_card_payment("inv-x", FAMILY, "parent@example.fr")


def test_the_same_success_notified_three_times_is_one_payment_and_one_event(payments, billing, units):
    form, fields = started(payments, billing)
    query = notification(fields["PBX_CMD"], 1245)
    for _ in range(3):
        assert payments.handle_notification(query)["status"] == "paid"
    published = events(units)
    assert len(published) == 1 and published[0]["type"] == "succeeded"
    assert published[0]["data"]["transaction_id"] == form["id"]
    assert published[0]["data"]["invoice_id"] == "inv-0" and published[0]["data"]["amount_cents"] == 1245
    assert payments.card_payment(form["id"], FAMILY)["message"] == "Paiement accepté."
    [receipt] = mails(units)  # one receipt, however often Paybox calls
    assert receipt.recipient == "parent@example.fr" and "12,45" in receipt.subject
    assert "facture AS-2026-000001" in receipt.body and "le 2 décembre 2026 à 10 h 30" in receipt.body
    assert fields["PBX_CMD"] in receipt.body


def test_the_family_file_lists_the_receipts_mailed_to_the_family_without_their_body(payments, billing):
    form, fields = started(payments, billing)
    payments.handle_notification(notification(fields["PBX_CMD"], 1245))
    [listed] = payments.family_mails(["Parent@Example.fr", "autre@example.fr"])["mails"]
    assert listed["recipient"] == "parent@example.fr" and "12,45" in listed["subject"] and "body" not in listed
    assert payments.family_mails(["autre@example.fr"]) == {"mails": []}
    assert payments.family_mails([]) == {"mails": []} and payments.family_mails(["x" * 300, None]) == {"mails": []}


def test_a_refusal_is_recorded_with_its_french_meaning_and_publishes_nothing(payments, billing, units):
    form, fields = started(payments, billing)
    payments.handle_notification(notification(fields["PBX_CMD"], 1245, error="00151", auto=""))
    answer = payments.card_payment(form["id"], FAMILY)
    assert answer["status"] == "refused" and answer["error_code"] == "00151"
    assert "provision insuffisante" in answer["message"] and events(units) == [] and mails(units) == []
    # A later success of the same reference (the parent tried another card on Paybox's page) pays it.
    payments.handle_notification(notification(fields["PBX_CMD"], 1245))
    assert payments.card_payment(form["id"])["status"] == "paid" and len(events(units)) == 1
    payments.handle_notification(notification(fields["PBX_CMD"], 1245, error="00151"))  # never unpaid again
    assert payments.card_payment(form["id"])["status"] == "paid"


@pytest.mark.parametrize("make, refusal", [
    (lambda ref: notification(ref, 9999), InvalidInput),  # the amount is not the one asked
    (lambda ref: notification("AS-2026-999999.unknown", 1245), InvalidInput),  # not one of ours
    (lambda ref: notification(ref, 1245, key=OTHER_KEY), Forbidden),  # signed by someone else
    (lambda ref: notification(ref, 1245).rpartition("&")[0], Forbidden),  # no signature
    (lambda ref: notification(ref, 1245).replace("Mt=1245", "Mt=1246"), Forbidden),  # changed amount
    (lambda ref: notification(ref, 1245).replace(f"Ref={ref}", f"Ref={ref}x"), Forbidden),  # changed reference
])
def test_a_forged_or_mismatching_notification_is_refused_and_changes_nothing(payments, billing, units, make,
                                                                              refusal):
    form, fields = started(payments, billing)
    with pytest.raises(refusal):
        payments.handle_notification(make(fields["PBX_CMD"]))
    assert payments.card_payment(form["id"])["status"] == "pending" and events(units) == [] and mails(units) == []


def test_another_family_does_not_see_a_payment(payments, billing):
    form, _ = started(payments, billing)
    with pytest.raises(NotFound):
        payments.card_payment(form["id"], "fam-2")
    with pytest.raises(NotFound):
        payments.card_payment("x" * 5000)


def test_the_reconciliation_publishes_again_what_billing_never_heard_of(payments, billing, units):
    first, first_fields = started(payments, billing)
    second, second_fields = started(payments, billing)
    for fields in (first_fields, second_fields):
        payments.handle_notification(notification(fields["PBX_CMD"], 1245))
    billing.recorded[first["id"]] = {"state": "payment", "invoice_id": "inv-0", "amount_cents": 1245}
    report = payments.reconcile("agent-1")
    assert report["checked"] == 2 and [r["transaction_id"] for r in report["repaired"]] == [second["id"]]
    assert report["differences"] == []
    assert [e["data"]["transaction_id"] for e in events(units)] == [first["id"], second["id"], second["id"]]
    billing.recorded[second["id"]] = {"state": "anomaly", "invoice_id": "inv-1", "amount_cents": 1245}
    report = payments.reconcile()
    assert report["repaired"] == [] and [d["kind"] for d in report["differences"]] == ["anomaly"]


class Availability(http.server.BaseHTTPRequestHandler):
    page = '<html><body><div id="server_status">OK</div></body></html>'

    def do_GET(self):
        body = self.page.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Down(Availability):
    page = '<html><body><div id="server_status">KO</div></body></html>'


@pytest.fixture
def local_server():
    servers = []

    def start(handler):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/cgi/MYchoix_pagepaiement.cgi"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def production(units, billing, tmp_path, main, backup):
    settings = settings_for(tmp_path, PAYBOX_ENV="production", PAYBOX_MAIN_URL=main, PAYBOX_BACKUP_URL=backup,
                            PAYBOX_AVAILABILITY_TIMEOUT_S="1")
    return use_cases.Payments(units, units.clock, settings, billing, FakePayers(), collaborators.probe)


def test_the_main_server_when_it_says_ok(units, billing, tmp_path, local_server):
    main, backup = local_server(Availability), local_server(Availability)
    assert production(units, billing, tmp_path, main, backup).choose_server() == main


def test_the_backup_server_when_the_main_one_is_down_or_not_ok(units, billing, tmp_path, local_server):
    backup = local_server(Availability)
    closed = "http://127.0.0.1:9/cgi/MYchoix_pagepaiement.cgi"  # nothing listens on the discard port
    assert production(units, billing, tmp_path, closed, backup).choose_server() == backup
    assert production(units, billing, tmp_path, local_server(Down), backup).choose_server() == backup
