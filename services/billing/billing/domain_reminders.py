"""Which invoices identity's reminder before the due date is for (issue #12). Plain rules.

An invoice is to be reminded of when it is issued and not fully paid (`issued` or `partially_paid`, a balance left),
falls due within the asked dates, and is not paid by direct debit (the town debits it on its own: a «payez»
reminder would mislead the family).
"""
from datetime import date, timedelta

from espace_common.errors import InvalidInput

from .domain import ISSUED, PARTIALLY_PAID

REMINDED_STATUSES = (ISSUED, PARTIALLY_PAID)
MAX_WINDOW_DAYS = 62


def parse_window(first_day, last_day):
    """Two ISO dates, the first not after the last, two months apart at most."""
    try:
        first, last = date.fromisoformat(first_day), date.fromisoformat(last_day)
    except (TypeError, ValueError):
        raise InvalidInput("invalid_dates", "Les dates sont au format AAAA-MM-JJ.") from None
    if not first <= last <= first + timedelta(days=MAX_WINDOW_DAYS):
        raise InvalidInput("invalid_dates", f"La période va d'une date à une autre, {MAX_WINDOW_DAYS} jours au plus.")
    return first, last


def to_remind(status, balance_cents, direct_debit, due_date, first, last):
    return (status in REMINDED_STATUSES and balance_cents > 0 and not direct_debit
            and due_date is not None and first <= due_date <= last)
