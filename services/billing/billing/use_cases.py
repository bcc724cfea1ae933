"""Billing's use cases: what each request does, beside the domain.

Each one opens a unit of work, reads through `store`, lets the domain's rules decide, writes and commits. They know
neither nameko nor the broker: `service.py` hands them a unit-of-work factory, the clock, the settings and a
*facts source* — a plain callable `facts_source(regie, month) -> [child facts]` that in the service asks canteen or
childcare over RPC, and in the tests is a fake holding a month of activity (tests/unit/test_use_cases.py).
"""
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from espace_common import formatting
from espace_common.errors import Conflict, DomainError, InvalidInput, NotFound
from espace_common.events import Event
from espace_common.mail import mails_to

from . import debit_use_cases, documents, domain, orm, store

log = logging.getLogger(__name__)

INVOICE_NOT_FOUND = ("invoice_not_found", "Cette facture n'existe pas.")
RUN_NOT_FOUND = ("run_not_found", "Cette tournée de facturation n'existe pas.")


@dataclass(frozen=True)
class BillingSettings:
    """The settings of config.yml this service reads."""

    due_days: int = 30
    timezone: str = "Europe/Paris"
    run_batch: int = 100  # families computed and committed together, with the run's progress

    @property
    def zone(self):
        return ZoneInfo(self.timezone)

    @classmethod
    def from_config(cls, config):
        due_days = int(config.get("BILLING_DUE_DAYS", cls.due_days))
        if not 1 <= due_days <= 120:
            raise ValueError("BILLING_DUE_DAYS is between 1 and 120 days")
        run_batch = int(config.get("BILLING_RUN_BATCH") or cls.run_batch)
        if not 1 <= run_batch <= 10000:
            raise ValueError("BILLING_RUN_BATCH is between 1 and 10000 families")
        return cls(due_days=due_days, timezone=str(config.get("TOWN_TIMEZONE") or cls.timezone),
                   run_batch=run_batch)


