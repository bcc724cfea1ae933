"""The card payments of a family (GDPR, issue #12), as JSON values: no card data is held here (Paybox has it), and
the Paybox site's secret, the HMAC or the server used are not the family's data."""
from sqlalchemy import select

from espace_common.mail import mails_to
from espace_common.purge import iso

from . import orm
from .domain import STATUSES
from .domain_gdpr import LABELS, retention_from_config


def family_export(unit_of_work, family_id):
    if not isinstance(family_id, str) or len(family_id) > 36:
        family_id = ""
    table = orm.card_transactions
    with unit_of_work(read_only=True) as uow:
        rows = uow.execute(select(table).where(table.c.family_id == family_id).order_by(table.c.created_at)).all()
        mails = mails_to(uow, orm.mail_outbox, sorted({r.payer_email for r in rows}), limit=1000)
    return {"card_transactions": [{
                "id": r.id, "reference": r.reference, "invoice_id": r.invoice_id, "invoice_number": r.invoice_number,
                "amount_cents": r.amount_cents, "payer_email": r.payer_email, "status": STATUSES.get(r.status, r.status),
                "error_code": r.error_code, "message": r.message, "authorization": r.authorization,
                "created_at": iso(r.created_at), "notified_at": iso(r.notified_at), "paid_at": iso(r.paid_at)}
                for r in rows],
            "mails": mails, "labels": LABELS}


def personal_data(config):
    return {"service": "payment", "retention": retention_from_config(config).describe(), "runs": []}
