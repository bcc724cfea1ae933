"""The canteen's rules: each day's state, what a request may change, what a month bills, what an absence
and a menu may say, and the vocabulary (codes with their French labels) the service owns. No framework here."""
import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from espace_common.errors import Conflict, InvalidInput
from espace_common.formatting import clock, date_numeric

from .calendar_rules import days_between, deadline_for, is_changeable

MAX_RANGE_DAYS = 366
RESERVED, NOT_RESERVED, ABSENT, CLOSED = "reserved", "not_reserved", "absent", "closed"
DAY_STATES = {RESERVED: "Réservé", NOT_RESERVED: "Non réservé", ABSENT: "Absent", CLOSED: "Fermé"}
BULK_RESULTS = {"reserved": "réservé", "cancelled": "annulé", "unchanged": "inchangé", "refused": "refusé"}
ABSENCE_REASONS = {"illness": "Maladie", "other": "Autre motif"}
SCHOOL_KINDS = {"public": "École publique", "private": "École privée"}

# What the service stores at most, refused beyond (the gateway's forms and the API's schema say the same).
LIMITS = {"school_name": 100, "school_address": 200, "class_name": 60, "closure_reason": 200, "dish_name": 120,
          "news_title": 200, "news_body": 20000, "document_name": 150}
MAX_ICS_BYTES = 2 * 1024 * 1024


def bounded_text(value, limit_name, code, what):
    """The text stripped, refused when longer than the service stores."""
    text = str(value or "").strip()
    limit = LIMITS[limit_name]
    if len(text) > limit:
        raise InvalidInput(code, f"{what} ne doit pas dépasser {limit} caractères.")
    return text


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
    closure: str | None = None  # a refused closed day's kind ("public_holiday", "holiday", ...): pages show it as closed

    def as_dict(self):
        return {"child_id": self.child_id, "date": self.date.isoformat(), "result": self.result, "reason": self.reason,
                "closure": self.closure}


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
            f"{date_numeric(deadline.date())} à {clock(deadline.timetz())}.")


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


def meals_ahead(views, enrolled_years, today, count=3):
    """The dashboard's view of a child's coming days: the next `count` meals reserved from today, and the school
    days still open and not reserved whose deadline is the next one to pass (what to reserve before it)."""
    days = [v for v in views if v.date >= today and v.state != CLOSED and school_year_of(v.date) in enrolled_years]
    upcoming = [v for v in days if v.state == RESERVED][:count]
    open_days = [v for v in days if v.changeable]
    next_deadline = min((v.deadline for v in open_days), default=None)
    to_reserve = [v for v in open_days if v.deadline == next_deadline and v.state == NOT_RESERVED]
    return {"next_meals": [v.date.isoformat() for v in upcoming], "next_deadline": next_deadline,
            "to_reserve": [v.date.isoformat() for v in to_reserve]}


def check_change(day, calendar, rules, now):
    """Refuse a single-day change on a closed or frozen day (HTTP 409 at the gateway)."""
    closure = calendar.closure_reason(day, rules)
    if closure:
        raise Conflict("day_closed", closure)
    if not is_changeable(day, now, rules):
        raise Conflict("day_frozen", frozen_reason(day, rules))


def check_meal_change(day, action, calendar, rules, now, absent, enrolled_years):
    """Everything that may refuse one day's change: the action, the calendar, the deadline, an absence, and
    (to reserve) the child's enrolment for that day's school year."""
    if action not in ("reserve", "cancel"):
        raise InvalidInput("invalid_action", "L'action est « reserve » ou « cancel ».")
    check_change(day, calendar, rules, now)
    if absent:
        raise Conflict("day_absent", "Une absence est signalée ce jour-là : le repas ne peut plus être modifié.")
    year = school_year_of(day)
    if action == "reserve" and year not in enrolled_years:
        raise Conflict("not_enrolled", f"Cet enfant n'est pas inscrit à la restauration scolaire pour l'année {year}.")


def not_enrolled_reason(year):
    return f"Enfant non inscrit à la restauration scolaire pour l'année {year}."


