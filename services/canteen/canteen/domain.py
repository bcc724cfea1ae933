"""Meal reservations: what each day's state is, and what a request may change. No framework here."""
from dataclasses import dataclass
from datetime import date, timedelta

from espace_common.errors import Conflict, InvalidInput

from .calendar_rules import days_between, deadline_for, is_changeable

MAX_RANGE_DAYS = 366
RESERVED, NOT_RESERVED, ABSENT, CLOSED = "reserved", "not_reserved", "absent", "closed"
ABSENCE_REASONS = ("illness", "other")


@dataclass(frozen=True)
class DayView:
    date: date
    state: str
    changeable: bool
    deadline: str | None
    reason: str | None
    closure: str | None = None

    def as_dict(self):
        return {"date": self.date.isoformat(), "state": self.state, "changeable": self.changeable,
                "deadline": self.deadline, "reason": self.reason, "closure": self.closure}


@dataclass(frozen=True)
class Outcome:
    """What a bulk request did, or why it did not, for one child and one day."""

    child_id: str
    date: date
    result: str  # "reserved", "cancelled", "unchanged" or "refused"
    reason: str | None = None

    def as_dict(self):
        return {"child_id": self.child_id, "date": self.date.isoformat(), "result": self.result, "reason": self.reason}


def parse_date(value, field):
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("invalid_date", f"La date « {value} » ({field}) doit être au format AAAA-MM-JJ.") from None


def parse_range(start, end):
    start, end = parse_date(start, "from"), parse_date(end, "to")
    if end < start:
        raise InvalidInput("invalid_range", "La date de fin précède la date de début.")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput("range_too_long", "La période ne peut pas dépasser un an.")
    return start, end


def parse_weekdays(weekdays):
    if not isinstance(weekdays, list) or not weekdays or any(d not in range(1, 8) for d in weekdays):
        raise InvalidInput("invalid_weekdays", "Les jours de la semaine sont des numéros de 1 (lundi) à 7 (dimanche).")
    return frozenset(weekdays)


def frozen_reason(day, rules):
    deadline = deadline_for(day, rules)
    return (f"Ce jour ne peut plus être modifié : la date limite était le "
            f"{deadline.strftime('%d/%m/%Y à %Hh%M')}.")


def day_views(start, end, calendar, rules, now, reserved, absent):
    """One entry per calendar day, in order."""
    views = []
    for day in days_between(start, end):
        closure = calendar.closure(day, rules)
        if closure:
            views.append(DayView(day, CLOSED, False, None, closure[1], closure[0]))
            continue
        deadline = deadline_for(day, rules)
        changeable = now < deadline
        state = ABSENT if day in absent else RESERVED if day in reserved else NOT_RESERVED
        reason = None if changeable else frozen_reason(day, rules)
        if state == ABSENT:
            changeable, reason = False, "Absence signalée."
        views.append(DayView(day, state, changeable, deadline.isoformat(), reason))
    return views


def check_change(day, calendar, rules, now):
    """Refuse a single-day change on a closed or frozen day (HTTP 409 at the gateway)."""
    closure = calendar.closure_reason(day, rules)
    if closure:
        raise Conflict("day_closed", closure)
    if not is_changeable(day, now, rules):
        raise Conflict("day_frozen", frozen_reason(day, rules))


def plan_bulk(child_ids, start, end, weekdays, action, calendar, rules, now, reserved_by_child):
    """Decide, day by day and child by child, what a bulk request does."""
    if action not in ("reserve", "cancel"):
        raise InvalidInput("invalid_action", "L'action est « reserve » ou « cancel ».")
    outcomes = []
    for child_id in child_ids:
        reserved = reserved_by_child.get(child_id, set())
        for day in days_between(start, end):
            if day.isoweekday() not in weekdays:
                continue
            closure = calendar.closure_reason(day, rules)
            if closure:
                outcomes.append(Outcome(child_id, day, "refused", closure))
            elif not is_changeable(day, now, rules):
                outcomes.append(Outcome(child_id, day, "refused", frozen_reason(day, rules)))
            elif (action == "reserve") == (day in reserved):
                outcomes.append(Outcome(child_id, day, "unchanged"))
            else:
                outcomes.append(Outcome(child_id, day, "reserved" if action == "reserve" else "cancelled"))
    return outcomes


