"""The family's data in its hands (issue #12), the canteen's side, on a migrated SQLite file with a fixed clock: the
export holds the family's data and not another's; the daily purge deletes justification files a year after their
school year (rows forgotten, files gone), reads after a year, logs it, and runs once a day."""
import base64
import json
from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, insert, select

from canteen import documents, export_use_cases, orm, retention_use_cases, use_cases
from canteen.calendar_rules import CanteenRules
from espace_common.clock import FixedClock
from espace_common.config import load_config
from espace_common.launch import config_file
from espace_deploy.testing import SqliteUnits, migrated_sqlite

RULES = CanteenRules()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=RULES.zone)
FAMILY, OTHER = "fam-1", "fam-2"
LEA, TOM = "child-lea", "child-tom"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    return migrated_sqlite("canteen", tmp_path_factory.mktemp("canteen-gdpr"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def units(migrated, tmp_path, clock):
    units = SqliteUnits(migrated, tmp_path / "canteen.sqlite", orm.metadata, clock)
    yield units
    units.dispose()


@pytest.fixture
def files(tmp_path):
    return documents.DocumentStore(tmp_path / "files")


@pytest.fixture
def canteen(units, clock, files):
    return use_cases.Canteen(units, clock, RULES, files)


@pytest.fixture
def config():
    return load_config(config_file("canteen"), environ={})


@pytest.fixture
def town(units, canteen):
    with units() as uow:
        uow.execute(insert(orm.family_children), [
            {"family_id": FAMILY, "child_id": LEA, "first_name": "Léa", "last_name": "Martin",
             "birth_date": date(2018, 4, 17)},
            {"family_id": OTHER, "child_id": TOM, "first_name": "Tom", "last_name": "Bernard",
             "birth_date": date(2019, 1, 1)}])
        uow.commit()
    school = canteen.add_school("École Jules Verne", "public", "1 rue des Écoles")["id"]
    canteen.enrol(LEA, school, "2026-2027")
    canteen.enrol(TOM, school, "2026-2027")
    return school


def pdf_document():
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = BytesIO()
    writer.write(out)
    return {"name": "certificat.pdf", "content_base64": base64.b64encode(out.getvalue()).decode()}


def count(units, table, *where):
    with units() as uow:
        return uow.execute(select(func.count()).select_from(table).where(*where)).scalar()


def test_the_export_holds_the_familys_canteen_data_and_not_anothers(canteen, town, units):
    canteen.change_meal(FAMILY, LEA, "2026-12-03", "reserve")
    canteen.change_meal(OTHER, TOM, "2026-12-03", "reserve")
    absence = canteen.report_absence(FAMILY, LEA, "2026-12-07", "2026-12-08", "illness", pdf_document())
    canteen.report_absence(OTHER, TOM, "2026-12-07", "2026-12-08", "illness", pdf_document())
    canteen.absence_document(absence["id"], None, "agent:a-1")
    canteen.set_diet(LEA, "vegetarien", True)
    feed = canteen.renew_calendar_feed(FAMILY)
    answer = export_use_cases.family_export(units, FAMILY)
    text = json.dumps(answer, ensure_ascii=False)
    assert [e["school"] for e in answer["enrolments"]] == ["École Jules Verne"]
    assert [r["day"] for r in answer["reservations"]] == ["2026-12-03"]
    assert answer["absences"][0]["justification"] == "certificat.pdf" and answer["absences"][0]["reason"] == "Maladie"
    assert answer["diets"] == [{"child_id": LEA, "child": "Léa Martin", "diet": "Végétarien", "pai": True,
                                "updated_at": answer["diets"][0]["updated_at"]}]
    assert len(answer["calendar_feeds"]) == 1 and answer["document_reads"][0]["reader"] == "un agent de la mairie"
    assert "Tom" not in text and TOM not in text and "content_base64" not in text
    with units() as uow:
        digest = uow.execute(select(orm.calendar_feeds.c.digest)).scalar()
    assert feed["token"] not in text and digest not in text  # the feed's address (its token) is not exported
    assert "sections" in answer["labels"]


def insert_absence(units, files, child, family, day, with_file=True):
    path = files.save(b"%PDF-1.4 certificat", ".pdf") if with_file else None
    with units() as uow:
        uow.execute(insert(orm.absences).values(
            id=f"abs-{child}-{day}", child_id=child, family_id=family, start=day, end=day, reason="illness",
            reported_at=NOW, document_name="certificat.pdf" if path else None,
            document_type="application/pdf" if path else None, document_path=path))
        uow.commit()
    return path


def test_the_purge_deletes_justifications_a_year_after_their_school_year_and_old_reads(units, files, clock, config):
    old = insert_absence(units, files, LEA, FAMILY, date(2026, 12, 7))          # school year 2026-2027
    young = insert_absence(units, files, LEA, FAMILY, date(2027, 9, 10))       # school year 2027-2028
    with units() as uow:
        uow.execute(insert(orm.document_reads), [
            {"absence_id": "abs-child-lea-2026-12-07", "reader": "agent:a-1", "read_at": NOW},
            {"absence_id": "abs-child-lea-2027-09-10", "reader": "agent:a-1", "read_at": NOW + timedelta(days=500)}])
        uow.commit()
    clock.advance(days=(datetime(2028, 8, 30, 9, tzinfo=RULES.zone) - NOW).days)   # a year after 31 August 2027
    first = retention_use_cases.purge(units, clock, config, RULES.zone, files)
    assert first["counts"] == {"justifications": 0, "diets": 0, "document_reads": 1}  # the read of 2026: 1 year old
    assert (files.folder / old).exists()
    clock.advance(days=3)                                                            # 2 September 2028
    second = retention_use_cases.purge(units, clock, config, RULES.zone, files)
    assert second["counts"] == {"justifications": 1, "diets": 0, "document_reads": 0}
    assert not (files.folder / old).exists() and (files.folder / young).exists()
    assert count(units, orm.absences, orm.absences.c.document_path.is_(None)) == 1
    assert count(units, orm.absences) == 2                                           # the absences stay
    with units() as uow:
        log = uow.execute(select(orm.purge_log).order_by(orm.purge_log.c.id)).all()
    assert [(r.slot, r.kind, r.count) for r in log] == [
        ("2028-08-30", "justifications", 0), ("2028-08-30", "diets", 0), ("2028-08-30", "document_reads", 1),
        ("2028-09-02", "justifications", 1), ("2028-09-02", "diets", 0), ("2028-09-02", "document_reads", 0)]
    assert log[3].cutoff == "2027-08-31"
    assert retention_use_cases.purge(units, clock, config, RULES.zone, files) is None  # the same day: nothing more
    report = retention_use_cases.personal_data(units, config)
    assert report["runs"][0]["slot"] == "2028-09-02" and report["runs"][0]["finished_at"]
    assert {k["kind"]: k["days"] for k in report["retention"]} == {"justifications": 365, "diets": 365,
                                                                   "document_reads": 365}


def test_a_diet_goes_a_year_after_the_childs_last_school_year(units, canteen, files, clock, config):
    """Léa's last enrolment is 2026-2027, Hugo's 2027-2028; Tom never enrolled (his diet dates from November 2026)."""
    school = canteen.add_school("École Jules Verne", "public", "")["id"]
    with units() as uow:
        uow.execute(insert(orm.enrolments), [
            {"child_id": LEA, "school_year": "2025-2026", "school_id": school},
            {"child_id": LEA, "school_year": "2026-2027", "school_id": school},
            {"child_id": "child-hugo", "school_year": "2027-2028", "school_id": school}])
        uow.execute(insert(orm.diets), [{"child_id": child, "diet": "sans_porc", "pai": True, "updated_at": NOW}
                                        for child in (LEA, "child-hugo", TOM)])
        uow.commit()
    clock.advance(days=(datetime(2028, 8, 30, 9, tzinfo=RULES.zone) - NOW).days)
    assert retention_use_cases.purge(units, clock, config, RULES.zone, files)["counts"]["diets"] == 1   # Tom
    clock.advance(days=3)
    assert retention_use_cases.purge(units, clock, config, RULES.zone, files)["counts"]["diets"] == 1   # Léa
    with units() as uow:
        assert [r.child_id for r in uow.execute(select(orm.diets))] == ["child-hugo"]
