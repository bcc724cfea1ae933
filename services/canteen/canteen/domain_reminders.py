"""Which children a reminder «la semaine prochaine n'est pas réservée» is for (issue #12). Plain rules.

- A child *usually eats* when meals were reserved in at least `min_weeks` of the last `weeks` school weeks before
  the week in question (a school week has at least one school day; holiday weeks are skipped, at most 16 weeks
  back). The current week counts: its meals were reserved before their deadlines.
- The week *is not reserved* for a child when none of its days has a meal reserved; the reminder names the days
  still open to reservation (a school day, deadline ahead, no absence reported, the child enrolled for that school
  year). A child with no such day left gets no reminder: there is nothing left to do.
"""
from datetime import date, timedelta

from espace_common.errors import InvalidInput

from .calendar_rules import deadline_for, is_changeable
from .domain import school_year_of

LOOK_BACK_WEEKS = 16


def parse_week(value):
    """A Monday, as an ISO date."""
    try:
        week = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        week = None
    if week is None or week.isoweekday() != 1:
        raise InvalidInput("invalid_week", "La semaine est donnée par son lundi, au format AAAA-MM-JJ.")
    return week


def parse_usual(weeks, min_weeks):
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (weeks, min_weeks)) \
            or not 1 <= min_weeks <= weeks <= 12:
        raise InvalidInput("invalid_usual", "Le nombre de semaines est un entier de 1 à 12.")
    return weeks, min_weeks


def week_days(week):
    return [week + timedelta(days=n) for n in range(7)]


def recent_school_weeks(week, calendar, rules, count):
    """The Mondays of the `count` school weeks before `week`, newest first."""
    found, monday = [], week
    for _ in range(LOOK_BACK_WEEKS):
        monday -= timedelta(days=7)
        if any(calendar.is_school_day(day, rules) for day in week_days(monday)):
            found.append(monday)
            if len(found) == count:
                break
    return found


def usually_eats(reserved_days, school_weeks, min_weeks):
    weeks_with_meals = {day - timedelta(days=day.weekday()) for day in reserved_days}
    return sum(1 for monday in school_weeks if monday in weeks_with_meals) >= min_weeks


def open_days(week, calendar, rules, now, absent_days, enrolled_years):
    """The days of the week a meal can still be reserved for this child."""
    return [day for day in week_days(week)
            if calendar.is_school_day(day, rules) and is_changeable(day, now, rules)
            and day not in absent_days and school_year_of(day) in enrolled_years]


def first_deadline(week, calendar, rules, now):
    """The earliest deadline still ahead among the week's school days (aware), or None when all have passed."""
    deadlines = [deadline_for(day, rules) for day in week_days(week) if calendar.is_school_day(day, rules)]
    ahead = [d for d in deadlines if now < d]
    return min(ahead) if ahead else None


def to_remind(week, calendar, rules, now, reserved_in_week, absent_days, enrolled_years):
    """(days still open, the first one's deadline) when the week has nothing reserved and something left to
    reserve; None otherwise."""
    if reserved_in_week:
        return None
    days = open_days(week, calendar, rules, now, absent_days, enrolled_years)
    if not days:
        return None
    return days, deadline_for(days[0], rules)
