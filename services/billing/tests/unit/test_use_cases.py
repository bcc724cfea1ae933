"""Billing's use cases on a real SQLite unit of work in a temporary file, with a fixed clock and a fake source of
billable facts (the month canteen and childcare would answer): no broker."""
from datetime import date, datetime

import pytest
from sqlalchemy import insert, select, update

from billing import orm, store, use_cases
from espace_common.clock import FixedClock
from espace_common.errors import Conflict, InvalidInput, NotFound
from espace_deploy.testing import SqliteUnits, migrated_sqlite

SETTINGS = use_cases.BillingSettings(due_days=30)
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=SETTINGS.zone)  # Wednesday 2 December 2026: November is over
AGENT = "agent-1"
MARTIN, DUPONT, DURAND = "fam-martin", "fam-dupont", "fam-durand"
CANTEEN_GRID = {"from": "2026-09-01", "unreserved_meal_price_cents": 410, "pai_meal_price_cents": 120,
                "brackets": [{"quotient_max": 400, "meal_price_cents": 100}, {"quotient_max": 700, "meal_price_cents": 190},
                             {"quotient_max": 1000, "meal_price_cents": 285}, {"quotient_max": 1400, "meal_price_cents": 360},
                             {"quotient_max": None, "meal_price_cents": 415}]}
PSU_GRID = {"from": "2025-09-01", "floor_cents": 80100, "ceiling_cents": 850000,
            "effort_rates": [{"children_from": 1, "percent": "0.0619"}, {"children_from": 2, "percent": "0.0516"},
                             {"children_from": 3, "percent": "0.0413"}, {"children_from": 4, "percent": "0.0310"},
                             {"children_from": 8, "percent": "0.0206"}]}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """One migrated database file, copied for each test (migrating costs a second)."""
    return migrated_sqlite("billing", tmp_path_factory.mktemp("billing-template"))




class FakeFacts:
    """The month's billable facts per régie, as canteen's and childcare's billable_facts give them per child."""

    def __init__(self):
        self.facts = {"affaires_scolaires": [], "petite_enfance": []}
        self.asked = []

    def __call__(self, regie, month):
        self.asked.append((regie, month))
        return [fact for fact in self.facts[regie] if fact["month"] == month]

    def meals(self, family_id, child_id, reserved=(), unreserved=(), justified=(), month="2026-11"):
        days = lambda numbers: [f"{month}-{n:02d}" for n in numbers]  # noqa: E731
        self.facts["affaires_scolaires"].append(
            {"family_id": family_id, "child_id": child_id, "month": month, "reserved": days(reserved),
             "eaten_without_reservation": days(unreserved), "absent_justified": days(justified),
             "absent_unjustified": []})

    def crèche(self, family_id, child_id, first_name, occasional_minutes=0, month="2026-11"):
        self.facts["petite_enfance"].append(
            {"family_id": family_id, "child_id": child_id, "first_name": first_name, "kind": "occasional",
             "month": month, "occasional_booked_minutes": occasional_minutes, "occasional_attended_minutes": 0,
             "walk_in_minutes": 0, "late_cancellations": [], "late_cancellation_billed_minutes": 0,
             "contract": None, "contract_minutes": 0, "deductions": [], "deducted_minutes": 0})


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def units(migrated, tmp_path, clock):
    units = SqliteUnits(migrated, tmp_path / "billing.sqlite", orm.metadata, clock)
    yield units
    units.dispose()


@pytest.fixture
def facts():
    return FakeFacts()


@pytest.fixture
def billing(units, clock, facts):
    billing = use_cases.Billing(units, clock, SETTINGS, facts)
    billing.add_tariff_grid("affaires_scolaires", CANTEEN_GRID, AGENT)
    billing.add_tariff_grid("petite_enfance", PSU_GRID, AGENT)
    with units() as uow:
        uow.execute(insert(orm.family_children), [
            {"family_id": MARTIN, "child_id": "lea", "first_name": "Léa", "last_name": "Martin",
             "birth_date": date(2018, 3, 1)},
            {"family_id": DUPONT, "child_id": "tom", "first_name": "Tom", "last_name": "Dupont",
             "birth_date": date(2017, 5, 1)}])
        uow.commit()
    return billing


