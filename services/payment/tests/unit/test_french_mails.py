"""The card payment's receipt reads as French: its date and time in Paris through Babel, its amount with a comma."""
import re
from datetime import datetime, timezone

from espace_common.clock import to_paris

from payment import domain

MACHINE_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d+\.\d+\b|\b\d{2}:\d{2}\b|UTC|\+00:00")


def test_the_receipt_has_no_iso_date_no_decimal_point_and_no_utc_hour():
    paid_at = to_paris(datetime(2026, 7, 14, 8, 5, tzinfo=timezone.utc))
    subject, body = domain.receipt(123456, "AS-2026-000042", "EF-AS-42", "123", "XXXXXX", paid_at)
    assert "1\u202f234,56\u00a0€" in subject and "le 14 juillet 2026 à 10 h 05" in body  # summer time: UTC+2
    assert MACHINE_TEXT.findall(subject + body) == []
