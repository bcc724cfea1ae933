"""Billing's rules with amounts computed by hand in each test."""
from datetime import date
from decimal import Decimal

import pytest

from billing import domain
from espace_common.errors import Conflict, InvalidInput

CANTEEN_GRID = {"from": "2026-09-01", "unreserved_meal_price_cents": 410, "pai_meal_price_cents": 120,
                "brackets": [{"quotient_max": 400, "meal_price_cents": 100}, {"quotient_max": 700, "meal_price_cents": 190},
                             {"quotient_max": 1000, "meal_price_cents": 285}, {"quotient_max": 1400, "meal_price_cents": 360},
                             {"quotient_max": None, "meal_price_cents": 415}]}
PSU_GRID = {"from": "2025-09-01", "floor_cents": 80100, "ceiling_cents": 850000,
            "effort_rates": [{"children_from": 1, "percent": "0.0619"}, {"children_from": 2, "percent": "0.0516"},
                             {"children_from": 3, "percent": "0.0413"}, {"children_from": 4, "percent": "0.0310"},
                             {"children_from": 8, "percent": "0.0206"}]}
LEA = "child-lea"


def canteen_grid(**changes):
    return domain.parse_grid("affaires_scolaires", {**CANTEEN_GRID, **changes})


def psu_grid(**changes):
    return domain.parse_grid("petite_enfance", {**PSU_GRID, **changes})


def resources(quotient=850, monthly=238400, children=2, disability=False, valid_from="2026-01-01"):
    return domain.Resources(date.fromisoformat(valid_from), quotient, monthly, children, disability)


def november(*days):
    return [f"2026-11-{d:02d}" for d in days]


def canteen_fact(reserved=(), unreserved=(), justified=(), unjustified=()):
    return {"family_id": "fam", "child_id": LEA, "month": "2026-11", "reserved": november(*reserved),
            "eaten_without_reservation": november(*unreserved), "absent_justified": november(*justified),
            "absent_unjustified": november(*unjustified)}


def test_rounding_is_once_per_line_half_up():
    assert domain.line_amount(17, 415) == 7055  # 17 × 4,15 € = 70,55 €, never 70,49 €
    assert domain.line_amount(Decimal("0.5"), 123) == 62  # 61,5 c -> 62 c
    assert domain.line_amount(Decimal("0.5"), 121) == 61  # 60,5 c -> 61 c (half up)
    assert domain.round_cents(Decimal("-61.5")) == -62


def test_a_month_of_meals_explains_itself_and_sums_its_lines():
    bill = domain.canteen_bill("fam", [canteen_fact(reserved=(2, 3, 5, 6, 9, 10, 12, 13, 16, 17, 19, 20),
                                                    unreserved=(23, 24), justified=(26, 27), unjustified=(10,))],
                               [canteen_grid()], [resources(quotient=850)], {LEA: "Léa"})
    labels = [line.label for line in bill.lines]
    assert labels[0] == "Léa — 12 repas réservés × 2,85\u00a0€ (tranche 3)"
    assert labels[1] == "Léa — 2 repas non réservés × 4,10\u00a0€"
    assert "Léa — absence justifiée du 26 au 27 : non facturée" in labels
    assert "Léa — absence non justifiée le 10 : repas réservé facturé" in labels
    assert [line.amount_cents for line in bill.lines[:2]] == [3420, 820]  # 12 × 2,85 = 34,20 ; 2 × 4,10 = 8,20
    assert bill.total_cents == 4240 and bill.billable


def test_a_family_without_resources_pays_the_highest_bracket_and_is_told():
    bill = domain.canteen_bill("fam", [canteen_fact(reserved=(2, 3))], [canteen_grid()], [], {LEA: "Léa"})
    assert bill.lines[0].label == "Léa — 2 repas réservés × 4,15\u00a0€ (tranche 5)"
    assert bill.total_cents == 830 and bill.lines[-1].label == domain.NO_RESOURCES_CANTEEN


def test_a_child_with_a_pai_pays_the_basket_price():
    fact = {**canteen_fact(reserved=(2, 3, 5)), "pai": True}
    bill = domain.canteen_bill("fam", [fact], [canteen_grid()], [resources()], {LEA: "Léa"})
    assert bill.lines[0].label == "Léa — 3 repas panier (PAI) × 1,20\u00a0€" and bill.total_cents == 360