def resources(quotient, monthly_cents=238400, children=2, valid_from="2026-01-01"):
    return {"from": valid_from, "quotient": quotient, "monthly_resources_cents": monthly_cents,
            "dependent_children": children, "disability": False}


def november_canteen(billing, facts):
    billing.set_family_resources(MARTIN, resources(850), AGENT)
    facts.meals(MARTIN, "lea", reserved=range(2, 14), unreserved=(16, 17), justified=(19, 20))  # 12 reserved
    facts.meals(DUPONT, "tom", reserved=(2, 3, 5))  # no resources: highest bracket
    facts.meals(DURAND, "zoe", justified=(2, 3))  # nothing to bill


def test_a_run_computes_drafts_with_their_lines(billing, facts):
    november_canteen(billing, facts)
    run = billing.run_now("affaires_scolaires", "2026-11", AGENT)
    # done/total count the families with facts, Durand included: examined, nothing to bill
    assert (run["status"], run["done"], run["total"], run["error"]) == ("draft", 3, 3, None)
    by_family = {i["family_id"]: i for i in run["invoices"]}
    assert set(by_family) == {MARTIN, DUPONT}  # Durand has nothing to bill: no invoice
    martin = billing.invoice(by_family[MARTIN]["id"])
    assert [(line["label"], line["amount_cents"]) for line in martin["lines"]] == [
        ("Léa — 12 repas réservés × 2,85\u00a0€ (tranche 3)", 3420),
        ("Léa — 2 repas non réservés × 4,10\u00a0€", 820),
        ("Léa — absence justifiée du 19 au 20 : non facturée", 0)]
    assert martin["total_cents"] == 4240 and martin["status"] == "draft" and martin["number"] is None
    dupont = billing.invoice(by_family[DUPONT]["id"])
    assert dupont["total_cents"] == 3 * 415 and "tranche la plus haute" in dupont["lines"][-1]["label"]


def test_a_draft_is_the_agents_not_the_familys(billing, facts):
    november_canteen(billing, facts)
    run = billing.run_now("affaires_scolaires", "2026-11", AGENT)
    invoice_id = next(i["id"] for i in run["invoices"] if i["family_id"] == MARTIN)
    assert billing.family_invoices(MARTIN) == {"invoices": []}
    with pytest.raises(NotFound):
        billing.invoice(invoice_id, family_id=MARTIN)
    billing.finalize_run(run["id"], AGENT)
    assert [i["id"] for i in billing.family_invoices(MARTIN)["invoices"]] == [invoice_id]
    overview = billing.family_overview(MARTIN, [])
    assert [i["id"] for i in overview["invoices"]] == [invoice_id] and overview["invoices"][0]["payments"] == []
    assert overview["mails"] == [] and billing.family_overview("fam-unknown", ["nobody@example.org"]) == {
        "invoices": [], "mails": []}
    with pytest.raises(NotFound):
        billing.invoice(invoice_id, family_id=DUPONT)


def test_running_the_month_again_creates_nothing_twice_and_adds_the_families_since(billing, facts):
    november_canteen(billing, facts)
    first = billing.run_now("affaires_scolaires", "2026-11", AGENT)
    again = billing.run_now("affaires_scolaires", "2026-11", AGENT)
    assert again["id"] == first["id"] and again["status"] == "draft" and again["invoices"] == first["invoices"]
    billing.finalize_run(first["id"], AGENT)
    nothing_new = billing.run_now("affaires_scolaires", "2026-11", AGENT)  # a new run, which finds no one to bill
    assert nothing_new["id"] != first["id"] and nothing_new["invoices"] == [] and nothing_new["status"] == "draft"
    facts.meals("fam-new", "ines", reserved=(26, 27))
    late = billing.run_now("affaires_scolaires", "2026-11", AGENT)  # the open run of the month takes it
    assert late["id"] == nothing_new["id"] and [i["family_id"] for i in late["invoices"]] == ["fam-new"]
    assert (late["done"], late["total"]) == (4, 4)
    assert billing.run_now("affaires_scolaires", "2026-11", AGENT)["invoices"] == late["invoices"]
    assert len(billing.invoice(first["invoices"][0]["id"])["lines"]) > 0


