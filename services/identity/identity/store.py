"""Reading and writing the identity tables inside a unit of work."""
from sqlalchemy import insert, select, update

from espace_common.db import new_id

from . import orm
from .domain import Family, fold


def next_counter(uow, name):
    """Take the next number of a named sequence; the row lock settles concurrent callers."""
    row = uow.execute(
        update(orm.counters).where(orm.counters.c.name == name)
        .values(value=orm.counters.c.value + 1).returning(orm.counters.c.value)
    ).first()
    if row is None:
        uow.execute(insert(orm.counters).values(name=name, value=1))
        return 1
    return row.value


def family_by_request(uow, request_id):
    row = uow.execute(select(orm.families.c.id).where(orm.families.c.request_id == request_id)).first()
    return load_family(uow, row.id) if row else None


def add_family(uow, command, dossier, now):
    family_id = new_id()
    uow.execute(insert(orm.families).values(id=family_id, dossier=dossier, request_id=command.request_id, created_at=now))
    for position, rep in enumerate(command.representatives):
        address = rep.address
        uow.execute(insert(orm.representatives).values(
            id=new_id(), family_id=family_id, position=position,
            first_name=rep.first_name, last_name=rep.last_name, email=rep.email, phone=rep.phone,
            address_line1=address.line1 if address else "", address_line2=address.line2 if address else "",
            postal_code=address.postal_code if address else "", city=address.city if address else "",
            caf_number=rep.caf_number,
        ))
    for position, kid in enumerate(command.children):
        child_id = new_id()
        uow.execute(insert(orm.children).values(
            id=child_id, first_name=kid.first_name, last_name=kid.last_name, birth_date=kid.birth_date))
        uow.execute(insert(orm.family_children).values(family_id=family_id, child_id=child_id, position=position))
    return load_family(uow, family_id)


def load_family(uow, family_id):
    row = uow.execute(select(orm.families).where(orm.families.c.id == family_id)).first()
    if row is None:
        return None
    reps = uow.execute(
        select(orm.representatives).where(orm.representatives.c.family_id == family_id)
        .order_by(orm.representatives.c.position)).all()
    kids = uow.execute(
        select(orm.children).join(orm.family_children, orm.family_children.c.child_id == orm.children.c.id)
        .where(orm.family_children.c.family_id == family_id).order_by(orm.family_children.c.position)).all()
    return Family(
        id=row.id, dossier=row.dossier,
        representatives=[{
            "id": r.id, "first_name": r.first_name, "last_name": r.last_name, "email": r.email, "phone": r.phone,
            "address": {"line1": r.address_line1, "line2": r.address_line2, "postal_code": r.postal_code, "city": r.city},
            "caf_number": r.caf_number,
        } for r in reps],
        children=[{"id": k.id, "first_name": k.first_name, "last_name": k.last_name,
                   "birth_date": k.birth_date.isoformat()} for k in kids],
    )


def agent_by_username(uow, username):
    return uow.execute(select(orm.agents).where(orm.agents.c.username_folded == fold(username))).first()


def save_agent(uow, username, password_hash, roles, now):
    existing = agent_by_username(uow, username)
    if existing:
        uow.execute(update(orm.agents).where(orm.agents.c.id == existing.id).values(
            username=username, password_hash=password_hash, roles=list(roles), active=True))
        return existing.id
    agent_id = new_id()
    uow.execute(insert(orm.agents).values(
        id=agent_id, username=username, username_folded=fold(username), password_hash=password_hash,
        roles=list(roles), active=True, created_at=now))
    return agent_id


def set_agent_hash(uow, agent_id, password_hash):
    uow.execute(update(orm.agents).where(orm.agents.c.id == agent_id).values(password_hash=password_hash))
