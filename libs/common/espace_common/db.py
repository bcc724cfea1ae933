"""Engines, tables conventions and the unit of work every service uses."""
import logging
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (
    JSON, Column, DateTime, Index, Integer, MetaData, String, Table, TypeDecorator,
    create_engine, event, insert, select, text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, DBAPIError

from .config import ConfigError
from .observability import REQUEST_ID_KEY, current_request_id

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 10_000


def new_metadata():
    """A MetaData whose constraint names Alembic can find again on SQLite."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def new_id():
    """An opaque identifier for anything shown outside its service."""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """An instant stored as naive UTC and read back as aware UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def normalise_url(url):
    """Pick drivers that yield under eventlet and make SQLite folders exist."""
    if not url:
        raise ConfigError("DATABASE_URL", "no database is configured.")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", f"'{url}' is not a database URL.") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+pg8000")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError("DATABASE_URL", f"the folder {folder} of the SQLite file cannot be created ({exc.strerror}).") from None
    return parsed


def create_database_engine(url, **kwargs):
    """An engine tuned for its backend: SQLite in WAL mode with BEGIN IMMEDIATE writes."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # The driver's own transaction handling is turned off so that we issue
            # BEGIN ourselves and can take the write lock up front.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def check_database(url):
    """Connect once; raise ConfigError with one sentence when the database cannot be used."""
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise ConfigError("DATABASE_URL", f"cannot connect to {engine.url.render_as_string(hide_password=True)} ({reason}).") from None
    finally:
        engine.dispose()


def messaging_tables(metadata):
    """The outbox of events to publish and the record of events already handled."""
    outbox = Table(
        "outbox", metadata,
        Column("position", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(120), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("published_at", UTCDateTime, nullable=True),
    )
    Index("ix_outbox_pending", outbox.c.published_at, outbox.c.position)
    processed = Table(
        "processed_events", metadata,
        Column("event_id", String(36), primary_key=True),
        Column("handler", String(160), primary_key=True),
        Column("processed_at", UTCDateTime, nullable=False),
    )
    return outbox, processed


class UnitOfWork:
    """One transaction: rolls back unless committed, and records events to publish with it."""

    def __init__(self, engine, outbox=None, processed=None, clock=None, on_commit=None, read_only=False,
                 mail_outbox=None):
        self._engine = engine
        self._outbox = outbox
        self._processed = processed
        self._mail_outbox = mail_outbox
        self._clock = clock
        self._on_commit = on_commit
        self._read_only = read_only
        self.connection = None
        self._transaction = None
        self._pending_events = 0

    def __enter__(self):
        connection = self._engine.connect()
        if self._read_only:
            connection = connection.execution_options(sqlite_begin="DEFERRED")
        self.connection = connection
        self._transaction = connection.begin()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()
            self.connection = None

    def execute(self, statement, *args, **kwargs):
        return self.connection.execute(statement, *args, **kwargs)

    def record(self, event):
        """Write an event in this transaction; it is published only if the transaction commits."""
        payload = event.as_message()
        request_id = current_request_id()
        if request_id:  # the relay publishes it as the event's header: the handlers' log lines name the request
            payload[REQUEST_ID_KEY] = request_id
        self.connection.execute(insert(self._outbox).values(
            event_id=event.id, event_type=event.type, payload=payload,
            occurred_at=event.occurred_at, published_at=None,
        ))
        self._pending_events += 1

    def send_mail(self, recipient, subject, body):
        """Queue a mail in this transaction; it leaves only if the transaction commits."""
        now = self._clock.now() if self._clock else datetime.now(timezone.utc)
        self.connection.execute(insert(self._mail_outbox).values(
            recipient=recipient, subject=subject, body=body, created_at=now, attempts=0))
        self._pending_events += 1

    def claim_event(self, event_id, handler):
        """True the first time this handler sees the event, False for a duplicate."""
        seen = self.connection.execute(
            select(self._processed.c.event_id).where(
                self._processed.c.event_id == event_id, self._processed.c.handler == handler)
        ).first()
        if seen:
            return False
        now = self._clock.now() if self._clock else datetime.now(timezone.utc)
        # The primary key settles a race between two deliveries on PostgreSQL.
        savepoint = self.connection.begin_nested()
        try:
            self.connection.execute(insert(self._processed).values(event_id=event_id, handler=handler, processed_at=now))
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            return False
        return True

    def commit(self):
        self._transaction.commit()
        if self._pending_events and self._on_commit:
            self._on_commit()
        self._pending_events = 0


def database_health(engine):
    """The database part of a service's health() answer."""
    try:
        with engine.connect() as connection:
            connection.execution_options(sqlite_begin="DEFERRED")
            connection.execute(text("SELECT 1"))
        return {"ok": True, "backend": engine.url.get_backend_name()}
    except Exception as exc:  # health reports any failure instead of raising it
        return {"ok": False, "backend": engine.url.get_backend_name(), "error": str(exc).splitlines()[0]}


def insert_ignoring_duplicates(connection, table, rows):
    """Insert rows, skipping those whose key already exists; returns how many were inserted.

    The database settles races (two parents on the same day): no read-then-write.
    """
    if not rows:
        return 0
    dialect = connection.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        raise NotImplementedError(f"no conflict-ignoring insert for {dialect}")
    result = connection.execute(dialect_insert(table).on_conflict_do_nothing(), rows)
    return result.rowcount
