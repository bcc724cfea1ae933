"""The month's invoicing of 10,000 families (canteen régie) on SQLite and PostgreSQL, beside a floor.

What is measured is billing's own work: the run's computing and storing (billing's use cases on a real database,
as a service worker runs them), then the finalisation. The month's facts come from a fake source that answers
at once with what canteen's `billable_facts` would give (one to three children a family, reserved meals, meals
eaten without reservation, justified and unjustified absences, a few PAI), so the broker is not measured.

The floor, measured in the same run on a fresh database of the same schema: inserting the same number of invoice
and line rows directly (SQLAlchemy core executemany, one transaction). ratio = floor time / run time (1.0: the run
costs no more than writing its rows).

    python tests/bench/billing.py            # 10,000 families (BENCH_BILLING_FAMILIES to change)
"""
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

# Python puts this script's folder first on the path, where this very file would hide the billing package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from sqlalchemy import insert  # noqa: E402

from billing import domain, orm, use_cases  # noqa: E402
from espace_common.clock import FixedClock  # noqa: E402
from espace_common.db import UnitOfWork, create_database_engine, new_id  # noqa: E402
from espace_common.launch import alembic_ini  # noqa: E402
from espace_common.migrations import upgrade  # noqa: E402
from espace_deploy.testing import PostgresDatabase, postgres_available  # noqa: E402

FAMILIES = int(os.environ.get("BENCH_BILLING_FAMILIES", "10000"))
MONTH, FIRST = "2026-11", date(2026, 11, 1)
SETTINGS = use_cases.BillingSettings()
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=SETTINGS.zone)
GRID = {"from": "2026-09-01", "unreserved_meal_price_cents": 520, "pai_meal_price_cents": 120,
        "brackets": [{"quotient_max": 400, "meal_price_cents": 100}, {"quotient_max": 700, "meal_price_cents": 190},
                     {"quotient_max": 1000, "meal_price_cents": 285}, {"quotient_max": 1400, "meal_price_cents": 360},
                     {"quotient_max": None, "meal_price_cents": 415}]}
# November 2026's canteen days (Monday, Tuesday, Thursday, Friday; 11 November is a Wednesday).
SCHOOL_DAYS = [d for d in (FIRST + timedelta(days=n) for n in range(30)) if d.isoweekday() in (1, 2, 4, 5)]


def month_of_facts(count, seed=2026):
    """What canteen would answer for `count` families: one dict per child."""
    rng = random.Random(seed)
    facts, children = [], []
    for n in range(count):
        family_id = f"fam-{n:05d}"
        for k in range(rng.choice((1, 1, 2, 2, 2, 3))):
            child_id = f"child-{n:05d}-{k}"
            children.append((family_id, child_id))
            pattern = rng.choice(((1, 2, 4, 5), (1, 2, 4, 5), (1, 2, 4), (2, 5)))
            booked = [d for d in SCHOOL_DAYS if d.isoweekday() in pattern]
            absent = set(rng.sample(booked, k=rng.choice((0, 0, 0, 1, 2))))
            justified = {d for d in absent if rng.random() < 0.6}
            extra = [d for d in SCHOOL_DAYS if d not in booked and rng.random() < 0.08]
            iso = lambda days: sorted(d.isoformat() for d in days)  # noqa: E731
            facts.append({"family_id": family_id, "child_id": child_id, "month": MONTH, "pai": rng.random() < 0.03,
                          "reserved": iso(set(booked) - justified), "eaten_without_reservation": iso(extra),
                          "absent_justified": iso(justified), "absent_unjustified": iso(absent - justified)})
    return facts, children


class Billing:
    """Billing's use cases on a fresh database, with a fixed clock, as one service worker has them."""

    def __init__(self, url, facts):
        upgrade(alembic_ini("billing"), url)
        self.engine = create_database_engine(url)
        self.clock = FixedClock(NOW)
        self.billing = use_cases.Billing(self.units, self.clock, SETTINGS, lambda regie, month: facts)

    def units(self, read_only=False):
        return UnitOfWork(self.engine, outbox=orm.outbox, processed=orm.processed_events, clock=self.clock,
                          read_only=read_only)

    def seed(self, children):
        """What billing holds before the run: the grid, nine families in ten with resources, the children's names."""
        rng = random.Random(44)
        self.billing.add_tariff_grid("affaires_scolaires", GRID, "bench")
        with self.units() as uow:
            uow.execute(insert(orm.family_children), [
                {"family_id": f, "child_id": c, "first_name": f"Enfant{c[-7:]}", "last_name": "Banc",
                 "birth_date": date(2018, 1, 1)} for f, c in children])
            uow.execute(insert(orm.family_resources), [
                {"family_id": f, "valid_from": date(2026, 1, 1), "quotient": rng.randrange(150, 2200),
                 "monthly_resources_cents": rng.randrange(60000, 900000), "dependent_children": rng.randrange(1, 5),
                 "disability": False, "agent_id": "bench", "recorded_at": NOW}
                for f in sorted({f for f, _ in children}) if rng.random() < 0.9])
            uow.commit()

    def run_month(self):
        """Start the run and wait until it is computed (it may work in the background)."""
        run = self.billing.run_now("affaires_scolaires", MONTH, "bench")
        while run["status"] == domain.RUNNING:
            time.sleep(0.05)
            run = self.billing.invoicing_run(run["id"])
        return run

    def close(self):
        self.engine.dispose()


