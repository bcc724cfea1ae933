"""Where "now" comes from: the wall clock in production, a settable one in tests."""
import os
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


class ShiftedClock(SystemClock):
    """The wall clock moved by a fixed offset: a test's service process that lives on another day."""

    def __init__(self, offset):
        self.offset = offset

    def now(self):
        return datetime.now(timezone.utc) + self.offset


def process_clock(environ=os.environ):
    """The wall clock; in a test's service process started with EF_CLOCK=<ISO instant> (never set in production,
    like EF_FAULTS), a clock that starts at that instant and runs on, so that a test builds a past month through
    the services' own rules (a reservation before its deadline, a late cancellation)."""
    start = environ.get("EF_CLOCK")
    if not start:
        return SystemClock()
    instant = datetime.fromisoformat(start)
    if instant.tzinfo is None:
        raise ValueError("EF_CLOCK is an ISO instant with its offset, like 2026-10-20T08:00:00+02:00")
    return ShiftedClock(instant - datetime.now(timezone.utc))


def to_paris(instant):
    """Show an instant in the town's local time."""
    return instant.astimezone(PARIS)
