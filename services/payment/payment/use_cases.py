"""The payment service's use cases: start a card payment, take Paybox's notification, reconcile with billing.

Inputs: a unit-of-work factory, the clock, the settings (policy.PaymentSettings), and three collaborators the
service gives (tests give fakes): `billing` (invoice(invoice_id, family_id), card_payments_recorded(ids)),
`payers` (payer(family_id, email) -> domain.Payer) and `probe(url, timeout) -> page text or None`. No I/O happens
inside a unit of work.

`payment.succeeded` (docs/architecture.md) and the payer's receipt are recorded (outbox, mail outbox) in the
transaction that made a transaction paid: once per transaction however often Paybox calls; a refusal mails nothing. Its data: {transaction_id, invoice_id, amount_cents, paid_at,
family_id, reference, paybox_transaction, authorization}.
"""
import logging

from espace_common.clock import to_paris
from espace_common.db import new_id
from espace_common.errors import DomainError, InvalidInput, NotFound
from espace_common.events import Event
from espace_common.mail import mails_to

from . import domain, orm, store
from .policy import PREPROD, SANDBOX

log = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
PAYMENT_NOT_FOUND = ("card_payment_not_found", "Ce paiement n'existe pas.")


def succeeded_event(row):
    return Event("payment", SUCCEEDED, {
        "transaction_id": row.id, "invoice_id": row.invoice_id, "amount_cents": row.amount_cents,
        "paid_at": row.paid_at.isoformat(), "family_id": row.family_id, "reference": row.reference,
        "paybox_transaction": row.paybox_transaction, "authorization": row.authorization})


def payment_answer(row):
    return {"id": row.id, "invoice_id": row.invoice_id, "amount_cents": row.amount_cents, "status": row.status,
            "error_code": row.error_code, "message": row.message or domain.STATUSES[row.status],
            "created_at": row.created_at.isoformat(),
            "paid_at": row.paid_at.isoformat() if row.paid_at else None}


