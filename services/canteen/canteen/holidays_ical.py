"""Reading the national school-holiday calendar (iCalendar) of a zone."""
from datetime import date, datetime, timedelta

from icalendar import Calendar

from espace_common.errors import InvalidInput


def parse(ics_text):
    """[(uid, name, first day, last day)]; iCalendar's DTEND of a whole-day event is exclusive."""
    try:
        calendar = Calendar.from_ical(ics_text)
    except (ValueError, IndexError):
        raise InvalidInput("invalid_calendar", "Le fichier n'est pas un calendrier iCalendar valide.") from None
    periods = []
    for event in calendar.walk("VEVENT"):
        start = _as_date(event.get("DTSTART"))
        end = _as_date(event.get("DTEND")) if event.get("DTEND") else start + timedelta(days=1)
        if start is None:
            continue
        last = end - timedelta(days=1) if end > start else start
        name = str(event.get("SUMMARY") or "Vacances scolaires").strip()
        uid = str(event.get("UID") or f"{name}-{start.isoformat()}")
        periods.append((uid, name, start, last))
    if not periods:
        raise InvalidInput("invalid_calendar", "Le calendrier ne contient aucune période de vacances.")
    return periods


def _as_date(prop):
    if prop is None:
        return None
    value = prop.dt
    return value.date() if isinstance(value, datetime) else value if isinstance(value, date) else None
