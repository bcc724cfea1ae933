"""Reading and writing the billing tables inside a unit of work."""
from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update

from espace_common.db import insert_ignoring_duplicates, new_id

from . import domain, orm

# --- Tariffs and resources -------------------------------------------------------------------------------------


def grids_of(uow, regie):
    rows = uow.execute(select(orm.tariff_grids).where(orm.tariff_grids.c.regie == regie)
                       .order_by(orm.tariff_grids.c.valid_from)).all()
    return [domain.grid_from_dict(regie, row.data) for row in rows]


def grid_row(uow, regie, valid_from):
    table = orm.tariff_grids
    return uow.execute(select(table).where(table.c.regie == regie, table.c.valid_from == valid_from)).first()


def add_grid(uow, grid, regie, agent_id, now):
    uow.execute(insert(orm.tariff_grids).values(id=new_id(), regie=regie, valid_from=grid.valid_from,
                                                data=grid.as_dict(), created_by=agent_id, created_at=now))


def replace_grid(uow, regie, grid, agent_id, now):
    table = orm.tariff_grids
    uow.execute(update(table).where(table.c.regie == regie, table.c.valid_from == grid.valid_from)
                .values(data=grid.as_dict(), created_by=agent_id, created_at=now))


def last_invoiced_period(uow, regie):
    """The latest month of the régie that has an invoice (draft or final), as 'YYYY-MM', or None."""
    return uow.execute(select(func.max(orm.invoices.c.period)).where(orm.invoices.c.regie == regie)).scalar()


def add_resources(uow, family_id, resources, agent_id, now):
    uow.execute(insert(orm.family_resources).values(
        family_id=family_id, valid_from=resources.valid_from, quotient=resources.quotient,
        monthly_resources_cents=resources.monthly_resources_cents, dependent_children=resources.dependent_children,
        disability=resources.disability, agent_id=agent_id, recorded_at=now))


def resource_rows(uow, family_ids):
    table = orm.family_resources
    return uow.execute(select(table).where(table.c.family_id.in_(family_ids))
                       .order_by(table.c.family_id, table.c.valid_from, table.c.id)).all()


def resources_by_family(uow, family_ids):
    """Each family's resources history as domain.Resources; for one date, the entry recorded last wins."""
    latest = {}
    for row in resource_rows(uow, list(family_ids)) if family_ids else []:
        latest[(row.family_id, row.valid_from)] = domain.Resources(
            row.valid_from, row.quotient, row.monthly_resources_cents, row.dependent_children, row.disability)
    found = {family_id: [] for family_id in family_ids}
    for (family_id, _), resources in latest.items():
        found[family_id].append(resources)
    return found


def first_names(uow, child_ids):
    table = orm.family_children
    rows = uow.execute(select(table.c.child_id, table.c.first_name).where(table.c.child_id.in_(list(child_ids))))
    return {row.child_id: row.first_name for row in rows}


# --- Runs and invoices ------------------------------------------------------------------------------------------

def run(uow, run_id):
    return uow.execute(select(orm.invoicing_runs).where(orm.invoicing_runs.c.id == run_id)).first()


def open_run(uow, regie, month):
    """The run of the month still in draft (or computing), where families added since join the others."""
    table = orm.invoicing_runs
    return uow.execute(select(table).where(table.c.regie == regie, table.c.month == month,
                                           table.c.status != domain.RUN_FINAL)
                       .order_by(table.c.started_at)).first()


def latest_run(uow, regie, month):
    table = orm.invoicing_runs
    return uow.execute(select(table).where(table.c.regie == regie, table.c.month == month)
                       .order_by(table.c.started_at.desc())).first()


def add_run(uow, regie, month, agent_id, now):
    run_id = new_id()
    uow.execute(insert(orm.invoicing_runs).values(id=run_id, regie=regie, month=month, status=domain.RUNNING,
                                                  done=0, total=0, started_by=agent_id, started_at=now))
    return run_id


