"""The unit of work and the event tables, on SQLite and PostgreSQL."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import Column, Integer, String, Table, func, insert, select

from espace_common.db import UTCDateTime, UnitOfWork, create_database_engine, messaging_tables, new_metadata
from espace_common.events import Event

metadata = new_metadata()
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("text", String(50)),
              Column("at", UTCDateTime))
outbox, processed = messaging_tables(metadata)


@pytest.fixture
def engine(database_factory):
    engine = create_database_engine(database_factory("uow"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def uow(engine, **kwargs):
    return UnitOfWork(engine, outbox=outbox, processed=processed, **kwargs)


def count(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def test_nothing_is_kept_unless_committed(engine):
    with uow(engine) as work:
        work.execute(insert(notes).values(text="draft"))
        work.record(Event("test", "note_written", {"text": "draft"}))
    assert count(engine, notes) == 0
    assert count(engine, outbox) == 0


def test_an_event_is_stored_with_the_change_and_announced_after_commit(engine):
    announced = []
    with uow(engine, on_commit=lambda: announced.append(True)) as work:
        work.execute(insert(notes).values(text="kept"))
        work.record(Event("test", "note_written", {"text": "kept"}))
        assert announced == []
        work.commit()
    assert announced == [True]
    assert count(engine, notes) == 1
    with engine.connect() as connection:
        row = connection.execute(select(outbox)).one()
    assert row.event_type == "note_written" and row.published_at is None
    assert row.payload["data"] == {"text": "kept"}


def test_a_duplicate_event_is_claimed_once(engine):
    for _ in range(3):
        with uow(engine) as work:
            if work.claim_event("event-1", "test.handler"):
                work.execute(insert(notes).values(text="effect"))
            work.commit()
    assert count(engine, notes) == 1
    with uow(engine) as work:
        assert work.claim_event("event-1", "other.handler") is True


def test_instants_come_back_aware_utc(engine):
    paris_noon = datetime.fromisoformat("2026-07-01T12:00:00+02:00")
    with uow(engine) as work:
        work.execute(insert(notes).values(text="t", at=paris_noon))
        work.commit()
    with engine.connect() as connection:
        stored = connection.execute(select(notes.c.at)).scalar()
    assert stored == paris_noon and stored.tzinfo == timezone.utc


def test_naive_instants_are_refused(engine):
    with pytest.raises(Exception):
        with uow(engine) as work:
            work.execute(insert(notes).values(text="t", at=datetime(2026, 1, 1)))
