"""The family's data in its hands (issue #12), the crèche's side, on a migrated SQLite file with a fixed clock: the
export holds the family's bookings, contract, absences and mails and not another family's; the daily purge deletes
justification files a year after their school year, old reads and mails, logs it, and runs once a day."""
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from childcare import export_use_cases, orm, retention_use_cases
from childcare.domain import ChildcareRules
from espace_common.clock import FixedClock
from espace_common.config import load_config
from espace_common.documents import DocumentStore
from espace_common.launch import config_file
from espace_deploy.testing import SqliteUnits, migrated_sqlite

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
ZONE = ChildcareRules().zone
FAMILY, OTHER = "fam-1", "fam-2"
LEA, TOM = "child-lea", "child-tom"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    return migrated_sqlite("childcare", tmp_path_factory.mktemp("childcare-gdpr"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def units(migrated, tmp_path, clock):
    units = SqliteUnits(migrated, tmp_path / "childcare.sqlite", orm.metadata, clock)
    yield units
    units.dispose()


@pytest.fixture
def files(tmp_path):
    return DocumentStore(tmp_path / "files")


@pytest.fixture
def config():
    return load_config(config_file("childcare"), environ={})


def count(units, table, *where):
    with units() as uow:
        return uow.execute(select(func.count()).select_from(table).where(*where)).scalar()


@pytest.fixture
def town(units, files):
    """Two families with a child each, a booking each, a contract, an absence with its file, a mail each."""
    paths = {}
    with units() as uow:
        uow.execute(insert(orm.family_children), [
            {"family_id": FAMILY, "child_id": LEA, "first_name": "Léa", "last_name": "Martin",
             "birth_date": date(2025, 4, 17)},
            {"family_id": OTHER, "child_id": TOM, "first_name": "Tom", "last_name": "Bernard",
             "birth_date": date(2025, 1, 1)}])
        uow.execute(insert(orm.slots).values(id="slot-1", day=date(2026, 12, 3), start="08:00", end="12:00",
                                             capacity=4, taken=2, waiting=0))
        for family, child, email in ((FAMILY, LEA, "claire@example.org"), (OTHER, TOM, "paul@example.org")):
            uow.execute(insert(orm.bookings).values(id=f"b-{child}", slot_id="slot-1", child_id=child,
                                                    family_id=family, status="confirmed", contact_email=email,
                                                    created_at=NOW, confirmed_at=NOW))
            uow.send_mail(email, f"Une place s'est libérée pour {child}", "Bonjour")
            paths[child] = files.save(b"%PDF-1.4 certificat", ".pdf")
            uow.execute(insert(orm.absences).values(
                id=f"abs-{child}", child_id=child, family_id=family, start=date(2026, 12, 7), end=date(2026, 12, 8),
                reason="illness", reported_at=NOW, document_name="certificat.pdf", document_type="application/pdf",
                document_path=paths[child], decision="pending"))
        uow.execute(insert(orm.registrations).values(
            child_id=LEA, kind="regular", weekly_hours={"1": ["08:30", "17:00"]}, weeks_per_year=45,
            contract_start=date(2026, 9, 1), contract_end=date(2027, 7, 31), leave_days=10, leave_taken=0,
            registered_at=NOW))
        uow.execute(insert(orm.document_reads).values(absence_id=f"abs-{LEA}", reader="agent:a-1", read_at=NOW))
        uow.commit()
    return paths


def test_the_export_holds_the_familys_creche_data_and_not_anothers(units, town):
    answer = export_use_cases.family_export(units, FAMILY)
    text = json.dumps(answer, ensure_ascii=False)
    assert [b["day"] for b in answer["bookings"]] == ["2026-12-03"] and answer["bookings"][0]["status"] == "Confirmée"
    assert answer["registrations"][0]["weeks_per_year"] == 45
    assert answer["absences"][0]["justification"] == "certificat.pdf"
    assert answer["absences"][0]["decision"] == "À examiner"
    assert answer["document_reads"][0]["reader"] == "un agent de la mairie"
    assert [m["recipient"] for m in answer["mails"]] == ["claire@example.org"]
    assert "Tom" not in text and TOM not in text and "paul@" not in text and town[LEA] not in text


def test_the_purge_deletes_old_justifications_reads_and_mails_once_a_day(units, town, files, clock, config):
    clock.advance(days=(datetime(2028, 9, 2, 8, tzinfo=timezone.utc) - NOW).days)
    outcome = retention_use_cases.purge(units, clock, config, ZONE, files)
    assert outcome["counts"] == {"justifications": 2, "document_reads": 1, "mails": 2}
    assert not any((files.folder / path).exists() for path in town.values())
    assert count(units, orm.absences, orm.absences.c.document_path.is_not(None)) == 0
    assert count(units, orm.absences) == 2 and count(units, orm.bookings) == 2   # the facts stay
    assert retention_use_cases.purge(units, clock, config, ZONE, files) is None   # a second replica: nothing
    clock.advance(days=1)
    assert retention_use_cases.purge(units, clock, config, ZONE, files)["counts"] == {
        "justifications": 0, "document_reads": 0, "mails": 0}
    assert count(units, orm.purge_log) == 6 and count(units, orm.scheduled_runs) == 2


def test_a_justification_younger_than_its_period_stays(units, town, files, clock, config):
    clock.advance(days=(datetime(2028, 8, 30, 8, tzinfo=timezone.utc) - NOW).days)
    outcome = retention_use_cases.purge(units, clock, config, ZONE, files)
    assert outcome["counts"]["justifications"] == 0
    assert all((files.folder / path).exists() for path in town.values())