def runs(uow, regie, limit):
    table = orm.invoicing_runs
    query = select(table).order_by(table.c.started_at.desc()).limit(limit)
    if regie:
        query = query.where(table.c.regie == regie)
    return uow.execute(query).all()


def set_run_progress(uow, run_id, status, done, total):
    uow.execute(update(orm.invoicing_runs).where(orm.invoicing_runs.c.id == run_id)
                .values(status=status, done=done, total=total))


def finalize_run_row(uow, run_id, agent_id, now):
    """Draft -> final, once: the conditional UPDATE lets only one of two concurrent finalisations through."""
    table = orm.invoicing_runs
    result = uow.execute(update(table).where(table.c.id == run_id, table.c.status == domain.RUN_DRAFT)
                         .values(status=domain.RUN_FINAL, finalized_by=agent_id, finalized_at=now))
    return result.rowcount == 1


def invoiced_families(uow, regie, period):
    table = orm.invoices
    return {row.family_id for row in uow.execute(select(table.c.family_id).where(table.c.regie == regie,
                                                                                 table.c.period == period))}


def add_invoice(uow, run_id, bill, period, now):
    return add_invoices(uow, run_id, [bill], period, now)[0]


def add_invoices(uow, run_id, bills, period, now):
    """The drafts of a run with their lines: two executemany statements whatever the number of bills (a statement
    per invoice cost the run nine tenths of its time at 10,000 families)."""
    if not bills:
        return []
    ids = [new_id() for _ in bills]
    uow.execute(insert(orm.invoices), [
        {"id": invoice_id, "run_id": run_id, "family_id": bill.family_id, "regie": bill.regie, "period": period,
         "number": None, "status": domain.DRAFT, "total_cents": bill.total_cents, "paid_cents": 0,
         "credited_cents": 0, "balance_cents": bill.total_cents, "created_at": now}
        for invoice_id, bill in zip(ids, bills)])
    lines = [{"invoice_id": invoice_id, "position": position, "kind": line.kind, "child_id": line.child_id,
              "label": line.label, "quantity": None if line.quantity is None else str(line.quantity),
              "unit_price_cents": line.unit_price_cents, "amount_cents": line.amount_cents,
              "explanation": line.explanation}  # issue #12
             for invoice_id, bill in zip(ids, bills) for position, line in enumerate(bill.lines, 1)]
    if lines:
        uow.execute(insert(orm.invoice_lines), lines)
    return ids


def invoices_of_run(uow, run_id):
    table = orm.invoices
    return uow.execute(select(table).where(table.c.run_id == run_id)
                       .order_by(table.c.created_at, table.c.family_id)).all()


def count_invoices_of_run(uow, run_id):
    return uow.execute(select(func.count()).select_from(orm.invoices)
                       .where(orm.invoices.c.run_id == run_id)).scalar()


def invoice(uow, invoice_id):
    return uow.execute(select(orm.invoices).where(orm.invoices.c.id == invoice_id)).first()


def invoices_of_family(uow, family_id):
    table = orm.invoices
    return uow.execute(select(table).where(table.c.family_id == family_id, table.c.status != domain.DRAFT)
                       .order_by(table.c.period.desc(), table.c.regie)).all()


def lines_of(uow, invoice_id):
    table = orm.invoice_lines
    return uow.execute(select(table).where(table.c.invoice_id == invoice_id).order_by(table.c.position)).all()


def issue_invoice(uow, invoice_id, number, issued_on, due_date, now):
    """Draft -> issued with its number; the WHERE keeps an issued invoice from ever being issued again."""
    return issue_invoices(uow, [(invoice_id, number)], issued_on, due_date, now)


def issue_invoices(uow, numbered, issued_on, due_date, now):
    """Drafts -> issued, each with its number, in one executemany; True when every one was still a draft (the
    WHERE keeps an issued invoice from ever being issued again)."""
    if not numbered:
        return True
    table = orm.invoices
    result = uow.execute(update(table).where(table.c.id == bindparam("b_id"), table.c.status == domain.DRAFT)
                         .values(number=bindparam("b_number"), status=domain.ISSUED, issued_on=issued_on,
                                 due_date=due_date, finalized_at=now),
                         [{"b_id": invoice_id, "b_number": number} for invoice_id, number in numbered])
    return result.rowcount == len(numbered)


