"""The canteen service's tables."""
from sqlalchemy import (
    JSON, Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint,
)

from espace_common.db import UTCDateTime, messaging_tables, new_metadata
from espace_common.projections import family_children_table
from espace_common.schedule import scheduled_runs_table
from espace_common.purge import purge_log_table
from espace_common.trail import family_trail_table

metadata = new_metadata()

family_children = family_children_table(metadata)

schools = Table(
    "schools", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),  # "public" or "private" (St Joseph, whose canteen the town runs)
    Column("address", String(200), nullable=False, default=""),
)

classes = Table(
    "classes", metadata,
    Column("id", String(36), primary_key=True),
    Column("school_id", String(36), ForeignKey("schools.id"), nullable=False),
    Column("school_year", String(9), nullable=False),
    Column("name", String(60), nullable=False),
    UniqueConstraint("school_id", "school_year", "name", name="uq_classes_school_year_name"),
)

enrolments = Table(
    "enrolments", metadata,
    Column("child_id", String(36), primary_key=True),
    Column("school_year", String(9), primary_key=True),
    Column("school_id", String(36), ForeignKey("schools.id"), nullable=False, index=True),
    Column("class_id", String(36), ForeignKey("classes.id"), nullable=True),
)

holidays = Table(
    "holidays", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("source_uid", String(200), nullable=True, unique=True),
)

closed_days = Table(
    "closed_days", metadata,
    Column("day", Date, primary_key=True),
    Column("reason", String(200), nullable=False, default=""),
)

# One row per child and day: the unique key settles two parents changing the same day at once.
reservations = Table(
    "reservations", metadata,
    Column("child_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_reservations_day", reservations.c.day)

absences = Table(
    "absences", metadata,
    Column("id", String(36), primary_key=True),
    Column("child_id", String(36), nullable=False, index=True),
    Column("family_id", String(36), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("reason", String(20), nullable=False),
    Column("reported_at", UTCDateTime, nullable=False),
    Column("document_name", String(200), nullable=True),
    Column("document_type", String(40), nullable=True),
    Column("document_path", String(300), nullable=True),
    # The same absence reported twice is one row (use_cases.report_absence answers the first).
    UniqueConstraint("child_id", "start", "end", name="uq_absences_child_period"),
)

# GDPR: every read of a justification is recorded, by whom and when.
document_reads = Table(
    "document_reads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("absence_id", String(36), nullable=False, index=True),
    Column("reader", String(80), nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
)

attendance = Table(
    "attendance", metadata,
    Column("child_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("school_id", String(36), nullable=False),
    Column("reserved", Boolean, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

# That the attendance of a school and day was taken, even when nobody ate (no attendance row says so).
attendance_sheets = Table(
    "attendance_sheets", metadata,
    Column("school_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("recorded_at", UTCDateTime, nullable=False),
)

# Sensitive (health, beliefs): read only through agents' routes.
diets = Table(
    "diets", metadata,
    Column("child_id", String(36), primary_key=True),
    Column("diet", String(20), nullable=False, default="standard"),
    Column("pai", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

menus = Table(
    "menus", metadata,
    Column("day", Date, primary_key=True),
    Column("courses", JSON, nullable=False),
)

news = Table(
    "news", metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("kind", String(20), nullable=False, default="news"),  # "news" or "practical"
    Column("published_at", UTCDateTime, nullable=False),
)

calendar_feeds = Table(
    "calendar_feeds", metadata,
    Column("digest", String(64), primary_key=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

outbox, processed_events = messaging_tables(metadata)

# Once-per-slot scheduled tasks (espace_common.schedule), issue #12.
scheduled_runs = scheduled_runs_table(metadata)

# The allergy flags of identity's health records (issue #12), fed by identity.health_flags_changed.
from espace_common.health_flags import health_flags_table  # noqa: E402
health_flags = health_flags_table(metadata)

# The family's data in its hands (GDPR, issue #12): what each daily retention purge removed (espace_common.purge).
purge_log = purge_log_table(metadata)

# The family's trail (issue #12): append-only, UPDATE refused by a trigger (espace_common.trail).
family_trail = family_trail_table(metadata)