def test_every_meal_of_a_child_with_a_pai_is_a_basket_meal_whatever_the_quotient():
    fact = {**canteen_fact(reserved=(2, 3, 5, 6), unreserved=(9,), justified=(12,)), "pai": True}
    bill = domain.canteen_bill("fam", [fact], [canteen_grid()], [], {LEA: "Léa"})  # no resources: same price
    assert [(line.kind, line.label, line.amount_cents) for line in bill.lines] == [
        ("meal_pai", "Léa — 4 repas panier (PAI) × 1,20\u00a0€", 480),  # 4 × 1,20
        ("meal_pai", "Léa — 1 repas panier (PAI) non réservé × 1,20\u00a0€", 120),  # no surcharge for a basket
        ("note", "Léa — absence justifiée le 12 : non facturée", 0)]
    assert bill.total_cents == 600


def test_a_pai_child_and_a_sibling_without_one_in_the_same_bill():
    hugo = {**canteen_fact(reserved=(2, 3), unreserved=(5,)), "child_id": "child-hugo", "pai": False}
    lea = {**canteen_fact(reserved=(2, 3)), "pai": True}
    bill = domain.canteen_bill("fam", [lea, hugo], [canteen_grid()], [resources(quotient=650)],
                               {LEA: "Léa", "child-hugo": "Hugo"})
    assert [(line.label, line.amount_cents) for line in bill.lines] == [
        ("Hugo — 2 repas réservés × 1,90\u00a0€ (tranche 2)", 380),
        ("Hugo — 1 repas non réservé × 4,10\u00a0€", 410),
        ("Léa — 2 repas panier (PAI) × 1,20\u00a0€", 240)]
    assert bill.total_cents == 380 + 410 + 240


def test_a_tariff_change_in_the_month_prices_each_day_by_its_grid():
    new = canteen_grid(**{"from": "2026-11-16", "brackets": [
        {"quotient_max": 400, "meal_price_cents": 105}, {"quotient_max": 700, "meal_price_cents": 195},
        {"quotient_max": 1000, "meal_price_cents": 295}, {"quotient_max": None, "meal_price_cents": 430}]})
    bill = domain.canteen_bill("fam", [canteen_fact(reserved=(2, 3, 5, 16, 17), unreserved=(19,))],
                               [canteen_grid(), new], [resources(quotient=850)], {LEA: "Léa"})
    assert [(line.label, line.amount_cents) for line in bill.lines] == [
        ("Léa — 3 repas réservés × 2,85\u00a0€ (tranche 3, tarif du 01/09/2026)", 855),
        ("Léa — 2 repas réservés × 2,95\u00a0€ (tranche 3, tarif du 16/11/2026)", 590),
        ("Léa — 1 repas non réservé × 4,10\u00a0€ (tarif du 16/11/2026)", 410)]
    assert bill.total_cents == 855 + 590 + 410


def test_resources_changing_in_the_month_change_the_bracket_from_that_day():
    bill = domain.canteen_bill("fam", [canteen_fact(reserved=(2, 3, 20))], [canteen_grid()],
                               [resources(quotient=850), resources(quotient=300, valid_from="2026-11-15")], {})
    assert [(line.label, line.amount_cents) for line in bill.lines] == [
        ("2 repas réservés × 2,85\u00a0€ (tranche 3)", 570), ("1 repas réservé × 1,00\u00a0€ (tranche 1)", 100)]


def test_no_grid_in_force_is_a_conflict_not_a_free_meal():
    with pytest.raises(Conflict):
        domain.canteen_bill("fam", [canteen_fact(reserved=(2,))], [canteen_grid(**{"from": "2026-12-01"})], [], {})


def test_nothing_to_bill_means_no_invoice():
    bill = domain.canteen_bill("fam", [canteen_fact(justified=(2, 3))], [canteen_grid()], [resources()], {})
    assert not bill.billable and bill.total_cents == 0


def test_the_psu_hourly_rate_with_two_children():
    rate = domain.hourly_rate(psu_grid(), resources(monthly=238400, children=2))
    # 0,0516 % × 2 384,00 € = 1,2301… € -> 1,23 €
    assert rate.cents == 123 and rate.label == "1,23\u00a0€/h (0,0516\u00a0% × 2\u202f384,00\u00a0€)" and rate.note is None


def test_the_psu_floor_and_ceiling_bound_the_resources():
    floor = domain.hourly_rate(psu_grid(), resources(monthly=50000, children=1))
    assert floor.cents == 50 and "plancher" in floor.note  # 0,0619 % × 801,00 € = 0,4958… -> 0,50 €
    ceiling = domain.hourly_rate(psu_grid(), resources(monthly=1200000, children=1))
    assert ceiling.cents == 526 and "plafond" in ceiling.note  # 0,0619 % × 8 500,00 € = 5,2615 -> 5,26 €