def plan_bulk(child_ids, start, end, weekdays, action, calendar, rules, now, reserved_by_child, enrolled_by_child):
    """Decide, day by day and child by child, what a bulk request does; a day the child is not enrolled for
    (its school year) is refused with the reason instead of failing the whole request."""
    if action not in ("reserve", "cancel"):
        raise InvalidInput("invalid_action", "L'action est « reserve » ou « cancel ».")
    outcomes = []
    for child_id in child_ids:
        reserved = reserved_by_child.get(child_id, set())
        enrolled = enrolled_by_child.get(child_id, set())
        for day in days_between(start, end):
            if day.isoweekday() not in weekdays:
                continue
            closure = calendar.closure(day, rules)
            if closure:
                outcomes.append(Outcome(child_id, day, "refused", closure[1], closure[0]))
            elif not is_changeable(day, now, rules):
                outcomes.append(Outcome(child_id, day, "refused", frozen_reason(day, rules)))
            elif (action == "reserve") == (day in reserved):
                outcomes.append(Outcome(child_id, day, "unchanged"))
            elif action == "reserve" and school_year_of(day) not in enrolled:
                outcomes.append(Outcome(child_id, day, "refused", not_enrolled_reason(school_year_of(day))))
            else:
                outcomes.append(Outcome(child_id, day, "reserved" if action == "reserve" else "cancelled"))
    return outcomes


def bulk_summary(outcomes):
    return {result: sum(o.result == result for o in outcomes) for result in BULK_RESULTS}


def absence_is_billable(reason, first_day, reported_at, has_justification, rules):
    """An illness absence with a medical justification reported within the delay is not billed."""
    start_of_first_day = datetime.combine(first_day, datetime.min.time(), tzinfo=rules.zone)
    in_time = reported_at <= start_of_first_day + timedelta(hours=rules.justification_hours)
    return not (reason == "illness" and has_justification and in_time)


@dataclass(frozen=True)
class Absence:
    """What billing needs to know of a reported absence."""

    start: date
    end: date
    reason: str
    reported_at: datetime
    has_justification: bool


def month_bounds(month):
    """'2026-11' -> (1 November, 30 November)."""
    try:
        year, number = (int(part) for part in str(month).split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise InvalidInput("invalid_month", "Le mois s'écrit comme « 2026-11 ».") from None
    return first, date(year, number, month_calendar.monthrange(year, number)[1])


def billable_month(first, last, booked, eaten, absences, rules):
    """A child's month for billing: booked days less those an absence justifies in time, the meals eaten
    without a reservation, and the booked days of absences, justified or not."""
    justified, unjustified = set(), set()
    for absence in absences:
        billable = absence_is_billable(absence.reason, absence.start, absence.reported_at,
                                       absence.has_justification, rules)
        for day in days_between(max(absence.start, first), min(absence.end, last)):
            if day in booked:
                (unjustified if billable else justified).add(day)
    return {"reserved": _iso(booked - justified), "eaten_without_reservation": _iso(eaten - booked),
            "absent_justified": _iso(justified), "absent_unjustified": _iso(unjustified)}


def _iso(days):
    return sorted(d.isoformat() for d in days)


# --- Attendance ------------------------------------------------------------------------

MAX_ATTENDANCE_CHILDREN = 2000  # a school's sheet of a day, with room to spare


def parse_eaten(child_ids):
    """The children who ate, as a list of ids without repeats (the agents' sheet, the school's tablet)."""
    if not isinstance(child_ids, (list, tuple)) or len(child_ids) > MAX_ATTENDANCE_CHILDREN \
            or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in child_ids):
        raise InvalidInput("invalid_children", "Les enfants qui ont mangé sont une liste d'identifiants "
                                               f"(au plus {MAX_ATTENDANCE_CHILDREN}).")
    return list(dict.fromkeys(child_ids))


def check_attendance_day(day, today):
    """Attendance is taken on the day or after, never ahead."""
    if day > today:
        raise InvalidInput("attendance_future", "Les présences se saisissent le jour même ou après, "
                                                "pas à l'avance.")


def parse_past_days(days):
    """The days of a régularisation: a list of dates, a month's worth at most, sorted without repeats."""
    if not isinstance(days, (list, tuple)) or len(days) > 31:
        raise InvalidInput("invalid_days", "Les jours sont une liste de dates (31 au plus).")
    return sorted({parse_date(day, "date") for day in days})


def check_regularisation(day, today, closure, enrolled_years):
    """A reservation recorded after the fact is for a school day already past, of a school year the child was
    enrolled in."""
    if day >= today:
        raise InvalidInput("regularisation_not_past", "Une régularisation porte sur des jours passés : les jours à "
                                                      "venir se réservent avant leur date limite.")
    if closure:
        raise Conflict("day_closed", f"Le {date_numeric(day)} n'est pas un jour de restauration scolaire. "
                                     f"{closure[1]}")
    if school_year_of(day) not in enrolled_years:
        raise Conflict("not_enrolled", not_enrolled_reason(school_year_of(day)))


