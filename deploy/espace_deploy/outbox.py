"""See and replay the services' outboxes: re-publish events already sent, e.g. after a broker lost its queues.

    python -m espace_deploy.outbox status --all
    python -m espace_deploy.outbox replay --service identity --since 2026-12-01T08:00:00+01:00 [--until ...]
    python -m espace_deploy.outbox replay --all --since 2026-12-01T08:00:00Z --dry-run

A replay marks the chosen rows of a service's outbox as not yet published; the service's own relay (every
replica polls its outbox every two seconds) publishes them again, oldest first, with their original event ids.
That is safe because every consumer is idempotent: each handler records the event id in its processed_events
table in the transaction of its effect (UnitOfWork.claim_event), or keys its effect on the fact itself (a card
payment on its transaction id, an invoicing run on its state). The databases come from <SERVICE>_DATABASE_URL
(or DATABASE_URL for a single --service). See docs/ops.md.
"""
import argparse
import os
import sys
from datetime import datetime

from sqlalchemy import func, select, update

from espace_common.db import create_database_engine, messaging_tables, new_metadata

from .suite import SERVICES

OUTBOX, _ = messaging_tables(new_metadata())


class OutboxError(Exception):
    """What stops the command, in one sentence."""


def database_url(service, environ=os.environ, single=False):
    url = environ.get(f"{service.upper()}_DATABASE_URL") or (environ.get("DATABASE_URL") if single else None)
    if not url:
        raise OutboxError(f"set {service.upper()}_DATABASE_URL (the {service} service's DATABASE_URL).")
    return url


def instant(value, name):
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise OutboxError(f"{name} must be an ISO 8601 instant such as 2026-12-01T08:00:00+01:00, not {value!r}.") from None
    if moment.tzinfo is None:
        raise OutboxError(f"{name} must say its time zone (Z or +01:00): {value!r} could be any of them.")
    return moment


def _chosen(since, until=None, event_type=None):
    conditions = [OUTBOX.c.published_at.is_not(None), OUTBOX.c.occurred_at >= since]
    if until is not None:
        conditions.append(OUTBOX.c.occurred_at < until)
    if event_type:
        conditions.append(OUTBOX.c.event_type == event_type)
    return conditions


def replay(url, since, until=None, event_type=None, dry_run=False):
    """Mark the published events that occurred in [since, until) (of one type, if given) for publishing again;
    returns how many. Events still waiting are left as they are: they go out anyway."""
    engine = create_database_engine(url)
    try:
        with engine.begin() as connection:
            conditions = _chosen(since, until, event_type)
            if dry_run:
                return connection.execute(select(func.count()).select_from(OUTBOX).where(*conditions)).scalar()
            return connection.execute(update(OUTBOX).where(*conditions).values(published_at=None)).rowcount
    finally:
        engine.dispose()


def status(url):
    """{pending, oldest_pending, total}: what the relay has still to publish, and since when."""
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            pending = connection.execute(
                select(func.count(), func.min(OUTBOX.c.occurred_at)).where(OUTBOX.c.published_at.is_(None))).one()
            total = connection.execute(select(func.count()).select_from(OUTBOX)).scalar()
    finally:
        engine.dispose()
    oldest = pending[1]  # min() keeps the column's type: an aware UTC instant
    return {"pending": pending[0], "oldest_pending": oldest.isoformat() if oldest else None, "total": total}


def main(argv=None, environ=os.environ):
    parser = argparse.ArgumentParser(prog="python -m espace_deploy.outbox", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    for name in ("status", "replay"):
        command = sub.add_parser(name)
        which = command.add_mutually_exclusive_group(required=True)
        which.add_argument("--service", choices=SERVICES)
        which.add_argument("--all", action="store_true", help="every service's outbox")
        if name == "replay":
            command.add_argument("--since", required=True, help="ISO 8601 instant with its time zone")
            command.add_argument("--until", help="ISO 8601 instant (excluded); default: now")
            command.add_argument("--event", help="only this event type, e.g. family_registered")
            command.add_argument("--dry-run", action="store_true", help="count, change nothing")
    args = parser.parse_args(argv)
    services = SERVICES if args.all else (args.service,)
    try:
        urls = {s: database_url(s, environ, single=not args.all) for s in services}
        if args.action == "status":
            for service, url in urls.items():
                state = status(url)
                print(f"{service}: {state['pending']} event(s) waiting (oldest {state['oldest_pending'] or '-'}), "
                      f"{state['total']} in the outbox")
            return 0
        since = instant(args.since, "--since")
        until = instant(args.until, "--until") if args.until else None
        for service, url in urls.items():
            count = replay(url, since, until, args.event, args.dry_run)
            verb = "would be published again" if args.dry_run else "marked to be published again"
            print(f"{service}: {count} event(s) {verb}")
    except OutboxError as exc:
        print(f"{args.action} failed: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
