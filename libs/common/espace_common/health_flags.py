"""The allergy flags of identity's health records («fiche sanitaire», issue #12) that canteen and childcare each keep.

Each service owns its copy (its own table), fed by `identity.health_flags_changed` {child_id, allergies,
has_allergies, has_treatment, updated_at}, so that the canteen's day sheet and the crèche's planning show a flag
per child without asking identity. The full record stays in identity, which records every agent's read of it.
An event older than the flag kept (two saves delivered out of order) changes nothing.
"""
from datetime import datetime

from sqlalchemy import Boolean, Column, String, Table, select, update

from .db import UTCDateTime, insert_ignoring_duplicates

MAX_ALLERGIES = 300


def health_flags_table(metadata):
    return Table(
        "health_flags", metadata,
        Column("child_id", String(36), primary_key=True),
        Column("allergies", String(MAX_ALLERGIES), nullable=False),
        Column("has_treatment", Boolean, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
    )


def project_health_flags(db, message, handler):
    """Apply one health_flags_changed event once, however often it is delivered, unless a newer one was applied."""
    table = db.tables.health_flags
    data = message["data"]
    values = {"allergies": str(data.get("allergies") or "")[:MAX_ALLERGIES],
              "has_treatment": bool(data.get("has_treatment")),
              "updated_at": datetime.fromisoformat(data["updated_at"])}
    with db.unit_of_work() as uow:
        if uow.claim_event(message["id"], handler):
            if not insert_ignoring_duplicates(uow.connection, table, [{"child_id": data["child_id"], **values}]):
                uow.execute(update(table).where(table.c.child_id == data["child_id"],
                                                table.c.updated_at <= values["updated_at"]).values(**values))
        uow.commit()


def flags_of(uow, table, child_ids):
    """{child_id: {allergies, has_treatment}} for the children among child_ids with something to flag."""
    child_ids = list(set(child_ids))
    if not child_ids:
        return {}
    rows = uow.execute(select(table).where(table.c.child_id.in_(child_ids))).all()
    return {r.child_id: {"allergies": r.allergies, "has_treatment": r.has_treatment}
            for r in rows if r.allergies or r.has_treatment}