def settle(uow, invoice_row, paid_cents=0, credited_cents=0):
    """Add a payment or a credit to an issued invoice; the balance it was read with must still be the balance
    (two agents entering the same cheque at once: one of them is told)."""
    table = orm.invoices
    paid, credited = invoice_row.paid_cents + paid_cents, invoice_row.credited_cents + credited_cents
    status = domain.status_after(invoice_row.total_cents, paid, credited)
    result = uow.execute(update(table).where(table.c.id == invoice_row.id,
                                             table.c.balance_cents == invoice_row.balance_cents)
                         .values(paid_cents=paid, credited_cents=credited,
                                 balance_cents=invoice_row.total_cents - paid - credited, status=status))
    return result.rowcount == 1


# --- Numbers without gaps ---------------------------------------------------------------------------------------

def take_numbers(uow, series, year, count):
    """Reserve `count` consecutive numbers of a series and year in this transaction; returns the first one.

    The counter moves by a conditional UPDATE on the value just read: a concurrent finaliser (another run, another
    process) that moved it first makes this UPDATE touch no row, and we read again. Numbers are taken in the
    transaction that issues the invoices, so a rollback gives them back: no gap."""
    table = orm.number_counters
    insert_ignoring_duplicates(uow.connection, table, [{"series": series, "year": year, "last_number": 0}])
    while True:
        seen = uow.execute(select(table.c.last_number).where(table.c.series == series, table.c.year == year)).scalar()
        moved = uow.execute(update(table).where(table.c.series == series, table.c.year == year,
                                                table.c.last_number == seen)
                            .values(last_number=seen + count))
        if moved.rowcount == 1:
            return seen + 1


# --- Payments and credit notes ----------------------------------------------------------------------------------

def payment_by_external_id(uow, external_id):
    return uow.execute(select(orm.payments).where(orm.payments.c.external_id == external_id)).first()


def add_payment(uow, invoice_id, method, amount_cents, external_id, agent_id, now):
    payment_id = new_id()
    uow.execute(insert(orm.payments).values(id=payment_id, invoice_id=invoice_id, method=method,
                                            amount_cents=amount_cents, external_id=external_id, agent_id=agent_id,
                                            received_at=now))
    return payment_id


def payments_of(uow, invoice_id):
    table = orm.payments
    return uow.execute(select(table).where(table.c.invoice_id == invoice_id).order_by(table.c.received_at)).all()


def add_credit_note(uow, invoice_id, number, amount_cents, reason, agent_id, now):
    credit_id = new_id()
    uow.execute(insert(orm.credit_notes).values(id=credit_id, invoice_id=invoice_id, number=number,
                                                amount_cents=amount_cents, reason=reason, agent_id=agent_id,
                                                created_at=now))
    return credit_id


def credit_notes_of(uow, invoice_id):
    table = orm.credit_notes
    return uow.execute(select(table).where(table.c.invoice_id == invoice_id).order_by(table.c.created_at)).all()


def payment_by_id(uow, payment_id):
    return uow.execute(select(orm.payments).where(orm.payments.c.id == payment_id)).first()


# --- Runs in the background, the agents' search, the accounting export (issue 9) -------------------------------

def invoiced_among(uow, regie, period, family_ids):
    """Which of these families already have their invoice of the month (from any run)."""
    table = orm.invoices
    if not family_ids:
        return set()
    return {row.family_id for row in uow.execute(select(table.c.family_id).where(
        table.c.regie == regie, table.c.period == period, table.c.family_id.in_(list(family_ids))))}


def restart_run(uow, run_id, now):
    """A draft run computes again (the families added since); the WHERE lets one of two restarts through."""
    table = orm.invoicing_runs
    result = uow.execute(update(table).where(table.c.id == run_id, table.c.status == domain.RUN_DRAFT)
                         .values(status=domain.RUNNING, error=None, attempts=0, retry_at=None, updated_at=now))
    return result.rowcount == 1


