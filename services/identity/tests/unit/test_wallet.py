"""The document wallet's use cases (issue #12) on a SQLite file migrated by the real Alembic history, with a fixed
clock and a private folder of files; no broker."""
import base64
import io
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from sqlalchemy import func, select

from espace_common.clock import FixedClock
from espace_common.documents import DocumentStore
from espace_deploy.testing import SqliteUnits, migrated_sqlite
from espace_common.errors import Conflict, InvalidInput, NotFound
from identity import domain_wallet, orm
from identity.domain_wallet import WalletSettings
from identity.use_cases import families, wallet

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)  # Wednesday 2 December 2026, 10:00 in Donges
SETTINGS = WalletSettings(reminder_days=15, retention_days=365, public_url="https://espace.example")
FAMILY = {
    "representatives": [
        {"first_name": "Claire", "last_name": "Martin", "email": "claire@example.org"},
        {"first_name": "Julien", "last_name": "Martin", "email": "julien@example.org"},
    ],
    "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}],
}
OTHER = {"representatives": [{"first_name": "Anne", "last_name": "Durand", "email": "anne@example.org"}],
         "children": [{"first_name": "Tom", "last_name": "Durand", "birth_date": "2019-02-01"}]}


def pdf(change=None):
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if change:
        change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def as_document(content, name="attestation.pdf"):
    return {"name": name, "content_base64": base64.b64encode(content).decode()}