def shortened(text, limit=40):
    """An id echoed in a message, cut short whatever was sent."""
    return text if len(text) <= limit else text[:limit] + "…"


# --- Absences --------------------------------------------------------------------------

def check_absence(start, end, reason, today, rules):
    """An absence is reported for a known reason, within a bounded period around today.

    It starts at most `absence_past_days` ago (what is older has been billed and pointed already), ends
    before the end of the next school year, and lasts at most `absence_max_days` days.
    """
    if reason not in ABSENCE_REASONS:
        raise InvalidInput("invalid_reason", "Le motif est « illness » (maladie) ou « other » (autre).")
    if end < start:
        raise InvalidInput("invalid_range", "La date de fin précède la date de début.")
    earliest = today - timedelta(days=rules.absence_past_days)
    if start < earliest:
        raise InvalidInput("absence_too_old", "Une absence se signale au plus tard "
                                              f"{rules.absence_past_days} jours après son premier jour "
                                              f"(au plus tôt le {date_numeric(earliest)}).")
    latest = school_year_end(next_school_year(school_year_of(today)))
    if end > latest:
        raise InvalidInput("absence_too_far", "Une absence se signale au plus pour l'année scolaire suivante "
                                              f"(jusqu'au {date_numeric(latest)}).")
    if (end - start).days + 1 > rules.absence_max_days:
        raise InvalidInput("range_too_long", f"Une absence dure au plus {rules.absence_max_days} jours : "
                                             "signalez une absence plus longue en plusieurs fois.")


def same_absence(existing, start, end, reason):
    """A report repeating an earlier one (same days, same reason) is that one again."""
    return existing.start == start and existing.end == end and existing.reason == reason


def overlap_refusal(existing):
    return Conflict("absence_overlaps", "Une absence est déjà signalée du "
                                        f"{date_numeric(existing.start)} au {date_numeric(existing.end)} "
                                        "pour cet enfant.")


JUSTIFICATION_STATES = {"none": "Sans justificatif", "waiting": "À envoyer", "accepted": "Accepté",
                        "refused": "Non retenu"}


def justification_deadline(first_day, rules):
    """The last instant a medical certificate can be sent for an absence: `justification_hours` after the start
    of its first day, in the town's time (what the absence page announces)."""
    return datetime.combine(first_day, datetime.min.time(), tzinfo=rules.zone) + \
        timedelta(hours=rules.justification_hours)


def justification_state(reason, first_day, reported_at, has_document, now, rules):
    """Where the parent stands with an absence's justification. The canteen has no agent reviewing it: the rule
    decides at once. «accepted»: an illness with its certificate in time, whose meals are not billed; «refused»: a
    file that cannot spare the meals (another reason, or reported too late); «waiting»: an illness with no
    certificate yet and still time to send one; «none»: nothing sent and nothing more to send."""
    if has_document:
        return "refused" if absence_is_billable(reason, first_day, reported_at, True, rules) else "accepted"
    if reason == "illness" and now <= justification_deadline(first_day, rules) \
            and not absence_is_billable(reason, first_day, reported_at, True, rules):
        return "waiting"
    return "none"


def check_attachment(has_document, first_day, now, rules):
    """A certificate is added afterwards once, and only within the window the page announces."""
    if has_document:
        raise Conflict("already_justified", "Un justificatif a déjà été envoyé pour cette absence.")
    deadline = justification_deadline(first_day, rules)
    if now > deadline:
        moment = deadline.astimezone(rules.zone)
        raise Conflict("justification_too_late", "Le justificatif devait être envoyé au plus tard le "
                                                 f"{moment.strftime('%d/%m/%Y à %H:%M')}, {rules.justification_hours} "
                                                 "heures après le premier jour d'absence.")


def check_withdrawal(first_day, today):
    """Only an absence that has not begun is withdrawn: the days already past have been counted (and billed)."""
    if first_day <= today:
        raise Conflict("absence_started", "Cette absence a déjà commencé : elle ne peut plus être retirée. "
                                          "Appelez le service des Affaires Scolaires pour la modifier.")


# --- School years, menus, diets ----------------------------------------------------

