"""The ops commands' own rules, without a suite: which outbox rows a replay picks, and what a backup refuses."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from espace_common.db import create_database_engine
from espace_deploy import backup, outbox
from espace_deploy.testing import migrated_sqlite

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def canteen_db(tmp_path):
    url = f"sqlite:///{migrated_sqlite('canteen', tmp_path)}"
    engine = create_database_engine(url)
    with engine.begin() as connection:
        for hour, event_type, published in ((0, "a", True), (1, "b", True), (2, "a", True), (3, "a", False)):
            connection.execute(insert(outbox.OUTBOX).values(
                event_id=f"e{hour}", event_type=event_type, payload={"id": f"e{hour}"},
                occurred_at=T0 + timedelta(hours=hour), published_at=(T0 + timedelta(hours=hour)) if published else None))
    yield url, engine
    engine.dispose()


def unpublished(engine):
    with engine.connect() as connection:
        return [r.event_id for r in connection.execute(
            select(outbox.OUTBOX).where(outbox.OUTBOX.c.published_at.is_(None)).order_by(outbox.OUTBOX.c.position))]


def test_a_replay_marks_again_the_published_events_of_its_window_and_type_only(canteen_db):
    url, engine = canteen_db
    assert outbox.replay(url, T0 + timedelta(hours=1), dry_run=True) == 2
    assert unpublished(engine) == ["e3"]  # a dry run changes nothing
    assert outbox.replay(url, T0, until=T0 + timedelta(hours=2), event_type="a") == 1
    assert unpublished(engine) == ["e0", "e3"]
    assert outbox.replay(url, T0) == 2  # e1, e2: e0 and e3 wait already
    assert unpublished(engine) == ["e0", "e1", "e2", "e3"]
    state = outbox.status(url)
    assert state == {"pending": 4, "oldest_pending": T0.isoformat(), "total": 4}


def test_the_replay_command_wants_an_instant_with_its_zone_and_a_database(canteen_db, capsys):
    url, engine = canteen_db
    env = {"CANTEEN_DATABASE_URL": url}
    assert outbox.main(["replay", "--service", "canteen", "--since", "2026-12-01T08:00:00"], env) == 2
    assert "time zone" in capsys.readouterr().err
    assert outbox.main(["replay", "--service", "billing", "--since", "2026-12-01T08:00:00Z"], env) == 2
    assert "BILLING_DATABASE_URL" in capsys.readouterr().err
    assert unpublished(engine) == ["e3"]
    assert outbox.main(["replay", "--service", "canteen", "--since", "2026-12-01T09:00:00+01:00"],
                       {"DATABASE_URL": url}) == 0  # in the service's own environment
    assert "canteen: 3 event(s) marked" in capsys.readouterr().out


def test_a_backup_wants_every_database_and_folder_and_postgresql(tmp_path):
    with pytest.raises(backup.BackupError, match="IDENTITY_DATABASE_URL.*BILLING_FILES_DIR"):
        backup.settings_from({})
    env = {backup.database_setting(s): f"postgresql://u:p@db/{s}" for s in outbox.SERVICES}
    env.update({name: str(tmp_path / name) for name in backup.FILES_SETTINGS})
    urls, folders = backup.settings_from(env)
    assert urls["billing"] == "postgresql://u:p@db/billing" and folders["BILLING_FILES_DIR"] == tmp_path / "BILLING_FILES_DIR"
    uri, tool_env = backup.libpq("postgresql://espace:s3cr%40t@db.internal:5433/espace_billing?sslmode=require")
    assert uri == "postgresql://espace@db.internal:5433/espace_billing?sslmode=require"  # no password in argv
    assert tool_env["PGPASSWORD"] == "s3cr@t"
    with pytest.raises(backup.BackupError, match="not a PostgreSQL URL"):
        backup.settings_from({**env, "PAYMENT_DATABASE_URL": "sqlite:///var/payment.sqlite"})
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.dump(tmp_path / "full", env)


def test_a_restore_refuses_a_damaged_backup_before_touching_anything(tmp_path):
    (tmp_path / "manifest.json").write_text('{"format": 1, "databases": {}, "files": {}}')
    with pytest.raises(backup.BackupError, match="every database"):
        backup.read_manifest(tmp_path)


@pytest.mark.postgres
def test_a_restore_creates_only_a_database_that_is_gone_and_names_any_other_failure():
    from sqlalchemy.engine import make_url

    from espace_deploy.testing import PostgresDatabase, postgres_admin_url, postgres_available
    if not postgres_available():
        pytest.skip("no PostgreSQL answers at TEST_POSTGRES_URL")
    database = PostgresDatabase()
    try:
        assert backup.ensure_database(database.url) is False  # there: connected to, not to the maintenance database
        database.drop()
        assert backup.ensure_database(database.url) is True
        assert backup.ensure_database(database.url) is False
    finally:
        database.drop()
    with pytest.raises(backup.BackupError, match='role "espace_nobody" does not exist'):
        backup.ensure_database(make_url(postgres_admin_url()).set(username="espace_nobody", password=None,
                                                                   database="espace_nothing").render_as_string(False))
