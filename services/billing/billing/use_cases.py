"""Billing's use cases: what each request does, beside the domain.

Each one opens a unit of work, reads through `store`, lets the domain's rules decide, writes and commits. They know
neither nameko nor the broker: `service.py` hands them a unit-of-work factory, the clock, the settings and a
*facts source* — a plain callable `facts_source(regie, month) -> [child facts]` that in the service asks canteen or
childcare over RPC, and in the tests is a fake holding a month of activity (tests/unit/test_use_cases.py).
"""
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from espace_common.errors import Conflict, InvalidInput, NotFound

from . import documents, domain, store

INVOICE_NOT_FOUND = ("invoice_not_found", "Cette facture n'existe pas.")
RUN_NOT_FOUND = ("run_not_found", "Cette tournée de facturation n'existe pas.")


@dataclass(frozen=True)
class BillingSettings:
    """The settings of config.yml this service reads."""

    due_days: int = 30
    timezone: str = "Europe/Paris"

    @property
    def zone(self):
        return ZoneInfo(self.timezone)

    @classmethod
    def from_config(cls, config):
        due_days = int(config.get("BILLING_DUE_DAYS", cls.due_days))
        if not 1 <= due_days <= 120:
            raise ValueError("BILLING_DUE_DAYS is between 1 and 120 days")
        return cls(due_days=due_days, timezone=str(config.get("TOWN_TIMEZONE") or cls.timezone))


