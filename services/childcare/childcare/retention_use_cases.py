"""The crèche's retention purge (GDPR, issue #12): once a day, justification files past their period, old reads and mails."""
from espace_common.purge import purge_report, purged, run_purge
from espace_common.retention import justification_cutoff

from . import orm, personal_data_store as pds
from .domain_gdpr import retention_from_config


def purge_justifications(zone):
    def purge(uow, now, retention):
        last_end = justification_cutoff(now.astimezone(zone).date(), retention.days["justifications"])
        paths = pds.drop_justifications(uow, last_end)
        return [purged("justifications", len(paths), last_end, paths)]
    purge.__name__ = "purge_justifications"
    return purge


def purge_document_reads(uow, now, retention):
    cutoff = retention.cutoff("document_reads", now)
    return [purged("document_reads", pds.purge_reads(uow, cutoff), cutoff)]


def purge_mails(uow, now, retention):
    cutoff = retention.cutoff("mails", now)
    return [purged("mails", pds.purge_mails(uow, cutoff), cutoff)]


def purges(zone):
    return [purge_justifications(zone), purge_document_reads, purge_mails]


def purge(unit_of_work, clock, config, zone, files):
    """Today's purge, by one replica; None when today's already ran or runs elsewhere."""
    return run_purge(unit_of_work, clock, orm.scheduled_runs, orm.purge_log, purges(zone),
                     retention_from_config(config), zone, files)


def personal_data(unit_of_work, config, runs=True):
    answer = {"service": "childcare", "retention": retention_from_config(config).describe()}
    if runs:
        with unit_of_work(read_only=True) as uow:
            answer["runs"] = purge_report(uow, orm.scheduled_runs, orm.purge_log)
    return answer