def test_finalising_numbers_without_gaps_per_regie_and_year(billing, facts):
    november_canteen(billing, facts)
    facts.crèche(MARTIN, "lea", "Léa", occasional_minutes=14 * 60)
    canteen = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    crèche = billing.finalize_run(billing.run_now("petite_enfance", "2026-11", AGENT)["id"], AGENT)
    assert sorted(i["number"] for i in canteen["invoices"]) == ["AS-2026-000001", "AS-2026-000002"]
    assert [i["number"] for i in crèche["invoices"]] == ["PE-2026-000001"]
    issued = canteen["invoices"][0]
    assert (issued["status"], issued["issued_on"], issued["due_date"]) == ("issued", "2026-12-02", "2027-01-01")
    facts.meals("fam-new", "ines", reserved=(26,))
    late = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    assert [i["number"] for i in late["invoices"]] == ["AS-2026-000003"]


def test_the_year_of_issue_starts_its_own_sequence(billing, facts, clock):
    facts.meals(MARTIN, "lea", reserved=(2,))
    billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    clock.advance(days=40)  # 11 January 2027
    facts.meals(MARTIN, "lea", reserved=(1,), month="2026-12")
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-12", AGENT)["id"], AGENT)
    assert [i["number"] for i in run["invoices"]] == ["AS-2027-000001"]


def test_a_final_invoice_never_changes(billing, facts, units):
    november_canteen(billing, facts)
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    before = {i["id"]: billing.invoice(i["id"]) for i in run["invoices"]}
    again = billing.finalize_run(run["id"], AGENT)  # finalising twice is once
    assert sorted(i["number"] for i in again["invoices"]) == sorted(i["number"] for i in run["invoices"])
    billing.set_family_resources(DUPONT, resources(300), AGENT)  # resources entered late change no final invoice
    billing.run_now("affaires_scolaires", "2026-11", AGENT)
    assert {i: billing.invoice(i) for i in before} == before
    with pytest.raises(Conflict):  # a grid can no longer change the invoiced months
        billing.add_tariff_grid("affaires_scolaires", {**CANTEEN_GRID, "unreserved_meal_price_cents": 500}, AGENT)
    with units() as uow:  # the counter moved once per invoice
        assert uow.execute(select(orm.number_counters.c.last_number)).scalar() == 2


def test_finalising_with_a_counter_moved_by_another_process_takes_the_next_numbers(billing, facts, units):
    with units() as uow:  # another billing process finalised 41 invoices this year already
        uow.execute(insert(orm.number_counters).values(series="AS", year=2026, last_number=41))
        uow.commit()
    november_canteen(billing, facts)
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    assert sorted(i["number"] for i in run["invoices"]) == ["AS-2026-000042", "AS-2026-000043"]


def test_a_run_that_lost_its_draft_state_is_not_finalised_twice(billing, facts, units):
    november_canteen(billing, facts)
    run = billing.run_now("affaires_scolaires", "2026-11", AGENT)
    with units() as uow:
        uow.execute(update(orm.invoicing_runs).values(status="running"))
        uow.commit()
    with pytest.raises(Conflict):
        billing.finalize_run(run["id"], AGENT)
    with pytest.raises(NotFound):
        billing.finalize_run("no-such-run", AGENT)


def issued_invoice(billing, facts):
    billing.set_family_resources(MARTIN, resources(850), AGENT)
    facts.meals(MARTIN, "lea", reserved=range(2, 12))  # 10 × 2,85 € = 28,50 €
    run = billing.finalize_run(billing.run_now("affaires_scolaires", "2026-11", AGENT)["id"], AGENT)
    return run["invoices"][0]["id"]


