"""Numbers without gaps and runs that create nothing twice, with two billing "processes" (two engines, two
threads) at once, on SQLite and PostgreSQL."""
import threading

import pytest
from sqlalchemy import func, select

from billing import orm, use_cases
from espace_common.clock import FixedClock
from espace_common.db import UnitOfWork, create_database_engine
from espace_common.launch import alembic_ini
from espace_common.migrations import upgrade

from .test_use_cases import AGENT, CANTEEN_GRID, NOW, SETTINGS, FakeFacts

FAMILIES = 25


class Process:
    """What one billing process has: its own engine and use cases."""

    def __init__(self, url, facts):
        self.engine = create_database_engine(url)
        self.clock = FixedClock(NOW)
        self.billing = use_cases.Billing(self.units, self.clock, SETTINGS, facts)

    def units(self, read_only=False):
        return UnitOfWork(self.engine, outbox=orm.outbox, processed=orm.processed_events, clock=self.clock,
                          read_only=read_only)


@pytest.fixture
def processes(database_factory):
    url = database_factory("billing")
    upgrade(alembic_ini("billing"), url)
    facts = FakeFacts()
    for month in ("2026-10", "2026-11"):
        for n in range(FAMILIES):
            facts.meals(f"fam-{n}", f"child-{n}", reserved=(5, 6), month=month)
    pair = [Process(url, facts), Process(url, facts)]
    pair[0].billing.add_tariff_grid("affaires_scolaires", CANTEEN_GRID, AGENT)
    yield pair
    for process in pair:
        process.engine.dispose()


def at_once(*calls):
    barrier, results, errors = threading.Barrier(len(calls)), [None] * len(calls), []

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # reported below with the others
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_two_runs_finalised_at_once_by_two_processes_share_one_sequence_without_gaps(processes):
    first, second = processes
    october = first.billing.run_now("affaires_scolaires", "2026-10", AGENT)
    november = second.billing.run_now("affaires_scolaires", "2026-11", AGENT)
    done = at_once(lambda: first.billing.finalize_run(october["id"], AGENT),
                   lambda: second.billing.finalize_run(november["id"], AGENT))
    numbers = [int(i["number"].rsplit("-", 1)[1]) for run in done for i in run["invoices"]]
    assert sorted(numbers) == list(range(1, 2 * FAMILIES + 1))
    for run in done:  # each run took one block: its numbers follow each other
        ranks = sorted(int(i["number"].rsplit("-", 1)[1]) for i in run["invoices"])
        assert ranks == list(range(ranks[0], ranks[0] + FAMILIES))


def test_the_same_month_started_twice_at_once_bills_each_family_once(processes):
    first, second = processes
    at_once(lambda: first.billing.run_now("affaires_scolaires", "2026-11", AGENT),
            lambda: second.billing.run_now("affaires_scolaires", "2026-11", AGENT))
    with first.units(read_only=True) as uow:
        invoices = uow.execute(select(func.count()).select_from(orm.invoices)).scalar()
        families = uow.execute(select(func.count(orm.invoices.c.family_id.distinct()))).scalar()
    assert invoices == families == FAMILIES


def test_the_same_run_finalised_twice_at_once_numbers_once(processes):
    first, second = processes
    run = first.billing.run_now("affaires_scolaires", "2026-11", AGENT)
    outcomes = []

    def finalize(process):
        try:
            outcomes.append(process.billing.finalize_run(run["id"], AGENT)["status"])
        except Exception as exc:
            outcomes.append(getattr(exc, "code", repr(exc)))
    at_once(lambda: finalize(first), lambda: finalize(second))
    assert outcomes == ["final", "final"]  # the second finaliser is told the run is final
    with first.units(read_only=True) as uow:
        assert uow.execute(select(orm.number_counters.c.last_number)).scalar() == FAMILIES


def test_the_same_debit_file_downloaded_twice_at_once_sends_each_debit_once(processes):
    from billing.debit_use_cases import DebitSettings, DirectDebits

    first, second = processes
    debits = [DirectDebits(p.units, p.clock, DebitSettings.from_config({}), p.billing) for p in processes]
    for n in range(FAMILIES):
        debits[0].sign_mandate(f"fam-{n}", "FR7630006000011234567890189", f"Famille {n}", True)
    run = first.billing.run_now("affaires_scolaires", "2026-11", AGENT)
    first.billing.finalize_run(run["id"], AGENT)
    files = at_once(lambda: debits[0].debit_file("affaires_scolaires", "2026-11", AGENT),
                    lambda: debits[1].debit_file("affaires_scolaires", "2026-11", AGENT))
    assert files[0]["xml"] == files[1]["xml"] and sorted(f["created"] for f in files) == [False, True]
    with first.units(read_only=True) as uow:
        assert uow.execute(select(func.count()).select_from(orm.debit_files)).scalar() == 1
        assert uow.execute(select(func.count()).select_from(orm.payments)).scalar() == FAMILIES
def test_two_starts_of_the_same_month_at_once_give_one_running_run(processes):
    first, second = processes
    runs = at_once(lambda: first.billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT),
                   lambda: second.billing.start_invoicing_run("affaires_scolaires", "2026-11", "agent-2"))
    assert runs[0]["id"] == runs[1]["id"] and {r["status"] for r in runs} == {"running"}
    with first.units(read_only=True) as uow:
        assert uow.execute(select(func.count()).select_from(orm.invoicing_runs)).scalar() == 1
        assert uow.execute(select(func.count()).select_from(orm.outbox)).scalar() == 1  # one event to compute it
    at_once(lambda: first.billing.compute_invoicing_run(runs[0]["id"]),
            lambda: second.billing.compute_invoicing_run(runs[0]["id"]))  # delivered twice, to both processes
    run = first.billing.invoicing_run(runs[0]["id"])
    assert run["status"] == "draft" and len(run["invoices"]) == FAMILIES and run["error"] is None
