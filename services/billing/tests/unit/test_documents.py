"""Billing's documents on a real SQLite unit of work, with a fixed clock and fakes for the month's facts and for
identity's contacts: the invoice PDF (its text extracted and read), the online invoice's mail, the paper batch, the
choice applied from the next run, the tax certificate computed by hand, the receipt."""
import io
import logging
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import insert, select

from billing import documents, domain, orm, use_cases
from espace_common.errors import Conflict, InvalidInput, NotFound

from .test_use_cases import (  # noqa: F401 (fixtures)
    AGENT, DUPONT, MARTIN, FakeFacts, billing, clock, facts, migrated, november_canteen, resources, units,
)

LEROY = "fam-leroy"
CONTACTS = {
    MARTIN: {"family_id": MARTIN, "dossier": "D-000042", "emails": ["claire@example.org", "julien@example.org"],
             "payer": {"first_name": "Claire", "last_name": "Martin",
                       "address": {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"}}},
    DUPONT: {"family_id": DUPONT, "dossier": "D-000043", "emails": ["tom.papa@example.org"],
             "payer": {"first_name": "Marc", "last_name": "Dupont",
                       "address": {"line1": "3 allée des Pins", "line2": "", "postal_code": "44480", "city": "Donges"}}},
    LEROY: {"family_id": LEROY, "dossier": "D-000044", "emails": [],
            "payer": {"first_name": "Anaïs", "last_name": "Leroy",
                      "address": {"line1": "8 quai Léon-Blum", "line2": "", "postal_code": "44480", "city": "Donges"}}},
}
SETTINGS = documents.DocumentSettings(public_url="https://espace.example.fr")


class FakeContacts:
    """What identity's billing_contacts answers; counts the calls (one per hundred invoices, not one per read)."""

    def __init__(self):
        self.calls = []

    def __call__(self, family_ids):
        self.calls.append(list(family_ids))
        return {f: CONTACTS[f] for f in family_ids if f in CONTACTS}


@pytest.fixture
def contacts():
    return FakeContacts()


@pytest.fixture
def docs(units, clock, contacts, tmp_path):
    return documents.Documents(units, clock, SETTINGS, contacts,
                               files=documents.DocumentStore(tmp_path / "billing-files"))


def text_of(content):
    """The PDF's text, with the no-break spaces French typography puts before € written as plain spaces."""
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def pdf_of(answer):
    import base64
    assert answer["media_type"] == "application/pdf" and answer["filename"].endswith(".pdf")
    return base64.b64decode(answer["pdf_base64"])


def mails(units):
    with units() as uow:
        return uow.execute(select(orm.mail_outbox).order_by(orm.mail_outbox.c.position)).all()


def invoice_of(run, family_id):
    return next(i for i in run["invoices"] if i["family_id"] == family_id)


def events(units, name):
    with units() as uow:
        return [row.payload for row in uow.execute(select(orm.outbox).where(orm.outbox.c.event_type == name))]


def test_finalising_records_the_event_and_the_pdf_says_everything(billing, facts, docs, units, contacts):
    november_canteen(billing, facts)
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    assert [e["data"] for e in events(units, "invoices_issued")] == [{"run_id": run["id"]}]
    with units() as uow:  # no PDF yet: finalising only stamped each invoice with its family's choice
        assert {(r.pdf_path, r.delivery) for r in uow.execute(select(orm.invoices))} == {(None, "paper")}
    assert docs.issue_documents(run["id"]) == {"run_id": run["id"], "made": 2, "mailed": 0}
    assert len(contacts.calls) == 1  # one question to identity for the whole chunk
    martin = invoice_of(run, MARTIN)
    answer = docs.invoice_pdf(martin["id"], family_id=MARTIN)
    assert answer["filename"] == f"facture-{martin['number']}.pdf"
    text = text_of(pdf_of(answer))
    for expected in (f"Facture n° {martin['number']}", "Ville de Donges", "Régie Affaires Scolaires",
                     "Claire MARTIN", "12 rue de la Gare", "44480 DONGES", "Dossier famille D-000042",
                     "Période novembre 2026", "Date d'émission 2 décembre 2026", "À régler avant le 1er janvier 2027",
                     "Léa — 12 repas réservés × 2,85 € (tranche 3) 12 2,85 € 34,20 €",
                     "Léa — 2 repas non réservés × 4,10 € 2 4,10 € 8,20 €",
                     "Léa — absence justifiée du 19 au 20 : non facturée",
                     "Total de la facture 42,40 €", "Reste à payer 42,40 €",
                     f"https://espace.example.fr/mon-compte/factures/{martin['id']}", "prélèvement automatique",
                     "Mairie de Donges, service Affaires Scolaires", "Facture envoyée par courrier"):
        assert expected in text, expected
    assert docs.issue_documents(run["id"])["made"] == 0  # a second delivery of the event does nothing
    assert docs.invoice_pdf(martin["id"])["pdf_base64"] == answer["pdf_base64"]  # stored: the same bytes


def test_the_stored_pdf_never_changes_and_another_familys_is_not_found(billing, facts, docs):
    november_canteen(billing, facts)
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    martin = invoice_of(run, MARTIN)
    first = docs.invoice_pdf(martin["id"], MARTIN)  # asked before the event's handler: made on demand
    billing.record_payment(martin["id"], "cash", 1250, AGENT)
    assert docs.invoice_pdf(martin["id"], MARTIN)["pdf_base64"] == first["pdf_base64"]
    assert "Reste à payer 42,40 €" in text_of(pdf_of(first))
    for family in (DUPONT, "inconnue"):
        with pytest.raises(NotFound):
            docs.invoice_pdf(martin["id"], family)
    with pytest.raises(NotFound):
        docs.invoice_pdf("pas-une-facture")


def test_a_draft_has_no_pdf(billing, facts, docs):
    november_canteen(billing, facts)
    run = billing.run_now("affaires_scolaires", "2026-11", AGENT)
    with pytest.raises(NotFound):
        docs.invoice_pdf(invoice_of(run, MARTIN)["id"], MARTIN)
    with pytest.raises(Conflict):
        docs.invoice_pdf(invoice_of(run, MARTIN)["id"])
    with pytest.raises(Conflict):
        docs.run_paper_pdf(run["id"])


def test_online_families_get_a_mail_with_the_link_and_the_paper_batch_holds_only_paper(billing, facts, docs, units):
    november_canteen(billing, facts)
    facts.meals(LEROY, "ines", reserved=(2, 3))
    docs.set_billing_preference(MARTIN, True, "parent:acc-claire")
    docs.set_billing_preference(LEROY, True, "parent:acc-anais")  # online, but no confirmed e-mail
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    assert docs.issue_documents(run["id"])["mailed"] == 1
    martin = invoice_of(run, MARTIN)
    sent = mails(units)
    assert [m.recipient for m in sent] == ["claire@example.org", "julien@example.org"]
    assert sent[0].subject == f"Votre facture {martin['number']} (novembre 2026) est disponible"
    assert f"https://espace.example.fr/mon-compte/factures/{martin['id']}" in sent[0].body
    assert "42,40" in sent[0].body and "1er janvier 2027" in sent[0].body
    assert "ne vous est pas envoyée par courrier" in text_of(pdf_of(docs.invoice_pdf(martin["id"])))
    batch = docs.run_paper_pdf(run["id"])
    assert batch["invoices"] == 2 and batch["filename"] == "factures-papier-AS-2026-11.pdf"
    text = text_of(pdf_of(batch))
    assert "Marc DUPONT" in text and "Anaïs LEROY" in text and "Claire MARTIN" not in text
    assert docs.issue_documents(run["id"])["mailed"] == 0 and len(mails(units)) == 2  # never twice
    assert docs.run_paper_pdf(run["id"])["pdf_base64"] == batch["pdf_base64"]


def test_a_lost_paper_batch_is_made_again(billing, facts, docs, units, tmp_path):
    november_canteen(billing, facts)
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    docs.issue_documents(run["id"])
    with units() as uow:
        path = uow.execute(select(orm.paper_batches.c.pdf_path)).scalar()
    (tmp_path / "billing-files" / path).unlink()
    assert docs.run_paper_pdf(run["id"])["invoices"] == 2


def test_a_choice_changed_after_a_run_applies_from_the_next_one(billing, facts, docs, units, clock):
    facts.meals(MARTIN, "lea", reserved=(2, 3))
    november = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    assert docs.billing_preference(MARTIN)["paperless"] is False
    choice = docs.set_billing_preference(MARTIN, True, "parent:acc-claire")
    assert (choice["paperless"], choice["changed_by"], choice["delivery"]) == (True, "parent:acc-claire", "online")
    docs.issue_documents(november["id"])  # November was finalised on paper: it stays on paper
    assert mails(units) == [] and docs.run_paper_pdf(november["id"])["invoices"] == 1
    clock.advance(days=31)
    facts.meals(MARTIN, "lea", reserved=(1, 3), month="2026-12")
    december = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-12", AGENT)["id"], AGENT)
    docs.issue_documents(december["id"])
    assert [m.recipient for m in mails(units)] == ["claire@example.org", "julien@example.org"]
    with pytest.raises(NotFound):
        docs.run_paper_pdf(december["id"])
    again = docs.set_billing_preference(MARTIN, True, "agent:someone-else")  # the same choice again changes nothing
    assert again["changed_by"] == "parent:acc-claire"
    for bad in ("oui", 1, None):
        with pytest.raises(InvalidInput):
            docs.set_billing_preference(MARTIN, bad, "x")


def test_the_sweep_finishes_what_the_event_left(billing, facts, docs, clock):
    november_canteen(billing, facts)
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    assert docs.sweep() == []  # just finalised: its handler is on it
    clock.advance(minutes=11)
    assert docs.sweep() == [run["id"]] and docs.sweep() == []


def crèche_family(billing, facts, units):
    """Martin: Nina (born 2024) 14 h and Hugo (born 2021) 10 h in November; Léa (2018) is over six."""
    with units() as uow:
        uow.execute(insert(orm.family_children), [
            {"family_id": MARTIN, "child_id": "nina", "first_name": "Nina", "last_name": "Martin",
             "birth_date": date(2024, 5, 10)},
            {"family_id": MARTIN, "child_id": "hugo", "first_name": "Hugo", "last_name": "Martin",
             "birth_date": date(2021, 6, 1)}])
        uow.commit()
    billing.set_family_resources(MARTIN, resources(850), AGENT)  # 0,0516 % × 2 384,00 € = 1,23 €/h
    facts.crèche(MARTIN, "nina", "Nina", occasional_minutes=14 * 60)
    facts.crèche(MARTIN, "hugo", "Hugo", occasional_minutes=10 * 60)
    run = billing.finalize_run(billing.run_now("petite_enfance", "2026-11", AGENT)["id"], AGENT)
    return invoice_of(run, MARTIN)


def test_the_tax_certificate_shares_each_payment_by_the_childrens_lines(billing, facts, docs, units, clock):
    invoice = crèche_family(billing, facts, units)
    assert invoice["total_cents"] == 14 * 123 + 10 * 123 == 2952
    billing.record_payment(invoice["id"], "cash", 2000, AGENT)
    billing.record_payment(invoice["id"], "cesu", 500, AGENT)
    certificate = docs.tax_certificate(MARTIN, 2026)
    # Nina 2000 × 1722 / 2952 = 1166,67 -> 1167; Hugo 2000 × 1230 / 2952 = 833,33 -> 833; CESU left out.
    assert [(c["first_name"], c["amount_cents"]) for c in certificate["children"]] == [("Hugo", 833), ("Nina", 1167)]
    assert (certificate["total_cents"], certificate["cesu_cents"]) == (2000, 500)
    answer = docs.tax_certificate_pdf(MARTIN, "2026")
    assert answer["filename"] == "attestation-fiscale-2026.pdf"
    text = text_of(pdf_of(answer))
    for expected in ("Attestation fiscale — frais de garde 2026", "Claire MARTIN", "Dossier famille D-000042",
                     "Nina Martin 10 mai 2024 11,67 €", "Hugo Martin 1er juin 2021 8,33 €", "Total versé 20,00 €",
                     "CESU préfinancés (5,00 €)"):
        assert expected in text, expected
    assert "Léa" not in text
    clock.advance(days=40)  # January 2027: the rest paid in 2027 counts for 2027, not 2026
    billing.record_payment(invoice["id"], "cheque", 452, AGENT)
    assert docs.tax_certificate(MARTIN, 2026)["total_cents"] == 2000
    assert docs.tax_certificate_years(MARTIN) == [2027, 2026]
    with pytest.raises(NotFound):
        docs.tax_certificate_pdf(MARTIN, 2025)
    for bad in ("deux-mille", 1999, 2028, True):
        with pytest.raises(InvalidInput):
            docs.tax_certificate(MARTIN, bad)


def test_the_tax_rule_leaves_meals_and_older_children_out():
    children = [{"child_id": "a", "first_name": "A", "last_name": "X", "birth_date": date(2020, 1, 1)},  # 6 on 1/1
                {"child_id": "b", "first_name": "B", "last_name": "X", "birth_date": date(2020, 1, 2)}]
    lines = {"i": [("a", "occasional", 1000), ("b", "occasional", 1000), ("b", "meal_reserved", 500),
                   ("b", "deduction", -500), (None, "note", 0)]}
    # base 2000; b's care lines 1000 - 500 = 500 -> 1000 × 500 / 2000 = 250; a is six on 1 January 2026.
    result = domain.tax_certificate(2026, children, lines, [("i", "cash", 1000)])
    assert [(c["child_id"], c["amount_cents"]) for c in result["children"]] == [("b", 250)]


def test_a_receipt_per_payment(billing, facts, docs):
    november_canteen(billing, facts)
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    martin = invoice_of(run, MARTIN)
    payment = billing.record_payment(martin["id"], "cheque", 1250, AGENT)
    answer = docs.receipt_pdf(payment["id"], family_id=MARTIN)
    assert answer["filename"] == f"recu-{martin['number']}-2026-12-02.pdf"
    text = text_of(pdf_of(answer))
    for expected in ("Reçu de paiement", "Reçu le 2 décembre 2026", "Moyen de paiement Chèque", "Montant reçu 12,50 €",
                     f"Facture {martin['number']} (novembre 2026)", "Reste à payer après ce paiement 29,90 €",
                     "Dossier famille D-000042"):
        assert expected in text, expected
    with pytest.raises(NotFound):
        docs.receipt_pdf(payment["id"], family_id=DUPONT)
    with pytest.raises(NotFound):
        docs.receipt_pdf("inconnu")
    page = docs.family_documents(MARTIN)
    assert [p["id"] for p in page["payments"]] == [payment["id"]] and page["tax_certificate_years"] == []
    assert page["preference"]["paperless"] is False


def test_a_missing_font_stops_the_service_in_one_sentence():
    from espace_common.config import ConfigError
    with pytest.raises(ConfigError) as error:
        documents.DocumentSettings.from_config({"BILLING_FONT": "/nulle/part.ttf"})
    assert "BILLING_FONT" in str(error.value) and "fonts-dejavu-core" in str(error.value)


def test_a_long_invoice_runs_over_pages_with_its_headings_and_long_labels_wrap(billing, facts, docs, units):
    invoice = crèche_family(billing, facts, units)
    text = text_of(pdf_of(docs.invoice_pdf(invoice["id"])))
    assert "Nina — accueil occasionnel 14 h × 1,23 €/h" in text and "17,22 €" in text and "12,30 €" in text
    lines = [{"kind": "meal_reserved", "label": f"Ligne {n} — un libellé assez long pour occuper toute la largeur "
                                                f"de sa colonne et passer à la ligne", "quantity": "1",
              "unit_price_cents": 100 + n, "amount_cents": 100 + n} for n in range(60)]
    doc = {"id": "x", "number": "AS-2026-000999", "regie": "affaires_scolaires", "period": "2026-11",
           "issued_on": date(2026, 12, 2), "due_date": date(2027, 1, 1), "total_cents": 7770, "balance_cents": 7770,
           "lines": lines, "payments": [], "credit_notes": [], "contact": None, "delivery": "paper"}
    content, = SETTINGS.renderer().invoices([doc])
    pages = PdfReader(io.BytesIO(content)).pages
    assert len(pages) >= 2 and all("Désignation" in page.extract_text() for page in pages[:-1])  # the last: totals
    text = text_of(content)
    assert all(f"{(100 + n) / 100:.2f} €".replace(".", ",") in text for n in range(60))
    assert "Total de la facture 77,70 €" in text



def test_drawing_in_a_real_thread_logs_nothing_there(caplog):
    """The service draws in eventlet's tpool: a record logged from that thread can crash the hub (the handler's
    lock is green), so fontTools' glyph-by-glyph INFO records of the subsetting must not be emitted at all."""
    import threading
    doc = {"id": "x", "number": "AS-2026-000998", "regie": "affaires_scolaires", "period": "2026-11",
           "issued_on": date(2026, 12, 2), "due_date": date(2027, 1, 1), "total_cents": 285, "balance_cents": 285,
           "lines": [{"kind": "meal_reserved", "label": "Léa — 1 repas réservé", "quantity": "1",
                      "unit_price_cents": 285, "amount_cents": 285}],
           "payments": [], "credit_notes": [], "contact": None, "delivery": "paper"}
    drawn = []
    caplog.set_level(logging.INFO)  # the services' level (LOG_LEVEL)
    thread = threading.Thread(target=lambda: drawn.extend(SETTINGS.renderer().invoices([doc])))
    thread.start()
    thread.join(60)
    assert len(drawn) == 1 and drawn[0].startswith(b"%PDF")
    assert [r.name for r in caplog.records if r.thread == thread.ident] == []

# --- An invoice under direct debit says it is debited, not to pay ------------------------------------------------

def test_a_direct_debit_invoice_says_it_is_debited_at_the_due_date_in_its_pdf_and_its_mail(
        billing, facts, docs, units, clock):
    from billing.debit_use_cases import DebitSettings, DirectDebits
    DirectDebits(units, clock, DebitSettings.from_config({}), billing).sign_mandate(
        MARTIN, "FR76 3000 6000 0112 3456 7890 189", "Claire Martin", True)
    november_canteen(billing, facts)
    docs.set_billing_preference(MARTIN, True, "parent:acc-claire")
    docs.set_billing_preference(DUPONT, True, "parent:acc-marc")
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    assert docs.issue_documents(run["id"])["mailed"] == 2
    martin, dupont = invoice_of(run, MARTIN), invoice_of(run, DUPONT)
    debited = text_of(pdf_of(docs.invoice_pdf(martin["id"], MARTIN)))
    assert "Prélèvement à l'échéance du 1er janvier 2027" in debited
    assert ("Cette facture est prélevée sur votre compte à l'échéance du 1er janvier 2027 : vous n'avez rien à "
            "faire.") in debited
    assert "À régler avant le" not in debited and "par carte bancaire" not in debited
    to_pay = text_of(pdf_of(docs.invoice_pdf(dupont["id"], DUPONT)))
    assert "À régler avant le 1er janvier 2027" in to_pay and "prélevée sur votre compte" not in to_pay
    body = {m.recipient: m.body.replace("\u00a0", " ").replace("\u202f", " ") for m in mails(units)}
    assert "42,40 €, prélevée sur votre compte à l'échéance du 1er janvier 2027." in body["claire@example.org"]
    assert "à régler" not in body["claire@example.org"] and "payez-la" not in body["claire@example.org"]
    assert "à régler avant le 1er janvier 2027." in body["tom.papa@example.org"]
    assert "payez-la en ligne" in body["tom.papa@example.org"]
