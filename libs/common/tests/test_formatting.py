"""French dates, times and amounts, through Babel, in Europe/Paris: one module for pages, PDFs and mails."""
import re
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest

from espace_common import formatting
from espace_common.money import format_euros

# What people must never read: an ISO date, an instant in UTC, a decimal point, an hour written as a computer does.
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
DOT_DECIMAL = re.compile(r"\b\d+\.\d+\b")
MACHINE_TIME = re.compile(r"\b\d{2}:\d{2}\b")


def machine_text(text):
    """The pieces of text a person should not have to read, or an empty list."""
    return ISO_DATE.findall(text) + DOT_DECIMAL.findall(text) + MACHINE_TIME.findall(text)


def test_dates_in_french_with_the_first_of_the_month():
    assert formatting.date_long(date(2019, 5, 14)) == "14 mai 2019"
    assert formatting.date_long("2026-12-01") == "1er décembre 2026"
    assert formatting.day_long("2026-12-01") == "mardi 1er décembre"
    assert formatting.day_long(date(2026, 12, 14), year=True) == "lundi 14 décembre 2026"
    assert formatting.day_short("2026-12-01") == "mar. 1 déc."
    assert formatting.date_numeric("2026-12-05") == "05/12/2026"
    assert formatting.month_year("2026-11") == "novembre 2026" and formatting.month_year(date(2027, 2, 1)) == "février 2027"
    assert formatting.weekday("2026-12-07") == "lundi"


@pytest.mark.parametrize("instant, text", [
    ("2026-07-14T08:05:00+00:00", "14 juillet 2026 à 10 h 05"),  # summer time: UTC+2
    ("2026-01-02T23:30:00Z", "3 janvier 2026 à 0 h 30"),  # winter time: UTC+1, the next day in Paris
    (datetime(2026, 11, 26, 11, 18), "26 novembre 2026 à 12 h 18"),  # a naive instant is UTC
])
def test_instants_are_read_in_paris(instant, text):
    assert formatting.datetime_long(instant) == text


def test_the_day_of_an_instant_is_its_day_in_paris():
    assert formatting.date_long(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)) == "1er janvier 2027"


def test_hours_as_the_town_writes_them():
    assert formatting.clock("08:00") == "8h00" and formatting.clock(time(17, 30)) == "17h30"
    assert formatting.deadline_short("2026-11-27T09:00:00+00:00") == "ven. 27/11 à 10h00"
    assert formatting.instant_day("2026-12-05T07:00:00Z") == "samedi 05/12 à 8h00"


def test_amounts_in_euros_with_a_comma_and_french_spaces():
    assert formatting.euros(123456) == "1\u202f234,56\u00a0€"
    assert formatting.euros(5) == "0,05\u00a0€" and formatting.euros(-1250) == "-12,50\u00a0€"
    assert format_euros(850000) == "8\u202f500,00\u00a0€"  # money's helper is the same Babel text
    with pytest.raises(TypeError):
        formatting.euros(12.5)


def test_numbers_and_rates_with_a_decimal_comma():
    assert formatting.number(Decimal("14.5")) == "14,5" and formatting.number(Decimal("14.0")) == "14"
    assert formatting.percent("0.0516") == "0,0516\u00a0%"


def test_no_machine_text_is_left_in_what_the_module_writes():
    texts = [formatting.datetime_long("2026-03-29T00:30:00Z"), formatting.deadline_short("2026-03-29T08:00:00Z"),
             formatting.euros(99), formatting.percent("6.19"), formatting.date_long("2026-03-29")]
    assert [machine_text(text) for text in texts] == [[]] * len(texts)
    assert machine_text("du 2026-12-10 au 2026-12-11, 12.50 €, à 10:30") == ["2026-12-10", "2026-12-11", "12.50",
                                                                             "10:30"]
