"""Billing's rules: tariffs as dated data, family resources, and a family's month as lines that explain themselves.

No framework here. Every price and rate is data with the date it applies from (a grid), never a constant.

Rounding (the design): a line's amount is its quantity × its unit price computed exactly (Decimal), then rounded
once to the cent, half up (away from zero, so a deduction rounds like the charge it takes back); a total is the sum
of its lines. The multi-accueil's hourly price is a price like a meal's: effort rate × bounded resources, rounded
to the cent, and printed on the line, so that a parent redoing «14 h × 1,23 €» finds the line's amount.
"""
import calendar as month_calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from espace_common.errors import Conflict, InvalidInput
from espace_common.formatting import date_numeric, number
from espace_common.money import format_euros

from . import domain_explanations  # how each line's price was computed (issue #12)

AFFAIRES_SCOLAIRES, PETITE_ENFANCE = "affaires_scolaires", "petite_enfance"
REGIES = {AFFAIRES_SCOLAIRES: "Affaires scolaires (restauration scolaire)", PETITE_ENFANCE: "Petite enfance (multi-accueil)"}
NUMBER_PREFIXES = {AFFAIRES_SCOLAIRES: "AS", PETITE_ENFANCE: "PE"}
CREDIT_NOTE_PREFIXES = {AFFAIRES_SCOLAIRES: "AS-AV", PETITE_ENFANCE: "PE-AV"}
DRAFT, ISSUED, PARTIALLY_PAID, PAID, CANCELLED = "draft", "issued", "partially_paid", "paid", "cancelled"
INVOICE_STATUSES = {DRAFT: "Brouillon", ISSUED: "Émise", PARTIALLY_PAID: "Partiellement payée", PAID: "Payée",
                    CANCELLED: "Annulée par avoir"}
RUNNING, RUN_DRAFT, RUN_FINAL = "running", "draft", "final"
RUN_STATUSES = {RUNNING: "En cours de calcul", RUN_DRAFT: "Brouillons à vérifier", RUN_FINAL: "Finalisée"}
PAYMENT_METHODS = {"cash": "Espèces", "cheque": "Chèque", "cesu": "CESU", "card": "Carte bancaire",
                   "direct_debit": "Prélèvement SEPA"}
AGENT_PAYMENT_METHODS = ("cash", "cheque", "cesu")
LINE_KINDS = {"meal_reserved": "Repas réservés", "meal_pai": "Repas panier (PAI)",
              "meal_unreserved": "Repas non réservés (majorés)", "contract": "Contrat d'accueil régulier",
              "deduction": "Déduction", "occasional": "Accueil occasionnel", "late_cancellation": "Annulation tardive",
              "note": "Information (non facturée)"}
DEDUCTION_LABELS = {"leave": "congés", "hospitalisation": "hospitalisation", "illness": "maladie au-delà de la carence",
                    "closure": "fermeture de la crèche", "justified_cancellation": "annulation tardive justifiée"}
MAX_CREDIT_NOTE_REASON = 500
CENT = Decimal("1")


# --- Amounts and their French text ------------------------------------------------------------------------------

def round_cents(exact):
    """An exact amount in cents (Decimal) to whole cents, half up (away from zero)."""
    return int(Decimal(exact).quantize(CENT, rounding=ROUND_HALF_UP))


def line_amount(quantity, unit_price_cents):
    """quantity × unit price, exactly, rounded once."""
    return round_cents(Decimal(quantity) * unit_price_cents)


def french_number(value):
    """Decimal('14.5') -> '14,5'; Decimal('14.0') -> '14' (Babel's French, espace_common.formatting)."""
    return number(value)


def french_percent(percent):
    return f"{french_number(percent)}\u00a0%"


def hours_of(minutes):
    """Minutes counted by the half-hour upstream -> hours as an exact Decimal (90 -> 1.5)."""
    return Decimal(minutes) / 60


def french_hours(minutes):
    return f"{french_number(hours_of(minutes))}\u00a0h"


def days_text(days):
    """Sorted dates of a month as French text: 'du 3 au 5 et le 10'."""
    runs = []
    for day in sorted(days):
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    parts = [f"le {a.day}" if a == b else f"du {a.day} au {b.day}" for a, b in runs]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]


