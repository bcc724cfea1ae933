"""The crèche's side of the health record (issue #12): whether it cares for a child (asked by identity when an agent
of Petite Enfance reads a child's record)."""
from sqlalchemy import select

from . import orm
from .domain import CANCELLED


def child_known(childcare, child_id):
    """True when the multi-accueil knows the child: registered (occasional care or a contract) or booked."""
    if not isinstance(child_id, str) or len(child_id) > 36:
        return False
    b = orm.bookings.c
    with childcare.unit_of_work(read_only=True) as uow:
        if uow.execute(select(orm.registrations.c.child_id)
                       .where(orm.registrations.c.child_id == child_id)).first() is not None:
            return True
        return uow.execute(select(b.id).where(b.child_id == child_id, b.status != CANCELLED).limit(1)).first() \
            is not None
