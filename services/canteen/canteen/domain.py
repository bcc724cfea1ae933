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

    def as_dict(self):
        return {"date": self.date.isoformat(), "state": self.state, "changeable": self.changeable,
                "deadline": self.deadline, "reason": self.reason}


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
        closure = calendar.closure_reason(day, rules)
        if closure:
            views.append(DayView(day, CLOSED, False, None, closure))
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
