"""The daily retention purge's runner (espace_common.purge), on SQLite and PostgreSQL: one run a day, each kind logged
once per day even when a run is taken over, a failing purge leaves the others to run and is named in the outcome,
files deleted only after their rows' commit; and the retention rules (periods, the school year's end, the IBAN)."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, String, Table, delete, func, insert, select

from espace_common.clock import FixedClock
from espace_common.config import ConfigError
from espace_common.db import UnitOfWork, create_database_engine, new_metadata
from espace_common.formatting import PARIS
from espace_common.purge import purge_log_table, purge_report, purged, run_purge
from espace_common.retention import Kind, Retention, justification_cutoff, mask_iban, years_text
from espace_common.schedule import scheduled_runs_table

metadata = new_metadata()
runs_table = scheduled_runs_table(metadata)
log_table = purge_log_table(metadata)
items = Table("items", metadata, Column("id", Integer, primary_key=True), Column("path", String(40)))
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
KINDS = [Kind("items", "Des éléments", "ITEMS_DAYS", 30, "après leur création")]


@pytest.fixture
def engine(database_factory):
    engine = create_database_engine(database_factory("purge"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


class Files:
    def __init__(self):
        self.deleted = []

    def delete(self, path):
        self.deleted.append(path)


def units(engine):
    return lambda read_only=False: UnitOfWork(engine, read_only=read_only)


def purge_items(uow, now, retention):
    paths = [r.path for r in uow.execute(select(items.c.path))]
    uow.execute(delete(items))
    return [purged("items", len(paths), retention.cutoff("items", now), paths)]


def failing(uow, now, retention):
    uow.execute(delete(items))  # rolled back with the failure
    raise RuntimeError("disk full")


def counted(uow, now, retention):
    return {"other": 2}


def test_one_run_a_day_each_kind_logged_files_deleted_after_commit(engine):
    with UnitOfWork(engine) as uow:
        uow.execute(insert(items), [{"id": 1, "path": "a.pdf"}, {"id": 2, "path": "b.pdf"}])
        uow.commit()
    clock, files, retention = FixedClock(NOW), Files(), Retention.from_config({}, KINDS)
    outcome = run_purge(units(engine), clock, runs_table, log_table, [purge_items, counted], retention, PARIS, files)
    assert outcome == {"slot": "2026-12-02", "counts": {"items": 2, "other": 2}, "failed": []}
    assert files.deleted == ["a.pdf", "b.pdf"]
    assert run_purge(units(engine), clock, runs_table, log_table, [purge_items], retention, PARIS, files) is None
    with UnitOfWork(engine, read_only=True) as uow:
        [run] = purge_report(uow, runs_table, log_table)
        assert uow.execute(select(func.count()).select_from(log_table)).scalar() == 2
    assert run["finished_at"] and {(k["kind"], k["count"]) for k in run["kinds"]} == {("items", 2), ("other", 2)}
    assert [k["cutoff"] for k in run["kinds"] if k["kind"] == "items"] == [(NOW - timedelta(days=30)).isoformat()]


def test_a_failing_purge_is_named_and_the_others_still_run(engine):
    with UnitOfWork(engine) as uow:
        uow.execute(insert(items), [{"id": 1, "path": "a.pdf"}])
        uow.commit()
    files = Files()
    outcome = run_purge(units(engine), FixedClock(NOW), runs_table, log_table, [failing, counted],
                        Retention.from_config({}, KINDS), PARIS, files)
    assert outcome["failed"] == ["failing"] and outcome["counts"] == {"other": 2}
    with UnitOfWork(engine, read_only=True) as uow:
        assert uow.execute(select(func.count()).select_from(items)).scalar() == 1  # the failed one rolled back
        [run] = purge_report(uow, runs_table, log_table)
    assert run["failed"] == ["failing"] and files.deleted == []


def test_a_run_taken_over_logs_each_kind_once(engine):
    clock, retention = FixedClock(NOW), Retention.from_config({}, KINDS)
    with UnitOfWork(engine) as uow:  # a replica claimed the day, logged one kind, then died
        uow.execute(insert(runs_table).values(task="retention_purge", slot="2026-12-02", owner="dead", started_at=NOW,
                                              lease_until=NOW + timedelta(minutes=15)))
        uow.execute(insert(log_table).values(slot="2026-12-02", kind="other", count=2, at=NOW))
        uow.commit()
    clock.advance(minutes=20)
    outcome = run_purge(units(engine), clock, runs_table, log_table, [counted, purge_items], retention, PARIS, Files())
    assert outcome is not None
    with UnitOfWork(engine, read_only=True) as uow:
        kinds = [r.kind for r in uow.execute(select(log_table.c.kind).order_by(log_table.c.kind))]
    assert kinds == ["items", "other"]


def test_retention_settings_and_rules():
    assert Retention.from_config({"ITEMS_DAYS": "90"}, KINDS).days == {"items": 90}
    for wrong in ("trente", "0", "-1", "100000", "1.5"):
        with pytest.raises(ConfigError):
            Retention.from_config({"ITEMS_DAYS": wrong}, KINDS)
    assert [years_text(d) for d in (365, 1095, 30, 1)] == ["1 an", "3 ans", "30 jours", "1 jour"]
    # A justification goes a year after the end (31 August) of its absence's school year.
    assert justification_cutoff(date(2028, 9, 2), 365) == date(2027, 8, 31)
    assert justification_cutoff(date(2028, 8, 30), 365) == date(2026, 8, 31)
    assert mask_iban("FR76 3000 6000 0112 3456 7890 189") == "•••• 0189" and mask_iban("") == ""