def set_running_progress(uow, run_id, done, total, now):
    """The progress of a pass, while the run is still running; False when it is not any more."""
    table = orm.invoicing_runs
    result = uow.execute(update(table).where(table.c.id == run_id, table.c.status == domain.RUNNING)
                         .values(done=done, total=total, error=None, retry_at=None, updated_at=now))
    return result.rowcount == 1


def finish_run(uow, run_id, total, now):
    table = orm.invoicing_runs
    result = uow.execute(update(table).where(table.c.id == run_id, table.c.status == domain.RUNNING)
                         .values(status=domain.RUN_DRAFT, done=total, total=total, error=None, attempts=0,
                                 retry_at=None, updated_at=now))
    return result.rowcount == 1


def fail_run(uow, run_id, error, attempts, retry_at, now):
    """Keep the failure on the running run, how many passes failed, and when it is tried again."""
    table = orm.invoicing_runs
    uow.execute(update(table).where(table.c.id == run_id, table.c.status == domain.RUNNING)
                .values(error=error, attempts=attempts, retry_at=retry_at, updated_at=now))


def runs_to_resume(uow, now, silent_since):
    """Running runs whose retry is due, or that made no progress for long (their worker died unheard)."""
    table = orm.invoicing_runs
    return uow.execute(select(table).where(
        table.c.status == domain.RUNNING,
        or_(table.c.retry_at <= now,
            and_(table.c.retry_at.is_(None), or_(table.c.updated_at.is_(None), table.c.updated_at < silent_since))))
        .order_by(table.c.started_at)).all()


def claim_resume(uow, run_row, now):
    """Take a run to resume, once among several billing processes: the row must be as it was read."""
    table = orm.invoicing_runs
    same_retry = table.c.retry_at.is_(None) if run_row.retry_at is None else table.c.retry_at == run_row.retry_at
    same_beat = table.c.updated_at.is_(None) if run_row.updated_at is None else table.c.updated_at == run_row.updated_at
    result = uow.execute(update(table).where(table.c.id == run_row.id, table.c.status == domain.RUNNING,
                                             same_retry, same_beat)
                         .values(retry_at=None, updated_at=now))
    return result.rowcount == 1


def search_invoices(uow, number=None, family_id=None, regie=None, period=None, status=None, limit=50, offset=0):
    """The agents' search: every criterion given narrows it; newest month first. Returns (rows, count)."""
    table = orm.invoices
    conditions = []
    if number:
        conditions.append(table.c.number.like(f"%{_escape_like(number)}%", escape="\\"))
    if family_id:
        conditions.append(table.c.family_id == family_id)
    if regie:
        conditions.append(table.c.regie == regie)
    if period:
        conditions.append(table.c.period == period)
    if status:
        conditions.append(table.c.status == status)
    count = uow.execute(select(func.count()).select_from(table).where(*conditions)).scalar()
    rows = uow.execute(select(table).where(*conditions)
                       .order_by(table.c.period.desc(), table.c.regie, table.c.number, table.c.id)
                       .limit(limit).offset(offset)).all()
    return rows, count


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def invoices_issued_between(uow, first, last):
    table = orm.invoices
    return uow.execute(select(table).where(table.c.issued_on >= first, table.c.issued_on <= last,
                                           table.c.number.is_not(None))
                       .order_by(table.c.issued_on, table.c.number)).all()


def credit_notes_between(uow, start, end):
    """Credit notes made in [start, end) (UTC instants), with their invoice's number, régie and family."""
    notes, bills = orm.credit_notes, orm.invoices
    return uow.execute(select(notes, bills.c.number.label("invoice_number"), bills.c.regie, bills.c.family_id,
                              bills.c.period)
                       .join(bills, bills.c.id == notes.c.invoice_id)
                       .where(notes.c.created_at >= start, notes.c.created_at < end)
                       .order_by(notes.c.created_at, notes.c.number)).all()


