"""nameko extensions every service uses: its database, the outbox relay, deadline-aware RPC and event handlers.

Services take `rpc` and `event_handler` from here, never from nameko: these outlive a broker
outage (see TolerantRpcConsumer and EventHandler), where nameko's own kill the service.
"""
import hashlib
import logging
import os
import smtplib
import time
from contextlib import contextmanager
from datetime import timedelta

import eventlet
from eventlet.event import Event as GreenEvent
from kombu import Connection, Producer
from nameko.constants import AMQP_SSL_CONFIG_KEY, DEFAULT_SERIALIZER, LOGIN_METHOD_CONFIG_KEY, SERIALIZER_CONFIG_KEY
from nameko.events import EventHandler as NamekoEventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Responder, Rpc, RpcConsumer, get_rpc_exchange
from sqlalchemy import func, or_, select, text, update

from .amqp import BROKER_ERRORS, declare_topology, event_exchange
from .clock import process_clock
from .db import UnitOfWork, create_database_engine, database_health
from .events import subscriptions_to
from .mail import DEFAULT_SENDER, build_message, transport_for
from .observability import REQUEST_ID_AMQP_HEADER, REQUEST_ID_KEY
from .rpc_client import DEADLINE_HEADER

log = logging.getLogger(__name__)

RELAY_BATCH = 200
RELAY_IDLE_POLL_SECONDS = 2.0
RELAY_RETRY_SECONDS = 1.0
RELAY_BUSY_SECONDS = 0.1  # how soon a replica tries again while another one publishes
MAIL_MAX_ATTEMPTS = 10
MAIL_CLAIM_SECONDS = 120  # longer than an SMTP exchange (10 s timeout) can take


