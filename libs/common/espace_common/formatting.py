"""Dates, times, numbers and amounts as people read them in the town: French, through Babel, in Europe/Paris.

One module for the pages (the gateway's filters delegate here), the PDFs and the mails, so that no part writes a
month name, a decimal point or a UTC hour by hand. Instants travel as ISO 8601 text or aware datetimes in UTC (a
naive one is taken as UTC); dates as ISO dates or `date` objects; amounts as integer cents.
"""
from datetime import date, datetime, time, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

LOCALE = "fr_FR"
PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"


def paris(instant):
    """The instant (ISO text or datetime; naive means UTC) in the town's time."""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(PARIS)


def as_date(value):
    """A date from a date, an ISO date, or an instant (its day in Paris)."""
    if isinstance(value, datetime):
        return paris(value).date()
    if isinstance(value, date):
        return value
    text = str(value)
    return date.fromisoformat(text) if len(text) == 10 else paris(text).date()


def _with_day(day, pattern):
    """Babel's pattern with the day of the month as French writes it: «1er» for the first, else the number."""
    return format_date(day, pattern, locale=LOCALE).replace("§", "1er" if day.day == 1 else str(day.day))


def date_long(value):
    """'14 mai 2019', '1er décembre 2026'."""
    return _with_day(as_date(value), "'§' MMMM y")


def day_long(value, year=False):
    """'mardi 1er décembre' (and the year when asked)."""
    return _with_day(as_date(value), "EEEE '§' MMMM y" if year else "EEEE '§' MMMM")


def day_short(value):
    """'mar. 1 déc.': a column or a phone's line."""
    return format_date(as_date(value), "EEE d MMM", locale=LOCALE)


def weekday(value):
    """'lundi'."""
    return format_date(as_date(value), "EEEE", locale=LOCALE)


def date_numeric(value):
    """'05/12/2026', as forms and letters write a date."""
    return format_date(as_date(value), "dd/MM/y", locale=LOCALE)


def month_year(value):
    """'novembre 2026' from a date or a 'YYYY-MM' period."""
    if isinstance(value, str) and len(value) == 7:
        value = date.fromisoformat(value + "-01")
    return format_date(as_date(value), "MMMM y", locale=LOCALE)


def clock(value):
    """'8h00' from a time, 'HH:MM' text or an instant (in Paris): the way the crèche writes its hours."""
    if isinstance(value, str) and len(value) <= 8 and ":" in value and "T" not in value:
        value = time.fromisoformat(value)
    elif not isinstance(value, time):
        value = paris(value).timetz()
    return format_time(value, "H'h'mm", locale=LOCALE)


def clock_spaced(value):
    """'12 h 18': the hour of an instant in running text."""
    return format_time(paris(value).timetz(), "H' h 'mm", locale=LOCALE)


def datetime_long(value):
    """'26 novembre 2026 à 12 h 18', in Paris."""
    moment = paris(value)
    return f"{date_long(moment.date())} à {clock_spaced(moment)}"


def deadline_short(value):
    """'ven. 27/11 à 10h00', in Paris: a deadline on one phone line."""
    moment = paris(value)
    return f"{format_date(moment.date(), 'EEE dd/MM', locale=LOCALE)} à {clock(moment)}"


def instant_day(value):
    """'samedi 05/12 à 8h00', in Paris."""
    moment = paris(value)
    return f"{format_date(moment.date(), 'EEEE dd/MM', locale=LOCALE)} à {clock(moment)}"


def euros(cents):
    """12345 -> '123,45 €' (a no-break space before the sign, a narrow one between thousands)."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError("money is an integer number of cents")
    return format_currency(Decimal(cents) / 100, "EUR", locale=LOCALE)


def number(value):
    """Decimal('14.5') -> '14,5'; Decimal('14.0') -> '14'; 1234 -> '1 234'."""
    return format_decimal(Decimal(str(value)), format="#,##0.##########", locale=LOCALE)


def percent(value):
    """'0.0516' (a rate already in percent) -> '0,0516 %'."""
    return f"{number(value)}{NBSP}%"