class Billing:
    """The billing service's use cases, one method per request."""

    def __init__(self, unit_of_work, clock, settings, facts_source):
        self.unit_of_work = unit_of_work  # unit_of_work(read_only=False) -> a UnitOfWork
        self.clock = clock
        self.settings = settings
        self.facts_source = facts_source  # facts_source(regie, month) -> list of per-child billable facts

    def today(self):
        return self.clock.now().astimezone(self.settings.zone).date()

    def vocabulary(self):
        return {**domain.vocabulary(), "due_days": self.settings.due_days}

    # --- Tariffs -----------------------------------------------------------------------------------------------

    def add_tariff_grid(self, regie, grid, agent_id=None):
        """A new grid with the date it applies from. Entering the same grid again changes nothing; a grid may be
        corrected in place only while no invoice used it, otherwise a new grid with a new date replaces it."""
        regie = domain.parse_regie(regie)
        parsed = domain.parse_grid(regie, grid)
        with self.unit_of_work() as uow:
            existing = store.grid_row(uow, regie, parsed.valid_from)
            if existing is not None and domain.grid_from_dict(regie, existing.data) == parsed:
                return {**parsed.as_dict(), "created": False}
            last = store.last_invoiced_period(uow, regie)
            if last is not None and domain.month_bounds(last)[1] >= parsed.valid_from:
                raise Conflict("grid_in_use", f"Des factures de {last} sont déjà calculées : une nouvelle grille "
                                              "s'applique au plus tôt le mois suivant.")
            if existing is None:
                store.add_grid(uow, parsed, regie, agent_id, self.clock.now())
            else:
                store.replace_grid(uow, regie, parsed, agent_id, self.clock.now())
            uow.commit()
        return {**parsed.as_dict(), "created": True}

    def current_tariffs(self, day=None):
        """Both régies' grids in force on a day (today by default), and the next one announced if any."""
        day = domain.parse_date(day, "La date") if day else self.today()
        answer = {}
        with self.unit_of_work(read_only=True) as uow:
            for regie in domain.REGIES:
                grids = store.grids_of(uow, regie)
                current = domain.in_force(grids, day)
                upcoming = [g for g in grids if g.valid_from > day]
                answer[regie] = {"current": current.as_dict() if current else None,
                                 "next": upcoming[0].as_dict() if upcoming else None}
        return answer

    def tariff_grids(self, regie):
        """Every grid of a régie, oldest first: the administrators' history."""
        regie = domain.parse_regie(regie)
        with self.unit_of_work(read_only=True) as uow:
            return {"regie": regie, "grids": [g.as_dict() for g in store.grids_of(uow, regie)]}

    def price_estimate(self, regie, data):
        """The public simulator: today's grid applied to what the parent typed in, as the lines of an invoice."""
        regie = domain.parse_regie(regie)
        with self.unit_of_work(read_only=True) as uow:
            grid = domain.in_force(store.grids_of(uow, regie), self.today())
        if grid is None:
            raise Conflict("no_tariff", "Aucune grille tarifaire n'est en vigueur aujourd'hui.")
        bill = domain.price_estimate(regie, grid, data)
        return {"regie": regie, "grid_from": grid.valid_from.isoformat(), "total_cents": bill.total_cents,
                "lines": [line.as_dict() for line in bill.lines]}

    # --- Family resources --------------------------------------------------------------------------------------

    def set_family_resources(self, family_id, resources, agent_id):
        parsed = domain.parse_resources(resources)
        with self.unit_of_work() as uow:
            store.add_resources(uow, family_id, parsed, agent_id, self.clock.now())
            uow.commit()
        return self.family_resources(family_id)

    def family_resources(self, family_id):
        with self.unit_of_work(read_only=True) as uow:
            rows = store.resource_rows(uow, [family_id])
            current = domain.in_force(store.resources_by_family(uow, [family_id])[family_id], self.today())
        return {"family_id": family_id, "current": current.as_dict() if current else None,
                "history": [{"from": r.valid_from.isoformat(), "quotient": r.quotient,
                             "monthly_resources_cents": r.monthly_resources_cents,
                             "dependent_children": r.dependent_children, "disability": r.disability,
                             "agent_id": r.agent_id, "recorded_at": r.recorded_at.isoformat()} for r in rows]}

    # --- Invoicing runs ----------------------------------------------------------------------------------------

    def start_invoicing_run(self, regie, month, agent_id):
        """Compute the month's invoices of a régie as drafts.

        Idempotent: a family that already has its invoice for the month gets nothing more; the families added
        since join the month's draft run, or a new run if the month was finalised already. Nothing new to bill
        gives back the month's latest run."""
        regie = domain.parse_regie(regie)
        first, last = domain.month_bounds(month)
        month = first.strftime("%Y-%m")
        if first > self.today():
            raise Conflict("month_not_started", "On ne facture pas un mois qui n'a pas commencé.")
        facts = self.facts_source(regie, month)
        try:
            return self._store_run(regie, month, first, facts, agent_id)
        except IntegrityError:
            # A concurrent run of the same month inserted some of the same families first: theirs stand, and
            # this run takes only those left.
            return self._store_run(regie, month, first, facts, agent_id)

    def _store_run(self, regie, month, first, facts, agent_id):
        by_family = {}
        for fact in facts:
            by_family.setdefault(fact["family_id"], []).append(fact)
        now = self.clock.now()
        with self.unit_of_work() as uow:
            pending = sorted(set(by_family) - store.invoiced_families(uow, regie, month))
            bills = self._bills(uow, regie, first, {f: by_family[f] for f in pending})
            run = store.open_run(uow, regie, month)
            if run is None and not bills:
                latest = store.latest_run(uow, regie, month)
                if latest is not None:
                    return self._run_answer(uow, latest, created=0)
            run_id = run.id if run else store.add_run(uow, regie, month, agent_id, now)
            for bill in bills:
                store.add_invoice(uow, run_id, bill, month, now)
            count = store.count_invoices_of_run(uow, run_id)
            store.set_run_progress(uow, run_id, domain.RUN_DRAFT, count, count)
            uow.commit()
        with self.unit_of_work(read_only=True) as uow:
            return self._run_answer(uow, store.run(uow, run_id), created=len(bills))

    def _bills(self, uow, regie, first, facts_by_family):
        """Each family's bill, those with nothing to bill left out."""
        if not facts_by_family:
            return []
        grids = store.grids_of(uow, regie)
        resources = store.resources_by_family(uow, list(facts_by_family))
        names = store.first_names(uow, {f["child_id"] for facts in facts_by_family.values() for f in facts})
        bills = []
        for family_id, child_facts in facts_by_family.items():
            if regie == domain.AFFAIRES_SCOLAIRES:
                bill = domain.canteen_bill(family_id, child_facts, grids, resources[family_id], names)
            else:
                bill = domain.childcare_bill(family_id, child_facts, grids, resources[family_id], first)
            if bill.billable:
                bills.append(bill)
        return bills

    def invoicing_run(self, run_id):
        with self.unit_of_work(read_only=True) as uow:
            run = store.run(uow, run_id)
            if run is None:
                raise NotFound(*RUN_NOT_FOUND)
            return self._run_answer(uow, run)

    def _run_answer(self, uow, run, created=None):
        answer = {"id": run.id, "regie": run.regie, "month": run.month, "status": run.status, "done": run.done,
                  "total": run.total, "started_at": run.started_at.isoformat(),
                  "finalized_at": run.finalized_at.isoformat() if run.finalized_at else None,
                  "invoices": [_summary(row) for row in store.invoices_of_run(uow, run.id)]}
        if created is not None:
            answer["created"] = created
        return answer

    def invoicing_runs(self, regie=None, limit=24):
        """The latest runs, newest first (the agents' list), without their invoices."""
        regie = domain.parse_regie(regie) if regie else None
        limit = max(1, min(int(limit), 100))
        with self.unit_of_work(read_only=True) as uow:
            return {"runs": [{"id": r.id, "regie": r.regie, "month": r.month, "status": r.status, "done": r.done,
                              "total": r.total, "started_at": r.started_at.isoformat()}
                             for r in store.runs(uow, regie, limit)]}

    def finalize_run(self, run_id, agent_id=None):
        """Give the drafts their numbers, without gaps per régie and year of issue, and issue them, in one
        transaction. Finalising a final run again changes nothing."""
        now = self.clock.now()
        issued_on = self.today()
        due_date = issued_on + timedelta(days=self.settings.due_days)
        with self.unit_of_work() as uow:
            run = store.run(uow, run_id)
            if run is None:
                raise NotFound(*RUN_NOT_FOUND)
            if run.status == domain.RUN_FINAL:
                return self._run_answer(uow, run)
            if run.status != domain.RUN_DRAFT or not store.finalize_run_row(uow, run_id, agent_id, now):
                if store.run(uow, run_id).status == domain.RUN_FINAL:  # another agent or process finalised it first
                    return self._run_answer(uow, store.run(uow, run_id))
                raise Conflict("run_not_draft", "Cette tournée n'est pas prête à être finalisée.")
            drafts = [row for row in store.invoices_of_run(uow, run_id) if row.status == domain.DRAFT]
            if drafts:
                series = domain.NUMBER_PREFIXES[run.regie]
                first_number = store.take_numbers(uow, series, issued_on.year, len(drafts))
                for rank, row in enumerate(drafts):
                    number = domain.invoice_number(run.regie, issued_on.year, first_number + rank)
                    if not store.issue_invoice(uow, row.id, number, issued_on, due_date, now):
                        raise Conflict("run_not_draft", "Cette tournée est finalisée par ailleurs.")
                documents.invoices_issued(uow, run_id, now)  # the PDFs and mails follow, after commit
            uow.commit()
        return self.invoicing_run(run_id)

    # --- Invoices ----------------------------------------------------------------------------------------------

    def family_invoices(self, family_id):
        """A family's issued invoices (drafts are the agents'), newest month first."""
        with self.unit_of_work(read_only=True) as uow:
            return {"invoices": [_summary(row) for row in store.invoices_of_family(uow, family_id)]}

    def invoice(self, invoice_id, family_id=None):
        """One invoice with its lines, payments and credit notes. Given a family, another family's invoice or a
        draft is not found."""
        with self.unit_of_work(read_only=True) as uow:
            row = store.invoice(uow, invoice_id)
            if row is None or (family_id is not None and (row.family_id != family_id or row.status == domain.DRAFT)):
                raise NotFound(*INVOICE_NOT_FOUND)
            return {**_summary(row), "run_id": row.run_id,
                    "lines": [{"kind": line.kind, "label": line.label, "child_id": line.child_id,
                               "quantity": line.quantity, "unit_price_cents": line.unit_price_cents,
                               "amount_cents": line.amount_cents} for line in store.lines_of(uow, invoice_id)],
                    "payments": [_payment(p) for p in store.payments_of(uow, invoice_id)],
                    "credit_notes": [{"id": c.id, "number": c.number, "amount_cents": c.amount_cents,
                                      "reason": c.reason, "created_at": c.created_at.isoformat()}
                                     for c in store.credit_notes_of(uow, invoice_id)]}

    def record_payment(self, invoice_id, method, amount_cents, agent_id=None, external_id=None):
        """A payment received. A partial payment leaves a balance, an overpayment is refused; the same external
        id (a card transaction, a notification delivered again) is recorded once."""
        external_id = str(external_id).strip() if external_id else None
        if external_id is not None and len(external_id) > 100:
            raise InvalidInput("invalid_external_id", "La référence du paiement dépasse 100 caractères.")
        with self.unit_of_work() as uow:
            if external_id is not None:
                existing = store.payment_by_external_id(uow, external_id)
                if existing is not None:
                    return self._payment_answer(uow, existing, invoice_id, created=False)
            row = store.invoice(uow, invoice_id)
            if row is None:
                raise NotFound(*INVOICE_NOT_FOUND)
            domain.check_payment(method, amount_cents, row.balance_cents, row.status)
            try:  # the payment first: its unique external id settles two deliveries at once
                payment_id = store.add_payment(uow, invoice_id, method, amount_cents, external_id, agent_id,
                                               self.clock.now())
            except IntegrityError:
                if external_id is None:
                    raise
                payment_id = None  # the other delivery recorded it; read it again after this rollback
            else:
                if not store.settle(uow, row, paid_cents=amount_cents):
                    raise Conflict("invoice_changed", "La facture vient d'être modifiée : rechargez-la et recommencez.")
                uow.commit()
        if payment_id is None:
            return self.record_payment(invoice_id, method, amount_cents, agent_id, external_id)
        with self.unit_of_work(read_only=True) as uow:
            return self._payment_answer(uow, store.payment_by_id(uow, payment_id), invoice_id, created=True)

    def _payment_answer(self, uow, payment, invoice_id, created):
        if payment.invoice_id != invoice_id:
            raise Conflict("external_id_reused", "Cette référence de paiement concerne une autre facture.")
        return {**_payment(payment), "created": created, "invoice": _summary(store.invoice(uow, invoice_id))}

    def credit_note(self, invoice_id, amount_cents, reason, agent_id=None):
        """A credit note corrects an issued invoice: it lowers the balance, and one for the whole unpaid total
        cancels the invoice. Credit notes are numbered without gaps too (AS-AV-2026-000001)."""
        with self.unit_of_work() as uow:
            row = store.invoice(uow, invoice_id)
            if row is None:
                raise NotFound(*INVOICE_NOT_FOUND)
            amount_cents, reason = domain.check_credit_note(amount_cents, reason, row.balance_cents, row.status)
            if not store.settle(uow, row, credited_cents=amount_cents):
                raise Conflict("invoice_changed", "La facture vient d'être modifiée : rechargez-la et recommencez.")
            year = self.today().year
            sequence = store.take_numbers(uow, domain.CREDIT_NOTE_PREFIXES[row.regie], year, 1)
            number = domain.credit_note_number(row.regie, year, sequence)
            credit_id = store.add_credit_note(uow, invoice_id, number, amount_cents, reason, agent_id,
                                              self.clock.now())
            answer = {"id": credit_id, "number": number, "amount_cents": amount_cents, "reason": reason,
                      "invoice": _summary(store.invoice(uow, invoice_id))}
            uow.commit()
        return answer


def _summary(row):
    return {"id": row.id, "number": row.number, "family_id": row.family_id, "regie": row.regie,
            "period": row.period, "status": row.status, "total_cents": row.total_cents,
            "paid_cents": row.paid_cents, "credited_cents": row.credited_cents, "balance_cents": row.balance_cents,
            "issued_on": row.issued_on.isoformat() if row.issued_on else None,
            "due_date": row.due_date.isoformat() if row.due_date else None,
            "payable_by_card": row.status in (domain.ISSUED, domain.PARTIALLY_PAID)}


def _payment(row):
    return {"id": row.id, "invoice_id": row.invoice_id, "method": row.method, "amount_cents": row.amount_cents,
            "external_id": row.external_id, "received_at": row.received_at.isoformat()}
