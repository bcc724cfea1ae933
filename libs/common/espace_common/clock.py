"""Where "now" comes from: the wall clock in production, a settable one in tests."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class SystemClock:
    """The real time, always timezone-aware UTC."""

    def now(self):
        return datetime.now(timezone.utc)

    def today(self, tz=PARIS):
        return self.now().astimezone(tz).date()


class FixedClock(SystemClock):
    """A clock that tests set and move by hand."""

    def __init__(self, instant):
        if instant.tzinfo is None:
            raise ValueError("a FixedClock needs an aware datetime")
        self.instant = instant

    def now(self):
        return self.instant

    def advance(self, **delta):
        self.instant += timedelta(**delta)


def to_paris(instant):
    """Show an instant in the town's local time."""
    return instant.astimezone(PARIS)