class Billing:
    """The billing service's use cases, one method per request."""

    def __init__(self, unit_of_work, clock, settings, facts_source, after_batch=lambda: None):
        self.unit_of_work = unit_of_work  # unit_of_work(read_only=False) -> a UnitOfWork
        self.clock = clock
        self.settings = settings
        self.facts_source = facts_source  # facts_source(regie, month) -> list of per-child billable facts
        self.after_batch = after_batch  # called after each committed batch of a run

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
        """Start computing the month's invoices of a régie as drafts, in the background; answers at once.

        The run is recorded `running` with the event `billing.invoicing_run_started` in the same transaction;
        billing's own handler of that event computes it (compute_invoicing_run). A second start while the month
        runs gives back the running run (and, if it failed, tries it again now); a start once it is in draft
        computes the families added since in the same run; once the month is final, a new run takes only the
        families added since."""
        regie = domain.parse_regie(regie)
        first, _ = domain.month_bounds(month)
        month = first.strftime("%Y-%m")
        if first > self.today():
            raise Conflict("month_not_started", "On ne facture pas un mois qui n'a pas commencé.")
        for _attempt in range(3):
            try:
                run_id = self._open_run(regie, month, first, agent_id)
            except IntegrityError:
                continue  # another agent or process opened the month's run first: take theirs
            if run_id is not None:
                return self.invoicing_run(run_id)
        raise Conflict("run_busy", "La tournée de ce mois est modifiée en ce moment : réessayez.")

    def _open_run(self, regie, month, first, agent_id):
        now = self.clock.now()
        with self.unit_of_work() as uow:
            if domain.in_force(store.grids_of(uow, regie), first) is None:
                raise Conflict("no_tariff", f"Aucune grille tarifaire ne s'applique au {formatting.date_numeric(first)} : "
                                            "un administrateur doit en saisir une.")
            run = store.open_run(uow, regie, month)
            if run is not None and run.status == domain.RUNNING:
                if run.error is None:
                    return run.id
                store.claim_resume(uow, run, now)  # it failed: try again now rather than at its retry time
                run_id = run.id
            elif run is not None:
                if not store.restart_run(uow, run.id, now):
                    return None  # finalised or restarted by another agent meanwhile: look again
                run_id = run.id
            else:
                run_id = store.add_run(uow, regie, month, agent_id, now)
                store.set_running_progress(uow, run_id, 0, 0, now)
            uow.record(run_started(run_id, regie, month, now))
            uow.commit()
        return run_id

    def compute_invoicing_run(self, run_id):
        """The background part of a run: pull the month's facts, compute the families not invoiced yet in
        batches (each committed with its progress), then put the run in draft.

        Safe to run again or twice at once (a redelivered event, a resumed run): the unique (family, régie,
        month) key lets each family be invoiced once, and a run no longer `running` is left alone. A failure
        (canteen or childcare not answering, no grid for a day) is kept on the run, which stays `running` and
        is tried again later (resume_invoicing_runs). Returns the run's status after this pass, or None."""
        with self.unit_of_work(read_only=True) as uow:
            run = store.run(uow, run_id)
        if run is None or run.status != domain.RUNNING:
            return None if run is None else run.status
        try:
            self._compute(run)
        except Exception as exc:  # anything: the run says so and is tried again, it never hangs unseen
            log.warning("invoicing run %s failed, will retry: %s", run_id, exc)
            self._run_failed(run_id, failure_text(run.regie, exc))
        return self.invoicing_run(run_id)["status"]

    def _compute(self, run):
        first, _ = domain.month_bounds(run.month)
        facts = self.facts_source(run.regie, run.month)
        by_family = {}
        for fact in facts:
            by_family.setdefault(fact["family_id"], []).append(fact)
        families = sorted(by_family)
        with self.unit_of_work() as uow:
            pending = [f for f in families if f not in store.invoiced_among(uow, run.regie, run.month, families)]
            if not store.set_running_progress(uow, run.id, len(families) - len(pending), len(families),
                                              self.clock.now()):
                return
            uow.commit()
        done = len(families) - len(pending)
        size = self.settings.run_batch
        for start in range(0, len(pending), size):
            batch = pending[start:start + size]
            done += len(batch)
            try:
                going_on = self._compute_batch(run, first, {f: by_family[f] for f in batch}, done, len(families))
            except IntegrityError:  # a concurrent pass of the same run invoiced some of them first
                going_on = self._compute_batch(run, first, {f: by_family[f] for f in batch}, done, len(families))
            if not going_on:
                return
            self.after_batch()  # the service's fault point: a crash test kills the process here
        with self.unit_of_work() as uow:
            store.finish_run(uow, run.id, len(families), self.clock.now())
            uow.commit()

    def _compute_batch(self, run, first, facts_by_family, done, total):
        """One batch of families in one transaction with the run's progress; False if the run stopped running."""
        now = self.clock.now()
        with self.unit_of_work() as uow:
            already = store.invoiced_among(uow, run.regie, run.month, list(facts_by_family))
            bills = self._bills(uow, run.regie, first,
                                {f: facts for f, facts in facts_by_family.items() if f not in already})
            if not store.set_running_progress(uow, run.id, done, total, now):
                return False
            store.add_invoices(uow, run.id, bills, run.month, now)
            uow.commit()
        return True

    def _run_failed(self, run_id, error):
        now = self.clock.now()
        with self.unit_of_work() as uow:
            run = store.run(uow, run_id)
            attempts = run.attempts + 1
            store.fail_run(uow, run_id, error, attempts, now + retry_delay(attempts), now)
            uow.commit()

    def resume_invoicing_runs(self):
        """Runs to pick up again (a failed pass whose retry is due, a run silent for RUN_SILENCE): each gets
        its event again, once whatever the number of billing processes. Returns their ids."""
        now = self.clock.now()
        resumed = []
        with self.unit_of_work(read_only=True) as uow:  # every 15 s: no write lock when there is nothing to do
            if not store.runs_to_resume(uow, now, now - RUN_SILENCE):
                return resumed
        with self.unit_of_work() as uow:
            for run in store.runs_to_resume(uow, now, now - RUN_SILENCE):
                if store.claim_resume(uow, run, now):
                    uow.record(run_started(run.id, run.regie, run.month, now))
                    resumed.append(run.id)
            uow.commit()
        return resumed

    def run_now(self, regie, month, agent_id=None):
        """Start a run and compute it in this process at once: for the demo data, the benchmark and the tests,
        which have no event handler to wait for. The event it records then finds the run done."""
        run = self.start_invoicing_run(regie, month, agent_id)
        self.compute_invoicing_run(run["id"])
        return self.invoicing_run(run["id"])

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

    def invoicing_run(self, run_id, with_lines=False):
        """A run with its progress and its invoices; with_lines, the first RUN_LINES_SHOWN with their lines (the
        drafts' review page)."""
        with self.unit_of_work(read_only=True) as uow:
            run = store.run(uow, run_id)
            if run is None:
                raise NotFound(*RUN_NOT_FOUND)
            answer = self._run_answer(uow, run)
            if with_lines:  # the first RUN_LINES_SHOWN invoices: a page shows no more, the search finds the rest
                shown = answer["invoices"][:RUN_LINES_SHOWN]
                lines = {}
                for line in store.lines_of_invoices(uow, [i["id"] for i in shown]):
                    lines.setdefault(line.invoice_id, []).append(_line(line))
                for invoice in shown:
                    invoice["lines"] = lines.get(invoice["id"], [])
            return answer

    def _run_answer(self, uow, run):
        return {**_run_summary(run), "finalized_at": run.finalized_at.isoformat() if run.finalized_at else None,
                "invoices": [_summary(row) for row in store.invoices_of_run(uow, run.id)]}

    def invoicing_runs(self, regie=None, limit=24):
        """The latest runs, newest first (the agents' list), without their invoices."""
        regie = domain.parse_regie(regie) if regie else None
        limit = max(1, min(int(limit), 100))
        with self.unit_of_work(read_only=True) as uow:
            return {"runs": [_run_summary(r) for r in store.runs(uow, regie, limit)]}

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
                numbered = [(row.id, domain.invoice_number(run.regie, issued_on.year, first_number + rank))
                            for rank, row in enumerate(drafts)]
                if not store.issue_invoices(uow, numbered, issued_on, due_date, now):
                    raise Conflict("run_not_draft", "Cette tournée est finalisée par ailleurs.")
                debit_use_cases.plan_debits(uow, run_id, now)  # families with a SEPA mandate are debited
                documents.invoices_issued(uow, run_id, now)  # the PDFs and mails follow, after commit
            uow.commit()
        return self.invoicing_run(run_id)

    # --- Invoices ----------------------------------------------------------------------------------------------

    def family_invoices(self, family_id):
        """A family's issued invoices (drafts are the agents'), newest month first."""
        with self.unit_of_work(read_only=True) as uow:
            return {"invoices": [_summary(row) for row in store.invoices_of_family(uow, family_id)]}

    def family_overview(self, family_id, emails=()):
        """The agents' family file in one answer: the family's issued invoices with their payments, and the mails
        billing wrote to the family's addresses (given by the gateway from identity), newest first."""
        with self.unit_of_work(read_only=True) as uow:
            invoices = [{**_summary(row), "payments": [_payment(p) for p in store.payments_of(uow, row.id)]}
                        for row in store.invoices_of_family(uow, family_id)]
            return {"invoices": invoices, "mails": mails_to(uow, orm.mail_outbox, emails)}

    def invoice(self, invoice_id, family_id=None):
        """One invoice with its lines, payments and credit notes. Given a family, another family's invoice or a
        draft is not found."""
        with self.unit_of_work(read_only=True) as uow:
            row = store.invoice(uow, invoice_id)
            if row is None or (family_id is not None and (row.family_id != family_id or row.status == domain.DRAFT)):
                raise NotFound(*INVOICE_NOT_FOUND)
            return {**_summary(row), "run_id": row.run_id,
                    "lines": [_line(line) for line in store.lines_of(uow, invoice_id)],
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
            try:
                domain.check_payment(method, amount_cents, row.balance_cents, row.status)
            except DomainError:
                # The same payment delivered twice at once (two billing replicas): the other delivery committed
                # between our look-up and our read of the invoice, which it paid. Not a refusal: the same payment.
                existing = store.payment_by_external_id(uow, external_id) if external_id is not None else None
                if existing is None:
                    raise
                return self._payment_answer(uow, existing, invoice_id, created=False)
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
                debit_use_cases.record_paid_event(uow, invoice_id, self.clock.now())  # billing.invoice_paid, once
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
            debit_use_cases.record_paid_event(uow, invoice_id, self.clock.now())  # settled: billing.invoice_paid
            uow.commit()
        return answer

    # --- The agents' search and the accounting export (issue 9) ------------------------------------------------

    def search_invoices(self, number=None, family_id=None, regie=None, period=None, status=None, limit=50,
                        offset=0):
        """Invoices (drafts included: the agents') by number (or part of it), family, régie, month and state."""
        number = _criterion(number, 30, "Le numéro de facture")
        family_id = _criterion(family_id, 36, "L'identifiant de famille")
        regie = domain.parse_regie(regie) if regie else None
        period = domain.month_bounds(period)[0].strftime("%Y-%m") if period else None
        if status and status not in domain.INVOICE_STATUSES:
            raise InvalidInput("invalid_status", "L'état est l'un de : " + ", ".join(domain.INVOICE_STATUSES) + ".")
        try:
            limit, offset = max(1, min(int(limit), 200)), max(0, int(offset))
        except (TypeError, ValueError):
            raise InvalidInput("invalid_page", "La pagination est faite de nombres entiers.") from None
        with self.unit_of_work(read_only=True) as uow:
            rows, count = store.search_invoices(uow, number, family_id, regie, period, status or None, limit, offset)
        return {"invoices": [_summary(row) for row in rows], "count": count, "limit": limit, "offset": offset}

    def accounting_export(self, date_from, date_to):
        """The invoices issued, the credit notes made and the payments received from one day to another (both
        included, days in the town's time zone), as rows of the same columns for the accounting software."""
        first = domain.parse_date(date_from, "La date de début")
        last = domain.parse_date(date_to, "La date de fin")
        if last < first:
            raise InvalidInput("invalid_range", "La date de fin suit la date de début.")
        if (last - first).days > MAX_EXPORT_DAYS:
            raise InvalidInput("range_too_long", f"Un export couvre au plus {MAX_EXPORT_DAYS + 1} jours.")
        start = datetime.combine(first, time(0), self.settings.zone)
        end = datetime.combine(last + timedelta(days=1), time(0), self.settings.zone)
        rows = []
        with self.unit_of_work(read_only=True) as uow:
            for row in store.invoices_issued_between(uow, first, last):
                rows.append(_export_row("invoice", row.issued_on, row.number, row.number, row, None,
                                        row.total_cents, "", row.id))
            for row in store.credit_notes_between(uow, start, end):
                rows.append(_export_row("credit_note", self._local_day(row.created_at), row.number,
                                        row.invoice_number, row, None, row.amount_cents, row.reason, row.id))
            for row in store.payments_between(uow, start, end):
                rows.append(_export_row("payment", self._local_day(row.received_at), row.external_id or "",
                                        row.invoice_number, row, row.method, row.amount_cents, "", row.id))
        rows.sort(key=lambda r: (r["date"], EXPORT_ORDER[r["kind"]], r["number"] or "", r["id"]))
        totals = {kind: sum(r["amount_cents"] for r in rows if r["kind"] == kind) for kind in EXPORT_ORDER}
        return {"from": first.isoformat(), "to": last.isoformat(), "columns": list(EXPORT_COLUMNS), "rows": rows,
                "totals_cents": totals}

    def _local_day(self, instant):
        return instant.astimezone(self.settings.zone).date()


def _summary(row):
    return {"id": row.id, "number": row.number, "family_id": row.family_id, "regie": row.regie,
            "period": row.period, "status": row.status, "total_cents": row.total_cents,
            "paid_cents": row.paid_cents, "credited_cents": row.credited_cents, "balance_cents": row.balance_cents,
            "issued_on": row.issued_on.isoformat() if row.issued_on else None,
            "due_date": row.due_date.isoformat() if row.due_date else None,
            "payable_by_card": row.status in (domain.ISSUED, domain.PARTIALLY_PAID) and not row.direct_debit,
            "direct_debit": row.direct_debit}


def _payment(row):
    return {"id": row.id, "invoice_id": row.invoice_id, "method": row.method, "amount_cents": row.amount_cents,
            "external_id": row.external_id, "received_at": row.received_at.isoformat()}


# --- Runs in the background (issue 9) ---------------------------------------------------------------------------

RUN_SILENCE = timedelta(minutes=5)
RUN_LINES_SHOWN = 200  # invoices given with their lines by invoicing_run(with_lines=True)  # a running run without progress for that long is resumed
RUN_STARTED = "invoicing_run_started"


class FactsUnavailable(Exception):
    """The facts source could not answer (canteen or childcare down, too slow); the message is French."""


def run_started(run_id, regie, month, now):
    """The event billing's own handler computes a run on; recorded in the transaction that starts it."""
    return Event("billing", RUN_STARTED, {"run_id": run_id, "regie": regie, "month": month}, occurred_at=now)


def retry_delay(attempts):
    """30 s after the first failure, doubling, at most 10 min: a service down for hours is not hammered."""
    return timedelta(seconds=min(30 * 2 ** (max(attempts, 1) - 1), 600))


def failure_text(regie, exc):
    """What the agents read on a run that failed."""
    if isinstance(exc, (FactsUnavailable, DomainError)):
        text = str(exc) if isinstance(exc, FactsUnavailable) else exc.message
    else:
        text = f"Erreur inattendue ({exc.__class__.__name__}) : le détail est dans le journal du service."
    return text[:500]


def _line(line):
    return {"kind": line.kind, "label": line.label, "child_id": line.child_id, "quantity": line.quantity,
            "unit_price_cents": line.unit_price_cents, "amount_cents": line.amount_cents,
            "explanation": getattr(line, "explanation", None)}  # how the price was computed (issue #12)


def _run_summary(run):
    return {"id": run.id, "regie": run.regie, "month": run.month, "status": run.status, "done": run.done,
            "total": run.total, "started_at": run.started_at.isoformat(), "error": run.error,
            "attempts": run.attempts, "retry_at": run.retry_at.isoformat() if run.retry_at else None}


# --- The agents' search and the accounting export (issue 9) -----------------------------------------------------

MAX_EXPORT_DAYS = 366
EXPORT_ORDER = {"invoice": 0, "credit_note": 1, "payment": 2}
EXPORT_COLUMNS = ("kind", "date", "number", "invoice_number", "regie", "family_id", "period", "method",
                  "amount_cents", "reason", "id")


def _criterion(value, longest, what):
    value = str(value).strip() if value is not None else ""
    if len(value) > longest:
        raise InvalidInput("invalid_query", f"{what} compte au plus {longest} caractères.")
    return value or None


def _export_row(kind, day, number, invoice_number, row, method, amount_cents, reason, row_id):
    return {"kind": kind, "date": day.isoformat(), "number": number, "invoice_number": invoice_number,
            "regie": row.regie, "family_id": row.family_id, "period": row.period, "method": method,
            "amount_cents": amount_cents, "reason": reason, "id": row_id}
