"""The retention purge of identity (GDPR, issue #12): once a day, what is older than its kind's period goes.

PURGES lists the functions `purge(uow, now, retention)`; another feature appends its own `purge_expired` (health
records, documents, messages) at merge. `espace_common.purge.run_purge` claims the day, runs each in its own
transaction with its purge_log rows, and records the run.
"""
from datetime import timedelta

from espace_common.documents import DocumentStore
from espace_common.formatting import PARIS
from espace_common.purge import purge_report, purged, run_purge

from .. import orm, personal_data_store as pds
from ..domain_gdpr import retention_from_config


def purge_audit_events(uow, now, retention):
    cutoff = retention.cutoff("audit_events", now)
    return [purged("audit_events", pds.purge_audit(uow, cutoff), cutoff)]


def purge_sessions(uow, now, retention):
    cutoff = retention.cutoff("sessions", now)
    return [purged("sessions", pds.purge_sessions(uow, cutoff), cutoff)]


def purge_agent_journal(uow, now, retention):
    cutoff = retention.cutoff("agent_journal", now)
    return [purged("agent_journal", pds.purge_journal(uow, cutoff), cutoff)]


def purge_mails(uow, now, retention):
    cutoff = retention.cutoff("mails", now)
    return [purged("mails", pds.purge_mails(uow, cutoff), cutoff)]


def purge_lapsed_keys(uow, now, retention):
    cutoff = retention.cutoff("lapsed_keys", now)
    return [purged("lapsed_keys", pds.purge_lapsed_keys(uow, cutoff), cutoff)]


def purge_closed_accounts(uow, now, retention):
    cutoff = retention.cutoff("closed_accounts", now)
    return [purged("closed_accounts", pds.delete_accounts(uow, pds.idle_accounts(uow, cutoff)), cutoff)]


def purge_health_records(uow, now, retention):
    from . import health
    answer = health.purge_expired(uow, now, {kind: timedelta(days=retention.get(kind))
                                             for kind in ("health_records", "health_record_reads")})
    return [purged(kind, answer[kind], retention.cutoff(kind, now)) for kind in ("health_records", "health_record_reads")]


def purge_wallet_documents(uow, now, retention):
    from . import wallet
    answer = wallet.purge_expired(uow, now, timedelta(days=retention.get("wallet_documents")))
    return [purged("wallet_documents", answer["documents"], retention.cutoff("wallet_documents", now), answer["paths"])]


def purge_closed_conversations(uow, now, retention):
    from . import messages
    answer = messages.purge_expired(uow, now, timedelta(days=retention.get("closed_conversations")))
    # The attachments live in the messages/ folder of identity's files (messages.files_from_config).
    return [purged("closed_conversations", answer["conversations"], retention.cutoff("closed_conversations", now),
                   [f"messages/{path}" for path in answer["files"]])]


def purge_reminders_sent(uow, now, retention):
    from . import reminders
    cutoff = retention.cutoff("reminders_sent", now)
    return [purged("reminders_sent", reminders.purge_sent_before(uow, cutoff), cutoff)]


PURGES = [purge_closed_accounts, purge_audit_events, purge_sessions, purge_agent_journal, purge_mails,
          purge_lapsed_keys, purge_health_records, purge_wallet_documents, purge_closed_conversations,
          purge_reminders_sent]


def identity_files(config):
    """The folder of identity's stored files (the wallet's, and the messages' under messages/)."""
    return DocumentStore(config.get("IDENTITY_FILES_DIR") or "var/identity-files")


def purge(db, clock, config):
    """Today's purge, run by one replica; None when the day's purge already ran (or runs elsewhere)."""
    return run_purge(db.unit_of_work, clock, orm.scheduled_runs, orm.purge_log, PURGES, retention_from_config(config),
                     PARIS, identity_files(config))


def personal_data(db, config, runs=True):
    """The kinds identity keeps with their periods and, for the administrators, the latest purge runs."""
    answer = {"service": "identity", "retention": retention_from_config(config).describe()}
    if runs:
        with db.unit_of_work(read_only=True) as uow:
            answer["runs"] = purge_report(uow, orm.scheduled_runs, orm.purge_log)
    return answer
