"""How each invoice line's price was computed (issue #12): the tariff, the bracket or the hourly rate with its effort
rate and resources, the quantity, the unit price and the dates, stored with the line and given with the invoice."""
from billing import use_cases  # noqa: F401 (the fixtures' module needs it)

from .test_use_cases import (  # noqa: F401 (fixtures)
    AGENT, DUPONT, MARTIN, billing, clock, facts, migrated, november_canteen, resources, units,
)


def invoice_of(billing, regie, family):
    run = billing.run_now(regie, "2026-11", AGENT)
    billing.finalize_run(run["id"], AGENT)
    invoice_id = next(i["id"] for i in run["invoices"] if i["family_id"] == family)
    return billing.invoice(invoice_id, family_id=family)


def test_a_canteen_line_says_its_tariff_bracket_quotient_and_days(billing, facts):
    november_canteen(billing, facts)
    reserved, unreserved, note = invoice_of(billing, "affaires_scolaires", MARTIN)["lines"]
    why = reserved["explanation"]
    assert why["basis"] == "quotient_bracket" and why["tariff"] == {"regie": "affaires_scolaires", "from": "2026-09-01"}
    assert why["bracket"] == {"number": 3, "quotient_max": 1000, "meal_price_cents": 285}
    assert why["quotients"] == [850]
    assert (why["quantity"], why["unit_price_cents"], why["amount_cents"]) == ("12", 285, 3420)
    assert why["dates"] == [f"2026-11-{d:02d}" for d in range(2, 14)]
    assert why["steps"] == [
        "Tarif de la restauration scolaire voté en vigueur depuis le 01/09/2026.",
        "Quotient familial 850 € : tranche 3 (jusqu'à 1\u202f000 €), 2,85\u00a0€ le repas.",
        "Jours : du 2 au 13 (12 repas).",
        "12 × 2,85\u00a0€ = 34,20\u00a0€ (calculé exactement puis arrondi une fois au centime)."]
    assert unreserved["explanation"]["basis"] == "unreserved_surcharge"
    assert unreserved["explanation"]["dates"] == ["2026-11-16", "2026-11-17"]
    assert "prix majoré, 4,10\u00a0€ le repas" in unreserved["explanation"]["steps"][1]
    assert note["explanation"] is None  # a note has no price to explain


def test_a_family_without_resources_is_told_the_highest_bracket(billing, facts):
    november_canteen(billing, facts)
    line = invoice_of(billing, "affaires_scolaires", DUPONT)["lines"][0]
    assert line["explanation"]["quotients"] == [] and line["explanation"]["bracket"]["number"] == 5
    assert "non communiqué : la tranche la plus haute est appliquée (tranche 5)" in line["explanation"]["steps"][1]


def test_a_creche_line_says_its_hourly_rate_effort_rate_resources_and_period(billing, facts):
    billing.set_family_resources(MARTIN, resources(850, monthly_cents=238400, children=2), AGENT)
    facts.crèche(MARTIN, "lea", "Léa", occasional_minutes=870)  # 14,5 h
    line = invoice_of(billing, "petite_enfance", MARTIN)["lines"][0]
    why = line["explanation"]
    assert why["basis"] == "psu_hourly" and why["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    assert why["hourly"] == {"rate_cents": 123, "effort_rate_percent": "0.0516", "resources_cents": 238400,
                             "declared_resources_cents": 238400, "dependent_children": 2, "disability": False,
                             "floor_cents": 80100, "ceiling_cents": 850000}
    assert (why["quantity"], why["unit_price_cents"], why["amount_cents"]) == ("14.5", 123, line["amount_cents"])
    assert "Taux d'effort pour 2 enfants à charge : 0,0516 %." in why["steps"]
    assert why["steps"][-1] == ("14,5 × 1,23\u00a0€ de l'heure = 17,84\u00a0€ (calculé exactement puis arrondi une fois "
                                "au centime).")
