"""Reading and writing the direct-debit tables (mandates, debits, debit files, payment anomalies) in a unit of work."""
from sqlalchemy import func, insert, select, update

from espace_common.db import insert_ignoring_duplicates, new_id

from . import debits, domain, orm

MANDATES, DEBITS, FILES, ANOMALIES, INVOICES = (orm.direct_debit_mandates, orm.direct_debits, orm.debit_files,
                                                orm.payment_anomalies, orm.invoices)

# --- Mandates ---------------------------------------------------------------------------------------------------


def active_mandate(uow, family_id):
    return uow.execute(select(MANDATES).where(MANDATES.c.active_family_id == family_id)).first()


def mandates_of(uow, family_id):
    return uow.execute(select(MANDATES).where(MANDATES.c.family_id == family_id)
                       .order_by(MANDATES.c.signed_at.desc(), MANDATES.c.reference.desc())).all()


def count_mandates(uow, family_id):
    return uow.execute(select(func.count()).select_from(MANDATES).where(MANDATES.c.family_id == family_id)).scalar()


def add_mandate(uow, family_id, reference, account, holder, signed_on, signer_id, now):
    """Insert an active mandate; the unique active_family_id refuses a second active one (IntegrityError)."""
    mandate_id = new_id()
    uow.execute(insert(MANDATES).values(
        id=mandate_id, family_id=family_id, reference=reference, iban=account.iban, bic=account.bic, holder=holder,
        signed_on=signed_on, signed_at=now, signed_by=signer_id, status=debits.MANDATE_ACTIVE,
        active_family_id=family_id))
    return mandate_id


def mandate(uow, mandate_id):
    return uow.execute(select(MANDATES).where(MANDATES.c.id == mandate_id)).first()


def revoke_mandate(uow, mandate_id, by, now):
    result = uow.execute(update(MANDATES).where(MANDATES.c.id == mandate_id,
                                                MANDATES.c.status == debits.MANDATE_ACTIVE)
                         .values(status=debits.MANDATE_REVOKED, active_family_id=None, revoked_at=now, revoked_by=by))
    return result.rowcount == 1


def active_mandates_of(uow, family_ids):
    if not family_ids:
        return {}
    rows = uow.execute(select(MANDATES).where(MANDATES.c.active_family_id.in_(list(family_ids))))
    return {row.family_id: row for row in rows}


# --- Debits -----------------------------------------------------------------------------------------------------

def plan_debit(uow, invoice_row, mandate_row, now):
    """The invoice will be debited under the mandate as it is now (its snapshot); the invoice is no longer payable
    by card."""
    inserted = insert_ignoring_duplicates(uow.connection, DEBITS, [{
        "id": new_id(), "invoice_id": invoice_row.id, "mandate_id": mandate_row.id, "regie": invoice_row.regie,
        "period": invoice_row.period, "mandate_reference": mandate_row.reference, "iban": mandate_row.iban,
        "bic": mandate_row.bic, "holder": mandate_row.holder, "signed_on": mandate_row.signed_on,
        "status": debits.DEBIT_PLANNED, "planned_at": now}])
    uow.execute(update(INVOICES).where(INVOICES.c.id == invoice_row.id).values(direct_debit=True))
    return inserted


def set_invoice_direct_debit(uow, invoice_id, value):
    uow.execute(update(INVOICES).where(INVOICES.c.id == invoice_id).values(direct_debit=value))


def debit_of_invoice(uow, invoice_id):
    return uow.execute(select(DEBITS).where(DEBITS.c.invoice_id == invoice_id)).first()


def planned_debits_of_mandate(uow, mandate_id):
    return uow.execute(select(DEBITS).where(DEBITS.c.mandate_id == mandate_id,
                                            DEBITS.c.status == debits.DEBIT_PLANNED)).all()


def cancel_debit(uow, debit_id):
    uow.execute(update(DEBITS).where(DEBITS.c.id == debit_id, DEBITS.c.status == debits.DEBIT_PLANNED)
                .values(status=debits.DEBIT_CANCELLED))


def planned_debits(uow, regie, month):
    """The month's planned debits with their invoices, in the order of the invoice numbers."""
    query = (select(DEBITS, INVOICES.c.number, INVOICES.c.status.label("invoice_status"), INVOICES.c.balance_cents,
                    INVOICES.c.due_date)
             .join(INVOICES, INVOICES.c.id == DEBITS.c.invoice_id)
             .where(DEBITS.c.regie == regie, DEBITS.c.period == month, DEBITS.c.status == debits.DEBIT_PLANNED)
             .order_by(INVOICES.c.number))
    return uow.execute(query).all()