def payments_between(uow, start, end):
    """Payments received in [start, end) (UTC instants), with their invoice's number, régie and family."""
    pays, bills = orm.payments, orm.invoices
    return uow.execute(select(pays, bills.c.number.label("invoice_number"), bills.c.regie, bills.c.family_id,
                              bills.c.period)
                       .join(bills, bills.c.id == pays.c.invoice_id)
                       .where(pays.c.received_at >= start, pays.c.received_at < end)
                       .order_by(pays.c.received_at, pays.c.id)).all()


def lines_of_invoices(uow, invoice_ids):
    """The lines of these invoices, in one query (the drafts' review page)."""
    table = orm.invoice_lines
    if not invoice_ids:
        return []
    return uow.execute(select(table).where(table.c.invoice_id.in_(list(invoice_ids)))
                       .order_by(table.c.invoice_id, table.c.position)).all()
# --- Documents: PDFs, the online invoice, paper batches (documents.py) -----------------------------------------

def snapshot_deliveries(uow, run_id):
    """Each issued invoice of the run takes its family's choice as it stands now: online or paper (no choice)."""
    table, choice = orm.invoices, orm.billing_preferences
    paperless = select(choice.c.family_id).where(choice.c.paperless.is_(True))
    uow.execute(update(table).where(table.c.run_id == run_id, table.c.status != domain.DRAFT,
                                    table.c.delivery.is_(None))
                .values(delivery=case((table.c.family_id.in_(paperless), domain.ONLINE), else_=domain.PAPER)))


def invoices_without_pdf(uow, run_id, limit):
    table = orm.invoices
    return uow.execute(select(table).where(table.c.run_id == run_id, table.c.status != domain.DRAFT,
                                           table.c.pdf_path.is_(None))
                       .order_by(table.c.number).limit(limit)).all()


def count_without_pdf(uow, run_id, delivery=None):
    table = orm.invoices
    query = select(func.count()).select_from(table).where(table.c.run_id == run_id, table.c.status != domain.DRAFT,
                                                          table.c.pdf_path.is_(None))
    if delivery:
        query = query.where(table.c.delivery == delivery)
    return uow.execute(query).scalar()


def set_pdf_path(uow, invoice_id, path):
    """Once: the first PDF stored for an invoice is its PDF for ever."""
    table = orm.invoices
    result = uow.execute(update(table).where(table.c.id == invoice_id, table.c.pdf_path.is_(None))
                         .values(pdf_path=path))
    return result.rowcount == 1


def replace_pdf_path(uow, invoice_id, old_path, path):
    table = orm.invoices
    uow.execute(update(table).where(table.c.id == invoice_id, table.c.pdf_path == old_path).values(pdf_path=path))


def lines_by_invoice(uow, invoice_ids):
    """The lines of these invoices, by invoice (the PDFs of a batch)."""
    table = orm.invoice_lines
    found = {invoice_id: [] for invoice_id in invoice_ids}
    for row in uow.execute(select(table).where(table.c.invoice_id.in_(list(invoice_ids)))
                           .order_by(table.c.invoice_id, table.c.position)):
        found[row.invoice_id].append(row)
    return found


def payments_of_invoices(uow, invoice_ids):
    table = orm.payments
    found = {invoice_id: [] for invoice_id in invoice_ids}
    for row in uow.execute(select(table).where(table.c.invoice_id.in_(list(invoice_ids)))
                           .order_by(table.c.received_at)):
        found[row.invoice_id].append(row)
    return found


def credit_notes_of_invoices(uow, invoice_ids):
    table = orm.credit_notes
    found = {invoice_id: [] for invoice_id in invoice_ids}
    for row in uow.execute(select(table).where(table.c.invoice_id.in_(list(invoice_ids)))
                           .order_by(table.c.created_at)):
        found[row.invoice_id].append(row)
    return found


