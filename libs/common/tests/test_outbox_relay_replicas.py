"""Two replicas' outbox relays on one PostgreSQL outbox publish each event once."""
import threading

import pytest
from kombu import Connection

from espace_common import nameko_support
from espace_common.clock import SystemClock
from espace_common.db import UnitOfWork, create_database_engine, messaging_tables, new_metadata
from espace_common.events import Event
from espace_common.nameko_support import OutboxRelay, Tables
from espace_deploy.testing import PostgresDatabase, postgres_available

pytestmark = [pytest.mark.broker, pytest.mark.postgres]

EVENTS = 600  # three batches: the race between reading rows and marking them has room to happen
QUEUE = "evt-identity-family_registered--canteen.on_family_registered"


@pytest.fixture
def outbox():
    """PostgreSQL only: the sole-publisher lock is PostgreSQL's (SQLite replicas share one file on one host)."""
    if not postgres_available():
        pytest.skip("no PostgreSQL answers at TEST_POSTGRES_URL")
    database = PostgresDatabase()
    metadata = new_metadata()
    messaging_tables(metadata)
    engine = create_database_engine(database.url)
    metadata.create_all(engine)
    tables = Tables(metadata)
    with UnitOfWork(engine, outbox=tables.outbox) as uow:
        for number in range(EVENTS):
            uow.record(Event("identity", "family_registered", {"family_id": f"f{number}"}))
        uow.commit()
    yield engine, tables
    engine.dispose()
    database.drop()


def drain_together(engine, tables, amqp_uri):
    relays = [OutboxRelay(engine, tables, "identity", amqp_uri, SystemClock()) for _ in range(2)]
    start = threading.Barrier(len(relays))
    failures = []

    def run(relay):
        try:
            start.wait()
            while relay.drain():
                pass
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            failures.append(exc)
        finally:
            relay.reset()

    threads = [threading.Thread(target=run, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures


def published(amqp_uri):
    with Connection(amqp_uri) as connection:
        ids = []
        channel = connection.channel()
        while (message := channel.basic_get(QUEUE, no_ack=True)) is not None:
            ids.append(message.headers["nameko.event_id"])
    return ids


def test_two_relays_on_one_outbox_publish_each_event_once(outbox, vhost):
    engine, tables = outbox
    drain_together(engine, tables, vhost.amqp_uri)
    ids = published(vhost.amqp_uri)
    assert len(ids) == EVENTS and len(set(ids)) == EVENTS


def test_without_the_lock_the_relays_publish_copies(outbox, vhost, monkeypatch):
    """The test above could not fail if the relays never raced: without the lock they do."""
    monkeypatch.setattr(OutboxRelay, "sole_publisher", lambda self: nameko_support.contextmanager(
        lambda: (yield True))())
    engine, tables = outbox
    drain_together(engine, tables, vhost.amqp_uri)
    ids = published(vhost.amqp_uri)
    assert len(set(ids)) == EVENTS and len(ids) > EVENTS