def mandates_debited_before(uow, mandate_ids):
    """The mandates among these that have a debit sent to the bank and not rejected."""
    if not mandate_ids:
        return set()
    rows = uow.execute(select(DEBITS.c.mandate_id).where(DEBITS.c.mandate_id.in_(list(mandate_ids)),
                                                         DEBITS.c.status == debits.DEBIT_SENT).distinct())
    return {row.mandate_id for row in rows}


def mark_sent(uow, debit_id, file_id, sequence_type, amount_cents, collection_date, payment_id, now):
    result = uow.execute(update(DEBITS).where(DEBITS.c.id == debit_id, DEBITS.c.status == debits.DEBIT_PLANNED)
                         .values(status=debits.DEBIT_SENT, file_id=file_id, sequence_type=sequence_type,
                                 amount_cents=amount_cents, collection_date=collection_date, payment_id=payment_id,
                                 sent_at=now))
    return result.rowcount == 1


def mark_rejected(uow, debit_id, reason, agent_id, now):
    result = uow.execute(update(DEBITS).where(DEBITS.c.id == debit_id, DEBITS.c.status == debits.DEBIT_SENT)
                         .values(status=debits.DEBIT_REJECTED, rejection_reason=reason, rejected_by=agent_id,
                                 rejected_at=now))
    return result.rowcount == 1


def debits_of_month(uow, regie, month):
    query = (select(DEBITS, INVOICES.c.number, INVOICES.c.family_id, INVOICES.c.total_cents,
                    INVOICES.c.balance_cents, INVOICES.c.due_date, INVOICES.c.status.label("invoice_status"))
             .join(INVOICES, INVOICES.c.id == DEBITS.c.invoice_id)
             .where(DEBITS.c.regie == regie, DEBITS.c.period == month).order_by(INVOICES.c.number))
    return uow.execute(query).all()


def unpay(uow, invoice_row, amount_cents):
    """Take a rejected debit's amount back off the invoice, which is payable (by card too) again. The balance it was
    read with must still be the balance."""
    paid = invoice_row.paid_cents - amount_cents
    status = domain.status_after(invoice_row.total_cents, paid, invoice_row.credited_cents)
    result = uow.execute(update(INVOICES).where(INVOICES.c.id == invoice_row.id,
                                                INVOICES.c.balance_cents == invoice_row.balance_cents)
                         .values(paid_cents=paid, balance_cents=invoice_row.total_cents - paid
                                 - invoice_row.credited_cents, status=status, direct_debit=False))
    return result.rowcount == 1


# --- Debit files ------------------------------------------------------------------------------------------------

def latest_file(uow, regie, month):
    return uow.execute(select(FILES).where(FILES.c.regie == regie, FILES.c.month == month)
                       .order_by(FILES.c.rank.desc())).first()


def add_file(uow, regie, month, rank, xml, count, total_cents, agent_id, now):
    file_id = new_id()
    uow.execute(insert(FILES).values(id=file_id, regie=regie, month=month, rank=rank, xml=xml, count=count,
                                     total_cents=total_cents, created_by=agent_id, created_at=now))
    return file_id


def files_of_month(uow, regie, month):
    return uow.execute(select(FILES.c.id, FILES.c.rank, FILES.c.count, FILES.c.total_cents, FILES.c.created_at)
                       .where(FILES.c.regie == regie, FILES.c.month == month).order_by(FILES.c.rank)).all()


# --- Payment anomalies ------------------------------------------------------------------------------------------

def add_anomaly(uow, payment, code, message, data, now):
    """Once per transaction, however often its event comes."""
    insert_ignoring_duplicates(uow.connection, ANOMALIES, [{
        "id": new_id(), "transaction_id": payment.transaction_id, "invoice_id": payment.invoice_id or None,
        "amount_cents": payment.amount_cents, "code": code, "message": message, "data": data, "received_at": now}])


def anomalies(uow, limit):
    return uow.execute(select(ANOMALIES).order_by(ANOMALIES.c.received_at.desc()).limit(limit)).all()


# --- Reconciliation with the payment service (issue #10) --------------------------------------------------------

def card_payments_by_transaction(uow, transaction_ids):
    """What billing holds for each transaction id: a card payment, or an anomaly, or nothing."""
    payments, found = orm.payments, {}
    for row in uow.execute(select(payments.c.external_id, payments.c.invoice_id, payments.c.amount_cents)
                           .where(payments.c.method == "card", payments.c.external_id.in_(transaction_ids))):
        found[row.external_id] = {"state": "payment", "invoice_id": row.invoice_id, "amount_cents": row.amount_cents}
    for row in uow.execute(select(ANOMALIES.c.transaction_id, ANOMALIES.c.invoice_id, ANOMALIES.c.amount_cents,
                                  ANOMALIES.c.code).where(ANOMALIES.c.transaction_id.in_(transaction_ids))):
        found.setdefault(row.transaction_id, {"state": "anomaly", "invoice_id": row.invoice_id,
                                              "amount_cents": row.amount_cents, "code": row.code})
    return found