def test_partial_payments_leave_a_balance_and_an_overpayment_is_refused(billing, facts):
    invoice_id = issued_invoice(billing, facts)
    first = billing.record_payment(invoice_id, "cash", 1000, AGENT)
    assert first["created"] and first["invoice"]["status"] == "partially_paid" and first["invoice"]["balance_cents"] == 1850
    with pytest.raises(Conflict) as refused:
        billing.record_payment(invoice_id, "cheque", 1851, AGENT)
    assert refused.value.code == "overpayment"
    last = billing.record_payment(invoice_id, "cheque", 1850, AGENT)
    assert last["invoice"]["status"] == "paid" and last["invoice"]["balance_cents"] == 0
    assert [p["amount_cents"] for p in billing.invoice(invoice_id)["payments"]] == [1000, 1850]
    with pytest.raises(Conflict):
        billing.record_payment(invoice_id, "cash", 1, AGENT)
    with pytest.raises(InvalidInput):
        billing.record_payment(invoice_id, "bitcoin", 1, AGENT)


def test_a_payment_delivered_three_times_is_one_payment(billing, facts):
    invoice_id = issued_invoice(billing, facts)
    answers = [billing.record_payment(invoice_id, "card", 2850, None, external_id="paybox-123") for _ in range(3)]
    assert [a["created"] for a in answers] == [True, False, False]
    assert len({a["id"] for a in answers}) == 1
    invoice = billing.invoice(invoice_id)
    assert invoice["status"] == "paid" and len(invoice["payments"]) == 1



def test_a_payment_delivered_twice_at_once_is_one_payment_not_a_refusal(billing, facts, monkeypatch):
    """Two billing replicas take the same card payment at once: the second looked for its transaction id before
    the first committed, and reads the invoice after, paid. It answers the first one's payment, not «already paid»
    (which would make an anomaly of a duplicate)."""
    invoice_id = issued_invoice(billing, facts)
    first = billing.record_payment(invoice_id, "card", 2850, None, external_id="paybox-raced")
    real, looked = store.payment_by_external_id, []

    def not_committed_yet(uow, external_id):  # the second delivery's first look ran before the first's commit
        looked.append(external_id)
        return None if len(looked) == 1 else real(uow, external_id)
    monkeypatch.setattr(store, "payment_by_external_id", not_committed_yet)
    second = billing.record_payment(invoice_id, "card", 2850, None, external_id="paybox-raced")
    assert (second["id"], second["created"]) == (first["id"], False) and len(looked) == 2
    assert len(billing.invoice(invoice_id)["payments"]) == 1

def test_a_draft_is_not_payable(billing, facts):
    november_canteen(billing, facts)
    run = billing.run_now("affaires_scolaires", "2026-11", AGENT)
    with pytest.raises(Conflict):
        billing.record_payment(run["invoices"][0]["id"], "cash", 100, AGENT)
    with pytest.raises(NotFound):
        billing.record_payment("no-such-invoice", "cash", 100, AGENT)


def test_a_credit_note_lowers_the_balance_and_one_for_the_rest_cancels(billing, facts):
    invoice_id = issued_invoice(billing, facts)
    partial = billing.credit_note(invoice_id, 285, "Repas du 5 compté à tort", AGENT)
    assert partial["number"] == "AS-AV-2026-000001"
    assert partial["invoice"]["balance_cents"] == 2565 and partial["invoice"]["status"] == "partially_paid"
    with pytest.raises(Conflict):
        billing.credit_note(invoice_id, 2566, "trop", AGENT)
    rest = billing.credit_note(invoice_id, 2565, "Facture annulée", AGENT)
    assert rest["number"] == "AS-AV-2026-000002" and rest["invoice"]["status"] == "cancelled"
    invoice = billing.invoice(invoice_id)
    assert invoice["total_cents"] == 2850 and [c["amount_cents"] for c in invoice["credit_notes"]] == [285, 2565]
    assert [line["amount_cents"] for line in invoice["lines"]] == [2850]  # the final invoice itself never changed


def test_a_credit_note_after_a_partial_payment_settles_the_invoice(billing, facts):
    invoice_id = issued_invoice(billing, facts)
    billing.record_payment(invoice_id, "cesu", 2000, AGENT)
    assert billing.credit_note(invoice_id, 850, "Geste commercial", AGENT)["invoice"]["status"] == "paid"


