"""Reading the national school-holiday calendar (iCalendar) of a zone."""
from datetime import date, datetime, timedelta

from icalendar import Calendar

from espace_common.errors import InvalidInput

NAME_LENGTH, UID_LENGTH = 120, 200  # the columns that keep them


def parse(ics_text):
    """[(uid, name, first day, last day)]; iCalendar's DTEND of a whole-day event is exclusive.

    A file that does not parse, or a period whose dates cannot be read, is refused whole: an import
    never keeps half a calendar.
    """
    try:
        calendar = Calendar.from_ical(ics_text)
    except (ValueError, IndexError):
        raise InvalidInput("invalid_calendar", "Le fichier n'est pas un calendrier iCalendar valide.") from None
    periods = []
    for event in calendar.walk("VEVENT"):
        name = str(event.get("SUMMARY") or "Vacances scolaires").strip()[:NAME_LENGTH]
        start = _as_date(event, "DTSTART", name)
        if start is None:
            continue
        end = _as_date(event, "DTEND", name) or start + timedelta(days=1)
        last = end - timedelta(days=1) if end > start else start
        uid = str(event.get("UID") or f"{name}-{start.isoformat()}")[:UID_LENGTH]
        periods.append((uid, name, start, last))
    if not periods:
        raise InvalidInput("invalid_calendar", "Le calendrier ne contient aucune période de vacances.")
    return periods


def _as_date(event, field, name):
    prop = event.get(field)
    if prop is None:
        return None
    try:
        value = prop.dt
    except ValueError:  # icalendar's BrokenCalendarProperty: "DTSTART:notadate"
        raise InvalidInput("invalid_calendar", f"La période « {name} » a une date illisible ({field}) : "
                                               "le fichier n'est pas un calendrier iCalendar valide.") from None
    return value.date() if isinstance(value, datetime) else value if isinstance(value, date) else None
