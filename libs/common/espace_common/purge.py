"""The daily retention purge of a service (GDPR, issue #12), run once a day whatever the number of replicas.

`run_purge` claims the day in `scheduled_runs` (espace_common.schedule), then runs each purge function of the
service in its own transaction with its `purge_log` rows, deletes the files those rows pointed to once committed,
and finishes the run with the counts. A purge function is `purge(uow, now, retention)` and answers what it did: a
list of `purged(kind, count, cutoff, files)` (or a dict {kind: count}, or a plain count named by its function), so
that other features' purges (health records, documents) can be appended to a service's list as they come.
"""
import logging

from sqlalchemy import Column, Integer, String, Table, UniqueConstraint, select

from .db import UTCDateTime, insert_ignoring_duplicates
from .schedule import claim_run, finish_run, runs

log = logging.getLogger(__name__)

TASK = "retention_purge"


def purge_log_table(metadata):
    """What each purge did: one row per day (slot) and kind, even when nothing was old enough (count 0)."""
    return Table(
        "purge_log", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("slot", String(40), nullable=False),
        Column("kind", String(40), nullable=False),
        Column("count", Integer, nullable=False),
        Column("cutoff", String(40), nullable=True),  # an ISO instant or date: older than it was purged
        Column("at", UTCDateTime, nullable=False),
        UniqueConstraint("slot", "kind", name="uq_purge_log_slot_kind"),
    )


def purged(kind, count, cutoff=None, files=()):
    return {"kind": kind, "count": int(count), "cutoff": None if cutoff is None else cutoff.isoformat(),
            "files": list(files)}


def _results(function, answer):
    if isinstance(answer, dict) and "kind" not in answer:
        return [purged(kind, count) for kind, count in answer.items()]
    if isinstance(answer, dict):
        return [answer]
    if isinstance(answer, int):
        return [purged(getattr(function, "__module__", "purge").rsplit(".", 1)[-1], answer)]
    return list(answer or [])


def run_purge(unit_of_work, clock, runs_table, log_table, purges, retention, zone, files=None):
    """Purge every kind once for today's slot; None when another replica (or an earlier run) has the slot.

    Each function runs in its own transaction: a failing one is logged and the others still run (the run's
    outcome says which failed). Files are deleted after the commit that removed their rows (`files.delete`),
    so that a rolled-back purge never loses a file a row still points to."""
    now = clock.now()
    slot = now.astimezone(zone).date().isoformat()
    with unit_of_work() as uow:
        if not claim_run(uow, runs_table, TASK, slot, now):
            return None
        uow.commit()
    outcome, failed = {}, []
    for function in purges:
        try:
            with unit_of_work() as uow:
                results = _results(function, function(uow, now, retention))
                insert_ignoring_duplicates(uow.connection, log_table, [
                    {"slot": slot, "kind": r["kind"][:40], "count": r["count"], "cutoff": r.get("cutoff"), "at": now}
                    for r in results])
                uow.commit()
        except Exception:  # noqa: BLE001 - one kind failing must not stop the others; the run records it
            log.exception("retention purge %s failed", getattr(function, "__name__", function))
            failed.append(getattr(function, "__name__", "purge"))
            continue
        for result in results:
            outcome[result["kind"]] = outcome.get(result["kind"], 0) + result["count"]
            for path in result.get("files") or ():
                try:
                    files.delete(path)
                except OSError:
                    log.exception("retention purge could not delete a file")
    with unit_of_work() as uow:
        finish_run(uow, runs_table, TASK, slot, clock.now(), {"counts": outcome, "failed": failed})
        uow.commit()
    return {"slot": slot, "counts": outcome, "failed": failed}


def purge_report(uow, runs_table, log_table, limit=30):
    """The latest purge runs, newest first, each with what it purged per kind: for the administrators' page."""
    done = runs(uow, runs_table, TASK, limit)
    slots = [run["slot"] for run in done]
    rows = uow.execute(select(log_table).where(log_table.c.slot.in_(slots)).order_by(log_table.c.kind)).all() \
        if slots else []
    by_slot = {}
    for row in rows:
        by_slot.setdefault(row.slot, []).append({"kind": row.kind, "count": row.count, "cutoff": row.cutoff,
                                                 "at": row.at.isoformat()})
    return [{"slot": run["slot"], "started_at": run["started_at"].isoformat(),
             "finished_at": run["finished_at"].isoformat() if run["finished_at"] else None,
             "failed": (run["outcome"] or {}).get("failed", []), "kinds": by_slot.get(run["slot"], [])}
            for run in done]


def iso(value):
    """A date or instant as ISO text for an export (None stays None)."""
    return None if value is None else value.isoformat()
