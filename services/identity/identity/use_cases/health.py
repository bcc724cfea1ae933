"""The health record («fiche sanitaire») of each child (issue #12): kept by the family's representatives, read by
the agents of the service the child attends, every agent's read recorded (granted or refused).

`attends(service, child_id) -> bool` asks the service concerned ("canteen" or "childcare") whether it cares for
the child, at the time of the read (see docs/health-record.md for why an RPC rather than a projection); it may
raise DependencyUnavailable, and then nothing is read nor recorded.
"""
from datetime import timedelta

from espace_common.errors import Forbidden, NotFound
from espace_common.events import Event

from .. import domain_health, health_store, store
from ..domain import AGENT_ROLES

CHILD_NOT_FOUND = ("child_not_found", "Cet enfant n'existe pas.")
AGENT_NOT_FOUND = ("agent_not_found", "Cet agent n'existe pas.")
# How long each kind of data is kept by default (purge_expired); the configuration may say otherwise.
DEFAULT_RETENTION = {"health_records": timedelta(days=730), "health_record_reads": timedelta(days=365)}


def _family_of(uow, account_id):
    account = store.account_by_id(uow, account_id) if isinstance(account_id, str) else None
    if account is None:
        raise NotFound("account_not_found", "Ce compte n'existe pas.")
    return account.family_id


def _own_child(uow, account_id, child_id):
    """The child when it belongs to the account's family; NotFound otherwise (another family's child is absent)."""
    family_id = _family_of(uow, account_id)
    if not isinstance(child_id, str) or len(child_id) > 36 or not health_store.family_has_child(uow, family_id,
                                                                                                child_id):
        raise NotFound(*CHILD_NOT_FOUND)
    return health_store.child(uow, child_id)


def _child_dict(row):
    return {"id": row.id, "first_name": row.first_name, "last_name": row.last_name,
            "birth_date": row.birth_date.isoformat()}


def _answer(uow, child_row, row):
    updated_by = health_store.account_name(uow, row.updated_by) if row else None
    return domain_health.record_answer(_child_dict(child_row), health_store.record_of(row),
                                       row.updated_at if row else None, updated_by)


def _reads(uow, child_id):
    return [{"agent": r.agent_username, "role": r.role, "role_label": AGENT_ROLES.get(r.role, ""),
             "granted": r.granted, "at": r.at.isoformat()} for r in health_store.reads_of(uow, child_id)]


def family_health_records(db, account_id):
    """The family's children, each with whether its record is filled and when it was last updated."""
    with db.unit_of_work(read_only=True) as uow:
        family_id = _family_of(uow, account_id)
        children = health_store.children_of_family(uow, family_id)
        rows = health_store.records_of(uow, [c.id for c in children])
        items = []
        for c in children:
            row = rows.get(c.id)
            items.append({**_child_dict(c), "child_id": c.id, "filled": row is not None,
                          "allergies": row.allergies if row else "",
                          "updated_at": row.updated_at.isoformat() if row else None})
    return {"children": items, "vocabulary": domain_health.health_vocabulary()}


def health_record(db, account_id, child_id):
    """A parent reads the record of a child of the family (not recorded), with every agent's read of it."""
    with db.unit_of_work(read_only=True) as uow:
        child = _own_child(uow, account_id, child_id)
        answer = _answer(uow, child, health_store.record_row(uow, child_id))
        answer["reads"] = _reads(uow, child_id)
    answer["vocabulary"] = domain_health.health_vocabulary()
    return answer


def save_health_record(db, clock, account_id, child_id, payload):
    """A representative saves the whole record; the canteen and the crèche learn its flags (health_flags_changed)."""
    record = domain_health.parse_health_record(payload)
    now = clock.now()
    with db.unit_of_work() as uow:
        child = _own_child(uow, account_id, child_id)
        health_store.save_record(uow, child_id, record, now, account_id)
        uow.record(Event("identity", "health_flags_changed", domain_health.flags_data(child_id, record, now)))
        answer = _answer(uow, child, health_store.record_row(uow, child_id))
        uow.commit()
    return answer


def agent_health_record(db, clock, attends, agent_id, child_id):
    """An agent reads a child's record: granted when the child attends the service of one of the agent's care
    roles, refused (Forbidden) otherwise; either way the read is recorded."""
    with db.unit_of_work(read_only=True) as uow:
        agent = store.agent_by_id(uow, agent_id) if isinstance(agent_id, str) else None
        if agent is None or not agent.active:
            raise NotFound(*AGENT_NOT_FOUND)
        if not isinstance(child_id, str) or len(child_id) > 36 or health_store.child(uow, child_id) is None:
            raise NotFound(*CHILD_NOT_FOUND)
    roles = list(agent.roles or ())
    # The services are asked outside any transaction: no I/O inside a unit of work.
    attended = {service for service in domain_health.care_services(roles) if attends(service, child_id)}
    try:
        role = domain_health.reading_role(roles, attended)
    except Forbidden:
        with db.unit_of_work() as uow:
            health_store.add_read(uow, child_id, agent, "", False, clock.now())
            uow.commit()
        raise
    with db.unit_of_work() as uow:
        health_store.add_read(uow, child_id, agent, role, True, clock.now())
        answer = _answer(uow, health_store.child(uow, child_id), health_store.record_row(uow, child_id))
        uow.commit()
    answer["read_as"] = role
    answer["vocabulary"] = domain_health.health_vocabulary()
    return answer


# --- Hooks for the family's data export and the retention purge (GDPR, issue #12) --------------------------------

def export_family(uow, family_id):
    """What identity holds on the health of a family's children: each child's record and every agent's read."""
    children = health_store.children_of_family(uow, family_id)
    rows = health_store.records_of(uow, [c.id for c in children])
    out = []
    for child in children:
        row = rows.get(child.id)
        record = _answer(uow, child, row)
        record["reads"] = _reads(uow, child.id)
        out.append(record)
    return {"health_records": out}


def purge_expired(uow, now, retention=None):
    """Delete the health records not updated within the retention (a record is renewed each school year; one left
    untouched that long belongs to a child who left) and those of children no family holds any more; delete the
    reads older than theirs. The canteen and the crèche are told to drop the purged records' flags.

    `retention`: a timedelta for both, or {"health_records": timedelta, "health_record_reads": timedelta}.
    The caller commits. Returns {health_records: n, health_record_reads: n}."""
    if retention is None:
        retention = DEFAULT_RETENTION
    elif isinstance(retention, timedelta):
        retention = {"health_records": retention, "health_record_reads": retention}
    records = health_store.purge_records(uow, now - retention.get("health_records", DEFAULT_RETENTION["health_records"]))
    for child_id in records:
        uow.record(Event("identity", "health_flags_changed",
                         domain_health.flags_data(child_id, domain_health.HealthRecord(), now)))
    reads = health_store.purge_reads_before(
        uow, now - retention.get("health_record_reads", DEFAULT_RETENTION["health_record_reads"]))
    return {"health_records": len(records), "health_record_reads": reads}