def online_to_notify(uow, run_id, limit):
    table = orm.invoices
    return uow.execute(select(table).where(table.c.run_id == run_id, table.c.delivery == domain.ONLINE,
                                           table.c.notified_at.is_(None))
                       .order_by(table.c.number).limit(limit)).all()


def mark_notified(uow, invoice_id, now):
    """Once: the conditional UPDATE keeps two workers from mailing the same invoice twice."""
    table = orm.invoices
    result = uow.execute(update(table).where(table.c.id == invoice_id, table.c.notified_at.is_(None))
                         .values(notified_at=now))
    return result.rowcount == 1


def deliver_on_paper(uow, invoice_id):
    table = orm.invoices
    uow.execute(update(table).where(table.c.id == invoice_id).values(delivery=domain.PAPER))


def paper_invoices(uow, run_id):
    table = orm.invoices
    return uow.execute(select(table).where(table.c.run_id == run_id, table.c.status != domain.DRAFT,
                                           table.c.delivery == domain.PAPER)
                       .order_by(table.c.number)).all()


def paper_batch(uow, run_id):
    return uow.execute(select(orm.paper_batches).where(orm.paper_batches.c.run_id == run_id)).first()


def save_paper_batch(uow, run_id, path, count, now):
    """The batch's file; a batch made again (its file was lost) replaces the row. Returns the path replaced."""
    table = orm.paper_batches
    existing = paper_batch(uow, run_id)
    if existing is None:
        uow.execute(insert(table).values(run_id=run_id, pdf_path=path, invoices=count, made_at=now))
        return None
    uow.execute(update(table).where(table.c.run_id == run_id).values(pdf_path=path, invoices=count, made_at=now))
    return existing.pdf_path


def runs_with_pending_documents(uow, finalized_before):
    """Final runs with an invoice still without its PDF or its mail, or without their paper batch."""
    runs, table, batches = orm.invoicing_runs, orm.invoices, orm.paper_batches
    pending = select(table.c.run_id).where(table.c.status != domain.DRAFT, or_(
        table.c.pdf_path.is_(None), and_(table.c.delivery == domain.ONLINE, table.c.notified_at.is_(None))))
    without_batch = select(table.c.run_id).where(table.c.delivery == domain.PAPER,
                                                 table.c.run_id.not_in(select(batches.c.run_id)))
    return [row.id for row in uow.execute(
        select(runs.c.id).where(runs.c.status == domain.RUN_FINAL, runs.c.finalized_at < finalized_before,
                                or_(runs.c.id.in_(pending), runs.c.id.in_(without_batch))))]


def preference(uow, family_id):
    return uow.execute(select(orm.billing_preferences)
                       .where(orm.billing_preferences.c.family_id == family_id)).first()


def save_preference(uow, family_id, paperless, actor_id, now):
    """Insert or change a family's choice; a choice made again as it stands changes nothing (nor who made it)."""
    table = orm.billing_preferences
    inserted = insert_ignoring_duplicates(uow.connection, table, [
        {"family_id": family_id, "paperless": paperless, "changed_by": actor_id, "changed_at": now}])
    if not inserted:
        uow.execute(update(table).where(table.c.family_id == family_id, table.c.paperless.is_not(paperless))
                    .values(paperless=paperless, changed_by=actor_id, changed_at=now))


def payment_with_invoice(uow, payment_id):
    return uow.execute(select(orm.payments).where(orm.payments.c.id == payment_id)).first()


def family_payments(uow, family_id, regie=None):
    """(payment, invoice number, régie, period) of a family's issued invoices, newest first."""
    payments, invoices = orm.payments, orm.invoices
    query = (select(payments, invoices.c.number, invoices.c.regie, invoices.c.period)
             .join(invoices, invoices.c.id == payments.c.invoice_id)
             .where(invoices.c.family_id == family_id).order_by(payments.c.received_at.desc()))
    if regie:
        query = query.where(invoices.c.regie == regie)
    return uow.execute(query).all()


def children_of_family(uow, family_id):
    table = orm.family_children
    return uow.execute(select(table).where(table.c.family_id == family_id).order_by(table.c.birth_date)).all()