class TolerantRpcConsumer(RpcConsumer):
    """nameko's RPC consumer, except that a reply the broker cannot take is logged and dropped.

    nameko 2.14 publishes each reply from the worker's result handler; when the
    broker is gone the publish raises (kombu's OperationalError after its retries)
    and that error kills the whole service container. A reply that cannot be sent
    has no reader anyway: the caller's reply queue went with its connection, and
    the caller answered 503 when its deadline passed. The service itself lives on
    and its consumers reconnect when the broker is back.
    """

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = Responder(config["AMQP_URI"], get_rpc_exchange(config),
                              config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message, ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        try:
            result, exc_info = responder.send_response(result, exc_info)
        except BROKER_ERRORS as exc:
            log.warning("reply to %s dropped, the broker cannot take it: %s: %s",
                        message.delivery_info.get("routing_key"), exc.__class__.__name__, exc)
        self.ack(message)
        return result, exc_info

    def ack(self, message):
        """Ack on the channel the request came on; a channel lost with the broker has requeued it already."""
        try:
            self.queue_consumer.ack_message(message)
        except BROKER_ERRORS as exc:
            log.warning("could not acknowledge %s, its channel is gone: %s: %s",
                        message.delivery_info.get("routing_key"), exc.__class__.__name__, exc)


class DeadlineRpc(Rpc):
    """An RPC entrypoint that drops requests whose caller has already given up, and outlives the broker."""

    rpc_consumer = TolerantRpcConsumer()

    def handle_message(self, body, message):
        deadline = message.headers.get(DEADLINE_HEADER)
        if deadline is not None and time.time() > float(deadline):
            log.warning("dropped %s: its caller gave up %.1f s ago",
                        message.delivery_info.get("routing_key"), time.time() - float(deadline),
                        extra={REQUEST_ID_KEY: message.headers.get(REQUEST_ID_AMQP_HEADER)})  # no worker yet
            self.rpc_consumer.ack(message)
            return
        super().handle_message(body, message)


rpc = DeadlineRpc.decorator


class EventHandler(NamekoEventHandler):
    """nameko's event handler, except that an ack the broker cannot take is logged, not fatal.

    nameko 2.14 only forgives py-amqp's own ConnectionError when acking, so a socket reset
    (ConnectionResetError) while the broker stops kills the container. The broker requeues an
    unacked event when the channel goes; it comes back after the reconnection and the handler's
    processed_events record makes the second delivery a no-op.
    """

    def handle_message_processed(self, message, result=None, exc_info=None):
        try:
            super().handle_message_processed(message, result, exc_info)
        except BROKER_ERRORS as exc:
            log.warning("event %s left unacknowledged, the broker is gone (it will come again): %s: %s",
                        message.delivery_info.get("routing_key"), exc.__class__.__name__, exc)


event_handler = EventHandler.decorator


def fault_point(name):
    """Crash here when a fault test asks for it through EF_FAULTS (never set in production)."""
    if name in os.environ.get("EF_FAULTS", "").split(","):
        log.error("fault injection: crashing at %s", name)
        os._exit(70)


class Relay:
    """A green thread that drains a table after each commit (and every few seconds), retrying on failure."""

    name = "relay"

    def __init__(self, engine, clock):
        self.engine = engine
        self.clock = clock
        self._wake = GreenEvent()
        self._thread = None
        self.last_error = None

    def start(self):
        self._thread = eventlet.spawn(self._run)

    def stop(self):
        if self._thread is not None:
            self._thread.kill()
            self._thread = None

    def wake(self):
        if not self._wake.ready():
            self._wake.send(True)

    def drain(self):
        """Handle one batch; True when there may be more."""
        raise NotImplementedError

    def reset(self):
        """Forget connections after a failure."""

    def _run(self):
        while True:
            try:
                while self.drain():
                    pass
            except Exception as exc:  # keep going whatever happens; the rows wait in their table
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                log.warning("%s failed, will retry: %s", self.name, self.last_error)
                try:
                    self.reset()
                except Exception as reset_error:  # a broken connection may fail to close; it is dropped anyway
                    log.warning("%s: while dropping its connection: %s", self.name, reset_error)
                eventlet.sleep(RELAY_RETRY_SECONDS)
                continue
            self._wake = GreenEvent()
            with eventlet.Timeout(RELAY_IDLE_POLL_SECONDS, False):
                self._wake.wait()

    def pending(self, table, *conditions):
        with self.engine.connect() as db:
            db = db.execution_options(sqlite_begin="DEFERRED")
            return db.execute(select(table).where(*conditions).order_by(table.c.position).limit(RELAY_BATCH)).all()


class OutboxRelay(Relay):
    """Publishes committed outbox rows with publisher confirms, oldest first, then marks them."""

    def __init__(self, engine, tables, source, amqp_uri, clock):
        super().__init__(engine, clock)
        self.outbox = tables.outbox
        self.source = source
        self.amqp_uri = amqp_uri
        self.name = f"outbox relay of {source}"
        self._connection = None

    def pending_count(self):
        with self.engine.connect() as connection:
            connection = connection.execution_options(sqlite_begin="DEFERRED")
            return connection.execute(
                select(func.count()).select_from(self.outbox).where(self.outbox.c.published_at.is_(None))).scalar()

    def reset(self):
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.release()

    def drain(self):
        if self._connection is None:
            connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True})
            # One attempt: the loop in _run retries every second, so the relay is back (and the
            # service healthy again) a second after the broker, not after kombu's growing backoff.
            connection.ensure_connection(max_retries=1, timeout=3)
            declare_topology(connection, subscriptions_to(self.source))
            self._connection = connection
        more = self.publish_pending(self._connection)
        self.last_error = None
        return more

    def publish_pending(self, connection):
        """Publish one batch; True when there may be more."""
        with self.sole_publisher() as alone:
            if not alone:
                eventlet.sleep(RELAY_BUSY_SECONDS)
                return True
            return self._publish_batch(connection)

    @contextmanager
    def sole_publisher(self):
        """True while this process alone publishes the outbox (a PostgreSQL advisory lock, released with the session).

        Without it, replicas reading the same unpublished rows each publish them: consumers drop the copies
        (processed_events), but every copy's work is done twice, a run's PDFs drawn by both billing replicas.
        SQLite has no such lock; its replicas share one file on one host, where the copies stay harmless.
        """
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        with self.engine.connect() as db:
            alone = db.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.lock_key}).scalar()
            db.commit()
            try:
                yield alone
            finally:
                if alone:
                    db.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.lock_key})
                    db.commit()

    @property
    def lock_key(self):
        """A bigint naming this source's outbox, the same in every replica."""
        digest = hashlib.blake2b(f"espace-famille outbox {self.source}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)

    def _publish_batch(self, connection):
        rows = self.pending(self.outbox, self.outbox.c.published_at.is_(None))
        if not rows:
            return False
        producer = Producer(connection.channel(), exchange=event_exchange(self.source), serializer="json")
        try:
            for row in rows:
                fault_point("outbox.before_publish")
                # Confirms make publish() return only once the broker has the message.
                body, headers = dict(row.payload), {"nameko.event_id": row.payload.get("id")}
                request_id = body.pop(REQUEST_ID_KEY, None)
                if request_id:  # nameko hands it to the handler's worker as context data
                    headers[REQUEST_ID_AMQP_HEADER] = request_id
                producer.publish(body, routing_key=row.event_type, delivery_mode=2, headers=headers, retry=False)
                with self.engine.begin() as db:
                    db.execute(update(self.outbox).where(self.outbox.c.position == row.position)
                               .values(published_at=self.clock.now()))
        finally:
            producer.channel.close()
        return len(rows) == RELAY_BATCH


class MailRelay(Relay):
    """Sends committed mails in order; a failed one is retried later, up to MAIL_MAX_ATTEMPTS.

    Replicas of a service share the table: each mail is claimed by a conditional update before it is
    sent, so that only one replica sends it. A replica that dies holding a claim leaves the mail to
    the others once MAIL_CLAIM_SECONDS have passed (it may then leave twice: the rare crash between
    the SMTP answer and the commit, where losing the mail would be worse).
    """

    name = "mail relay"

    def __init__(self, engine, table, smtp_url, sender, clock):
        super().__init__(engine, clock)
        self.table = table
        self.transport = transport_for(smtp_url)
        self.sender = sender

    def drain(self):
        """Try each waiting mail once; True when a full batch was taken."""
        table = self.table
        now = self.clock.now()
        rows = self.pending(table, table.c.sent_at.is_(None), table.c.attempts < MAIL_MAX_ATTEMPTS,
                            or_(table.c.claimed_until.is_(None), table.c.claimed_until < now))
        for row in rows:
            if not self.claim(row):
                continue
            values = {"attempts": row.attempts + 1, "claimed_until": None}
            try:
                self.transport.send(build_message(self.sender, row.recipient, row.subject, row.body))
                values["sent_at"] = self.clock.now()
                self.last_error = None
            except (OSError, smtplib.SMTPException) as exc:
                values["last_error"] = f"{exc.__class__.__name__}: {exc}"[:300]
                self.last_error = values["last_error"]
                log.warning("mail to %s not sent (attempt %d): %s", row.recipient, row.attempts + 1, exc)
            with self.engine.begin() as db:
                db.execute(update(table).where(table.c.position == row.position).values(**values))
        return len(rows) == RELAY_BATCH and self.last_error is None

    def claim(self, row):
        """True when this process may send the mail: nobody sent it or holds it meanwhile."""
        table = self.table
        now = self.clock.now()
        with self.engine.begin() as db:
            claimed = db.execute(
                update(table)
                .where(table.c.position == row.position, table.c.sent_at.is_(None),
                       table.c.attempts == row.attempts,
                       or_(table.c.claimed_until.is_(None), table.c.claimed_until < now))
                .values(claimed_until=now + timedelta(seconds=MAIL_CLAIM_SECONDS)))
        return claimed.rowcount == 1


class Tables:
    """The service's tables by name, plus the outbox and processed-events tables."""

    def __init__(self, metadata):
        for table in metadata.sorted_tables:
            setattr(self, table.name, table)


class Database(DependencyProvider):
    """Gives each worker a unit-of-work factory; owns the engine and the outbox relay."""

    def __init__(self, metadata, clock=None):
        self.metadata = metadata
        self.clock = clock or process_clock()

    def setup(self):
        config = self.container.config
        self.engine = create_database_engine(config["DATABASE_URL"])
        self.tables = Tables(self.metadata)
        self.relay = OutboxRelay(self.engine, self.tables, self.container.service_name, config["AMQP_URI"], self.clock)
        self.mail_relay = None
        if hasattr(self.tables, "mail_outbox"):
            self.mail_relay = MailRelay(self.engine, self.tables.mail_outbox, config.get("SMTP_URL"),
                                        config.get("MAIL_SENDER") or DEFAULT_SENDER, self.clock)

    def start(self):
        self.relay.start()
        if self.mail_relay:
            self.mail_relay.start()

    def stop(self):
        self.relay.stop()
        if self.mail_relay:
            self.mail_relay.stop()
        self.engine.dispose()

    def committed(self):
        self.relay.wake()
        if self.mail_relay:
            self.mail_relay.wake()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return DatabaseAccess(self)


class DatabaseAccess:
    """What a worker sees: units of work, the tables and the clock."""

    def __init__(self, provider):
        self._provider = provider
        self.tables = provider.tables
        self.clock = provider.clock

    def unit_of_work(self, read_only=False):
        provider = self._provider
        return UnitOfWork(
            provider.engine, outbox=self.tables.outbox, processed=self.tables.processed_events,
            mail_outbox=getattr(self.tables, "mail_outbox", None),
            clock=provider.clock, on_commit=provider.committed, read_only=read_only,
        )

    def health(self):
        state = database_health(self._provider.engine)
        relay = self._provider.relay
        try:
            state["outbox_pending"] = relay.pending_count()
        except Exception:  # already reported by the database check
            state["outbox_pending"] = None
        return state, {"ok": relay.last_error is None, "error": relay.last_error}


class HealthMixin:
    """Adds health(), which reports the database and broker state, and ping(), which does nothing."""

    @rpc
    def ping(self):
        """A round trip and nothing else: the floor the gateway's benchmarks compare against."""
        return "pong"

    @rpc
    def health(self):
        database, broker = self.db.health()
        return {
            "service": self.name,
            "status": "ok" if database["ok"] and broker["ok"] else "degraded",
            "database": database,
            "broker": broker,
            "pid": os.getpid(),
        }
