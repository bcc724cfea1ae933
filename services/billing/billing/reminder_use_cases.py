"""What identity's reminders ask billing (issue #12): the issued, unpaid invoices falling due. Read-only."""
from sqlalchemy import select

from . import domain_reminders as rules
from . import orm


def invoices_falling_due(unit_of_work, first_day, last_day):
    """[{invoice_id, family_id, regie, number, period, due_date, balance_cents}] due from first_day to last_day
    (ISO dates, inclusive), earliest first; paid, cancelled, draft and direct-debit invoices are left out."""
    first, last = rules.parse_window(first_day, last_day)
    i = orm.invoices
    with unit_of_work(read_only=True) as uow:
        rows = uow.execute(select(i.c.id, i.c.family_id, i.c.regie, i.c.number, i.c.period, i.c.status,
                                  i.c.balance_cents, i.c.direct_debit, i.c.due_date)
                           .where(i.c.due_date.between(first, last), i.c.status.in_(rules.REMINDED_STATUSES))
                           .order_by(i.c.due_date, i.c.number)).all()
    return [{"invoice_id": r.id, "family_id": r.family_id, "regie": r.regie, "number": r.number, "period": r.period,
             "due_date": r.due_date.isoformat(), "balance_cents": r.balance_cents}
            for r in rows if rules.to_remind(r.status, r.balance_cents, r.direct_debit, r.due_date, first, last)]
