"""School days, public holidays and the reservation deadline: plain rules, no framework.

Every number here comes from configuration (CanteenRules); the French public
holidays are the law's list, computed for any year.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from espace_common.french_calendar import easter_sunday, french_public_holidays  # noqa: F401 (part of this module's API)


@dataclass(frozen=True)
class CanteenRules:
    """The trade's defaults (see the design), each one a setting."""

    school_weekdays: tuple = (1, 2, 4, 5)  # ISO weekdays: Monday, Tuesday, Thursday, Friday
    deadline_working_days: int = 2
    deadline_time: time = time(10, 0)
    timezone: str = "Europe/Paris"
    justification_hours: int = 48
    absence_past_days: int = 30  # how far back an absence may start when reported
    absence_max_days: int = 31  # the longest absence one report covers

    @property
    def zone(self):
        return ZoneInfo(self.timezone)

    @classmethod
    def from_config(cls, config):
        weekdays = config.get("CANTEEN_SCHOOL_WEEKDAYS", "1,2,4,5")
        return cls(
            school_weekdays=tuple(int(d) for d in str(weekdays).split(",") if d.strip()),
            deadline_working_days=int(config.get("CANTEEN_DEADLINE_WORKING_DAYS", 2)),
            deadline_time=time(int(config.get("CANTEEN_DEADLINE_HOUR", 10)), int(config.get("CANTEEN_DEADLINE_MINUTE", 0))),
            timezone=str(config.get("TOWN_TIMEZONE", "Europe/Paris")),
            justification_hours=int(config.get("CANTEEN_JUSTIFICATION_HOURS", 48)),
            absence_past_days=int(config.get("CANTEEN_ABSENCE_PAST_DAYS", 30)),
            absence_max_days=int(config.get("CANTEEN_ABSENCE_MAX_DAYS", 31)),
        )


def is_working_day(day):
    """Monday to Friday, public holidays excluded: what the deadline counts."""
    return day.isoweekday() <= 5 and day not in french_public_holidays(day.year)


def deadline_for(day, rules):
    """The instant from which the meal of `day` can no longer change (aware, in the town's zone)."""
    cursor = day
    counted = 0
    while counted < rules.deadline_working_days:
        cursor -= timedelta(days=1)
        if is_working_day(cursor):
            counted += 1
    return datetime.combine(cursor, rules.deadline_time, tzinfo=rules.zone)


def is_changeable(day, now, rules):
    """Strictly before the deadline."""
    return now < deadline_for(day, rules)


@dataclass(frozen=True)
class SchoolCalendar:
    """Holidays (inclusive date ranges) and days an agent closed (day -> reason), for the rules' weekdays."""

    holidays: tuple = ()
    closed_days: dict = field(default_factory=dict)

    def closure(self, day, rules):
        """(kind, reason) when no meal is served that day, else None.

        The kind ("weekday", "public_holiday", "holiday", "closed") is for programs, the reason for people.
        """
        if day.isoweekday() not in rules.school_weekdays:
            return "weekday", "Pas de restauration scolaire ce jour de la semaine."
        if day in french_public_holidays(day.year):
            return "public_holiday", "Jour férié."
        for start, end, name in self.holidays:
            if start <= day <= end:
                return "holiday", f"{name}." if name else "Vacances scolaires."
        if day in self.closed_days:
            reason = (self.closed_days[day] or "").strip().rstrip(".")
            return "closed", (f"Restaurant scolaire fermé ce jour-là : {reason}." if reason
                              else "Restaurant scolaire fermé ce jour-là.")
        return None

    def closure_reason(self, day, rules):
        """Why no meal is served that day, or None on a school day."""
        found = self.closure(day, rules)
        return found[1] if found else None

    def is_school_day(self, day, rules):
        return self.closure_reason(day, rules) is None


def days_between(start, end):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)