def with_script(writer):
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('pwned')")})


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return migrated_sqlite("identity", tmp_path_factory.mktemp("identity-wallet"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def db(template, tmp_path, clock):
    units = SqliteUnits(template, tmp_path / "identity.sqlite", orm.metadata, clock)
    yield SimpleNamespace(unit_of_work=units, clock=clock, engine=units.engine)
    units.dispose()


@pytest.fixture
def files(tmp_path):
    return DocumentStore(tmp_path / "identity-files")


@pytest.fixture
def family_id(db, clock):
    return families.register_family(db, clock, FAMILY)["id"]


def count(db, table):
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def mails(db):
    with db.engine.connect() as connection:
        return connection.execute(select(orm.mail_outbox).order_by(orm.mail_outbox.c.position)).all()


def stored_files(files):
    return list(files.folder.iterdir()) if files.folder.exists() else []


def upload(db, files, family_id, kind="medical_certificate", until="2027-03-01", content=None):
    return wallet.upload(db, SETTINGS, files, family_id, "account:a-1", kind, until, as_document(content or pdf()))


def test_an_upload_is_pending_and_the_wallet_says_what_is_missing(db, files, family_id):
    document = upload(db, files, family_id, "proof_of_address", "2027-02-28")
    assert document["status"] == "pending" and document["status_label"] == "en attente de vérification"
    assert document["kind_label"] == "Justificatif de domicile de moins de trois mois"
    answer = wallet.family_documents(db, SETTINGS, family_id)
    assert [d["id"] for d in answer["documents"]] == [document["id"]]
    assert answer["state"]["proof_of_address"]["state"] == "pending"
    assert {k: v["state"] for k, v in answer["state"].items() if k != "proof_of_address"} == {
        "insurance": "missing", "caf_notice": "missing", "vaccination_record": "missing"}
    assert answer["complete"] is False and len(stored_files(files)) == 1


@pytest.mark.parametrize("kind, until, latest", [
    ("proof_of_address", "2027-03-03", "2 mars 2027"),     # three months from the upload, at most
    ("insurance", "2027-09-01", "31 août 2027"),           # the school year
    ("caf_notice", "2027-01-01", "31 décembre 2026"),      # the calendar year
])
def test_the_validity_is_bounded_by_the_kinds_rule(db, files, family_id, kind, until, latest):
    with pytest.raises(InvalidInput) as error:
        upload(db, files, family_id, kind, until)
    assert error.value.code == "invalid_valid_until" and latest in error.value.message
    assert count(db, orm.wallet_documents) == 0 and stored_files(files) == []


def test_insurance_for_the_coming_school_year_from_july():
    assert domain_wallet.latest_valid_until("insurance", date(2027, 6, 30)) == date(2027, 8, 31)
    assert domain_wallet.latest_valid_until("insurance", date(2027, 7, 1)) == date(2028, 8, 31)
    assert domain_wallet.latest_valid_until("proof_of_address", date(2026, 11, 30)) == date(2027, 2, 28)


@pytest.mark.parametrize("kind, until, code", [
    ("passport", "2027-01-01", "invalid_kind"), (None, "2027-01-01", "invalid_kind"),
    ("caf_notice", "2026-12-01", "invalid_valid_until"), ("caf_notice", "31/12/2026", "invalid_valid_until"),
    ("caf_notice", "x" * 100_000, "invalid_valid_until"), ("caf_notice", "2026-02-30", "invalid_valid_until"),
])
def test_a_wrong_kind_or_date_is_refused_in_french(db, files, family_id, kind, until, code):
    with pytest.raises(InvalidInput) as error:
        upload(db, files, family_id, kind, until)
    assert error.value.code == code
    assert count(db, orm.wallet_documents) == 0


@pytest.mark.parametrize("content, code", [
    (b"<html><script>alert(1)</script></html>", "invalid_document"),  # HTML renamed .pdf
    (pdf(with_script), "invalid_document"),                            # a PDF with JavaScript
    (pdf()[:200], "invalid_document"),                                 # truncated
    (b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024), "document_too_large"),  # oversized
])
def test_files_are_checked_as_the_absences_and_nothing_is_stored(db, files, family_id, content, code):
    with pytest.raises(InvalidInput) as error:
        upload(db, files, family_id, content=content)
    assert error.value.code == code and error.value.message.startswith(("Le justificatif", "Ce PDF"))
    assert count(db, orm.wallet_documents) == 0 and stored_files(files) == []


def test_an_accepted_document_replaces_the_older_one_of_its_kind(db, files, family_id):
    first = upload(db, files, family_id, "caf_notice", "2026-12-31")
    wallet.decide(db, SETTINGS, first["id"], "accepted", "", "agent:a-1")
    second = upload(db, files, family_id, "caf_notice", "2026-12-31")
    shown = wallet.family_documents(db, SETTINGS, family_id)
    assert {d["id"]: d["status"] for d in shown["documents"]} == {first["id"]: "accepted", second["id"]: "pending"}
    assert shown["state"]["caf_notice"]["state"] == "accepted"  # the accepted one counts while the new one waits
    decided = wallet.decide(db, SETTINGS, second["id"], "accepted", "", "agent:a-1")
    assert decided["status"] == "accepted" and decided["family_id"] == family_id  # for the agents' journal
    shown = wallet.family_documents(db, SETTINGS, family_id)
    assert [d["id"] for d in shown["documents"]] == [second["id"]]  # the first is replaced, out of the list
    exported = wallet.export_family(db.unit_of_work(read_only=True).__enter__(), family_id)
    assert {d["id"]: d["status"] for d in exported["documents"]} == {first["id"]: "superseded",
                                                                    second["id"]: "accepted"}


def test_a_new_upload_replaces_a_pending_one_of_its_kind(db, files, family_id):
    first = upload(db, files, family_id, "insurance", "2027-08-31")
    second = upload(db, files, family_id, "insurance", "2027-08-31")
    assert [d["id"] for d in wallet.documents_to_review(db, SETTINGS)] == [second["id"]]
    with pytest.raises(Conflict):
        wallet.decide(db, SETTINGS, first["id"], "accepted", "", "agent:a-1")


def test_a_refusal_says_why_and_is_mailed_to_the_family(db, files, family_id):
    document = upload(db, files, family_id, "insurance", "2027-08-31")
    with pytest.raises(InvalidInput) as error:
        wallet.decide(db, SETTINGS, document["id"], "refused", "  ", "agent:a-1")
    assert error.value.code == "invalid_reason"
    refused = wallet.decide(db, SETTINGS, document["id"], "refused", "Attestation illisible", "agent:a-1")
    assert refused["status"] == "refused" and refused["reason"] == "Attestation illisible"
    sent = mails(db)
    assert [m.recipient for m in sent] == ["claire@example.org", "julien@example.org"]
    assert "Attestation illisible" in sent[0].body and "https://espace.example/mon-espace/porte-documents" in sent[0].body
    assert wallet.family_documents(db, SETTINGS, family_id)["state"]["insurance"]["state"] == "refused"
    with pytest.raises(Conflict) as error:
        wallet.decide(db, SETTINGS, document["id"], "accepted", "", "agent:a-2")
    assert error.value.code == "already_decided"


@pytest.mark.parametrize("junk", ["inconnu", "x" * 100_000, "é", None, 42])
def test_a_junk_id_is_not_found(db, files, family_id, junk):
    with pytest.raises(NotFound):
        wallet.decide(db, SETTINGS, junk, "accepted", "", "agent:a-1")
    with pytest.raises(NotFound):
        wallet.document_file(db, files, junk, family_id)


def test_an_expired_document_is_flagged(db, files, family_id, clock):
    document = upload(db, files, family_id, "vaccination_record", "2026-12-12")
    wallet.decide(db, SETTINGS, document["id"], "accepted", "", "agent:a-1")
    shown = wallet.family_documents(db, SETTINGS, family_id)
    assert shown["documents"][0]["expiring"] is True
    assert shown["state"]["vaccination_record"]["state"] == "expiring"
    clock.advance(days=10)  # 12 December: still valid this day
    assert wallet.family_documents(db, SETTINGS, family_id)["documents"][0]["status"] == "accepted"
    clock.advance(days=1)
    shown = wallet.family_documents(db, SETTINGS, family_id)
    assert shown["documents"][0]["status"] == "expired" and shown["documents"][0]["status_label"] == "expiré"
    assert shown["state"]["vaccination_record"] == {"state": "expired", "label": "expiré",
                                                    "document_id": document["id"], "valid_until": "2026-12-12"}
    with pytest.raises(Conflict) as error:  # an expired document no longer justifies an absence
        wallet.justification(db, files, family_id, document["id"])
    assert error.value.code == "document_not_accepted"


def test_the_expiry_reminder_is_sent_once(db, files, family_id, clock):
    soon = upload(db, files, family_id, "vaccination_record", "2026-12-10")
    later = upload(db, files, family_id, "caf_notice", "2026-12-31")  # beyond the 15 days
    pending = upload(db, files, family_id, "medical_certificate", "2026-12-05")  # not accepted: no reminder
    for document in (soon, later):
        wallet.decide(db, SETTINGS, document["id"], "accepted", "", "agent:a-1")
    assert wallet.send_expiry_reminders(db, SETTINGS) == 1
    assert wallet.send_expiry_reminders(db, SETTINGS) is None  # the day's slot is taken: another replica's timer
    sent = mails(db)
    assert [m.recipient for m in sent] == ["claire@example.org", "julien@example.org"]
    assert "Carnet de vaccinations" in sent[0].subject and "10 décembre 2026" in sent[0].body
    clock.advance(days=1)  # the next day's run finds the same document: its reminder is already written
    assert wallet.send_expiry_reminders(db, SETTINGS) == 0
    clock.advance(days=1)  # 4 December: the CAF notice is not within 15 days yet (31 December)
    assert wallet.send_expiry_reminders(db, SETTINGS) == 0
    clock.advance(days=13)  # 17 December: now it is
    assert wallet.send_expiry_reminders(db, SETTINGS) == 1
    assert len(mails(db)) == 4 and count(db, orm.wallet_reminders) == 2
    assert pending["id"] not in {r for (r,) in db.engine.connect().execute(select(orm.wallet_reminders.c.document_id))}


def test_a_replaced_document_is_not_reminded(db, files, family_id):
    old = upload(db, files, family_id, "vaccination_record", "2026-12-10")
    wallet.decide(db, SETTINGS, old["id"], "accepted", "", "agent:a-1")
    new = upload(db, files, family_id, "vaccination_record", "2027-11-30")
    wallet.decide(db, SETTINGS, new["id"], "accepted", "", "agent:a-1")
    assert wallet.send_expiry_reminders(db, SETTINGS) == 0 and mails(db) == []


def test_an_accepted_document_stands_as_an_absence_justification(db, files, family_id, clock):
    certificate = upload(db, files, family_id, "medical_certificate", "2027-03-01")
    with pytest.raises(Conflict):  # pending
        wallet.justification(db, files, family_id, certificate["id"])
    wallet.decide(db, SETTINGS, certificate["id"], "accepted", "", "agent:a-1")
    other = families.register_family(db, clock, OTHER)["id"]
    with pytest.raises(NotFound):
        wallet.justification(db, files, other, certificate["id"])
    given = wallet.justification(db, files, family_id, certificate["id"], "parent:acc-1")
    assert given["name"] == "attestation.pdf" and base64.b64decode(given["content_base64"]).startswith(b"%PDF-")
    address = upload(db, files, family_id, "proof_of_address", "2027-02-01")
    wallet.decide(db, SETTINGS, address["id"], "accepted", "", "agent:a-1")
    with pytest.raises(Conflict) as error:
        wallet.justification(db, files, family_id, address["id"])
    assert error.value.code == "document_not_for_absences"
    reads = wallet.family_wallet_for_agent(db, SETTINGS, family_id)["documents"]
    assert [r["reader"] for d in reads if d["id"] == certificate["id"] for r in d["reads"]] == [
        "absence:parent:acc-1"]


def test_every_read_of_a_file_is_recorded_and_another_family_cannot_read(db, files, family_id, clock):
    document = upload(db, files, family_id)
    other = families.register_family(db, clock, OTHER)["id"]
    with pytest.raises(NotFound):
        wallet.document_file(db, files, document["id"], other)
    assert wallet.document_file(db, files, document["id"], None, "agent:a-1")["media_type"] == "application/pdf"
    wallet.document_file(db, files, document["id"], family_id, "parent:acc-1")
    agent_view = wallet.family_wallet_for_agent(db, SETTINGS, family_id)
    assert [r["reader"] for r in agent_view["documents"][0]["reads"]] == ["agent:a-1", "parent:acc-1"]
    assert agent_view["family"]["dossier"]
    with pytest.raises(NotFound):
        wallet.family_wallet_for_agent(db, SETTINGS, "x" * 100_000)


def test_the_review_queue_names_the_family(db, files, family_id):
    document = upload(db, files, family_id, "caf_notice", "2026-12-31")
    queue = wallet.documents_to_review(db, SETTINGS, "pending")
    assert [(d["id"], d["family_name"], d["family_id"]) for d in queue] == [(document["id"], "Claire Martin",
                                                                            family_id)]
    assert wallet.documents_to_review(db, SETTINGS, "accepted") == []
    assert wallet.documents_to_review(db, SETTINGS, "n'importe quoi") == queue


def test_export_gives_metadata_never_the_bytes(db, files, family_id):
    upload(db, files, family_id)
    with db.unit_of_work(read_only=True) as uow:
        exported = wallet.export_family(uow, family_id)
    [document] = exported["documents"]
    assert document["file_name"] == "attestation.pdf" and document["status"] == "pending"
    assert "content_base64" not in document and "document_path" not in document


def test_the_purge_removes_what_expired_longer_than_the_retention(db, files, family_id, clock):
    expired = upload(db, files, family_id, "vaccination_record", "2026-12-12")
    refused = upload(db, files, family_id, "insurance", "2027-08-31")
    wallet.decide(db, SETTINGS, refused["id"], "refused", "Illisible", "agent:a-1")
    kept = upload(db, files, family_id, "caf_notice", "2026-12-31")
    wallet.document_file(db, files, expired["id"], None, "agent:a-1")
    clock.advance(days=365 + 11)  # 13 December 2027: expired 366 days ago, refused 376 days ago, kept: 347 days
    assert wallet.purge_expired_documents(db, SETTINGS, files) == {"documents": 2}
    with db.unit_of_work(read_only=True) as uow:
        left = wallet.export_family(uow, family_id)["documents"]
    assert [d["id"] for d in left] == [kept["id"]]
    assert len(stored_files(files)) == 1 and count(db, orm.wallet_document_reads) == 0
    clock.advance(days=30)
    with db.unit_of_work() as uow:
        answer = wallet.purge_expired(uow, clock.now(), timedelta(days=365), files)
        uow.commit()
    assert answer["documents"] == 1 and stored_files(files) == []
