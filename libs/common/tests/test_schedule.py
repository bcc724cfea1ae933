"""Once-per-slot scheduled runs, on SQLite and PostgreSQL: one claim wins, a dead runner's slot is taken over."""
from datetime import datetime, timedelta, timezone

import pytest

from espace_common.db import UnitOfWork, create_database_engine, new_metadata
from espace_common.schedule import claim_run, due_slot_open, finish_run, runs, scheduled_runs_table

metadata = new_metadata()
table = scheduled_runs_table(metadata)
NOW = datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(database_factory):
    engine = create_database_engine(database_factory("schedule"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def claim(engine, owner, now=NOW, slot="2026-12-02"):
    with UnitOfWork(engine) as work:
        won = claim_run(work, table, "reminders", slot, now, owner=owner)
        work.commit()
    return won


def test_only_the_first_replica_runs_a_slot(engine):
    assert claim(engine, "replica-a") is True
    assert claim(engine, "replica-b") is False
    assert claim(engine, "replica-b", slot="2026-12-03") is True


def test_a_finished_slot_is_never_run_again_even_after_its_lease(engine):
    assert claim(engine, "replica-a")
    with UnitOfWork(engine) as work:
        finish_run(work, table, "reminders", "2026-12-02", NOW, {"sent": 3})
        work.commit()
    assert claim(engine, "replica-b", now=NOW + timedelta(days=2)) is False
    with UnitOfWork(engine, read_only=True) as work:
        assert not due_slot_open(work, table, "reminders", "2026-12-02")
        [run] = runs(work, table, "reminders")
    assert run["owner"] == "replica-a" and run["outcome"] == {"sent": 3}


def test_a_dead_runners_slot_is_taken_over_once_its_lease_has_passed(engine):
    assert claim(engine, "replica-a")
    assert claim(engine, "replica-b", now=NOW + timedelta(minutes=5)) is False
    assert claim(engine, "replica-b", now=NOW + timedelta(minutes=16)) is True
    assert claim(engine, "replica-c", now=NOW + timedelta(minutes=17)) is False
    with UnitOfWork(engine, read_only=True) as work:
        assert runs(work, table)[0]["owner"] == "replica-b"
