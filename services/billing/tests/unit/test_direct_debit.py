"""Direct debit on a real migrated SQLite file with a fixed clock: IBANs refused with a reason, mandates, invoices of
mandate holders not payable by card, the pain.008.001.02 file validated against the official XSD, a rejection that
puts the invoice back to pay, and card payment events recorded once (no broker: tests/interface has the broker)."""
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree as etree

import pytest
import sepaxml
import xmlschema
from sqlalchemy import func, insert, select

from billing import debits, orm, use_cases
from billing.debit_use_cases import DebitSettings, DirectDebits
from espace_common.clock import FixedClock
from espace_common.errors import Conflict, InvalidInput, NotFound
from espace_deploy.testing import SqliteUnits, migrated_sqlite

SETTINGS = use_cases.BillingSettings(due_days=30)
DEBIT_SETTINGS = DebitSettings.from_config({})
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=SETTINGS.zone)
AGENT = "agent-1"
MARTIN, DUPONT = "fam-martin", "fam-dupont"
IBAN = "FR76 3000 6000 0112 3456 7890 189"  # a valid French IBAN (Crédit Agricole's bank code)
OTHER_IBAN = "DE89370400440532013000"
GRID = {"from": "2026-09-01", "unreserved_meal_price_cents": 410, "pai_meal_price_cents": 120,
        "brackets": [{"quotient_max": None, "meal_price_cents": 415}]}
XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    return migrated_sqlite("billing", tmp_path_factory.mktemp("billing-template"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def units(migrated, tmp_path, clock):
    units = SqliteUnits(migrated, tmp_path / "billing.sqlite", orm.metadata, clock)
    yield units
    units.dispose()


class Facts:
    def __init__(self):
        self.meals = []

    def __call__(self, regie, month):
        return [f for f in self.meals if f["month"] == month] if regie == "affaires_scolaires" else []

    def add(self, family_id, child_id, days, month):
        self.meals.append({"family_id": family_id, "child_id": child_id, "month": month,
                           "reserved": [f"{month}-{d:02d}" for d in days], "eaten_without_reservation": [],
                           "absent_justified": [], "absent_unjustified": []})


@pytest.fixture
def facts():
    return Facts()


@pytest.fixture
def billing(units, clock, facts):
    billing = use_cases.Billing(units, clock, SETTINGS, facts)
    billing.add_tariff_grid("affaires_scolaires", GRID, AGENT)
    return billing


@pytest.fixture
def dd(units, clock, billing):
    return DirectDebits(units, clock, DEBIT_SETTINGS, billing)


def invoice_month(billing, facts, month, meals_by_family):
    """Bill a month (4,15 € a meal) and finalise it; answers each family's invoice."""
    for family_id, count in meals_by_family.items():
        facts.add(family_id, f"child-{family_id}", range(1, count + 1), month)
    run = billing.run_now("affaires_scolaires", month, AGENT)
    final = billing.finalize_run(run["id"], AGENT)
    return {i["family_id"]: i for i in final["invoices"]}


def count(units, table):
    with units(read_only=True) as uow:
        return uow.execute(select(func.count()).select_from(table)).scalar()


# --- IBAN ----------------------------------------------------------------------------------------------------

def test_a_valid_iban_is_read_as_a_person_types_it():
    account = debits.parse_iban(" fr76 3000 6000 0112 3456 7890 189 ")
    assert account == debits.Account("FR7630006000011234567890189", "AGRIFRPPXXX")
    assert debits.mask_iban(account.iban) == "FR76 •••• •••• 0189"


@pytest.mark.parametrize("bad, words", [
    ("FR7630006000011234567890188", "clé de contrôle"),  # one digit changed
    ("FR763000600001123456789018", "longueur"),  # one character missing
    ("XX7630006000011234567890189", "code de pays"),
    ("FR76\x00\x0130006000\xff", "deux lettres"),  # junk bytes
    ("FR76 3000 6000 0112 3456 7890 18é", "deux lettres"),
    ("F" * 100_000, "au plus 34"),
    ("", "Saisissez"),
    (None, "Saisissez"),
    (7630006000, "Saisissez"),
    ("BR1800360305000010009795493C1", "zone SEPA"),  # a valid Brazilian IBAN, outside SEPA
])
def test_a_bad_iban_is_refused_with_a_reason_and_nothing_is_stored(dd, units, bad, words):
    with pytest.raises(InvalidInput) as refused:
        dd.sign_mandate(MARTIN, bad, "Claire Martin", True, "parent-1")
    assert refused.value.code in ("invalid_iban", "iban_outside_sepa") and words in refused.value.message
    assert count(units, orm.direct_debit_mandates) == 0


@pytest.mark.parametrize("holder", ["", "   ", "x" * 71, "Claire\x00Martin", None, "日本語"])
def test_a_bad_holder_is_refused(dd, units, holder):
    with pytest.raises(InvalidInput) as refused:
        dd.sign_mandate(MARTIN, IBAN, holder, True)
    assert refused.value.code == "invalid_holder"
    assert count(units, orm.direct_debit_mandates) == 0


def test_a_mandate_is_accepted_or_not_signed(dd, units):
    with pytest.raises(InvalidInput) as refused:
        dd.sign_mandate(MARTIN, IBAN, "Claire Martin", False)
    assert refused.value.code == "mandate_not_accepted" and count(units, orm.direct_debit_mandates) == 0


# --- Mandates --------------------------------------------------------------------------------------------------

def test_a_mandate_has_a_unique_reference_and_shows_its_iban_masked(dd):
    signed = dd.sign_mandate(MARTIN, IBAN, "  Claire   Martin ", True, "parent-1")
    assert signed["created"] and signed["reference"] == "DONGES-FAMMARTIN-1"
    assert (signed["iban"], signed["bic"], signed["holder"], signed["signed_on"]) == (
        "FR76 •••• •••• 0189", "AGRIFRPPXXX", "Claire Martin", "2026-12-02")
    again = dd.sign_mandate(MARTIN, IBAN.replace(" ", ""), "Claire Martin", True, "parent-1")
    assert not again["created"] and again["id"] == signed["id"]  # a retried form signs nothing twice
    with pytest.raises(Conflict) as refused:
        dd.sign_mandate(MARTIN, OTHER_IBAN, "Claire Martin", True)
    assert refused.value.code == "mandate_exists"

    revoked = dd.revoke_mandate(MARTIN, "parent-1")
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    with pytest.raises(NotFound):
        dd.revoke_mandate(MARTIN)
    second = dd.sign_mandate(MARTIN, OTHER_IBAN, "Claire Martin", True)
    assert second["reference"] == "DONGES-FAMMARTIN-2" and second["bic"] == "COBADEFFXXX"
    seen = dd.family_mandates(MARTIN)
    assert seen["active"]["id"] == second["id"] and len(seen["mandates"]) == 2
    assert all("•" in m["iban"] for m in seen["mandates"])
    assert dd.family_mandates(DUPONT) == {"active": None, "mandates": []}


# --- Invoices under direct debit, the file, rejections ---------------------------------------------------------

def test_an_invoice_of_a_mandate_holder_is_debited_not_paid_by_card(dd, billing, facts):
    dd.sign_mandate(MARTIN, IBAN, "Claire Martin", True)
    invoices = invoice_month(billing, facts, "2026-11", {MARTIN: 3, DUPONT: 2})
    assert (invoices[MARTIN]["direct_debit"], invoices[MARTIN]["payable_by_card"]) == (True, False)
    assert (invoices[DUPONT]["direct_debit"], invoices[DUPONT]["payable_by_card"]) == (False, True)
    assert billing.family_invoices(MARTIN)["invoices"][0]["payable_by_card"] is False


def test_the_debit_file_is_a_valid_pain_008_and_sends_each_debit_once(dd, billing, facts, units, clock):
    dd.sign_mandate(MARTIN, IBAN, "Hélène Martin-Dupré", True)
    dd.sign_mandate(DUPONT, OTHER_IBAN, "Tom Dupont", True)
    invoices = invoice_month(billing, facts, "2026-11", {MARTIN: 3, DUPONT: 2})
    martin, dupont = invoices[MARTIN], invoices[DUPONT]
    billing.record_payment(dupont["id"], "cash", 100, AGENT)  # only the balance is debited

    answer = dd.debit_file("affaires_scolaires", "2026-11", AGENT)
    assert answer["created"] and answer["count"] == 2 and answer["total_cents"] == 3 * 415 + 2 * 415 - 100
    document = answer["xml"].encode("utf-8")
    xmlschema.XMLSchema(str(XSD)).validate(document)  # the official schema, as sepaxml ships it
    tree = etree.fromstring(document)
    assert tree.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert tree.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "19.75"
    assert tree.findtext(".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS) == "FR12ZZZ123456"
    assert tree.findtext(".//p:Cdtr/p:Nm", namespaces=NS) == "Commune de Donges"
    lines = {tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): tx
             for tx in tree.iterfind(".//p:DrctDbtTxInf", namespaces=NS)}
    assert set(lines) == {martin["number"], dupont["number"]}
    first = lines[martin["number"]]
    assert first.findtext("p:InstdAmt", namespaces=NS) == "12.45"
    assert first.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "FR7630006000011234567890189"
    assert first.findtext(".//p:MndtRltdInf/p:MndtId", namespaces=NS) == "DONGES-FAMMARTIN-1"
    assert first.findtext(".//p:MndtRltdInf/p:DtOfSgntr", namespaces=NS) == "2026-12-02"
    assert first.findtext("p:Dbtr/p:Nm", namespaces=NS) == "Helene Martin-Dupre"  # the SEPA charset
    assert lines[dupont["number"]].findtext("p:InstdAmt", namespaces=NS) == "7.30"
    assert [e.text for e in tree.iterfind(".//p:PmtTpInf/p:SeqTp", namespaces=NS)] == ["FRST"]
    assert tree.findtext(".//p:ReqdColltnDt", namespaces=NS) == martin["due_date"]

    paid = billing.invoice(martin["id"])
    assert (paid["status"], paid["balance_cents"]) == ("paid", 0)
    assert [(p["method"], p["amount_cents"]) for p in paid["payments"]] == [("direct_debit", 1245)]
    with units(read_only=True) as uow:
        events = [row.payload for row in uow.execute(select(orm.outbox)) if row.event_type == "invoice_paid"]
    assert sorted(e["data"]["invoice_id"] for e in events) == sorted([martin["id"], dupont["id"]])

    clock.advance(hours=2)
    again = dd.debit_file("affaires_scolaires", "2026-11", AGENT)
    assert not again["created"] and again["xml"] == answer["xml"]
    assert count(units, orm.payments) == 3 and count(units, orm.debit_files) == 1

    # December: the mandates were debited once, so their next debit is recurrent.
    clock.advance(days=31)
    december = invoice_month(billing, facts, "2026-12", {MARTIN: 1})
    tree = etree.fromstring(dd.debit_file("affaires_scolaires", "2026-12", AGENT)["xml"].encode())
    assert [e.text for e in tree.iterfind(".//p:PmtTpInf/p:SeqTp", namespaces=NS)] == ["RCUR"]
    assert december[MARTIN]["payable_by_card"] is False


def test_no_debit_no_file(dd, billing, facts):
    invoice_month(billing, facts, "2026-11", {DUPONT: 2})
    with pytest.raises(NotFound) as refused:
        dd.debit_file("affaires_scolaires", "2026-11")
    assert refused.value.code == "no_debits"
    for month in ("2026-13", "november", "x" * 100_000, None):
        with pytest.raises(InvalidInput):
            dd.debit_file("affaires_scolaires", month)


def test_a_rejected_debit_puts_the_invoice_back_to_pay(dd, billing, facts, units):
    dd.sign_mandate(MARTIN, IBAN, "Claire Martin", True)
    martin = invoice_month(billing, facts, "2026-11", {MARTIN: 3})[MARTIN]
    with pytest.raises(Conflict) as refused:
        dd.reject_debit(martin["id"], "AM04", AGENT)
    assert refused.value.code == "debit_not_sent"
    dd.debit_file("affaires_scolaires", "2026-11", AGENT)
    rows_before = count(units, orm.payments)

    rejected = dd.reject_debit(martin["id"], "AM04 provision insuffisante", AGENT)
    invoice = rejected["invoice"]
    assert (invoice["status"], invoice["balance_cents"], invoice["payable_by_card"]) == ("issued", 1245, True)
    assert rejected["debit"]["status"] == "rejected" and rejected["created"]
    again = dd.reject_debit(martin["id"], "AM04 provision insuffisante", AGENT)
    assert not again["created"] and again["invoice"]["balance_cents"] == 1245
    assert count(units, orm.payments) == rows_before  # nothing deleted
    assert dd.month_debits("affaires_scolaires", "2026-11")["debits"][0]["status"] == "rejected"
    # The rejected debit is not re-sent; the parent pays by card, which the invoice accepts again.
    with pytest.raises(NotFound):
        dd.debit_file("affaires_scolaires", "2026-12")
    paid = billing.record_payment(martin["id"], "card", 1245, external_id="paybox-1")
    assert paid["invoice"]["status"] == "paid"
    with pytest.raises(InvalidInput):
        dd.reject_debit(martin["id"], "", AGENT)
    with pytest.raises(NotFound):
        dd.reject_debit("nope", "AM04", AGENT)


def test_revoking_before_the_file_makes_the_invoice_payable_by_card(dd, billing, facts):
    dd.sign_mandate(MARTIN, IBAN, "Claire Martin", True)
    martin = invoice_month(billing, facts, "2026-11", {MARTIN: 3})[MARTIN]
    dd.revoke_mandate(MARTIN, "parent-1")
    assert billing.invoice(martin["id"])["payable_by_card"] is True
    with pytest.raises(NotFound):
        dd.debit_file("affaires_scolaires", "2026-11")
    assert dd.month_debits("affaires_scolaires", "2026-11")["debits"][0]["status"] == "cancelled"


# --- Card payments arriving as events ---------------------------------------------------------------------------

def event(transaction_id, invoice_id, amount_cents, event_id="evt-1"):
    return {"id": event_id, "source": "payment", "type": "succeeded", "occurred_at": NOW.isoformat(),
            "data": {"transaction_id": transaction_id, "invoice_id": invoice_id, "amount_cents": amount_cents,
                     "paid_at": NOW.isoformat()}}


def test_a_card_payment_delivered_three_times_is_one_payment(dd, billing, facts, units):
    martin = invoice_month(billing, facts, "2026-11", {MARTIN: 3})[MARTIN]
    for _ in range(3):
        dd.card_payment_succeeded(event("tx-1", martin["id"], 1245))
    paid = billing.invoice(martin["id"])
    assert paid["status"] == "paid" and [(p["method"], p["external_id"]) for p in paid["payments"]] == [("card", "tx-1")]
    with units(read_only=True) as uow:
        assert uow.execute(select(func.count()).select_from(orm.outbox)
                           .where(orm.outbox.c.event_type == "invoice_paid")).scalar() == 1


def test_an_invoice_settled_by_a_partial_payment_and_a_credit_note_is_paid_once(billing, facts, units):
    martin = invoice_month(billing, facts, "2026-11", {MARTIN: 3})[MARTIN]
    billing.record_payment(martin["id"], "cash", 1000, AGENT)
    billing.credit_note(martin["id"], 245, "Repas offert", AGENT)
    with units(read_only=True) as uow:
        paid = [row.payload["data"] for row in uow.execute(select(orm.outbox)) if row.event_type == "invoice_paid"]
    assert [(e["invoice_id"], e["total_cents"]) for e in paid] == [(martin["id"], 1245)]


def test_a_card_payment_that_cannot_be_applied_is_an_anomaly_not_lost(dd, billing, facts, units):
    invoices = invoice_month(billing, facts, "2026-11", {MARTIN: 3, DUPONT: 2})
    billing.credit_note(invoices[DUPONT]["id"], 830, "Repas offerts", AGENT)  # cancelled
    for _ in range(2):
        dd.card_payment_succeeded(event("tx-over", invoices[MARTIN]["id"], 99999))
    dd.card_payment_succeeded(event("tx-cancelled", invoices[DUPONT]["id"], 830))
    dd.card_payment_succeeded(event("tx-unknown", "no-such-invoice", 500))
    dd.card_payment_succeeded({"id": "e", "data": {"invoice_id": "x"}})  # no transaction: logged, nothing stored
    dd.card_payment_succeeded({"id": "e", "data": "junk" * 1000})
    found = {a["transaction_id"]: a["code"] for a in dd.payment_anomalies()["anomalies"]}
    assert found == {"tx-over": "overpayment", "tx-cancelled": "invoice_settled", "tx-unknown": "invoice_not_found"}
    assert billing.invoice(invoices[MARTIN]["id"])["balance_cents"] == 1245


def test_the_creditor_settings_are_checked_at_start():
    settings = DebitSettings.from_config({"SEPA_CREDITOR_NAME": "Commune de Donges"})
    assert settings.creditor.bic == "AGRIFRPPXXX" and settings.mandate_prefix == "DONGES"
    for bad in ({"SEPA_CREDITOR_IBAN": "FR7630006000011234567890188"}, {"SEPA_CREDITOR_ID": "nope"},
                {"SEPA_MANDATE_PREFIX": "DON-GES"}):
        with pytest.raises(ValueError):
            DebitSettings.from_config(bad)
