"""Reading and writing the payment tables inside a unit of work."""
from sqlalchemy import insert, select, update

from . import domain, orm

TRANSACTIONS = orm.card_transactions


def add_transaction(uow, **values):
    uow.execute(insert(TRANSACTIONS).values(**values))


def transaction(uow, transaction_id):
    return uow.execute(select(TRANSACTIONS).where(TRANSACTIONS.c.id == transaction_id)).first()


def transaction_by_reference(uow, reference):
    return uow.execute(select(TRANSACTIONS).where(TRANSACTIONS.c.reference == reference)).first()


def mark_paid(uow, transaction_id, notification, now):
    """Paid once: True only for the call that made it paid (the database settles two calls at once)."""
    result = uow.execute(update(TRANSACTIONS).where(TRANSACTIONS.c.id == transaction_id,
                                                    TRANSACTIONS.c.status != domain.PAID)
                         .values(status=domain.PAID, paid_at=now, **_outcome(notification, now)))
    return result.rowcount == 1


def record_outcome(uow, transaction_id, notification, now):
    """A refusal, an error or a wait: recorded, unless the transaction is paid already (a paid one stays paid)."""
    uow.execute(update(TRANSACTIONS).where(TRANSACTIONS.c.id == transaction_id, TRANSACTIONS.c.status != domain.PAID)
                .values(status=notification.status, **_outcome(notification, now)))


def _outcome(notification, now):
    return {"error_code": notification.error_code, "message": notification.message[:300],
            "authorization": notification.authorization or None,
            "paybox_transaction": notification.paybox_transaction or None,
            "call_number": notification.call_number or None, "notified_at": now}


def paid_transactions(uow, since=None, limit=1000):
    """Successful transactions, oldest payment first."""
    query = select(TRANSACTIONS).where(TRANSACTIONS.c.status == domain.PAID)
    if since is not None:
        query = query.where(TRANSACTIONS.c.paid_at >= since)
    return uow.execute(query.order_by(TRANSACTIONS.c.paid_at).limit(limit)).all()
