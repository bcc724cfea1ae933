"""The invoicing run in the background: started at once, computed by billing's own event handler in batches
with its progress, resumed after a crash, retried after a failure, done once whatever the deliveries; and the
agents' invoice search and the accounting export. Use cases on SQLite with a fixed clock and fake facts."""
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from billing import orm, use_cases
from espace_common.errors import Conflict, InvalidInput

from .test_use_cases import (  # noqa: F401  (the fixtures are the use-case tests')
    AGENT, DUPONT, MARTIN, billing, clock, facts, migrated, november_canteen, resources, units,
)


def outbox(units):
    with units(read_only=True) as uow:
        return [row.payload for row in uow.execute(select(orm.outbox).order_by(orm.outbox.c.position))]


def invoice_count(units):
    with units(read_only=True) as uow:
        return uow.execute(select(func.count()).select_from(orm.invoices)).scalar()


def many_families(facts, count):
    for n in range(count):
        facts.meals(f"fam-{n:02d}", f"child-{n:02d}", reserved=(2, 3))


def test_starting_answers_at_once_and_the_event_computes_it(billing, facts, units):
    november_canteen(billing, facts)
    started = billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT)
    assert (started["status"], started["done"], started["total"], started["invoices"]) == ("running", 0, 0, [])
    assert facts.asked == []  # nothing pulled yet: the handler does it
    events = outbox(units)
    assert [(e["source"], e["type"], e["data"]) for e in events] == [
        ("billing", "invoicing_run_started", {"run_id": started["id"], "regie": "affaires_scolaires",
                                              "month": "2026-11"})]
    assert billing.compute_invoicing_run(started["id"]) == "draft"
    run = billing.invoicing_run(started["id"])
    assert (run["status"], run["done"], run["total"], len(run["invoices"])) == ("draft", 3, 3, 2)
    reviewed = billing.invoicing_run(started["id"], with_lines=True)
    assert {i["id"]: i["lines"] for i in reviewed["invoices"]} == {
        i["id"]: billing.invoice(i["id"])["lines"] for i in run["invoices"]}


def test_a_second_start_while_it_runs_gives_the_running_run_and_no_second_event(billing, facts, units):
    november_canteen(billing, facts)
    first = billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT)
    second = billing.start_invoicing_run("affaires_scolaires", "2026-11", "agent-2")
    assert second["id"] == first["id"] and second["status"] == "running"
    assert len(outbox(units)) == 1


def test_a_duplicate_delivery_does_nothing_twice(billing, facts, units):
    november_canteen(billing, facts)
    run_id = billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT)["id"]
    billing.compute_invoicing_run(run_id)
    asked = len(facts.asked)
    assert billing.compute_invoicing_run(run_id) == "draft"  # the same event delivered again
    assert len(facts.asked) == asked and invoice_count(units) == 2
    assert billing.compute_invoicing_run("no-such-run") is None


def test_families_are_computed_in_batches_each_committed_with_the_progress(billing, facts, units, monkeypatch):
    billing.settings = replace(billing.settings, run_batch=4)
    many_families(facts, 10)
    seen = []
    real_batch = use_cases.Billing._compute_batch

    def watched(self, run, first, facts_by_family, done, total):
        result = real_batch(self, run, first, facts_by_family, done, total)
        progress = self.invoicing_run(run.id)
        seen.append((progress["status"], progress["done"], progress["total"], len(progress["invoices"])))
        return result
    monkeypatch.setattr(use_cases.Billing, "_compute_batch", watched)
    billing.run_now("affaires_scolaires", "2026-11", AGENT)
    assert seen == [("running", 4, 10, 4), ("running", 8, 10, 8), ("running", 10, 10, 10)]


class Crash(BaseException):
    """The process dying in the middle of a run (not an error the run could record)."""