class Payments:
    """The payment service's use cases, one method per request."""

    def __init__(self, unit_of_work, clock, settings, billing, payers, probe):
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.settings = settings
        self.billing = billing
        self.payers = payers
        self.probe = probe

    def vocabulary(self):
        return domain.vocabulary()

    def account(self):
        s = self.settings
        return domain.Account(site=s.site, rang=s.rang, identifiant=s.identifiant, secret=s.secret)

    def choose_server(self):
        """Sandbox or pre-production as configured; in production the main server unless its availability page
        does not say OK in time, then the backup one."""
        s = self.settings
        if s.environment == SANDBOX:
            return s.sandbox_url
        if s.environment == PREPROD:
            return s.preprod_url
        if domain.server_available(self.probe(domain.availability_url(s.main_url), s.availability_timeout_s)):
            return s.main_url
        log.warning("Paybox's main server did not answer its availability page: the backup server is used")
        return s.backup_url

    def start_card_payment(self, invoice_id, family_id, payer_email):
        """A new attempt to pay the invoice's balance (asked from billing, never from the browser): the
        transaction, and the form the browser posts to Paybox ({id, action_url, fields})."""
        email = domain.check_email(payer_email)
        invoice = self.billing.invoice(str(invoice_id), str(family_id))
        amount_cents = domain.check_payable(invoice)
        payer = self.payers.payer(family_id, email)
        action_url = self.choose_server()
        transaction_id = new_id()
        reference = domain.new_reference(invoice.get("number") or invoice["id"], transaction_id.replace("-", "")[:12])
        now = self.clock.now()
        fields = domain.payment_form(self.account(), amount_cents, reference, email,
                                     now.replace(microsecond=0).isoformat(), self.settings.return_url(transaction_id),
                                     self.settings.notification_url(), payer)
        with self.unit_of_work() as uow:
            store.add_transaction(uow, id=transaction_id, reference=reference, invoice_id=invoice["id"],
                                  invoice_number=(invoice.get("number") or None) and str(invoice["number"])[:40],
                                  family_id=family_id, amount_cents=amount_cents, payer_email=email,
                                  server_url=action_url[:300], status=domain.PENDING, created_at=now)
            uow.commit()
        return {"id": transaction_id, "invoice_id": invoice["id"], "amount_cents": amount_cents,
                "action_url": action_url, "fields": [[name, value] for name, value in fields]}

    def handle_notification(self, query_string, method="GET"):
        """Paybox's server-to-server call: verified (signature over the variables before it, as received), then
        matched (a reference of ours, the amount asked). A success pays once; anything else records the outcome.
        An unsigned, wrongly signed or mismatching call is refused and changes nothing."""
        try:
            notification = domain.verify_notification(query_string, self.settings.public_key)
            now = self.clock.now()
            with self.unit_of_work() as uow:
                row = store.transaction_by_reference(uow, notification.reference)
                if row is None:
                    raise InvalidInput(*domain.UNKNOWN_REFERENCE)
                domain.check_matches(notification, row.amount_cents)
                if notification.status == domain.PAID:
                    if store.mark_paid(uow, row.id, notification, now):
                        paid = store.transaction(uow, row.id)
                        uow.record(succeeded_event(paid))
                        uow.send_mail(paid.payer_email, *domain.receipt(
                            paid.amount_cents, paid.invoice_number, paid.reference, paid.paybox_transaction,
                            paid.authorization, to_paris(now)))
                else:
                    store.record_outcome(uow, row.id, notification, now)
                answer = store.transaction(uow, row.id)
                uow.commit()
        except DomainError as refused:
            log.warning("Paybox notification (%s) refused: %s; query: %.300r", method, refused.code,
                        query_string if isinstance(query_string, str) else type(query_string).__name__)
            raise
        log.info("Paybox notification for %s: %s (%s)", answer.reference, answer.status, answer.error_code)
        return {"accepted": True, **payment_answer(answer)}

    def card_payment(self, payment_id, family_id=None):
        """A transaction as the parent's return page shows it; another family's is not found."""
        with self.unit_of_work(read_only=True) as uow:
            row = store.transaction(uow, str(payment_id)[:36])
        if row is None or (family_id is not None and row.family_id != family_id):
            raise NotFound(*PAYMENT_NOT_FOUND)
        return payment_answer(row)

    def family_mails(self, emails):
        """The receipts this service mailed to a family's addresses (given by the gateway from identity), newest
        first, without their bodies: the agents' family file lists them with the other services' mails."""
        with self.unit_of_work(read_only=True) as uow:
            return {"mails": mails_to(uow, orm.mail_outbox, emails)}

    def reconcile(self, agent_id=None):
        """Compare the successful transactions with billing's card payments: one billing never heard of gets its
        payment.succeeded again (billing records it once); differences are reported, not hidden."""
        with self.unit_of_work(read_only=True) as uow:
            paid = {row.id: row for row in store.paid_transactions(uow)}
        recorded = self.billing.card_payments_recorded(sorted(paid)) if paid else {}
        missing = [row for transaction_id, row in paid.items() if transaction_id not in recorded]
        differences = []
        for transaction_id, seen in recorded.items():
            row = paid.get(transaction_id)
            if row is None:
                continue
            if seen.get("amount_cents") != row.amount_cents or seen.get("invoice_id") != row.invoice_id:
                differences.append({"transaction_id": transaction_id, "kind": "mismatch",
                                    "payment": {"invoice_id": row.invoice_id, "amount_cents": row.amount_cents},
                                    "billing": seen})
            elif seen.get("state") == "anomaly":
                differences.append({"transaction_id": transaction_id, "kind": "anomaly", "billing": seen})
        if missing:
            with self.unit_of_work() as uow:
                for row in missing:
                    uow.record(succeeded_event(row))
                uow.commit()
            log.warning("reconciliation: %d card payment(s) billing had not recorded, published again (by %s)",
                        len(missing), agent_id or "the schedule")
        return {"checked": len(paid), "repaired": [
            {"transaction_id": row.id, "invoice_id": row.invoice_id, "amount_cents": row.amount_cents}
            for row in missing], "differences": differences,
            "at": self.clock.now().isoformat()}
