"""The family's data in its hands (issue #12), billing's and payment's side, on migrated SQLite files: the export
holds the family's invoices, lines, payments, quotient, choice of the online invoice, mandates with the IBAN masked
but for its last four, the mails of its invoices, and nothing of another family's."""
import json
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import insert

from billing import export_use_cases, orm
from espace_common.clock import FixedClock
from espace_common.config import ConfigError
from espace_deploy.testing import SqliteUnits, migrated_sqlite
from payment import export_use_cases as payment_export
from payment import orm as payment_orm

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
IBAN = "FR7630006000011234567890189"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("billing-gdpr")
    return migrated_sqlite("billing", folder), migrated_sqlite("payment", folder)


@pytest.fixture
def units(migrated, tmp_path):
    units = SqliteUnits(migrated[0], tmp_path / "billing.sqlite", orm.metadata, FixedClock(NOW))
    yield units
    units.dispose()


@pytest.fixture
def payment_units(migrated, tmp_path):
    units = SqliteUnits(migrated[1], tmp_path / "payment.sqlite", payment_orm.metadata, FixedClock(NOW))
    yield units
    units.dispose()


def invoice(uow, family, number, total):
    uow.execute(insert(orm.invoices).values(
        id=f"inv-{number}", run_id="run-1", family_id=family, regie="affaires_scolaires", period="2026-11",
        number=number, status="issued", total_cents=total, paid_cents=0, credited_cents=0, balance_cents=total,
        issued_on=date(2026, 12, 1), due_date=date(2026, 12, 31), created_at=NOW, finalized_at=NOW))
    uow.execute(insert(orm.invoice_lines).values(invoice_id=f"inv-{number}", position=1, kind="meal",
                                                 label="Repas réservés", quantity="17", unit_price_cents=415,
                                                 amount_cents=total))


def test_billings_export_holds_the_familys_accounting_and_masks_the_iban(units):
    with units() as uow:
        uow.execute(insert(orm.invoicing_runs).values(id="run-1", regie="affaires_scolaires", month="2026-11",
                                                      status="final", started_at=NOW))
        invoice(uow, "fam-1", "AS-2026-000017", 7055)
        invoice(uow, "fam-2", "AS-2026-000018", 1234)
        uow.execute(insert(orm.family_resources).values(family_id="fam-1", valid_from=date(2026, 9, 1), quotient=654,
                                                        monthly_resources_cents=240000, dependent_children=2,
                                                        disability=False, recorded_at=NOW))
        uow.execute(insert(orm.billing_preferences).values(family_id="fam-1", paperless=True, changed_at=NOW))
        uow.execute(insert(orm.direct_debit_mandates).values(
            id="m-1", family_id="fam-1", reference="DONGES-000042-1", iban=IBAN, bic="AGRIFRPPXXX",
            holder="Hélène Lefèvre", signed_on=date(2026, 11, 2), signed_at=NOW, status="active",
            active_family_id="fam-1"))
        uow.execute(insert(orm.payments).values(id="p-1", invoice_id="inv-AS-2026-000017", method="cheque",
                                                amount_cents=2000, received_at=NOW))
        uow.send_mail("helene@example.org", "Votre facture AS-2026-000017 (novembre 2026) est disponible", "…")
        uow.send_mail("paul@example.org", "Votre facture AS-2026-000018 (novembre 2026) est disponible", "…")
        uow.commit()
    answer = export_use_cases.family_export(units, "fam-1")
    text = json.dumps(answer, ensure_ascii=False)
    assert [i["number"] for i in answer["invoices"]] == ["AS-2026-000017"]
    assert answer["invoice_lines"][0]["quantity"] == "17" and answer["invoice_lines"][0]["amount_cents"] == 7055
    assert answer["payments"][0]["method"] == "Chèque" and answer["resources"][0]["quotient"] == 654
    assert answer["billing_preference"][0]["paperless"] is True
    assert answer["mandates"][0]["iban"] == "•••• 0189" and IBAN not in text and "300060000112345678" not in text
    assert [m["recipient"] for m in answer["mails"]] == ["helene@example.org"]
    assert "AS-2026-000018" not in text and "paul@" not in text and "fam-2" not in text
    assert export_use_cases.family_export(units, "x" * 100_000)["invoices"] == []
    assert export_use_cases.personal_data({})["retention"][0]["purged"] is False


def test_payments_export_holds_the_familys_card_payments_and_receipts_only(payment_units):
    with payment_units() as uow:
        for family, email, ref in (("fam-1", "helene@example.org", "R1"), ("fam-2", "paul@example.org", "R2")):
            uow.execute(insert(payment_orm.card_transactions).values(
                id=f"t-{ref}", reference=ref, invoice_id="inv-1", invoice_number="AS-2026-000017", family_id=family,
                amount_cents=7055, payer_email=email, server_url="https://tpeweb.paybox.com", status="paid",
                created_at=NOW, paid_at=NOW))
            uow.send_mail(email, "Reçu de votre paiement", "…")
        uow.commit()
    answer = payment_export.family_export(payment_units, "fam-1")
    text = json.dumps(answer, ensure_ascii=False)
    assert [t["reference"] for t in answer["card_transactions"]] == ["R1"]
    assert [m["recipient"] for m in answer["mails"]] == ["helene@example.org"]
    assert "paul@" not in text and "server_url" not in text and "paybox.com" not in text


def test_a_retention_that_is_not_a_number_of_days_stops_billing_and_payment():
    from billing.domain_gdpr import retention_from_config as billing_retention
    from payment.domain_gdpr import retention_from_config as payment_retention
    with pytest.raises(ConfigError):
        billing_retention({"BILLING_RETENTION_DAYS": "dix ans"})
    with pytest.raises(ConfigError):
        payment_retention({"PAYMENT_RETENTION_DAYS": "0"})