def test_a_crash_in_the_middle_is_resumed_by_the_redelivery_with_the_families_left(billing, facts, units,
                                                                                     monkeypatch):
    billing.settings = replace(billing.settings, run_batch=3)
    many_families(facts, 8)
    run_id = billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT)["id"]
    real_batch, batches = use_cases.Billing._compute_batch, []

    def crashing(self, run, first, facts_by_family, done, total):
        if len(batches) == 1:
            raise Crash()
        batches.append(sorted(facts_by_family))
        return real_batch(self, run, first, facts_by_family, done, total)
    monkeypatch.setattr(use_cases.Billing, "_compute_batch", crashing)
    with pytest.raises(Crash):
        billing.compute_invoicing_run(run_id)
    halfway = billing.invoicing_run(run_id)
    assert (halfway["status"], halfway["done"], halfway["total"], len(halfway["invoices"])) == ("running", 3, 8, 3)
    monkeypatch.setattr(use_cases.Billing, "_compute_batch", real_batch)
    assert billing.compute_invoicing_run(run_id) == "draft"  # the broker delivers the unacknowledged event again
    run = billing.invoicing_run(run_id)
    assert (run["done"], run["total"]) == (8, 8)
    assert sorted(i["family_id"] for i in run["invoices"]) == [f"fam-{n:02d}" for n in range(8)]
    assert invoice_count(units) == 8


def test_a_silent_run_is_resumed_once_by_the_timer(billing, facts, units, clock):
    november_canteen(billing, facts)
    run_id = billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT)["id"]
    assert billing.resume_invoicing_runs() == []  # just started: its event is on its way
    clock.advance(minutes=6)  # its worker died before the first batch and the event was lost
    assert billing.resume_invoicing_runs() == [run_id]
    assert billing.resume_invoicing_runs() == []  # once, whatever the number of billing processes
    assert [e["data"]["run_id"] for e in outbox(units)] == [run_id, run_id]


def test_facts_that_cannot_be_pulled_leave_the_run_running_with_its_error_and_it_is_retried(billing, facts, clock):
    november_canteen(billing, facts)
    down = {"canteen": True}
    real_source = billing.facts_source

    def source(regie, month):
        if down["canteen"]:
            raise use_cases.FactsUnavailable("Le service de la restauration scolaire ne répond pas.")
        return real_source(regie, month)
    billing.facts_source = source
    run_id = billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT)["id"]
    assert billing.compute_invoicing_run(run_id) == "running"
    failed = billing.invoicing_run(run_id)
    assert failed["error"] == "Le service de la restauration scolaire ne répond pas."
    assert failed["attempts"] == 1 and failed["retry_at"] == "2026-12-02T08:00:30+00:00"
    assert [r["error"] for r in billing.invoicing_runs()["runs"]] == [failed["error"]]
    assert billing.resume_invoicing_runs() == []  # not due yet
    clock.advance(seconds=31)
    assert billing.resume_invoicing_runs() == [run_id]
    billing.compute_invoicing_run(run_id)
    again = billing.invoicing_run(run_id)
    assert (again["attempts"], again["retry_at"]) == (2, "2026-12-02T08:01:31+00:00")  # 60 s after the second
    down["canteen"] = False
    clock.advance(seconds=61)
    assert billing.resume_invoicing_runs() == [run_id]
    assert billing.compute_invoicing_run(run_id) == "draft"
    done = billing.invoicing_run(run_id)
    assert (done["error"], done["attempts"], done["retry_at"], len(done["invoices"])) == (None, 0, None, 2)


def test_starting_a_failed_run_again_tries_it_now(billing, facts, units):
    november_canteen(billing, facts)
    billing.facts_source = lambda regie, month: (_ for _ in ()).throw(RuntimeError("boom"))
    run_id = billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT)["id"]
    billing.compute_invoicing_run(run_id)
    assert "Erreur inattendue (RuntimeError)" in billing.invoicing_run(run_id)["error"]
    retried = billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT)
    assert retried["id"] == run_id and retried["retry_at"] is None and len(outbox(units)) == 2


def test_a_grid_missing_for_a_day_is_the_runs_error_not_a_hang(billing, facts):
    facts.meals(MARTIN, "lea", reserved=(2,), month="2025-09")
    billing.add_tariff_grid("affaires_scolaires", {
        "from": "2025-09-10", "unreserved_meal_price_cents": 410, "pai_meal_price_cents": 120,
        "brackets": [{"quotient_max": None, "meal_price_cents": 400}]}, AGENT)
    with pytest.raises(Conflict):  # no grid on the 1st: refused at once
        billing.start_invoicing_run("affaires_scolaires", "2025-09", AGENT)