def absence_is_billable(reason, first_day, reported_at, has_justification, rules):
    """An illness absence with a medical justification reported within the delay is not billed."""
    from datetime import datetime
    start_of_first_day = datetime.combine(first_day, datetime.min.time(), tzinfo=rules.zone)
    in_time = reported_at <= start_of_first_day + timedelta(hours=rules.justification_hours)
    return not (reason == "illness" and has_justification and in_time)


# --- School years, menus, diets ----------------------------------------------------

def school_year_of(day):
    """'2026-2027' for any day from 1 September 2026 to 31 August 2027."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def parse_school_year(value):
    text = str(value or "")
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 4 for p in parts) or int(parts[1]) != int(parts[0]) + 1:
        raise InvalidInput("invalid_school_year", "L'année scolaire s'écrit comme « 2026-2027 ».")
    return text


# The 14 allergens that European regulation (INCO 1169/2011) asks canteens to show.
ALLERGENS = {
    "gluten": "Gluten", "crustaces": "Crustacés", "oeufs": "Œufs", "poissons": "Poissons",
    "arachides": "Arachides", "soja": "Soja", "lait": "Lait", "fruits_a_coque": "Fruits à coque",
    "celeri": "Céleri", "moutarde": "Moutarde", "sesame": "Sésame", "sulfites": "Sulfites",
    "lupin": "Lupin", "mollusques": "Mollusques",
}
# Labels the EGalim law asks to show, and the vegetarian dish.
LABELS = {
    "bio": "Agriculture biologique", "label_rouge": "Label Rouge", "aop": "AOP", "igp": "IGP",
    "hve": "Haute Valeur Environnementale", "peche_durable": "Pêche durable", "local": "Produit local",
    "vegetarien": "Plat végétarien",
}
COURSES = ("entree", "plat", "accompagnement", "laitage", "dessert", "gouter")
DIETS = ("standard", "sans_porc", "vegetarien")


def parse_courses(courses):
    if not isinstance(courses, list) or not courses:
        raise InvalidInput("invalid_menu", "Un menu a au moins un plat.")
    parsed = []
    for item in courses:
        if not isinstance(item, dict) or item.get("course") not in COURSES or not str(item.get("name") or "").strip():
            raise InvalidInput("invalid_menu", f"Chaque plat a un type parmi {', '.join(COURSES)} et un nom.")
        allergens = list(dict.fromkeys(item.get("allergens") or []))
        labels = list(dict.fromkeys(item.get("labels") or []))
        unknown = [a for a in allergens if a not in ALLERGENS] + [lab for lab in labels if lab not in LABELS]
        if unknown:
            raise InvalidInput("invalid_menu", f"Allergène ou label inconnu : {', '.join(unknown)}.")
        parsed.append({"course": item["course"], "name": str(item["name"]).strip()[:120],
                       "allergens": allergens, "labels": labels})
    return parsed


def parse_iso_week(text):
    """'2026-W49' -> (Monday, Sunday)."""
    try:
        year, week = str(text).upper().split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise InvalidInput("invalid_week", "La semaine s'écrit comme « 2026-W49 ».") from None
    return monday, monday + timedelta(days=6)


def headcount(reserved_child_ids, diets):
    """Meals of a day split by diet; a child with a PAI brings a basket whatever the diet."""
    by_diet = {"standard": 0, "sans_porc": 0, "vegetarien": 0, "panier_pai": 0}
    for child_id in reserved_child_ids:
        diet, pai = diets.get(child_id, ("standard", False))
        by_diet["panier_pai" if pai else diet] += 1
    return {"total": len(reserved_child_ids), "by_diet": by_diet}