def school_year_of(day):
    """'2026-2027' for any day from 1 September 2026 to 31 August 2027."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def next_school_year(year):
    first = int(year[:4]) + 1
    return f"{first}-{first + 1}"


def school_year_end(year):
    return date(int(year[5:]), 8, 31)


def offered_school_years(today):
    """The school years agents enrol for and add classes to: this one and the next."""
    current = school_year_of(today)
    return [current, next_school_year(current)]


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
# The courses in the order a menu shows them.
COURSES = {
    "entree": "Entrée", "plat": "Plat", "accompagnement": "Accompagnement", "laitage": "Produit laitier",
    "dessert": "Dessert", "gouter": "Goûter",
}
DIETS = {"standard": "Standard", "sans_porc": "Sans porc", "vegetarien": "Végétarien"}
# What the kitchen cooks: a child with a PAI brings a basket whatever the diet.
MEAL_KINDS = {**DIETS, "panier_pai": "Panier repas (PAI)"}


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
        name = bounded_text(item["name"], "dish_name", "invalid_menu", "Le nom d'un plat")
        parsed.append({"course": item["course"], "name": name,
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


def cooked_for(reserved_child_ids, absent_child_ids):
    """A child reported absent is not cooked for, though the meal stays booked (and billed unless justified)."""
    return set(reserved_child_ids) - set(absent_child_ids)


def headcount(reserved_child_ids, absent_child_ids, diets):
    """Meals of a day split by diet, absent children left out; a child with a PAI brings a basket."""
    cooked = cooked_for(reserved_child_ids, absent_child_ids)
    by_diet = dict.fromkeys(MEAL_KINDS, 0)
    for child_id in cooked:
        diet, pai = diets.get(child_id, ("standard", False))
        by_diet["panier_pai" if pai else diet] += 1
    return {"total": len(cooked), "by_diet": by_diet}


# --- Schools, classes, news ----------------------------------------------------------------

def parse_school(name, kind, address):
    name = bounded_text(name, "school_name", "invalid_school", "Le nom d'une école")
    if not name or kind not in SCHOOL_KINDS:
        raise InvalidInput("invalid_school", "Une école a un nom et est publique ou privée.")
    return name, kind, bounded_text(address, "school_address", "invalid_school", "L'adresse d'une école")


def in_use_message(subject, enrolled):
    """Why a school or class cannot be deleted, in French: it has children enrolled (or meals recorded)."""
    if enrolled:
        children = "un enfant inscrit" if enrolled == 1 else f"{enrolled} enfants inscrits"
        return (f"{subject} a {children} : elle ne peut pas être supprimée. "
                "Changez d'abord l'inscription de ces enfants, ou corrigez son nom.")
    return f"{subject} a des repas enregistrés : elle ne peut pas être supprimée, pour garder l'historique."


def parse_class_name(name):
    return bounded_text(name, "class_name", "invalid_class", "Le nom d'une classe") or "Classe"


def parse_closure_reason(reason):
    return bounded_text(reason, "closure_reason", "invalid_reason", "Le motif d'une fermeture")


def parse_news(title, body, kind):
    title = bounded_text(title, "news_title", "invalid_news", "Le titre d'une actualité")
    body = bounded_text(body, "news_body", "invalid_news", "Le texte d'une actualité")
    if not title or not body or kind not in ("news", "practical"):
        raise InvalidInput("invalid_news", "Une actualité a un titre, un texte, et est « news » ou « practical ».")
    return title, body, kind


def check_ics_size(ics_text):
    if len(str(ics_text or "").encode("utf-8")) > MAX_ICS_BYTES:
        raise InvalidInput("invalid_calendar", f"Le fichier ne doit pas dépasser {MAX_ICS_BYTES // (1024 * 1024)} Mo.")


def vocabulary(rules, max_document_bytes, document_types):
    """The codes this service owns with their French labels, and the limits it enforces: the gateway's
    only source for them."""
    return {
        "allergens": ALLERGENS, "labels": LABELS, "courses": [{"code": c, "label": lab} for c, lab in COURSES.items()],
        "diets": DIETS, "meal_kinds": MEAL_KINDS, "day_states": DAY_STATES, "bulk_results": BULK_RESULTS,
        "absence_reasons": ABSENCE_REASONS, "school_kinds": SCHOOL_KINDS, "justification_states": JUSTIFICATION_STATES,
        "justification": {"max_bytes": max_document_bytes, "media_types": list(document_types),
                          "hours": rules.justification_hours},
        "absence": {"past_days": rules.absence_past_days, "max_days": rules.absence_max_days},
        "max_ics_bytes": MAX_ICS_BYTES, "limits": LIMITS,
        "school_weekdays": list(rules.school_weekdays),
    }
