"""Everything billing holds on a family (GDPR, issue #12), as JSON values. An IBAN leaves masked but for its last
four characters: the export may be printed or mailed on, and the family knows its own account."""
from sqlalchemy import or_, select

from espace_common.purge import iso
from espace_common.retention import mask_iban

from . import orm
from .debits import DEBIT_STATUSES, MANDATE_STATUSES
from .domain import INVOICE_STATUSES, PAYMENT_METHODS, REGIES
from .domain_gdpr import LABELS, retention_from_config

MAX_MAILED_INVOICES = 500


def _rows(uow, table, *where, order=None):
    query = select(table).where(*where)
    return uow.execute(query.order_by(*(order or []))).all()


def family_export(unit_of_work, family_id):
    if not isinstance(family_id, str) or len(family_id) > 36:
        family_id = ""
    t = orm
    with unit_of_work(read_only=True) as uow:
        invoices = _rows(uow, t.invoices, t.invoices.c.family_id == family_id,
                         order=[t.invoices.c.period, t.invoices.c.regie])
        numbers = {i.id: i.number or "brouillon" for i in invoices}
        ids = list(numbers)
        lines = _rows(uow, t.invoice_lines, t.invoice_lines.c.invoice_id.in_(ids),
                      order=[t.invoice_lines.c.invoice_id, t.invoice_lines.c.position]) if ids else []
        credits = _rows(uow, t.credit_notes, t.credit_notes.c.invoice_id.in_(ids)) if ids else []
        payments = _rows(uow, t.payments, t.payments.c.invoice_id.in_(ids), order=[t.payments.c.received_at]) \
            if ids else []
        mandates = _rows(uow, t.direct_debit_mandates, t.direct_debit_mandates.c.family_id == family_id,
                         order=[t.direct_debit_mandates.c.signed_at])
        debits = _rows(uow, t.direct_debits, t.direct_debits.c.invoice_id.in_(ids),
                       order=[t.direct_debits.c.planned_at]) if ids else []
        resources = _rows(uow, t.family_resources, t.family_resources.c.family_id == family_id,
                          order=[t.family_resources.c.valid_from, t.family_resources.c.id])
        preference = uow.execute(select(t.billing_preferences)
                                 .where(t.billing_preferences.c.family_id == family_id)).first()
        kids = _rows(uow, t.family_children, t.family_children.c.family_id == family_id)
        mailed = [n for n in numbers.values() if n != "brouillon"][:MAX_MAILED_INVOICES]
        mails = uow.execute(select(t.mail_outbox.c.recipient, t.mail_outbox.c.subject, t.mail_outbox.c.created_at,
                                   t.mail_outbox.c.sent_at)
                            .where(or_(*[t.mail_outbox.c.subject.contains(f"facture {n} ") for n in mailed]))
                            .order_by(t.mail_outbox.c.created_at)).all() if mailed else []
    answer = {
        "children": [{"child_id": k.child_id, "first_name": k.first_name, "last_name": k.last_name,
                      "birth_date": k.birth_date.isoformat()} for k in kids],
        "resources": [{"valid_from": r.valid_from.isoformat(), "quotient": r.quotient,
                       "monthly_resources_cents": r.monthly_resources_cents,
                       "dependent_children": r.dependent_children, "disability": r.disability,
                       "recorded_at": iso(r.recorded_at)} for r in resources],
        "billing_preference": [{"paperless": preference.paperless, "changed_at": iso(preference.changed_at)}]
        if preference else [],
        "invoices": [{"id": i.id, "number": i.number, "regie": REGIES.get(i.regie, i.regie), "period": i.period,
                      "status": INVOICE_STATUSES.get(i.status, i.status), "total_cents": i.total_cents,
                      "paid_cents": i.paid_cents, "credited_cents": i.credited_cents,
                      "balance_cents": i.balance_cents, "issued_on": iso(i.issued_on), "due_date": iso(i.due_date),
                      "direct_debit": i.direct_debit, "delivery": i.delivery} for i in invoices],
        "invoice_lines": [{"invoice_id": line.invoice_id, "invoice": numbers[line.invoice_id], "label": line.label,
                           "quantity": line.quantity, "unit_price_cents": line.unit_price_cents,
                           "amount_cents": line.amount_cents} for line in lines],
        "credit_notes": [{"invoice": numbers[c.invoice_id], "number": c.number, "amount_cents": c.amount_cents,
                          "reason": c.reason, "created_at": iso(c.created_at)} for c in credits],
        "payments": [{"invoice": numbers[p.invoice_id], "method": PAYMENT_METHODS.get(p.method, p.method),
                      "amount_cents": p.amount_cents, "received_at": iso(p.received_at)} for p in payments],
        "mandates": [{"reference": m.reference, "iban": mask_iban(m.iban), "bic": m.bic, "holder": m.holder,
                      "signed_on": iso(m.signed_on), "status": MANDATE_STATUSES.get(m.status, m.status),
                      "revoked_at": iso(m.revoked_at)} for m in mandates],
        "direct_debits": [{"invoice": numbers[d.invoice_id], "iban": mask_iban(d.iban),
                           "status": DEBIT_STATUSES.get(d.status, d.status), "amount_cents": d.amount_cents,
                           "collection_date": iso(d.collection_date), "rejection_reason": d.rejection_reason}
                          for d in debits],
        "mails": [{"recipient": m.recipient, "subject": m.subject, "created_at": iso(m.created_at),
                   "sent_at": iso(m.sent_at)} for m in mails],
        "labels": LABELS,
    }
    return answer


def personal_data(config):
    """What billing keeps and for how long (nothing purged: accounting documents, ten years)."""
    return {"service": "billing", "retention": retention_from_config(config).describe(), "runs": []}
