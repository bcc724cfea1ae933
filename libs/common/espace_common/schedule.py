"""Scheduled tasks that run once per slot, in one place, however many replicas fire their timers.

Every replica of a service fires the same nameko timer; the first to claim the slot (a day, a week)
in the service's own database runs the task, the others see the claim and do nothing. A replica that
dies mid-run leaves a claim without `finished_at`: once its lease has passed, the next timer takes the
slot over and runs the task again, so each item a task produces (a reminder, a purge) must itself be
keyed once (a unique constraint), which makes the second run finish only what the first did not.
"""
import os
import socket
from datetime import timedelta

from sqlalchemy import JSON, Column, String, Table, and_, select, update

from .db import UTCDateTime, insert_ignoring_duplicates

DEFAULT_LEASE = timedelta(minutes=15)


def scheduled_runs_table(metadata):
    return Table(
        "scheduled_runs", metadata,
        Column("task", String(80), primary_key=True),
        Column("slot", String(40), primary_key=True),
        Column("owner", String(120), nullable=False),
        Column("started_at", UTCDateTime, nullable=False),
        Column("lease_until", UTCDateTime, nullable=False),
        Column("finished_at", UTCDateTime, nullable=True),
        Column("outcome", JSON, nullable=True),
    )


def this_process():
    """Who holds a claim, for the ops reading the table: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def claim_run(uow, table, task, slot, now, lease=DEFAULT_LEASE, owner=None):
    """True when this process is to run (task, slot) now: a fresh slot, or one whose runner died.

    The database settles the race between replicas: an insert that ignores an existing key, then a
    conditional update that only a lapsed, unfinished claim satisfies. Commit the unit of work before
    doing the task, so that the other replicas see the claim.
    """
    owner = owner or this_process()
    inserted = insert_ignoring_duplicates(uow.connection, table, [{
        "task": task, "slot": slot, "owner": owner, "started_at": now, "lease_until": now + lease,
        "finished_at": None, "outcome": None}])
    if inserted:
        return True
    taken_over = uow.execute(
        update(table)
        .where(table.c.task == task, table.c.slot == slot, table.c.finished_at.is_(None), table.c.lease_until < now)
        .values(owner=owner, started_at=now, lease_until=now + lease))
    return taken_over.rowcount == 1


def finish_run(uow, table, task, slot, now, outcome=None):
    """Mark (task, slot) done with what it did (counts, never personal data)."""
    uow.execute(update(table).where(table.c.task == task, table.c.slot == slot)
                .values(finished_at=now, outcome=outcome))


def runs(uow, table, task=None, limit=50):
    """The latest runs, newest first, for the agents' and ops' pages."""
    query = select(table).order_by(table.c.started_at.desc()).limit(limit)
    if task:
        query = query.where(table.c.task == task)
    return [dict(row._mapping) for row in uow.execute(query)]


def due_slot_open(uow, table, task, slot):
    """True while (task, slot) has not finished: a cheap check before computing anything."""
    row = uow.execute(select(table.c.finished_at).where(
        and_(table.c.task == task, table.c.slot == slot))).first()
    return row is None or row.finished_at is None


__all__ = ["scheduled_runs_table", "claim_run", "finish_run", "runs", "due_slot_open", "this_process",
           "DEFAULT_LEASE"]
