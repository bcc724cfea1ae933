"""The family's trail (issue #12): an append-only table in each service that changes a family's bookings or meals.

Each service writes, in the transaction of the change itself, one entry per change it made (what, when, by whom),
and reads them back per family and range of dates. The store offers no update and no delete of an entry, and the
database refuses any UPDATE of the table (a trigger created by the service's migration, on SQLite and PostgreSQL):
an entry cannot be edited. DELETE stays possible for the retention purge (GDPR), which removes whole old entries.

Nothing is recorded twice: a use case writes an entry only for a row the database says it changed (a reservation
inserted, a booking cancelled...), and every entry carries a deterministic `entry_key` (a digest of the family, the
action, what it acted on and the identity of the change) under a UNIQUE constraint, inserted ignoring duplicates:
a command delivered twice, or two identical commands racing, leave one entry.
"""
import hashlib
import json

from sqlalchemy import DDL, JSON, Column, Index, Integer, String, Table, event, select

from .db import UTCDateTime, insert_ignoring_duplicates

TABLE = "family_trail"
MESSAGE = "family_trail is append-only: an entry cannot be changed"

SQLITE_TRIGGER = (f"CREATE TRIGGER family_trail_append_only BEFORE UPDATE ON {TABLE} "
                  f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
POSTGRES_FUNCTION = ("CREATE OR REPLACE FUNCTION family_trail_append_only() RETURNS trigger AS $$ "
                     f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql")
POSTGRES_TRIGGER = (f"CREATE TRIGGER family_trail_append_only BEFORE UPDATE ON {TABLE} "
                    "FOR EACH ROW EXECUTE FUNCTION family_trail_append_only()")


def family_trail_table(metadata):
    table = Table(
        TABLE, metadata,
        # The order of writing, within an instant too (never shown: the entries need no identifier outside).
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("family_id", String(36), nullable=False),
        Column("child_id", String(36), nullable=True),
        Column("at", UTCDateTime, nullable=False),
        Column("actor_kind", String(10), nullable=False),  # parent, agent or system
        Column("actor_id", String(80), nullable=False),
        Column("actor_name", String(120), nullable=False),
        Column("action", String(40), nullable=False),
        Column("details", JSON, nullable=False),
        Column("entry_key", String(64), nullable=False, unique=True),
    )
    Index("ix_family_trail_family_at", table.c.family_id, table.c.at)
    # A table made by metadata.create_all (never in the services, which migrate) refuses updates all the same.
    event.listen(table, "after_create", DDL(SQLITE_TRIGGER).execute_if(dialect="sqlite"))
    event.listen(table, "after_create", DDL(POSTGRES_FUNCTION).execute_if(dialect="postgresql"))
    event.listen(table, "after_create", DDL(POSTGRES_TRIGGER).execute_if(dialect="postgresql"))
    return table


def create_trigger(op):
    """In a migration, after the table: the database refuses every UPDATE of an entry."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def drop_trigger(op):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS family_trail_append_only ON {TABLE}")
        op.execute("DROP FUNCTION IF EXISTS family_trail_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS family_trail_append_only")


def entry_key(family_id, action, *identity):
    """The deterministic key of one change: the same change recorded again finds its key taken."""
    text = json.dumps([family_id, action, *[str(part) for part in identity]], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def entry(family_id, child_id, action, actor, at, details, identity):
    """One row to record; `identity` is what makes this change itself (ids, dates, the instant of the row)."""
    return {"family_id": family_id, "child_id": child_id, "action": action, "actor": actor, "at": at,
            "details": details, "identity": identity}


def record(uow, table, entries):
    """Write entries in the unit of work of the change; an entry whose key exists is skipped. Returns how many."""
    rows = [{"family_id": e["family_id"], "child_id": e["child_id"], "at": e["at"],
             "actor_kind": e["actor"]["kind"], "actor_id": e["actor"]["id"] or "", "actor_name": e["actor"]["name"] or "",
             "action": e["action"], "details": e["details"],
             "entry_key": entry_key(e["family_id"], e["action"], *e["identity"])} for e in entries]
    return insert_ignoring_duplicates(uow.connection, table, rows)


def as_dict(row):
    return {"at": row.at.isoformat(), "actor": {"kind": row.actor_kind, "id": row.actor_id, "name": row.actor_name},
            "action": row.action, "child_id": row.child_id, "details": row.details}


def entries_between(uow, table, family_id, start, end, limit):
    """The family's entries with start <= at < end, newest first, at most `limit`."""
    rows = uow.execute(select(table).where(table.c.family_id == family_id, table.c.at >= start, table.c.at < end)
                       .order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)).all()
    return [as_dict(r) for r in rows]


def export(uow, table, family_id):
    """Every entry of the family, oldest first (the family's data export, GDPR)."""
    rows = uow.execute(select(table).where(table.c.family_id == family_id)
                       .order_by(table.c.at, table.c.id)).all()
    return [as_dict(r) for r in rows]
