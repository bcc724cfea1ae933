"""The projection of identity's families that canteen, childcare and billing each keep.

Each of those services owns its copy (its own table, its own database), fed by
the `identity.family_registered` event, so that no request needs to ask identity.
"""
from sqlalchemy import Column, Date, String, Table, insert, select
from datetime import date


def family_children_table(metadata):
    return Table(
        "family_children", metadata,
        Column("family_id", String(36), primary_key=True),
        Column("child_id", String(36), primary_key=True),
        Column("first_name", String(100), nullable=False),
        Column("last_name", String(100), nullable=False),
        Column("birth_date", Date, nullable=False),
    )


def project_family_registered(db, message, handler):
    """Apply one family_registered event once, however often it is delivered."""
    table = db.tables.family_children
    data = message["data"]
    with db.unit_of_work() as uow:
        if uow.claim_event(message["id"], handler):
            for child in data["children"]:
                uow.execute(insert(table).values(
                    family_id=data["family_id"], child_id=child["id"], first_name=child["first_name"],
                    last_name=child["last_name"], birth_date=date.fromisoformat(child["birth_date"])))
        uow.commit()


def children_of(db, family_id):
    table = db.tables.family_children
    with db.unit_of_work(read_only=True) as uow:
        rows = uow.execute(select(table).where(table.c.family_id == family_id).order_by(table.c.birth_date)).all()
    return [{"child_id": r.child_id, "first_name": r.first_name, "last_name": r.last_name,
             "birth_date": r.birth_date.isoformat()} for r in rows]
