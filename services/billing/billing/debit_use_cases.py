"""Direct debit's use cases (mandates, the month's pain.008 file, rejections) and card payments arriving as events.

Same inputs as `use_cases.Billing`: a unit-of-work factory, the clock, the settings (`DebitSettings`), plus the
`Billing` use cases for recording a card payment (its external id makes a redelivered event one payment).

The `payment.succeeded` event (published by the payment service, issue #10) is the contract:
    data = {"transaction_id": str (≤ 100, the payment service's transaction id, unique),
            "invoice_id": str (billing's invoice id), "amount_cents": int > 0,
            "paid_at": ISO 8601 instant in UTC, ...any other key is ignored}
Billing records it as a payment of method `card` with external_id = transaction_id; one it cannot apply (more
than the balance, a paid or cancelled invoice, an unknown invoice) becomes a payment anomaly for the agents.
When an invoice becomes paid, billing publishes `billing.invoice_paid` {invoice_id, family_id, regie, number,
total_cents, paid_at} through its outbox, in the transaction of the payment: once.
"""
import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from espace_common.errors import Conflict, DomainError, InvalidInput, NotFound
from espace_common.events import Event

from . import debit_store, debits, domain, store

log = logging.getLogger(__name__)

NO_MANDATE = ("no_mandate", "Vous n'avez pas de mandat de prélèvement actif.")
INVOICE_NOT_FOUND = ("invoice_not_found", "Cette facture n'existe pas.")
INVOICE_PAID = "invoice_paid"


@dataclass(frozen=True)
class DebitSettings:
    """The town as SEPA creditor, and the prefix of its mandate references (config.yml)."""

    creditor: debits.Creditor
    mandate_prefix: str = "DONGES"

    @classmethod
    def from_config(cls, config):
        prefix = str(config.get("SEPA_MANDATE_PREFIX") or "DONGES").strip().upper()
        if not debits.MANDATE_PREFIX.fullmatch(prefix):
            raise ValueError("SEPA_MANDATE_PREFIX is 1 to 12 letters or digits")
        creditor_id = str(config.get("SEPA_CREDITOR_ID") or "FR12ZZZ123456").strip().upper()
        if not debits.ICS.fullmatch(creditor_id):
            raise ValueError("SEPA_CREDITOR_ID is a SEPA creditor identifier such as FR12ZZZ123456")
        try:
            account = debits.parse_iban(str(config.get("SEPA_CREDITOR_IBAN") or "FR7630006000011234567890189"))
        except InvalidInput as exc:
            raise ValueError(f"SEPA_CREDITOR_IBAN: {exc.message}") from None
        bic = str(config.get("SEPA_CREDITOR_BIC") or account.bic or "").strip().upper()
        if not bic:
            raise ValueError("SEPA_CREDITOR_BIC is needed: the bank of SEPA_CREDITOR_IBAN is unknown")
        name = " ".join(str(config.get("SEPA_CREDITOR_NAME") or "Commune de Donges").split())[:70]
        return cls(creditor=debits.Creditor(name=name, iban=account.iban, bic=bic, creditor_id=creditor_id),
                   mandate_prefix=prefix)


def plan_debits(uow, run_id, now):
    """At finalisation: each issued invoice of the run whose family has an active mandate is to be debited, under
    the mandate as it is now, and is no longer payable by card. Called inside finalize_run's transaction."""
    issued = [row for row in store.invoices_of_run(uow, run_id) if row.status == domain.ISSUED
              and row.balance_cents > 0]
    mandates = debit_store.active_mandates_of(uow, {row.family_id for row in issued})
    for row in issued:
        if row.family_id in mandates:
            debit_store.plan_debit(uow, row, mandates[row.family_id], now)


def record_paid_event(uow, invoice_id, now):
    """billing.invoice_paid, in the transaction that made the invoice paid (called after a payment is settled)."""
    row = store.invoice(uow, invoice_id)
    if row is not None and row.status == domain.PAID:
        uow.record(Event("billing", INVOICE_PAID, {
            "invoice_id": row.id, "family_id": row.family_id, "regie": row.regie, "number": row.number,
            "total_cents": row.total_cents, "paid_at": now.isoformat()}))


