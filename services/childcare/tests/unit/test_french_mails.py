"""The crèche's mail reads as French: the day named by Babel, hours as the town writes them, no ISO date."""
import re
from datetime import date

from childcare import mails

MACHINE_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d+\.\d+\b|\b\d{2}:\d{2}\b")


def test_the_promotion_mail_has_no_iso_date_and_no_computer_hour():
    subject, body = mails.promoted("multi-accueil « Bout D'chou »", "Inès", date(2026, 12, 1), "08:00", "12:30")
    assert "le mardi 01/12/2026 de 8h00 à 12h30" in body
    assert MACHINE_TEXT.findall(subject + body) == []