def test_a_draft_run_started_again_computes_the_families_added_since(billing, facts):
    november_canteen(billing, facts)
    first = billing.run_now("affaires_scolaires", "2026-11", AGENT)
    facts.meals("fam-new", "ines", reserved=(26,))
    restarted = billing.start_invoicing_run("affaires_scolaires", "2026-11", AGENT)
    assert restarted["id"] == first["id"] and restarted["status"] == "running"
    billing.compute_invoicing_run(first["id"])
    assert len(billing.invoicing_run(first["id"])["invoices"]) == 3


# --- The agents' search -----------------------------------------------------------------------------------------

def test_agents_search_invoices_by_number_family_regie_month_and_state(billing, facts):
    november_canteen(billing, facts)
    facts.crèche(MARTIN, "lea", "Léa", occasional_minutes=60)
    canteen = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    billing.run_now("petite_enfance", "2026-11", AGENT)  # a draft
    assert billing.search_invoices()["count"] == 3
    martin = billing.search_invoices(family_id=MARTIN)
    assert {i["regie"] for i in martin["invoices"]} == {"affaires_scolaires", "petite_enfance"}
    number = next(i["number"] for i in canteen["invoices"] if i["family_id"] == DUPONT)
    assert [i["family_id"] for i in billing.search_invoices(number=number)["invoices"]] == [DUPONT]
    assert billing.search_invoices(number=number[-3:])["count"] >= 1  # part of it
    assert billing.search_invoices(number="%")["count"] == 0  # a wildcard is a character like another
    assert billing.search_invoices(regie="petite_enfance", status="draft")["count"] == 1
    assert billing.search_invoices(period="2026-10")["count"] == 0
    page = billing.search_invoices(limit=1, offset=1)
    assert (page["count"], len(page["invoices"]), page["offset"]) == (3, 1, 1)
    for bad in ({"regie": "piscine"}, {"period": "novembre"}, {"status": "lost"}, {"number": "x" * 31},
                {"limit": "many"}):
        with pytest.raises(InvalidInput):
            billing.search_invoices(**bad)


# --- The accounting export ----------------------------------------------------------------------------------------

def test_the_accounting_export_lists_invoices_credit_notes_and_payments_of_the_period(billing, facts, clock):
    billing.set_family_resources(MARTIN, resources(850), AGENT)
    facts.meals(MARTIN, "lea", reserved=range(2, 12))  # 10 × 2,85 €
    facts.meals(DUPONT, "tom", reserved=(2,))
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)  # 2 December
    martin = next(i for i in run["invoices"] if i["family_id"] == MARTIN)
    billing.record_payment(martin["id"], "cheque", 1000, AGENT)
    clock.advance(days=1, hours=14)  # 3 December, 23:00 in Paris: 22:00 UTC, still the 3rd
    billing.credit_note(martin["id"], 285, "=HYPERLINK(\"x\")", AGENT)
    billing.record_payment(martin["id"], "card", 500, None, external_id="paybox-1")
    export = billing.accounting_export("2026-12-01", "2026-12-03")
    assert export["columns"][:3] == ["kind", "date", "number"]
    assert [(r["kind"], r["date"], r["amount_cents"]) for r in export["rows"]] == [
        ("invoice", "2026-12-02", 415), ("invoice", "2026-12-02", 2850), ("payment", "2026-12-02", 1000),
        ("credit_note", "2026-12-03", 285), ("payment", "2026-12-03", 500)]
    card = export["rows"][-1]
    assert (card["method"], card["number"], card["invoice_number"]) == ("card", "paybox-1", martin["number"])
    assert export["totals_cents"] == {"invoice": 3265, "credit_note": 285, "payment": 1500}
    assert [r["kind"] for r in billing.accounting_export("2026-12-03", "2026-12-03")["rows"]] == [
        "credit_note", "payment"]
    for bad in (("2026-12-03", "2026-12-01"), ("2026-01-01", "2027-12-31"), ("hier", "2026-12-01")):
        with pytest.raises(InvalidInput):
            billing.accounting_export(*bad)
