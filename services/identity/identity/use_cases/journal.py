"""The agents' journal: the gateway reports each agent write once it succeeded; administrators read it."""
from espace_common.errors import NotFound

from .. import domain, store


def record_agent_action(db, clock, payload):
    """Keep an agent's action; idempotent by its id (the gateway's retry, a duplicate, records nothing more).

    The agent must exist: a journal line names a real agent."""
    action = domain.parse_agent_action(payload, clock.now())
    with db.unit_of_work() as uow:
        if store.agent_by_id(uow, action["agent_id"]) is None:
            raise NotFound("agent_not_found", "Cet agent n'existe pas.")
        recorded = store.add_agent_action(uow, action)
        uow.commit()
    return {"id": action["id"], "recorded": recorded}


def agent_journal(db, filters):
    """A page of the journal, newest first: {items, page, pages, total}; filters family_id, agent (part of the
    identifier), from/to (instants), page."""
    filters = domain.parse_journal_filters(filters)
    with db.unit_of_work(read_only=True) as uow:
        rows, total = store.agent_journal(uow, filters, domain.JOURNAL_PAGE)
    return {"items": [{"id": r.id, "agent_id": r.agent_id, "agent": r.username or "", "action": r.action,
                       "method": r.method, "path": r.path, "family_id": r.family_id, "dossier": r.dossier,
                       "at": r.at.isoformat()} for r in rows],
            "page": filters["page"], "pages": max(1, -(-total // domain.JOURNAL_PAGE)), "total": total}
