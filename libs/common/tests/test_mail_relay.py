"""Two replicas' mail relays on one outbox send each mail once; a dead replica's claim lapses (SQLite and PostgreSQL)."""
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from sqlalchemy import select

from espace_common.clock import FixedClock
from espace_common.db import UnitOfWork, create_database_engine, new_metadata
from espace_common.mail import mail_outbox_table
from espace_common.nameko_support import MAIL_CLAIM_SECONDS, MailRelay

metadata = new_metadata()
outbox = mail_outbox_table(metadata)


class SlowRecorder:
    """An SMTP stand-in that takes its time, so that both relays are inside their batch at once."""

    def __init__(self, sent):
        self.sent = sent

    def send(self, message):
        eventlet.sleep(0.01)
        self.sent.append(message["To"])


@pytest.fixture
def engine(database_factory):
    engine = create_database_engine(database_factory("mails"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def relay(engine, clock, sent, tmp_path):
    mail_relay = MailRelay(engine, outbox, f"file://{tmp_path}", "Espace Famille <ef@example.org>", clock)
    mail_relay.transport = SlowRecorder(sent)
    return mail_relay


def queue(engine, clock, count):
    with UnitOfWork(engine, mail_outbox=outbox, clock=clock) as work:
        for n in range(count):
            work.send_mail(f"parent{n}@example.org", "Rappel", "La semaine prochaine n'est pas réservée.")
        work.commit()


def test_two_replicas_draining_at_once_send_each_mail_once(engine, tmp_path):
    clock = FixedClock(datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc))
    queue(engine, clock, 20)
    sent = []
    first, second = relay(engine, clock, sent, tmp_path), relay(engine, clock, sent, tmp_path)
    threads = [eventlet.spawn(first.drain), eventlet.spawn(second.drain)]
    for thread in threads:
        thread.wait()
    assert sorted(sent) == sorted(f"parent{n}@example.org" for n in range(20))
    with engine.connect() as db:
        assert all(row.sent_at is not None and row.attempts == 1 for row in db.execute(select(outbox)))


def test_a_mail_held_by_a_dead_replica_is_sent_by_another_once_the_claim_lapses(engine, tmp_path):
    clock = FixedClock(datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc))
    queue(engine, clock, 1)
    sent = []
    dead, alive = relay(engine, clock, sent, tmp_path), relay(engine, clock, sent, tmp_path)
    with engine.connect() as db:
        row = db.execute(select(outbox)).one()
    assert dead.claim(row)  # ...and dies before sending
    alive.drain()
    assert sent == []
    clock.advance(seconds=MAIL_CLAIM_SECONDS + 1)
    alive.drain()
    alive.drain()
    assert sent == ["parent0@example.org"]
