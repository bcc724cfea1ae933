"""How each invoice line's price was computed (issue #12, the family's trail): the tariff, the bracket or the hourly
rate with its effort rate and resources, the quantity, the unit price and the dates the line covers, as data and as
French sentences a parent can check by hand.

Plain code: `domain.canteen_bill` and `domain.childcare_bill` call it with what they used to price the line, and the
explanation is stored with the line (invoice_lines.explanation), so that it says what was true when the invoice was
computed, whatever the grids or the family's resources become.
"""
from decimal import Decimal

from espace_common.formatting import date_numeric, number
from espace_common.money import format_euros

ROUNDING = "calculé exactement puis arrondi une fois au centime"


def _quantity(quantity):
    return number(Decimal(quantity).normalize()) if quantity is not None else ""


def _product(quantity, unit_price_cents, amount_cents, unit=""):
    return (f"{_quantity(quantity)} × {format_euros(unit_price_cents)}{unit} = {format_euros(abs(amount_cents))} "
            f"({ROUNDING}).")


def meals(kind, grid, bracket, quotients, days, days_label, quantity, unit_price_cents, amount_cents):
    """A canteen line: `bracket` the family-quotient bracket (None for a basket or an unreserved meal), `quotients`
    the family's quotients in force on those days (None when unknown)."""
    steps = [f"Tarif de la restauration scolaire voté en vigueur depuis le {date_numeric(grid.valid_from)}."]
    if kind == "meal_pai":
        steps.append(f"Panier repas (PAI) : {format_euros(grid.pai_meal_price_cents)} le repas, quel que soit le "
                     "quotient familial.")
    elif kind == "meal_unreserved":
        steps.append(f"Repas pris sans réservation : prix majoré, {format_euros(grid.unreserved_meal_price_cents)} "
                     "le repas.")
    else:
        known = sorted(q for q in quotients if q is not None)
        upper = f"jusqu'à {number(bracket.quotient_max)} €" if bracket.quotient_max is not None else "sans plafond"
        if known:
            shown = " puis ".join(f"{number(q)} €" for q in known)
            steps.append(f"Quotient familial {shown} : tranche {bracket.number} ({upper}), "
                         f"{format_euros(bracket.meal_price_cents)} le repas.")
        else:
            steps.append(f"Quotient familial non communiqué : la tranche la plus haute est appliquée (tranche "
                         f"{bracket.number}), {format_euros(bracket.meal_price_cents)} le repas.")
    steps.append(f"Jours : {days_label} ({_quantity(quantity)} repas).")
    steps.append(_product(quantity, unit_price_cents, amount_cents))
    return {"basis": {"meal_reserved": "quotient_bracket", "meal_pai": "pai_basket",
                      "meal_unreserved": "unreserved_surcharge"}.get(kind, kind),
            "tariff": {"regie": "affaires_scolaires", "from": grid.valid_from.isoformat()},
            "bracket": None if bracket is None or kind != "meal_reserved" else
            {"number": bracket.number, "quotient_max": bracket.quotient_max,
             "meal_price_cents": bracket.meal_price_cents},
            "quotients": sorted(q for q in quotients if q is not None) if kind == "meal_reserved" else [],
            "quantity": str(quantity), "unit_price_cents": unit_price_cents, "amount_cents": amount_cents,
            "dates": sorted(d.isoformat() for d in days), "period": None, "hourly": None, "steps": steps}


def hourly_rate(rate, grid, resources, first_day, last_day):
    """What every line of a multi-accueil month shares: the PSU grid, the resources and the hourly rate."""
    declared = resources.monthly_resources_cents if resources is not None else None
    children = resources.dependent_children if resources is not None else 1
    disability = bool(resources.disability) if resources is not None else False
    percent = number(rate.percent.normalize())
    steps = [f"Barème PSU de la CNAF en vigueur depuis le {date_numeric(grid.valid_from)} : plancher "
             f"{format_euros(grid.floor_cents)}, plafond {format_euros(grid.ceiling_cents)} de ressources mensuelles."]
    if declared is None:
        steps.append(f"Ressources non communiquées : le plafond ({format_euros(grid.ceiling_cents)}) est retenu, au "
                     "taux d'effort d'un enfant.")
    elif declared != rate.resources_cents:
        steps.append(f"Ressources mensuelles déclarées {format_euros(declared)}, retenues "
                     f"{format_euros(rate.resources_cents)} (entre le plancher et le plafond).")
    else:
        steps.append(f"Ressources mensuelles retenues : {format_euros(rate.resources_cents)}.")
    children_text = f"{children} enfant{'s' if children > 1 else ''} à charge"
    handicap = " (enfant en situation de handicap : le taux immédiatement inférieur)" if disability else ""
    steps.append(f"Taux d'effort pour {children_text}{handicap} : {percent} %.")
    steps.append(f"Tarif horaire : {percent} % × {format_euros(rate.resources_cents)} = {format_euros(rate.cents)} "
                 "de l'heure (arrondi au centime).")
    return {"tariff": {"regie": "petite_enfance", "from": grid.valid_from.isoformat()},
            "hourly": {"rate_cents": rate.cents, "effort_rate_percent": str(rate.percent),
                       "resources_cents": rate.resources_cents, "declared_resources_cents": declared,
                       "dependent_children": children, "disability": disability,
                       "floor_cents": grid.floor_cents, "ceiling_cents": grid.ceiling_cents},
            "period": {"from": first_day.isoformat(), "to": last_day.isoformat()}, "steps": steps}


HOURS_BASIS = {"contract": "Mensualité du contrat d'accueil régulier (heures par semaine × semaines par an ÷ 12)",
               "occasional": "Accueil occasionnel, compté à la demi-heure",
               "deduction": "Heures du contrat déduites",
               "late_cancellation": "Créneau annulé moins de 48 heures avant, facturé"}


def hours(kind, shared, quantity, unit_price_cents, amount_cents, days=(), days_label=""):
    """A multi-accueil line priced by the hour, on the month's shared rate."""
    when = f" : {days_label}" if days_label else " du mois"
    basis = HOURS_BASIS.get(kind, kind)
    steps = list(shared["steps"]) + [f"{basis}{when} ({_quantity(quantity)} h).",
                                     _product(quantity, unit_price_cents, amount_cents, " de l'heure")]
    if kind == "deduction":
        steps[-1] = "Déduit : " + steps[-1]
    return {"basis": "psu_hourly", "tariff": shared["tariff"], "bracket": None, "quotients": [],
            "quantity": str(quantity), "unit_price_cents": unit_price_cents, "amount_cents": amount_cents,
            "dates": sorted(d.isoformat() for d in days), "period": shared["period"], "hourly": shared["hourly"],
            "steps": steps}