def test_the_ceiling_rose_on_the_first_of_september_2025():
    grids = [psu_grid(**{"from": "2025-01-01", "ceiling_cents": 700000}), psu_grid()]
    august = domain.hourly_rate(domain.in_force(grids, date(2025, 8, 1)), resources(monthly=1200000, children=1))
    september = domain.hourly_rate(domain.in_force(grids, date(2025, 9, 1)), resources(monthly=1200000, children=1))
    assert (august.cents, september.cents) == (433, 526)  # 0,0619 % × 7 000 = 4,333 ; × 8 500 = 5,2615


def test_disability_takes_the_next_lower_rate():
    rate = domain.hourly_rate(psu_grid(), resources(monthly=300000, children=2, disability=True))
    assert rate.percent == Decimal("0.0413") and rate.cents == 124  # 0,0413 % × 3 000 € = 1,239 -> 1,24 €
    assert "handicap" in rate.note
    eight = domain.hourly_rate(psu_grid(), resources(monthly=300000, children=9, disability=True))
    assert eight.percent == Decimal("0.0206")  # the lowest rate stays the lowest


def test_without_resources_the_crèche_bills_the_ceiling_and_says_so():
    rate = domain.hourly_rate(psu_grid(), None)
    assert rate.cents == 526 and "non communiquées" in rate.note


def childcare_fact(**facts):
    return {"family_id": "fam", "child_id": LEA, "first_name": "Léa", "kind": "regular", "month": "2026-11",
            "occasional_booked_minutes": 0, "occasional_attended_minutes": 0, "walk_in_minutes": 0,
            "late_cancellations": [], "late_cancellation_billed_minutes": 0, "contract": None, "contract_minutes": 0,
            "deductions": [], "deducted_minutes": 0, **facts}


def test_a_contract_month_with_leave_occasional_hours_and_a_late_cancellation():
    fact = childcare_fact(
        contract_minutes=130 * 60,
        deductions=[{"date": "2026-11-03", "minutes": 480, "reason": "leave", "care": "contract"},
                    {"date": "2026-11-04", "minutes": 480, "reason": "leave", "care": "contract"},
                    {"date": "2026-11-10", "minutes": 240, "reason": "closure", "care": "contract"}],
        occasional_booked_minutes=13 * 60, walk_in_minutes=60,
        late_cancellations=[{"date": "2026-11-12", "start": "08:00", "end": "11:30", "minutes": 210,
                             "justified": False, "billed_minutes": 210},
                            {"date": "2026-11-19", "start": "08:00", "end": "12:00", "minutes": 240,
                             "justified": True, "billed_minutes": 0}])
    bill = domain.childcare_bill("fam", [fact], [psu_grid()], [resources(monthly=238400, children=2)],
                                 date(2026, 11, 1))
    rate = "1,23\u00a0€/h (0,0516\u00a0% × 2\u202f384,00\u00a0€)"
    assert [(line.label, line.amount_cents) for line in bill.lines] == [
        (f"Léa — contrat d'accueil régulier (mensualité) 130\u00a0h × {rate}", 15990),  # 130 × 1,23
        ("Léa — déduction congés du 3 au 4 : 16\u00a0h × 1,23\u00a0€/h", -1968),  # 16 × 1,23
        ("Léa — déduction fermeture de la crèche le 10 : 4\u00a0h × 1,23\u00a0€/h", -492),
        (f"Léa — accueil occasionnel 14\u00a0h × {rate}", 1722),  # 14 × 1,23
        ("Léa — annulation tardive le 12 : 3,5\u00a0h × 1,23\u00a0€/h", 431),  # 3,5 × 1,23 = 4,305 -> 4,31
        ("Léa — annulation tardive justifiée le 19 : non facturée", 0)]
    assert bill.total_cents == 15990 - 1968 - 492 + 1722 + 431


def test_deductions_never_exceed_the_contract_part():
    fact = childcare_fact(contract_minutes=600, deductions=[
        {"date": f"2026-11-{d:02d}", "minutes": 480, "reason": "hospitalisation", "care": "contract"} for d in (2, 3)])
    bill = domain.childcare_bill("fam", [fact], [psu_grid()], [resources()], date(2026, 11, 1))
    assert bill.total_cents == 0 and not bill.billable


def test_occasional_care_deducted_by_an_absence_is_a_note():
    fact = childcare_fact(kind="occasional", occasional_booked_minutes=120, deductions=[
        {"date": "2026-11-05", "minutes": 240, "reason": "hospitalisation", "care": "occasional"}])
    bill = domain.childcare_bill("fam", [fact], [psu_grid()], [resources()], date(2026, 11, 1))
    assert "Léa — accueil occasionnel le 5 (hospitalisation) : non facturé" in [line.label for line in bill.lines]
    assert bill.total_cents == 246