def month_bounds(month):
    """'2026-11' -> (1 November, 30 November)."""
    try:
        year, number = (int(part) for part in str(month).split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise InvalidInput("invalid_month", "Le mois s'écrit comme « 2026-11 ».") from None
    return first, date(year, number, month_calendar.monthrange(year, number)[1])


def parse_regie(regie):
    if regie not in REGIES:
        raise InvalidInput("invalid_regie", "La régie est « affaires_scolaires » ou « petite_enfance ».")
    return regie


def parse_date(value, what):
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("invalid_date", f"{what} s'écrit comme « 2026-09-01 ».") from None


def _cents(value, code, what, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(code, f"{what} est un nombre entier de centimes, au moins {minimum}.")
    return value


# --- Tariffs: data with the date they apply from ----------------------------------------------------------------

@dataclass(frozen=True)
class Bracket:
    """A family-quotient bracket: quotients up to quotient_max (None: no upper bound) pay meal_price_cents."""

    number: int
    quotient_max: int | None
    meal_price_cents: int


@dataclass(frozen=True)
class CanteenGrid:
    valid_from: date
    brackets: tuple  # of Bracket, by ascending quotient_max, the last one unbounded
    unreserved_meal_price_cents: int
    pai_meal_price_cents: int

    def bracket_for(self, quotient):
        """The bracket of a quotient; a family without a known quotient is in the highest bracket."""
        if quotient is None:
            return self.brackets[-1]
        return next(b for b in self.brackets if b.quotient_max is None or quotient <= b.quotient_max)

    def as_dict(self):
        return {"regie": AFFAIRES_SCOLAIRES, "from": self.valid_from.isoformat(),
                "brackets": [{"number": b.number, "quotient_max": b.quotient_max,
                              "meal_price_cents": b.meal_price_cents} for b in self.brackets],
                "unreserved_meal_price_cents": self.unreserved_meal_price_cents,
                "pai_meal_price_cents": self.pai_meal_price_cents}


@dataclass(frozen=True)
class EffortRate:
    """From children_from dependent children on, the hourly effort rate is `percent` % of monthly resources."""

    children_from: int
    percent: Decimal


@dataclass(frozen=True)
class PsuGrid:
    valid_from: date
    floor_cents: int
    ceiling_cents: int
    effort_rates: tuple  # of EffortRate, by ascending children_from, the first one from 1 child

    def rate_index(self, children, disability):
        """The tier of a family's number of children; a child with a disability moves it to the next lower rate."""
        index = max(i for i, rate in enumerate(self.effort_rates) if rate.children_from <= max(children, 1))
        if disability:
            index = min(index + 1, len(self.effort_rates) - 1)
        return index

    def as_dict(self):
        return {"regie": PETITE_ENFANCE, "from": self.valid_from.isoformat(), "floor_cents": self.floor_cents,
                "ceiling_cents": self.ceiling_cents,
                "effort_rates": [{"children_from": r.children_from, "percent": str(r.percent)}
                                 for r in self.effort_rates],
                "disability_rule": "next_lower_rate"}


def parse_grid(regie, data):
    """A grid as an administrator enters it (JSON) -> CanteenGrid or PsuGrid, or InvalidInput saying what is wrong."""
    regie = parse_regie(regie)
    if not isinstance(data, dict):
        raise InvalidInput("invalid_grid", "Une grille tarifaire est un objet.")
    valid_from = parse_date(data.get("from"), "La date d'application")
    if regie == AFFAIRES_SCOLAIRES:
        return _parse_canteen_grid(valid_from, data)
    return _parse_psu_grid(valid_from, data)


def _parse_canteen_grid(valid_from, data):
    raw = data.get("brackets")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("invalid_grid", "La grille a au moins une tranche de quotient familial.")
    brackets, previous = [], -1
    for number, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise InvalidInput("invalid_grid", f"La tranche {number} est un objet.")
        last = number == len(raw)
        quotient_max = item.get("quotient_max")
        if last:
            if quotient_max is not None:
                raise InvalidInput("invalid_grid", "La dernière tranche n'a pas de plafond de quotient.")
        elif isinstance(quotient_max, bool) or not isinstance(quotient_max, int) or quotient_max <= previous:
            raise InvalidInput("invalid_grid", f"Le plafond de quotient de la tranche {number} est un entier "
                                               "supérieur à celui de la tranche précédente.")
        price = _cents(item.get("meal_price_cents"), "invalid_grid", f"Le prix du repas de la tranche {number}")
        brackets.append(Bracket(number, quotient_max, price))
        previous = quotient_max if quotient_max is not None else previous
    return CanteenGrid(valid_from, tuple(brackets),
                       _cents(data.get("unreserved_meal_price_cents"), "invalid_grid", "Le prix du repas non réservé"),
                       _cents(data.get("pai_meal_price_cents"), "invalid_grid", "Le prix du repas panier (PAI)"))


def _parse_psu_grid(valid_from, data):
    floor = _cents(data.get("floor_cents"), "invalid_grid", "Le plancher de ressources", minimum=1)
    ceiling = _cents(data.get("ceiling_cents"), "invalid_grid", "Le plafond de ressources", minimum=1)
    if ceiling < floor:
        raise InvalidInput("invalid_grid", "Le plafond de ressources est au moins égal au plancher.")
    raw = data.get("effort_rates")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("invalid_grid", "La grille a au moins un taux d'effort.")
    rates = []
    for item in raw:
        try:
            children_from = item["children_from"]
            percent = Decimal(str(item["percent"]))
        except (TypeError, KeyError, InvalidOperation):
            raise InvalidInput("invalid_grid", "Un taux d'effort a « children_from » et « percent » "
                                               "(par exemple « 0.0516 »).") from None
        if isinstance(children_from, bool) or not isinstance(children_from, int) or not percent.is_finite() \
                or not Decimal(0) < percent < Decimal(1):
            raise InvalidInput("invalid_grid", "Un taux d'effort est un pourcentage horaire entre 0 et 1 %.")
        rates.append(EffortRate(children_from, percent))
    rates.sort(key=lambda r: r.children_from)
    if rates[0].children_from != 1 or len({r.children_from for r in rates}) != len(rates):
        raise InvalidInput("invalid_grid", "Les taux d'effort commencent à 1 enfant, un seul taux par nombre d'enfants.")
    if any(later.percent >= earlier.percent for earlier, later in zip(rates, rates[1:])):
        raise InvalidInput("invalid_grid", "Le taux d'effort baisse quand le nombre d'enfants augmente.")
    return PsuGrid(valid_from, floor, ceiling, tuple(rates))


def grid_from_dict(regie, data):
    """A stored grid back to its dataclass (stored as as_dict() wrote it)."""
    return parse_grid(regie, data)


def in_force(dated, day):
    """The item (a grid, resources) whose valid_from is the latest on or before day, or None."""
    candidates = [item for item in dated if item.valid_from <= day]
    return max(candidates, key=lambda item: item.valid_from) if candidates else None


# --- A family's resources -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Resources:
    valid_from: date
    quotient: int
    monthly_resources_cents: int
    dependent_children: int
    disability: bool = False

    def as_dict(self):
        return {"from": self.valid_from.isoformat(), "quotient": self.quotient,
                "monthly_resources_cents": self.monthly_resources_cents,
                "dependent_children": self.dependent_children, "disability": self.disability}


def parse_resources(data):
    if not isinstance(data, dict):
        raise InvalidInput("invalid_resources", "Les ressources sont un objet.")
    valid_from = parse_date(data.get("from"), "La date d'effet")
    quotient = data.get("quotient")
    if isinstance(quotient, bool) or not isinstance(quotient, int) or not 0 <= quotient <= 100000:
        raise InvalidInput("invalid_resources", "Le quotient familial est un entier en euros, entre 0 et 100 000.")
    resources = _cents(data.get("monthly_resources_cents"), "invalid_resources", "Les ressources mensuelles")
    children = data.get("dependent_children")
    if isinstance(children, bool) or not isinstance(children, int) or not 1 <= children <= 20:
        raise InvalidInput("invalid_resources", "Le nombre d'enfants à charge est un entier entre 1 et 20.")
    disability = data.get("disability", False)
    if not isinstance(disability, bool):
        raise InvalidInput("invalid_resources", "« disability » vaut true ou false.")
    return Resources(valid_from, quotient, resources, children, disability)


# --- The month's lines --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    kind: str
    label: str
    amount_cents: int = 0
    quantity: Decimal | None = None
    unit_price_cents: int | None = None
    child_id: str | None = None
    explanation: dict | None = None  # how the price was computed (domain_explanations, issue #12)

    def as_dict(self):
        return {"kind": self.kind, "label": self.label, "child_id": self.child_id,
                "quantity": None if self.quantity is None else str(self.quantity),
                "unit_price_cents": self.unit_price_cents, "amount_cents": self.amount_cents,
                "explanation": self.explanation}


def priced_line(kind, label, quantity, unit_price_cents, child_id, sign=1, explain=None):
    """A priced line; `explain(amount_cents)` (issue #12) gives its explanation once the amount is known."""
    amount = sign * line_amount(quantity, unit_price_cents)
    return Line(kind, label, amount, Decimal(quantity), unit_price_cents, child_id,
                explain(amount) if explain else None)


@dataclass
class Bill:
    """A family's month for one régie: its lines (notes included) and their sum."""

    regie: str
    family_id: str
    lines: list = field(default_factory=list)

    @property
    def total_cents(self):
        return sum(line.amount_cents for line in self.lines)

    @property
    def billable(self):
        """A family with nothing to bill (a month fully deducted included) gets no invoice."""
        return self.total_cents > 0


NO_RESOURCES_CANTEEN = "Ressources non communiquées : le tarif de la tranche la plus haute est appliqué."


def canteen_bill(family_id, child_facts, grids, resources_history, names, pai_children=frozenset()):
    """A family's canteen month, from canteen's billable facts (one dict per child, as canteen's
    `billable_facts` RPC returns them), each day priced by the grid and the quotient in force that day."""
    bill = Bill(AFFAIRES_SCOLAIRES, family_id)
    in_force_on = _days_memo(grids, resources_history)
    eaten_days = {iso for fact in child_facts for key in ("reserved", "eaten_without_reservation")
                  for iso in fact.get(key) or []}
    several_grids = len({in_force_on(iso)[1].valid_from for iso in eaten_days}) > 1
    without_resources = False
    for fact in sorted(child_facts, key=lambda f: (names.get(f["child_id"], ""), f["child_id"])):
        child_id = fact["child_id"]
        who = f"{names[child_id]} — " if names.get(child_id) else ""
        pai = fact.get("pai", child_id in pai_children)
        reserved, used = {}, {}
        for iso in sorted(fact.get("reserved") or []):
            day, grid, resources, bracket = in_force_on(iso)
            without_resources |= resources is None and not pai  # the basket price is the same for every quotient
            if pai:
                key = (grid.valid_from, None, grid.pai_meal_price_cents)
            else:
                key = (grid.valid_from, bracket.number, bracket.meal_price_cents)
            reserved.setdefault(key, []).append(day)
            used.setdefault(key, (grid, bracket, set()))[2].add(resources.quotient if resources else None)
        for (valid_from, bracket, price), days in sorted(reserved.items(), key=lambda item: item[1][0]):
            what = "repas panier (PAI)" if bracket is None else f"repas réservé{_s(days)}"
            detail = [] if bracket is None else [f"tranche {bracket}"]
            if several_grids:
                detail.append(f"tarif du {date_numeric(valid_from)}")
            suffix = f" ({', '.join(detail)})" if detail else ""
            grid_used, bracket_used, quotients = used[(valid_from, bracket, price)]
            kind = "meal_pai" if bracket is None else "meal_reserved"
            bill.lines.append(priced_line(kind, f"{who}{len(days)} {what} × {format_euros(price)}{suffix}",
                                          len(days), price, child_id, explain=_meals_explained(
                                              kind, grid_used, bracket_used, quotients, days, price)))
        unreserved, grids_used = {}, {}
        for iso in sorted(fact.get("eaten_without_reservation") or []):
            day, grid = in_force_on(iso)[:2]
            # A basket meal is brought from home: the kitchen cooked nothing unplanned, so no surcharge.
            price = grid.pai_meal_price_cents if pai else grid.unreserved_meal_price_cents
            unreserved.setdefault((grid.valid_from, price), []).append(day)
            grids_used[grid.valid_from] = grid
        for (valid_from, price), days in sorted(unreserved.items(), key=lambda item: item[1][0]):
            suffix = f" (tarif du {date_numeric(valid_from)})" if several_grids else ""
            what = f"repas panier (PAI) non réservé{_s(days)}" if pai else f"repas non réservé{_s(days)}"
            kind = "meal_pai" if pai else "meal_unreserved"
            bill.lines.append(priced_line(kind, f"{who}{len(days)} {what} × {format_euros(price)}{suffix}",
                                          len(days), price, child_id, explain=_meals_explained(
                                              kind, grids_used[valid_from], None, set(), days, price)))
        justified = _days(fact, "absent_justified")
        if justified:
            bill.lines.append(Line("note", f"{who}absence justifiée {days_text(justified)} : non facturée",
                                   child_id=child_id))
        unjustified = _days(fact, "absent_unjustified")
        if unjustified:
            bill.lines.append(Line("note", f"{who}absence non justifiée {days_text(unjustified)} : "
                                           "repas réservé facturé", child_id=child_id))
    if without_resources:
        bill.lines.append(Line("note", NO_RESOURCES_CANTEEN))
    return bill


def _meals_explained(kind, grid, bracket, quotients, days, price):
    return lambda amount: domain_explanations.meals(kind, grid, bracket, quotients, days, days_text(days), len(days),
                                                    price, amount)


def _hours_explained(kind, shared, minutes, price, days=()):
    return lambda amount: domain_explanations.hours(kind, shared, hours_of(minutes), price, amount, days,
                                                    days_text(days) if days else "")


def _days_memo(grids, resources_history):
    """'2026-11-03' -> (the date, the grid, the resources and the bracket in force that day), each day looked up
    once: a month has some twenty school days, and a family's children share them."""
    seen = {}

    def on(iso):
        if iso not in seen:
            day = date.fromisoformat(iso)
            grid, resources = _grid_on(grids, day), in_force(resources_history, day)
            seen[iso] = (day, grid, resources, grid.bracket_for(resources.quotient if resources else None))
        return seen[iso]
    return on


def _s(items):
    """French plural of an adjective: 1 repas réservé, 2 repas réservés."""
    return "s" if len(items) > 1 else ""


def _days(fact, *keys):
    return sorted(date.fromisoformat(day) for key in keys for day in fact.get(key) or [])


def _grid_on(grids, day):
    grid = in_force(grids, day)
    if grid is None:
        raise Conflict("no_tariff", f"Aucune grille tarifaire ne s'applique au {date_numeric(day)} : "
                                    "un administrateur doit en saisir une.")
    return grid


@dataclass(frozen=True)
class HourlyRate:
    """The PSU hourly price of a family for a month, and where it comes from."""

    cents: int
    percent: Decimal
    resources_cents: int
    note: str | None

    @property
    def label(self):
        return f"{format_euros(self.cents)}/h ({french_percent(self.percent)} × {format_euros(self.resources_cents)})"


def hourly_rate(grid, resources):
    """Effort rate × monthly resources bounded by the floor and the ceiling, rounded to the cent.

    A family without known resources pays the ceiling at the one-child rate (the highest hourly price)."""
    if resources is None:
        bounded, children, disability = grid.ceiling_cents, 1, False
        note = (f"Ressources non communiquées : le plafond de ressources ({format_euros(grid.ceiling_cents)}) "
                "est appliqué.")
    else:
        amount, children, disability = resources.monthly_resources_cents, resources.dependent_children, \
            resources.disability
        bounded = min(max(amount, grid.floor_cents), grid.ceiling_cents)
        note = None
        if amount < grid.floor_cents:
            note = f"Ressources inférieures au plancher : le plancher ({format_euros(grid.floor_cents)}) est appliqué."
        elif amount > grid.ceiling_cents:
            note = f"Ressources supérieures au plafond : le plafond ({format_euros(grid.ceiling_cents)}) est appliqué."
    percent = grid.effort_rates[grid.rate_index(children, disability)].percent
    if disability:
        note = ((note + " ") if note else "") + ("Enfant en situation de handicap : le taux d'effort immédiatement "
                                                 "inférieur est appliqué.")
    return HourlyRate(round_cents(percent / 100 * bounded), percent, bounded, note)


def childcare_bill(family_id, child_facts, grids, resources_history, first_day):
    """A family's multi-accueil month, from childcare's billable facts (the `children` of its `billable_facts` RPC).

    The grid and the resources in force on the month's first day price the whole month: childcare counts the
    occasional hours per month, and the contract is billed in equal monthly parts."""
    bill = Bill(PETITE_ENFANCE, family_id)
    if not child_facts:
        return bill
    grid, resources = _grid_on(grids, first_day), in_force(resources_history, first_day)
    rate = hourly_rate(grid, resources)
    shared = domain_explanations.hourly_rate(rate, grid, resources, first_day, first_day.replace(
        day=month_calendar.monthrange(first_day.year, first_day.month)[1]))
    for fact in sorted(child_facts, key=lambda f: (f.get("first_name", ""), f["child_id"])):
        child_id = fact["child_id"]
        who = f"{fact['first_name']} — " if fact.get("first_name") else ""
        contract_minutes = fact.get("contract_minutes") or 0
        if contract_minutes:
            bill.lines.append(priced_line("contract", f"{who}contrat d'accueil régulier (mensualité) "
                                                      f"{french_hours(contract_minutes)} × {rate.label}",
                                          hours_of(contract_minutes), rate.cents, child_id,
                                          explain=_hours_explained("contract", shared, contract_minutes, rate.cents)))
        by_reason = {}
        for deduction in fact.get("deductions") or []:
            by_reason.setdefault((deduction["care"], deduction["reason"]), []).append(deduction)
        left_to_deduct = contract_minutes  # a month's deductions never exceed its part of the contract
        for (care, reason), items in sorted(by_reason.items(), key=lambda item: min(d["date"] for d in item[1])):
            days = [date.fromisoformat(d["date"]) for d in items]
            what = DEDUCTION_LABELS.get(reason, reason)
            if care == "contract":
                minutes = min(sum(d["minutes"] for d in items), left_to_deduct)
                left_to_deduct -= minutes
                if minutes:
                    bill.lines.append(priced_line("deduction", f"{who}déduction {what} {days_text(days)} : "
                                                               f"{french_hours(minutes)} × {format_euros(rate.cents)}/h",
                                                  hours_of(minutes), rate.cents, child_id, sign=-1,
                                                  explain=_hours_explained("deduction", shared, minutes, rate.cents,
                                                                           days)))
            else:
                bill.lines.append(Line("note", f"{who}accueil occasionnel {days_text(days)} ({what}) : non facturé",
                                       child_id=child_id))
        occasional = (fact.get("occasional_booked_minutes") or 0) + (fact.get("walk_in_minutes") or 0)
        if occasional:
            bill.lines.append(priced_line("occasional", f"{who}accueil occasionnel {french_hours(occasional)} × "
                                                        f"{rate.label}", hours_of(occasional), rate.cents, child_id,
                                          explain=_hours_explained("occasional", shared, occasional, rate.cents)))
        late = [c for c in fact.get("late_cancellations") or []]
        billed = [c for c in late if c.get("billed_minutes")]
        if billed:
            minutes = sum(c["billed_minutes"] for c in billed)
            days = [date.fromisoformat(c["date"]) for c in billed]
            bill.lines.append(priced_line("late_cancellation", f"{who}annulation tardive {days_text(days)} : "
                                                               f"{french_hours(minutes)} × {format_euros(rate.cents)}/h",
                                          hours_of(minutes), rate.cents, child_id,
                                          explain=_hours_explained("late_cancellation", shared, minutes, rate.cents,
                                                                   days)))
        excused = [date.fromisoformat(c["date"]) for c in late if not c.get("billed_minutes")]
        if excused:
            bill.lines.append(Line("note", f"{who}annulation tardive justifiée {days_text(excused)} : non facturée",
                                   child_id=child_id))
    if rate.note:
        bill.lines.append(Line("note", rate.note))
    return bill


# --- The public simulator ("estimer ma facture") ------------------------------------------------------------

MAX_ESTIMATE_MEALS, MAX_ESTIMATE_HOURS = 31, 300


def price_estimate(regie, grid, data):
    """A month's price from what a parent types in: quotient and meals (canteen), or monthly resources, children
    and hours (multi-accueil), with the same lines an invoice would carry. No quotient or resources: the highest
    price, as for a family that did not give them."""
    if not isinstance(data, dict):
        raise InvalidInput("invalid_estimate", "Une estimation est un objet.")
    bill = Bill(regie, "")
    if regie == AFFAIRES_SCOLAIRES:
        quotient = data.get("quotient")
        if quotient is not None and (isinstance(quotient, bool) or not isinstance(quotient, int) or quotient < 0):
            raise InvalidInput("invalid_estimate", "Le quotient familial est un entier en euros.")
        meals = data.get("meals")
        if isinstance(meals, bool) or not isinstance(meals, int) or not 1 <= meals <= MAX_ESTIMATE_MEALS:
            raise InvalidInput("invalid_estimate", f"Le nombre de repas est un entier de 1 à {MAX_ESTIMATE_MEALS}.")
        bracket = grid.bracket_for(quotient)
        bill.lines.append(priced_line("meal_reserved", f"{meals} repas réservé{'s' if meals > 1 else ''} × {format_euros(bracket.meal_price_cents)}"
                                                       f" (tranche {bracket.number})", meals, bracket.meal_price_cents,
                                      None))
        if quotient is None:
            bill.lines.append(Line("note", NO_RESOURCES_CANTEEN))
        return bill
    try:
        hours = Decimal(str(data.get("hours")))
    except InvalidOperation:
        hours = Decimal(-1)
    if not hours.is_finite() or not 0 < hours <= MAX_ESTIMATE_HOURS or (hours * 2) % 1:
        raise InvalidInput("invalid_estimate", f"Le nombre d'heures va de 0,5 à {MAX_ESTIMATE_HOURS}, "
                                               "par demi-heure.")
    monthly = data.get("monthly_resources_cents")
    resources = None
    if monthly is not None:
        children = data.get("children", 1)
        if isinstance(children, bool) or not isinstance(children, int) or not 1 <= children <= 20:
            raise InvalidInput("invalid_estimate", "Le nombre d'enfants à charge est un entier de 1 à 20.")
        disability = bool(data.get("disability", False))
        resources = Resources(grid.valid_from, 0, _cents(monthly, "invalid_estimate", "Les ressources mensuelles"),
                              children, disability)
    rate = hourly_rate(grid, resources)
    bill.lines.append(priced_line("occasional", f"accueil {french_number(hours)}\u00a0h × {rate.label}", hours,
                                  rate.cents, None))
    if rate.note:
        bill.lines.append(Line("note", rate.note))
    return bill


# --- Numbers, dues, payments ------------------------------------------------------------------------------------

def invoice_number(regie, year, sequence):
    """AS-2026-000123: the régie, the year of issue, and the rank without gaps in that régie and year."""
    return f"{NUMBER_PREFIXES[regie]}-{year}-{sequence:06d}"


def credit_note_number(regie, year, sequence):
    return f"{CREDIT_NOTE_PREFIXES[regie]}-{year}-{sequence:06d}"


def status_after(total_cents, paid_cents, credited_cents):
    """An issued invoice's state from what was paid and credited against it."""
    balance = total_cents - paid_cents - credited_cents
    if balance > 0:
        return PARTIALLY_PAID if paid_cents or credited_cents else ISSUED
    if paid_cents == 0:
        return CANCELLED
    return PAID


def check_payment(method, amount_cents, balance_cents, status, allowed=tuple(PAYMENT_METHODS)):
    if method not in allowed:
        labels = ", ".join(f"« {m} »" for m in allowed)
        raise InvalidInput("invalid_method", f"Le moyen de paiement est l'un de : {labels}.")
    _cents(amount_cents, "invalid_amount", "Le montant", minimum=1)
    if status == DRAFT:
        raise Conflict("invoice_not_final", "Une facture en brouillon ne se paie pas : la tournée doit être finalisée.")
    if status in (PAID, CANCELLED):
        raise Conflict("invoice_settled", "Cette facture est déjà soldée.")
    if amount_cents > balance_cents:
        raise Conflict("overpayment", f"Le montant dépasse le reste à payer ({format_euros(balance_cents)}).")
    return amount_cents


def check_credit_note(amount_cents, reason, balance_cents, status):
    _cents(amount_cents, "invalid_amount", "Le montant de l'avoir", minimum=1)
    reason = str(reason or "").strip()
    if not reason or len(reason) > MAX_CREDIT_NOTE_REASON:
        raise InvalidInput("invalid_reason", f"Un avoir a un motif de 1 à {MAX_CREDIT_NOTE_REASON} caractères.")
    if status == DRAFT:
        raise Conflict("invoice_not_final", "Une facture en brouillon se corrige en relançant la tournée, "
                                            "pas par un avoir.")
    if status in (PAID, CANCELLED):
        raise Conflict("invoice_settled", "Cette facture est déjà soldée.")
    if amount_cents > balance_cents:
        raise Conflict("credit_exceeds_balance", f"L'avoir dépasse le reste à payer ({format_euros(balance_cents)}).")
    return amount_cents, reason


def vocabulary():
    return {"regies": REGIES, "invoice_statuses": INVOICE_STATUSES, "run_statuses": RUN_STATUSES,
            "payment_methods": PAYMENT_METHODS, "agent_payment_methods": list(AGENT_PAYMENT_METHODS),
            "line_kinds": LINE_KINDS, "deliveries": DELIVERIES, "limits": {"credit_note_reason": MAX_CREDIT_NOTE_REASON,
                                                   "estimate_meals": MAX_ESTIMATE_MEALS,
                                                   "estimate_hours": MAX_ESTIMATE_HOURS}}


# --- Documents: the online invoice, how to pay, the tax certificate (documents.py) ---------------------------

ONLINE, PAPER = "online", "paper"
DELIVERIES = {ONLINE: "Facture en ligne : pas de papier, un e-mail à chaque nouvelle facture",
              PAPER: "Facture papier, envoyée par courrier"}
REGIE_NAMES = {AFFAIRES_SCOLAIRES: "Régie Affaires Scolaires (restauration scolaire)",
               PETITE_ENFANCE: "Régie Petite Enfance (multi-accueil « Bout D'chou »)"}
# Where to pay at a counter, per régie (cash, cheque, and CESU at the multi-accueil).
PAYMENT_DESKS = {
    AFFAIRES_SCOLAIRES: "En espèces ou par chèque à l'ordre du Trésor public, à la Mairie de Donges, service Affaires "
                        "Scolaires (place Armand Morvan, 02 40 45 79 79), en rappelant le numéro de la facture.",
    PETITE_ENFANCE: "En espèces, par chèque à l'ordre du Trésor public ou en CESU, au multi-accueil « Bout D'chou » "
                    "(02 40 91 01 91), en rappelant le numéro de la facture.",
}
# Paid with CESU préfinancés, an employer's aid, not an expense of the family: left out of the tax certificate.
TAX_EXCLUDED_METHODS = ("cesu",)
TAX_CHILD_AGE = 6
FIRST_TAX_YEAR = 2000


def parse_paperless(value):
    if not isinstance(value, bool):
        raise InvalidInput("invalid_paperless", "« paperless » vaut true (facture en ligne) ou false (papier).")
    return value


def parse_year(value, today):
    """A calendar year from 2000 to this one."""
    try:
        year = int(str(value)) if not isinstance(value, bool) else None
    except ValueError:
        year = None
    if year is None or not FIRST_TAX_YEAR <= year <= today.year:
        raise InvalidInput("invalid_year", f"L'année s'écrit comme « {today.year - 1} », de {FIRST_TAX_YEAR} à "
                                           f"{today.year}.")
    return year


def under_six_on_first_january(birth_date, year):
    """Born during the year or in the six years before it, not on 1 January six years before (6 that day)."""
    return date(year - TAX_CHILD_AGE, 1, 1) < birth_date <= date(year, 12, 31)


def is_meal(kind):
    return kind.startswith("meal")


def tax_certificate(year, children, lines_by_invoice, payments):
    """What the family paid the multi-accueil in `year` for each child under six on 1 January.

    children: dicts with child_id, first_name, last_name, birth_date (date); lines_by_invoice: {invoice_id:
    [(child_id, kind, amount_cents)]} of the multi-accueil's invoices; payments: (invoice_id, method, amount_cents)
    received in the year. The rule: each payment pays its invoice's lines in proportion to their amounts, so a
    child's part of a payment is the payment × (the child's care lines, meals left out) / (the invoice's total);
    a child's year is the exact sum of its parts, rounded once to the cent, half up. CESU payments are left out
    (and their sum is said); an older child is not certified."""
    certified = {c["child_id"]: c for c in children if under_six_on_first_january(c["birth_date"], year)}
    exact = {child_id: Decimal(0) for child_id in certified}
    excluded = 0
    for invoice_id, method, amount_cents in payments:
        lines = lines_by_invoice.get(invoice_id, [])
        base = sum(amount for _, _, amount in lines)
        if base <= 0:
            continue
        if method in TAX_EXCLUDED_METHODS:
            excluded += amount_cents
            continue
        for child_id in exact:
            share = sum(amount for owner, kind, amount in lines if owner == child_id and not is_meal(kind))
            exact[child_id] += Decimal(amount_cents) * share / base
    rows = [{**certified[child_id], "amount_cents": max(round_cents(amount), 0)}
            for child_id, amount in exact.items()]
    rows = [row for row in rows if row["amount_cents"] > 0]
    rows.sort(key=lambda row: (row["birth_date"], row["first_name"]))
    return {"year": year, "children": rows, "total_cents": sum(row["amount_cents"] for row in rows),
            "cesu_cents": excluded}


def invoice_notice(number, regie, period_text, total_text, due_text, link, settings_link, direct_debit=False):
    """The mail that tells a family on the online invoice that a new one is there: (subject, body)."""
    service = REGIES[regie]
    subject = f"Votre facture {number} ({period_text}) est disponible"
    body = (f"Bonjour,\n\nVotre facture {number} du mois de {period_text} ({service}) est disponible sur votre "
            f"Espace Famille : {total_text}, {payment_due(due_text, direct_debit)}.\n\n"
            + ("Consultez-la ou téléchargez-la" if direct_debit else "Consultez-la, téléchargez-la ou payez-la en ligne")
            + f" :\n{link}\n\n"
            "Vous avez choisi la facture en ligne : vous ne la recevrez pas par courrier. Pour revenir à la facture "
            f"papier :\n{settings_link}\n\nVille de Donges — Espace Famille\n"
            "Ce message est envoyé automatiquement, merci de ne pas y répondre.")
    return subject, body


# --- When an invoice is paid, as its documents say it (a direct-debit invoice is not the family's to pay) ----------

def payment_due(due_text, direct_debit):
    """«à régler avant le …», or «prélevée sur votre compte à l'échéance du …» for an invoice under direct debit."""
    if direct_debit:
        return f"prélevée sur votre compte à l'échéance du {due_text}"
    return f"à régler avant le {due_text}"