def mandate_answer(row):
    """A mandate as every page and answer shows it: the IBAN masked."""
    return {"id": row.id, "family_id": row.family_id, "reference": row.reference, "iban": debits.mask_iban(row.iban),
            "bic": row.bic, "holder": row.holder, "signed_on": row.signed_on.isoformat(),
            "signed_at": row.signed_at.isoformat(), "status": row.status,
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}


def debit_answer(row):
    return {"id": row.id, "invoice_id": row.invoice_id, "number": row.number, "regie": row.regie,
            "period": row.period, "mandate_reference": row.mandate_reference, "iban": debits.mask_iban(row.iban),
            "holder": row.holder, "status": row.status, "sequence_type": row.sequence_type,
            "amount_cents": row.amount_cents if row.amount_cents is not None else row.balance_cents,
            "collection_date": row.collection_date.isoformat() if row.collection_date else None,
            "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            "rejected_at": row.rejected_at.isoformat() if row.rejected_at else None,
            "rejection_reason": row.rejection_reason}


class DirectDebits:
    """Mandates, debit files, rejections and card payment events, one method per request."""

    def __init__(self, unit_of_work, clock, settings, billing):
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.settings = settings
        self.billing = billing  # use_cases.Billing: record_payment, and today in the town

    def today(self):
        return self.billing.today()

    def vocabulary(self):
        return {"direct_debit": debits.vocabulary(self.settings.creditor)}

    # --- Mandates ----------------------------------------------------------------------------------------------

    def sign_mandate(self, family_id, iban, holder, accepted, signer_id=None):
        """A payer's SEPA mandate for their family. The same IBAN and holder again gives back the active mandate;
        another account while one is active is refused (revoke it first)."""
        account = debits.parse_iban(iban)
        holder = debits.parse_holder(holder)
        debits.check_accepted(accepted)
        try:
            return self._sign(family_id, account, holder, signer_id)
        except IntegrityError:
            # The same form sent twice at once: the other one signed first, and this one finds it active.
            return self._sign(family_id, account, holder, signer_id)

    def _sign(self, family_id, account, holder, signer_id):
        with self.unit_of_work() as uow:
            active = debit_store.active_mandate(uow, family_id)
            if active is not None:
                if (active.iban, active.holder) == (account.iban, holder):
                    return {**mandate_answer(active), "created": False}
                raise Conflict("mandate_exists", "Un mandat de prélèvement est déjà actif pour votre famille : "
                                                 "révoquez-le avant d'en signer un autre.")
            rank = debit_store.count_mandates(uow, family_id) + 1
            reference = debits.mandate_reference(self.settings.mandate_prefix, family_id, rank)
            mandate_id = debit_store.add_mandate(uow, family_id, reference, account, holder, self.today(), signer_id,
                                                 self.clock.now())
            uow.commit()
        with self.unit_of_work(read_only=True) as uow:
            return {**mandate_answer(debit_store.mandate(uow, mandate_id)), "created": True}

    def family_mandates(self, family_id):
        """A family's mandates, the active one first, with the IBAN masked (for the parent and the agents)."""
        with self.unit_of_work(read_only=True) as uow:
            rows = debit_store.mandates_of(uow, family_id)
        active = next((row for row in rows if row.status == debits.MANDATE_ACTIVE), None)
        return {"active": mandate_answer(active) if active else None, "mandates": [mandate_answer(r) for r in rows]}

    def revoke_mandate(self, family_id, by=None):
        """The payer withdraws the mandate: invoices not yet debited are payable again (by card too)."""
        with self.unit_of_work() as uow:
            active = debit_store.active_mandate(uow, family_id)
            if active is None:
                raise NotFound(*NO_MANDATE)
            if debit_store.revoke_mandate(uow, active.id, by, self.clock.now()):
                for debit in debit_store.planned_debits_of_mandate(uow, active.id):
                    debit_store.cancel_debit(uow, debit.id)
                    debit_store.set_invoice_direct_debit(uow, debit.invoice_id, False)
            uow.commit()
        with self.unit_of_work(read_only=True) as uow:
            return mandate_answer(debit_store.mandate(uow, active.id))

    # --- The month's debit file --------------------------------------------------------------------------------

    def debit_file(self, regie, month, agent_id=None):
        """The month's SEPA pain.008.001.02 file of a régie. The first call sends the planned debits (each one a
        payment `direct_debit` of the balance) and stores the file; the same month again gives the same file and
        sends nothing twice (debits planned since go into the month's next file)."""
        regie = domain.parse_regie(regie)
        month = debits.parse_month(month)
        try:
            return self._debit_file(regie, month, agent_id)
        except IntegrityError:
            # Another agent's download sent the same debits first (the file's rank, the debit's payment are unique):
            # theirs stands, and this one gives it back.
            return self._debit_file(regie, month, agent_id)

    def _debit_file(self, regie, month, agent_id):
        now, today = self.clock.now(), self.today()
        with self.unit_of_work() as uow:
            planned = [row for row in debit_store.planned_debits(uow, regie, month)
                       if row.invoice_status in (domain.ISSUED, domain.PARTIALLY_PAID) and row.balance_cents > 0]
            if not planned:
                latest = debit_store.latest_file(uow, regie, month)
                if latest is None:
                    raise NotFound("no_debits", "Aucun prélèvement à transmettre pour ce mois.")
                return _file_answer(latest, created=False)
            debited = debit_store.mandates_debited_before(uow, {row.mandate_id for row in planned})
            lines = [debits.Debit(
                end_to_end_id=row.number, holder=row.holder, iban=row.iban, bic=row.bic,
                amount_cents=row.balance_cents, sequence_type=debits.sequence_type(row.mandate_id in debited),
                collection_date=debits.collection_date(row.due_date, today), mandate_reference=row.mandate_reference,
                signed_on=row.signed_on, description=f"Facture {row.number} {domain.REGIES[regie]} {month}")
                for row in planned]
            xml = debits.pain008(self.settings.creditor, lines).decode("utf-8")
            latest = debit_store.latest_file(uow, regie, month)
            rank = latest.rank + 1 if latest else 1
            total = sum(line.amount_cents for line in lines)
            file_id = debit_store.add_file(uow, regie, month, rank, xml, len(lines), total, agent_id, now)
            for row, line in zip(planned, lines):
                self._send(uow, row, line, file_id, agent_id, now)
            uow.commit()
        with self.unit_of_work(read_only=True) as uow:
            return _file_answer(debit_store.latest_file(uow, regie, month), created=True)

    def _send(self, uow, row, line, file_id, agent_id, now):
        """One debit leaves for the bank: it is a payment of the balance, settled on the invoice."""
        invoice_row = store.invoice(uow, row.invoice_id)
        payment_id = store.add_payment(uow, row.invoice_id, "direct_debit", line.amount_cents, f"debit:{row.id}",
                                       agent_id, now)
        if not store.settle(uow, invoice_row, paid_cents=line.amount_cents) or not debit_store.mark_sent(
                uow, row.id, file_id, line.sequence_type, line.amount_cents, line.collection_date, payment_id, now):
            raise Conflict("invoice_changed", "Une facture du fichier vient d'être modifiée : recommencez.")
        record_paid_event(uow, row.invoice_id, now)

    def month_debits(self, regie, month):
        """The month's debits of a régie and its files, for the agents' page (IBANs masked)."""
        regie = domain.parse_regie(regie)
        month = debits.parse_month(month)
        with self.unit_of_work(read_only=True) as uow:
            return {"regie": regie, "month": month,
                    "debits": [debit_answer(row) for row in debit_store.debits_of_month(uow, regie, month)],
                    "files": [{"id": f.id, "rank": f.rank, "count": f.count, "total_cents": f.total_cents,
                               "created_at": f.created_at.isoformat()}
                              for f in debit_store.files_of_month(uow, regie, month)]}

    def reject_debit(self, invoice_id, reason, agent_id=None):
        """The bank rejected the debit: its amount comes back on the invoice, payable again (by card too). Nothing
        is deleted; the same rejection again changes nothing."""
        reason = debits.parse_rejection_reason(reason)
        now = self.clock.now()
        with self.unit_of_work() as uow:
            debit = debit_store.debit_of_invoice(uow, invoice_id)
            invoice_row = store.invoice(uow, invoice_id)
            if invoice_row is None:
                raise NotFound(*INVOICE_NOT_FOUND)
            if debit is None:
                raise NotFound("no_debit", "Cette facture n'est pas payée par prélèvement.")
            if debit.status == debits.DEBIT_REJECTED:
                return self._rejection_answer(uow, invoice_id, created=False)
            if debit.status != debits.DEBIT_SENT:
                raise Conflict("debit_not_sent", "Ce prélèvement n'a pas été transmis à la banque : il ne peut pas "
                                                 "être rejeté.")
            if not debit_store.mark_rejected(uow, debit.id, reason, agent_id, now) or not debit_store.unpay(
                    uow, invoice_row, debit.amount_cents):
                raise Conflict("invoice_changed", "La facture vient d'être modifiée : rechargez-la et recommencez.")
            answer = self._rejection_answer(uow, invoice_id, created=True)
            uow.commit()
        return answer

    def _rejection_answer(self, uow, invoice_id, created):
        debit = debit_store.debit_of_invoice(uow, invoice_id)
        invoice = self.billing_summary(uow, invoice_id)
        return {"invoice": invoice, "created": created, "debit": {
            "id": debit.id, "status": debit.status, "amount_cents": debit.amount_cents,
            "mandate_reference": debit.mandate_reference, "rejection_reason": debit.rejection_reason,
            "rejected_at": debit.rejected_at.isoformat() if debit.rejected_at else None}}

    @staticmethod
    def billing_summary(uow, invoice_id):
        from .use_cases import _summary  # one summary of an invoice, the core's
        return _summary(store.invoice(uow, invoice_id))

    # --- Card payments arriving as events ----------------------------------------------------------------------

    def card_payment_succeeded(self, message):
        """payment.succeeded: a card payment of an invoice, recorded once whatever the number of deliveries; one
        that cannot be applied becomes an anomaly for the agents, never lost silently."""
        data = message.get("data") if isinstance(message, dict) else None
        payment = debits.parse_card_payment(data)
        if payment is None:
            log.error("payment.succeeded without a transaction id, left aside: %r", message)
            return None
        try:
            return self.billing.record_payment(payment.invoice_id, "card", payment.amount_cents,
                                               external_id=payment.transaction_id)
        except DomainError as refused:
            with self.unit_of_work() as uow:
                debit_store.add_anomaly(uow, payment, refused.code, refused.message, data, self.clock.now())
                uow.commit()
            log.warning("card payment %s not applied (%s): kept as an anomaly", payment.transaction_id, refused.code)
            return None

    def payment_anomalies(self, limit=50):
        limit = max(1, min(int(limit), 200))
        with self.unit_of_work(read_only=True) as uow:
            return {"anomalies": [{"id": a.id, "transaction_id": a.transaction_id, "invoice_id": a.invoice_id,
                                   "amount_cents": a.amount_cents, "code": a.code, "message": a.message,
                                   "received_at": a.received_at.isoformat()}
                                  for a in debit_store.anomalies(uow, limit)]}


def _file_answer(row, created):
    return {"regie": row.regie, "month": row.month, "rank": row.rank, "count": row.count,
            "total_cents": row.total_cents, "xml": row.xml, "created": created,
            "filename": f"prelevements-{row.regie}-{row.month}" + (f"-{row.rank}" if row.rank > 1 else "") + ".xml",
            "created_at": row.created_at.isoformat()}


# --- Reconciliation with the payment service (issue #10) --------------------------------------------------------

RECONCILIATION_BATCH = 1000


def card_payments_recorded(unit_of_work, transaction_ids):
    """{transaction_id: {state: "payment" | "anomaly", invoice_id, amount_cents}} for the ids billing knows."""
    if not isinstance(transaction_ids, (list, tuple)) or len(transaction_ids) > RECONCILIATION_BATCH:
        raise InvalidInput("invalid_transaction_ids", f"Donnez une liste d'au plus {RECONCILIATION_BATCH} "
                                                      "identifiants de transaction.")
    ids = sorted({str(value)[:100] for value in transaction_ids})
    if not ids:
        return {}
    with unit_of_work(read_only=True) as uow:
        return debit_store.card_payments_by_transaction(uow, ids)
