"""The multi-accueil's rules: its calendar and slots, who may be booked, the 48-hour rule, the half-hour count,
the leave allowance, what an absence deducts, and the vocabulary the service owns. No framework here.

Every number comes from ChildcareRules (config.yml); the French public holidays are the law's list.
"""
import calendar as month_calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from espace_common.errors import Conflict, InvalidInput
from espace_common.french_calendar import french_public_holidays

MAX_RANGE_DAYS = 93
CONFIRMED, WAITING, CANCELLED = "confirmed", "waiting", "cancelled"
BOOKING_STATUSES = {CONFIRMED: "Confirmée", WAITING: "En liste d'attente", CANCELLED: "Annulée"}
REGISTRATION_KINDS = {"occasional": "Accueil occasionnel", "regular": "Accueil régulier (contrat)"}
ABSENCE_REASONS = {"illness": "Maladie", "hospitalisation": "Hospitalisation", "other": "Autre motif"}
DECISIONS = {"none": "Sans justificatif", "pending": "À examiner", "accepted": "Accepté", "refused": "Refusé"}
CLOSURE_KINDS = {"public_holiday": "Jour férié", "weekday": "Jour de fermeture hebdomadaire",
                 "summer": "Fermeture estivale", "training": "Journée pédagogique", "closed": "Fermeture"}
DEDUCTION_REASONS = {"leave": "Congé déclaré", "hospitalisation": "Hospitalisation de l'enfant",
                     "illness": "Maladie au-delà du délai de carence", "closure": "Fermeture de la crèche",
                     "justified_cancellation": "Annulation tardive justifiée"}
LIMITS = {"closure_reason": 200, "comment": 500, "news_title": 200, "news_body": 20000, "document_name": 150}


@dataclass(frozen=True)
class ChildcareRules:
    """The crèche's defaults (see the design), each one a setting."""

    name: str = "Multi-accueil Bout D'chou"
    opening_weekdays: tuple = (1, 2, 3, 4, 5)
    opens: time = time(7, 30)
    closes: time = time(18, 30)
    slots: tuple = ((time(8, 0), time(12, 0)), (time(13, 30), time(18, 0)))
    slot_capacity: int = 4
    weeks_ahead: int = 4
    cancellation_hours: int = 48
    min_age_weeks: int = 10
    max_age_months: int = 48
    illness_waiting_days: int = 3
    leave_notice_days: int = 1
    absence_past_days: int = 30
    absence_max_days: int = 62
    timezone: str = "Europe/Paris"

    @property
    def zone(self):
        return ZoneInfo(self.timezone)

    @classmethod
    def from_config(cls, config):
        def number(key, default):
            return int(config.get(key, default))
        return cls(
            name=str(config.get("CHILDCARE_NAME") or cls.name),
            opening_weekdays=tuple(int(d) for d in str(config.get("CHILDCARE_OPENING_WEEKDAYS", "1,2,3,4,5")).split(",")
                                   if d.strip()),
            opens=parse_clock(config.get("CHILDCARE_OPENS", "07h30")),
            closes=parse_clock(config.get("CHILDCARE_CLOSES", "18h30")),
            slots=parse_slot_times(config.get("CHILDCARE_SLOTS", "08h00-12h00,13h30-18h00")),
            slot_capacity=number("CHILDCARE_SLOT_CAPACITY", 4),
            weeks_ahead=number("CHILDCARE_WEEKS_AHEAD", 4),
            cancellation_hours=number("CHILDCARE_CANCELLATION_HOURS", 48),
            min_age_weeks=number("CHILDCARE_MIN_AGE_WEEKS", 10),
            max_age_months=number("CHILDCARE_MAX_AGE_MONTHS", 48),
            illness_waiting_days=number("CHILDCARE_ILLNESS_WAITING_DAYS", 3),
            leave_notice_days=number("CHILDCARE_LEAVE_NOTICE_DAYS", 1),
            absence_past_days=number("CHILDCARE_ABSENCE_PAST_DAYS", 30),
            absence_max_days=number("CHILDCARE_ABSENCE_MAX_DAYS", 62),
            timezone=str(config.get("TOWN_TIMEZONE", "Europe/Paris")),
        )