def floor(url, invoices, lines):
    """The same number of invoice and line rows inserted directly, in one transaction."""
    upgrade(alembic_ini("billing"), url)
    engine = create_database_engine(url)
    run_id = new_id()
    invoice_rows = [{"id": new_id(), "run_id": run_id, "family_id": f"fam-{n:05d}", "regie": "affaires_scolaires",
                     "period": MONTH, "number": None, "status": "draft", "total_cents": 1000, "paid_cents": 0,
                     "credited_cents": 0, "balance_cents": 1000, "created_at": NOW} for n in range(invoices)]
    per_invoice = -(-lines // max(invoices, 1))
    line_rows = [{"invoice_id": invoice_rows[n // per_invoice]["id"], "position": n % per_invoice + 1,
                  "kind": "meal_reserved", "child_id": "child", "label": "Enfant — 16 repas réservés × 2,85 € (tranche 3)",
                  "quantity": "16", "unit_price_cents": 285, "amount_cents": 4560} for n in range(lines)]
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(orm.invoicing_runs).values(id=run_id, regie="affaires_scolaires", month=MONTH,
                                                             status="draft", done=0, total=0, started_at=NOW))
        connection.execute(insert(orm.invoices), invoice_rows)
        connection.execute(insert(orm.invoice_lines), line_rows)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def count_lines(billing, run_id):
    from sqlalchemy import func, select
    with billing.units(read_only=True) as uow:
        return uow.execute(select(func.count()).select_from(orm.invoice_lines).join(orm.invoices)
                           .where(orm.invoices.c.run_id == run_id)).scalar()


def bench(backend, make_url, facts, children):
    billing = Billing(make_url("billing"), facts)
    try:
        billing.seed(children)
        started = time.perf_counter()
        run = billing.run_month()
        run_seconds = time.perf_counter() - started
        invoices, lines = len(run["invoices"]), count_lines(billing, run["id"])
        started = time.perf_counter()
        final = billing.billing.finalize_run(run["id"], "bench")
        final_seconds = time.perf_counter() - started
        numbers = sorted(int(i["number"].rsplit("-", 1)[1]) for i in final["invoices"])
        assert numbers == list(range(1, invoices + 1)), "numbers with a gap"
    finally:
        billing.close()
    floor_seconds = floor(make_url("floor"), invoices, lines)
    families = len({f["family_id"] for f in facts})
    print(f"{backend:10} run: {families} families -> {invoices} invoices, {lines} lines in {run_seconds:6.2f} s "
          f"({families / run_seconds:7.0f} families/s)")
    print(f"{'':10} floor (same rows, executemany): {floor_seconds:6.2f} s   ratio floor/run = "
          f"{floor_seconds / run_seconds:.2f}")
    print(f"{'':10} finalisation: {invoices} numbers in {final_seconds:6.2f} s ({invoices / final_seconds:7.0f} "
          "invoices/s)", flush=True)


def main():
    facts, children = month_of_facts(FAMILIES)
    print(f"Billing: the canteen month of {FAMILIES} families ({len(children)} children), billing's use cases on a "
          "real database; the floor inserts the same rows directly.", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-billing-") as folder:
        bench("SQLite", lambda name: f"sqlite:///{Path(folder) / (name + '.sqlite')}", facts, children)
    if not postgres_available():
        print("PostgreSQL: no server answers at TEST_POSTGRES_URL; skipped.")
        return 0
    databases = []

    def make_pg(name):
        databases.append(PostgresDatabase())
        return databases[-1].url
    try:
        bench("PostgreSQL", make_pg, facts, children)
    finally:
        for database in databases:
            database.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