@pytest.mark.parametrize("change", [
    {"brackets": []}, {"brackets": [{"quotient_max": 400, "meal_price_cents": 100}]},
    {"unreserved_meal_price_cents": -1}, {"from": "demain"},
    {"brackets": [{"quotient_max": 700, "meal_price_cents": 100}, {"quotient_max": 400, "meal_price_cents": 100},
                  {"quotient_max": None, "meal_price_cents": 100}]}])
def test_a_malformed_canteen_grid_is_refused(change):
    with pytest.raises(InvalidInput):
        canteen_grid(**change)


@pytest.mark.parametrize("change", [
    {"ceiling_cents": 100}, {"effort_rates": [{"children_from": 2, "percent": "0.05"}]},
    {"effort_rates": [{"children_from": 1, "percent": "0.05"}, {"children_from": 2, "percent": "0.06"}]},
    {"effort_rates": [{"children_from": 1, "percent": "abc"}]}])
def test_a_malformed_psu_grid_is_refused(change):
    with pytest.raises(InvalidInput):
        psu_grid(**change)


def test_grids_round_trip_through_their_dict():
    assert domain.grid_from_dict("petite_enfance", psu_grid().as_dict()) == psu_grid()
    assert domain.grid_from_dict("affaires_scolaires", canteen_grid().as_dict()) == canteen_grid()


def test_numbers_and_states():
    assert domain.invoice_number("affaires_scolaires", 2026, 123) == "AS-2026-000123"
    assert domain.invoice_number("petite_enfance", 2026, 45) == "PE-2026-000045"
    assert domain.status_after(1000, 0, 0) == "issued"
    assert domain.status_after(1000, 400, 0) == "partially_paid"
    assert domain.status_after(1000, 1000, 0) == "paid"
    assert domain.status_after(1000, 0, 1000) == "cancelled"
    assert domain.status_after(1000, 600, 400) == "paid"


def test_payments_and_credit_notes_are_bounded_by_the_balance():
    with pytest.raises(Conflict):
        domain.check_payment("cash", 1001, 1000, "issued")
    with pytest.raises(InvalidInput):
        domain.check_payment("bitcoin", 100, 1000, "issued")
    with pytest.raises(Conflict):
        domain.check_payment("cash", 100, 1000, "draft")
    with pytest.raises(Conflict):
        domain.check_credit_note(2000, "erreur", 1000, "issued")
    with pytest.raises(InvalidInput):
        domain.check_credit_note(100, "  ", 1000, "issued")


def test_days_text():
    days = [date(2026, 11, d) for d in (3, 4, 5, 10, 12, 13)]
    assert domain.days_text(days) == "du 3 au 5, le 10 et du 12 au 13"


def test_the_simulator_prices_meals_by_bracket():
    bill = domain.price_estimate("affaires_scolaires", canteen_grid(), {"quotient": 650, "meals": 16})
    assert [(line.label, line.amount_cents) for line in bill.lines] == [("16 repas réservés × 1,90\u00a0€ (tranche 2)", 3040)]
    without = domain.price_estimate("affaires_scolaires", canteen_grid(), {"meals": 2})
    assert without.total_cents == 830 and without.lines[-1].label == domain.NO_RESOURCES_CANTEEN


def test_the_simulator_prices_crèche_hours_by_the_effort_rate():
    bill = domain.price_estimate("petite_enfance", psu_grid(),
                                 {"monthly_resources_cents": 238400, "children": 2, "hours": "14"})
    assert [(line.label, line.amount_cents) for line in bill.lines] == [
        ("accueil 14\u00a0h × 1,23\u00a0€/h (0,0516\u00a0% × 2\u202f384,00\u00a0€)", 1722)]
    assert domain.price_estimate("petite_enfance", psu_grid(), {"hours": 10}).total_cents == 5260  # ceiling 5,26 €


@pytest.mark.parametrize("regie, data", [
    ("affaires_scolaires", {"meals": 0}), ("affaires_scolaires", {"meals": 3, "quotient": "bas"}),
    ("petite_enfance", {"hours": "1.25"}), ("petite_enfance", {"hours": "beaucoup"}),
    ("petite_enfance", {"hours": 4, "monthly_resources_cents": 100000, "children": 0})])
def test_the_simulator_refuses_what_it_cannot_price(regie, data):
    grid = canteen_grid() if regie == "affaires_scolaires" else psu_grid()
    with pytest.raises(InvalidInput):
        domain.price_estimate(regie, grid, data)