def parse_clock(value):
    """'08h00', '08:00' or '8h' -> time(8, 0); config.yml writes 'h' because YAML reads 08:00 as minutes."""
    text = str(value or "").strip().lower().replace("h", ":")
    if text.endswith(":"):
        text += "00"
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise InvalidInput("invalid_time", f"L'heure « {value} » doit s'écrire HH:MM.") from None


def parse_slot_times(value):
    slots = []
    for part in str(value).split(","):
        start, _, end = part.strip().partition("-")
        start, end = parse_clock(start), parse_clock(end)
        if end <= start:
            raise InvalidInput("invalid_slot", f"Le créneau « {part} » finit avant de commencer.")
        slots.append((start, end))
    return tuple(slots)


def hhmm(value):
    return value.strftime("%H:%M")


# --- Dates --------------------------------------------------------------------------------

def parse_date(value, field_name):
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("invalid_date", f"La date « {value} » ({field_name}) doit être au format AAAA-MM-JJ.") from None


def parse_range(start, end, max_days=MAX_RANGE_DAYS):
    start, end = parse_date(start, "from"), parse_date(end, "to")
    if end < start:
        raise InvalidInput("invalid_range", "La date de fin précède la date de début.")
    if (end - start).days >= max_days:
        raise InvalidInput("range_too_long", f"La période ne peut pas dépasser {max_days} jours.")
    return start, end