def test_tariffs_are_dated_and_idempotent(billing):
    again = billing.add_tariff_grid("affaires_scolaires", CANTEEN_GRID, AGENT)
    assert again["created"] is False
    billing.add_tariff_grid("affaires_scolaires", {**CANTEEN_GRID, "from": "2027-01-01",
                                                   "unreserved_meal_price_cents": 450}, AGENT)
    tariffs = billing.current_tariffs()
    assert tariffs["affaires_scolaires"]["current"]["unreserved_meal_price_cents"] == 410
    assert tariffs["affaires_scolaires"]["next"]["from"] == "2027-01-01"
    assert tariffs["petite_enfance"]["current"]["ceiling_cents"] == 850000
    with pytest.raises(InvalidInput):
        billing.add_tariff_grid("piscine", CANTEEN_GRID, AGENT)


def test_resources_are_kept_with_their_agent(billing):
    billing.set_family_resources(MARTIN, resources(850), AGENT)
    answer = billing.set_family_resources(MARTIN, resources(600, valid_from="2026-12-01"), "agent-2")
    assert answer["current"]["quotient"] == 600
    assert [(h["quotient"], h["agent_id"]) for h in answer["history"]] == [(850, AGENT), (600, "agent-2")]
    with pytest.raises(InvalidInput):
        billing.set_family_resources(MARTIN, {**resources(850), "dependent_children": 0}, AGENT)


def test_a_month_without_a_grid_is_refused_and_writes_nothing(billing, facts):
    facts.meals(MARTIN, "lea", reserved=(2,), month="2025-11")
    with pytest.raises(Conflict) as refused:
        billing.run_now("affaires_scolaires", "2025-11", AGENT)
    assert refused.value.code == "no_tariff"
    with pytest.raises(Conflict):
        billing.run_now("affaires_scolaires", "2027-01", AGENT)
    with pytest.raises(InvalidInput):
        billing.run_now("affaires_scolaires", "novembre", AGENT)


def test_the_crèche_month_uses_childcare_facts_and_the_family_resources(billing, facts):
    billing.set_family_resources(MARTIN, resources(850, monthly_cents=238400, children=2), AGENT)
    facts.crèche(MARTIN, "lea", "Léa", occasional_minutes=14 * 60)
    run = billing.run_now("petite_enfance", "2026-11", AGENT)
    invoice = billing.invoice(run["invoices"][0]["id"])
    assert [(line["label"], line["quantity"], line["unit_price_cents"], line["amount_cents"])
            for line in invoice["lines"]] == [
        ("Léa — accueil occasionnel 14\u00a0h × 1,23\u00a0€/h (0,0516\u00a0% × 2\u202f384,00\u00a0€)", "14", 123, 1722)]
    assert facts.asked[-1] == ("petite_enfance", "2026-11")


def test_settings_read_from_config():
    assert use_cases.BillingSettings.from_config({"BILLING_DUE_DAYS": "15"}).due_days == 15
    with pytest.raises(ValueError):
        use_cases.BillingSettings.from_config({"BILLING_DUE_DAYS": "0"})


def test_the_simulator_uses_todays_grid(billing):
    estimate = billing.price_estimate("affaires_scolaires", {"quotient": 850, "meals": 10})
    assert estimate["total_cents"] == 2850 and estimate["grid_from"] == "2026-09-01"
    assert estimate["lines"][0]["label"] == "10 repas réservés × 2,85\u00a0€ (tranche 3)"


def test_agents_list_the_runs_and_the_grids(billing, facts):
    november_canteen(billing, facts)
    run = billing.run_now("affaires_scolaires", "2026-11", AGENT)
    assert [r["id"] for r in billing.invoicing_runs("affaires_scolaires")["runs"]] == [run["id"]]
    assert billing.invoicing_runs("petite_enfance") == {"runs": []}
    assert [g["from"] for g in billing.tariff_grids("petite_enfance")["grids"]] == ["2025-09-01"]
