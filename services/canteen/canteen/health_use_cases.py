"""The canteen's side of the health record (issue #12): whether it cares for a child (asked by identity when an
agent of Affaires Scolaires reads a child's record) and the allergy flags it keeps from identity's events."""
from sqlalchemy import select

from . import domain, orm


def child_enrolled(canteen, child_id):
    """True when the child is enrolled in a school's canteen for the current school year or a later one."""
    if not isinstance(child_id, str) or len(child_id) > 36:
        return False
    current = domain.school_year_of(canteen.today())
    e = orm.enrolments.c
    with canteen.unit_of_work(read_only=True) as uow:
        return uow.execute(select(e.child_id).where(e.child_id == child_id, e.school_year >= current)).first() \
            is not None