def days_between(start, end):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def month_bounds(month):
    """'2026-11' -> (1 November, 30 November)."""
    try:
        year, number = (int(part) for part in str(month).split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise InvalidInput("invalid_month", "Le mois s'écrit comme « 2026-11 ».") from None
    return first, date(year, number, month_calendar.monthrange(year, number)[1])


# --- The crèche's calendar -----------------------------------------------------------------

@dataclass(frozen=True)
class CrecheCalendar:
    """Days agents closed (day -> (kind, reason)) on top of the weekly closing days and public holidays."""

    closed_days: dict = field(default_factory=dict)

    def closure(self, day, rules):
        """(kind, reason) when the crèche is closed that day, else None."""
        if day.isoweekday() not in rules.opening_weekdays:
            return "weekday", "La crèche est fermée ce jour de la semaine."
        if day in french_public_holidays(day.year):
            return "public_holiday", "Jour férié : la crèche est fermée."
        if day in self.closed_days:
            kind, reason = self.closed_days[day]
            label = CLOSURE_KINDS.get(kind, "Fermeture")
            return kind, f"{label} : {reason}." if reason else f"{label} de la crèche."
        return None

    def is_open(self, day, rules):
        return self.closure(day, rules) is None


def slots_to_generate(today, rules, calendar):
    """(day, start, end) of the occasional-care slots from today to `weeks_ahead` weeks on, opening days only."""
    last = today + timedelta(weeks=rules.weeks_ahead)
    return [(day, start, end) for day in days_between(today, last) if calendar.is_open(day, rules)
            for start, end in rules.slots]


def parse_closure(kind, reason):
    if kind not in ("summer", "training", "closed"):
        raise InvalidInput("invalid_closure", "Une fermeture est « summer », « training » ou « closed ».")
    return kind, bounded_text(reason, "closure_reason", "invalid_closure", "Le motif d'une fermeture")


MAX_SLOT_CAPACITY = 40  # beyond any crèche's approval (agrément) in the town: a typo, not a capacity


def parse_capacity(value):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SLOT_CAPACITY:
        raise InvalidInput("invalid_capacity", f"La capacité est un nombre de places entre 0 et {MAX_SLOT_CAPACITY}.")
    return value


# --- Who may be booked, and when a cancellation is billed ------------------------------------

def slot_start(day, start, rules):
    return datetime.combine(day, start, tzinfo=rules.zone)


def age_limits(birth_date, rules):
    """The first and last day the crèche takes a child born on birth_date."""
    youngest = birth_date + timedelta(weeks=rules.min_age_weeks)
    months = birth_date.month - 1 + rules.max_age_months
    year, month = birth_date.year + months // 12, months % 12 + 1
    day = min(birth_date.day, month_calendar.monthrange(year, month)[1])
    return youngest, date(year, month, day) - timedelta(days=1)


def check_age(birth_date, day, rules):
    youngest, oldest = age_limits(birth_date, rules)
    if not youngest <= day <= oldest:
        raise Conflict("outside_age_range", f"La crèche accueille les enfants de {rules.min_age_weeks} semaines à "
                                            f"{rules.max_age_months // 12} ans : cet enfant peut être accueilli du "
                                            f"{youngest:%d/%m/%Y} au {oldest:%d/%m/%Y}.")


def check_bookable(slot_day, start, now, calendar, rules, registered, birth_date):
    """Everything that refuses a booking before the database settles the place itself."""
    if not registered:
        raise Conflict("not_registered", "Cet enfant n'est pas inscrit au multi-accueil : "
                                         "adressez-vous à la crèche pour l'inscrire.")
    if slot_start(slot_day, start, rules) <= now:
        raise Conflict("slot_past", "Ce créneau est déjà commencé ou passé.")
    closure = calendar.closure(slot_day, rules)
    if closure:
        raise Conflict("day_closed", closure[1])
    check_age(birth_date, slot_day, rules)


def cancellation_is_billed(slot_day, start, now, rules):
    """Free when made `cancellation_hours` hours or more before the slot starts; billed after."""
    return now > slot_start(slot_day, start, rules) - timedelta(hours=rules.cancellation_hours)


def free_cancellation_until(slot_day, start, rules):
    return slot_start(slot_day, start, rules) - timedelta(hours=rules.cancellation_hours)


# --- Counting hours -----------------------------------------------------------------------------

def minutes_between(start, end):
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def billed_minutes(minutes):
    """Care is billed by the half-hour: each half-hour begun is due."""
    return -(-max(minutes, 0) // 30) * 30


def parse_attendance(day, arrived_at, left_at, today, rules):
    day = parse_date(day, "date")
    if day > today:
        raise InvalidInput("attendance_future", "Une présence se saisit le jour même ou après.")
    arrived = parse_hhmm(arrived_at, "arrived_at")
    left = parse_hhmm(left_at, "left_at") if left_at else None
    if arrived < rules.opens or (left and left > rules.closes):
        raise InvalidInput("outside_opening_hours", f"La crèche est ouverte de {hhmm(rules.opens)} à {hhmm(rules.closes)}.")
    if left is not None and left <= arrived:
        raise InvalidInput("invalid_range", "L'heure de départ suit l'heure d'arrivée.")
    return day, arrived, left


def within_booking(arrived, left, booked):
    """True when the stay overlaps one of the day's booked slots ((start, end) as "HH:MM"): a stay that does not
    is a walk-in, billed as occasional care."""
    arrived_at, left_at = hhmm(arrived), hhmm(left) if left else hhmm(arrived)
    return any(start <= left_at and arrived_at < end for start, end in booked)


def parse_hhmm(value, field_name):
    text = str(value or "")
    if len(text) != 5 or text[2] != ":":
        raise InvalidInput("invalid_time", f"L'heure « {value} » ({field_name}) s'écrit HH:MM.")
    try:
        return time(int(text[:2]), int(text[3:]))
    except ValueError:
        raise InvalidInput("invalid_time", f"L'heure « {value} » ({field_name}) s'écrit HH:MM.") from None


# --- Registrations and contracts -------------------------------------------------------------

@dataclass(frozen=True)
class Contract:
    weekly_hours: dict  # ISO weekday (int) -> (arrives, leaves) as times
    weeks_per_year: int
    start: date
    end: date
    leave_days: int

    def minutes_on(self, day):
        """The contracted minutes of a day (0 outside the contract or its weekdays)."""
        if not self.start <= day <= self.end or day.isoweekday() not in self.weekly_hours:
            return 0
        arrives, leaves = self.weekly_hours[day.isoweekday()]
        return minutes_between(arrives, leaves)

    @property
    def weekly_minutes(self):
        return sum(minutes_between(a, b) for a, b in self.weekly_hours.values())

    @property
    def months(self):
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @property
    def monthly_minutes(self):
        """Regular care is billed in equal monthly parts: hours a week × weeks a year / 12."""
        return round(self.weekly_minutes * self.weeks_per_year / 12)

    def as_dict(self):
        return {"weekly_hours": {str(d): [hhmm(a), hhmm(b)] for d, (a, b) in sorted(self.weekly_hours.items())},
                "weeks_per_year": self.weeks_per_year, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "leave_days": self.leave_days, "weekly_minutes": self.weekly_minutes,
                "monthly_minutes": self.monthly_minutes}


def parse_contract(contract, rules):
    if not isinstance(contract, dict):
        raise InvalidInput("invalid_contract", "Un accueil régulier a un contrat.")
    weekly = contract.get("weekly_hours")
    if not isinstance(weekly, dict) or not weekly:
        raise InvalidInput("invalid_contract", "Le contrat donne les horaires d'au moins un jour de la semaine.")
    hours = {}
    for weekday, pair in weekly.items():
        if str(weekday) not in {str(d) for d in rules.opening_weekdays}:
            raise InvalidInput("invalid_contract", f"La crèche n'ouvre pas le jour {weekday} de la semaine.")
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise InvalidInput("invalid_contract", "Les horaires d'un jour s'écrivent [\"08:30\", \"17:00\"].")
        arrives, leaves = parse_hhmm(pair[0], "weekly_hours"), parse_hhmm(pair[1], "weekly_hours")
        if leaves <= arrives or arrives < rules.opens or leaves > rules.closes:
            raise InvalidInput("invalid_contract", f"Les horaires d'un jour sont compris entre {hhmm(rules.opens)} et "
                                                   f"{hhmm(rules.closes)}, l'arrivée avant le départ.")
        hours[int(weekday)] = (arrives, leaves)
    weeks, leave_days = contract.get("weeks_per_year"), contract.get("leave_days", 0)
    if not isinstance(weeks, int) or isinstance(weeks, bool) or not 1 <= weeks <= 52:
        raise InvalidInput("invalid_contract", "Le nombre de semaines par an est entre 1 et 52.")
    if not isinstance(leave_days, int) or isinstance(leave_days, bool) or not 0 <= leave_days <= 366:
        raise InvalidInput("invalid_contract", "Le nombre de jours de congé est entre 0 et 366.")
    start, end = parse_date(contract.get("start"), "start"), parse_date(contract.get("end"), "end")
    if end < start or (end - start).days > 366:
        raise InvalidInput("invalid_contract", "Un contrat dure au plus un an, sa fin suit son début.")
    return Contract(hours, weeks, start, end, leave_days)


def contract_from_row(row):
    return Contract({int(d): (parse_hhmm(a, "weekly_hours"), parse_hhmm(b, "weekly_hours"))
                     for d, (a, b) in row.weekly_hours.items()},
                    row.weeks_per_year, row.contract_start, row.contract_end, row.leave_days)


def leave_days_in(contract, start, end, calendar, rules):
    """The contract days a leave covers (closed days are not leave: the crèche deducts them anyway)."""
    return [d for d in days_between(start, end) if contract.minutes_on(d) and calendar.is_open(d, rules)]


def check_leave(contract, start, end, today, rules, days):
    if start < today + timedelta(days=rules.leave_notice_days):
        raise Conflict("leave_too_late", "Un congé se déclare à l'avance : au plus tard "
                                         f"{rules.leave_notice_days} jour(s) avant son premier jour.")
    if start < contract.start or end > contract.end:
        raise Conflict("outside_contract", "Ce congé sort des dates du contrat "
                                           f"({contract.start:%d/%m/%Y} – {contract.end:%d/%m/%Y}).")
    if not days:
        raise Conflict("no_contract_day", "Aucun jour d'accueil du contrat dans cette période.")


def leave_refusal(allowed, taken):
    return Conflict("leave_allowance_exceeded", f"Ce congé dépasse le nombre de jours de congé du contrat : "
                                                f"{allowed - taken} jour(s) restant(s) sur {allowed}.")


# --- Absences and what they deduct ----------------------------------------------------------------

def check_absence(start, end, reason, today, rules):
    if reason not in ABSENCE_REASONS:
        raise InvalidInput("invalid_reason", "Le motif est « illness », « hospitalisation » ou « other ».")
    if end < start:
        raise InvalidInput("invalid_range", "La date de fin précède la date de début.")
    if start < today - timedelta(days=rules.absence_past_days):
        raise InvalidInput("absence_too_old", f"Une absence se signale au plus tard {rules.absence_past_days} jours "
                                              "après son premier jour.")
    if (end - start).days + 1 > rules.absence_max_days:
        raise InvalidInput("range_too_long", f"Une absence dure au plus {rules.absence_max_days} jours.")
    if start > today + timedelta(days=366):
        raise InvalidInput("absence_too_far", "Une absence se signale au plus un an à l'avance.")


def justification_until(first_day, rules):
    """The last day a justification can be added to an absence: as long as the absence itself could be reported."""
    return first_day + timedelta(days=rules.absence_past_days)


def check_attachment(decision, first_day, today, rules):
    """A justification is added afterwards once, to an absence without one, within `absence_past_days`."""
    if decision != "none":
        raise Conflict("already_justified", "Un justificatif a déjà été envoyé pour cette absence.")
    if today > justification_until(first_day, rules):
        raise Conflict("justification_too_late", "Un justificatif s'envoie au plus tard "
                                                 f"{rules.absence_past_days} jours après le premier jour d'absence "
                                                 f"(le {justification_until(first_day, rules):%d/%m/%Y}).")


def check_withdrawal(first_day, decision, today):
    """Only an absence that has not begun and whose justification the crèche has not decided on is withdrawn."""
    if first_day <= today:
        raise Conflict("absence_started", "Cette absence a déjà commencé : elle ne peut plus être retirée. "
                                          "Appelez le multi-accueil pour la modifier.")
    if decision in ("accepted", "refused"):
        raise Conflict("absence_decided", "La crèche a déjà examiné le justificatif de cette absence : appelez "
                                          "le multi-accueil pour la modifier.")


def deducted_days(absence_start, absence_end, reason, accepted, rules):
    """The days a justified absence deducts (PSU): a hospitalisation from its first day, an illness after
    the waiting period (its first day and the next ones, `illness_waiting_days` in all); nothing unjustified."""
    if not accepted or reason not in ("illness", "hospitalisation"):
        return set()
    first = absence_start if reason == "hospitalisation" else absence_start + timedelta(days=rules.illness_waiting_days)
    return set(days_between(first, absence_end))


def excused_days(absence_start, absence_end, accepted):
    """Days on which a late cancellation is not billed: any absence whose justification was accepted."""
    return set(days_between(absence_start, absence_end)) if accepted else set()


def parse_decision(accepted, comment):
    if not isinstance(accepted, bool):
        raise InvalidInput("invalid_decision", "La décision est « accepted »: true ou false.")
    return accepted, bounded_text(comment, "comment", "invalid_decision", "Le commentaire")


# --- Billable facts -----------------------------------------------------------------------------------

def child_month(first, last, contract, bookings, attendance, leaves, absences, calendar, rules):
    """What billing needs for one child and month.

    bookings: (day, start, end, status, late_cancelled) of the child's occasional bookings in the month;
    attendance: (day, arrived, left, walk_in); leaves: days of declared leave; absences: (start, end, reason,
    accepted)."""
    deducted_by_day, excused = {}, set()
    for start, end, reason, accepted in absences:
        for day in deducted_days(start, end, reason, accepted, rules):
            deducted_by_day.setdefault(day, reason)
        excused |= excused_days(start, end, accepted)
    occasional_booked, late, deductions = 0, [], []
    for day, start, end, status, late_cancelled in sorted(bookings):
        minutes = billed_minutes(minutes_between(start, end))
        if status == CONFIRMED:
            if day in deducted_by_day:
                deductions.append(_deduction(day, minutes, deducted_by_day[day], "occasional"))
            else:
                occasional_booked += minutes
        elif status == CANCELLED and late_cancelled:
            justified = day in excused
            late.append({"date": day.isoformat(), "start": hhmm(start), "end": hhmm(end), "minutes": minutes,
                         "justified": justified, "billed_minutes": 0 if justified else minutes})
    attended, walk_ins = 0, 0
    for day, arrived, left, walk_in in sorted(attendance, key=lambda a: (a[0], a[1])):
        if left is None:
            continue
        minutes = billed_minutes(minutes_between(arrived, left))
        attended += minutes
        walk_ins += minutes if walk_in else 0
    facts = {"occasional_booked_minutes": occasional_booked, "occasional_attended_minutes": attended,
             "walk_in_minutes": walk_ins, "late_cancellations": late,
             "late_cancellation_billed_minutes": sum(c["billed_minutes"] for c in late),
             "contract": None, "contract_minutes": 0}
    if contract is not None:
        contract_days = [d for d in days_between(max(first, contract.start), min(last, contract.end))
                         if contract.minutes_on(d)]
        for day in contract_days:
            minutes = contract.minutes_on(day)
            closure = calendar.closure(day, rules)
            if closure:
                deductions.append(_deduction(day, minutes, "closure", "contract"))
            elif day in leaves:
                deductions.append(_deduction(day, minutes, "leave", "contract"))
            elif day in deducted_by_day:
                deductions.append(_deduction(day, minutes, deducted_by_day[day], "contract"))
        facts["contract"] = contract.as_dict()
        facts["contract_minutes"] = contract.monthly_minutes if contract_days else 0
    facts["deductions"] = sorted(deductions, key=lambda d: (d["date"], d["care"]))
    facts["deducted_minutes"] = sum(d["minutes"] for d in deductions)
    return facts


def _deduction(day, minutes, reason, care):
    return {"date": day.isoformat(), "minutes": minutes, "reason": reason, "label": DEDUCTION_REASONS[reason],
            "care": care}


# --- News, text -------------------------------------------------------------------------------------

def bounded_text(value, limit_name, code, what):
    text = str(value or "").strip()
    limit = LIMITS[limit_name]
    if len(text) > limit:
        raise InvalidInput(code, f"{what} ne doit pas dépasser {limit} caractères.")
    return text


def parse_news(title, body, kind):
    title = bounded_text(title, "news_title", "invalid_news", "Le titre d'une actualité")
    body = bounded_text(body, "news_body", "invalid_news", "Le texte d'une actualité")
    if not title or not body or kind not in ("news", "practical"):
        raise InvalidInput("invalid_news", "Une actualité a un titre, un texte, et est « news » ou « practical ».")
    return title, body, kind


def vocabulary(rules, max_document_bytes, document_types):
    return {
        "name": rules.name,
        "booking_statuses": BOOKING_STATUSES, "registration_kinds": REGISTRATION_KINDS,
        "absence_reasons": ABSENCE_REASONS, "decisions": DECISIONS, "closure_kinds": CLOSURE_KINDS,
        "deduction_reasons": DEDUCTION_REASONS,
        "justification": {"max_bytes": max_document_bytes, "media_types": list(document_types)},
        "age": {"min_weeks": rules.min_age_weeks, "max_months": rules.max_age_months},
        "opening": {"weekdays": list(rules.opening_weekdays), "opens": hhmm(rules.opens), "closes": hhmm(rules.closes)},
        "slots": [{"start": hhmm(a), "end": hhmm(b)} for a, b in rules.slots],
        "slot_capacity": rules.slot_capacity, "weeks_ahead": rules.weeks_ahead,
        "cancellation_hours": rules.cancellation_hours, "illness_waiting_days": rules.illness_waiting_days,
        "leave_notice_days": rules.leave_notice_days,
        "absence": {"past_days": rules.absence_past_days, "max_days": rules.absence_max_days},
        "limits": LIMITS,
    }
