"""The childcare service's tables."""
from sqlalchemy import (
    JSON, Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint,
    text,
)

from espace_common.db import UTCDateTime, messaging_tables, new_metadata
from espace_common.mail import mail_outbox_table
from espace_common.projections import family_children_table
from espace_common.schedule import scheduled_runs_table
from espace_common.purge import purge_log_table
from espace_common.trail import family_trail_table

metadata = new_metadata()

family_children = family_children_table(metadata)

# Days the crèche's agents closed (summer weeks, training days...); public holidays and the weekly closing
# days are computed, not stored.
closures = Table(
    "closures", metadata,
    Column("day", Date, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("reason", String(200), nullable=False, default=""),
)

# An occasional-care slot. `taken` counts confirmed bookings and `waiting` the waiting list: the database
# settles the last place (UPDATE ... WHERE taken < capacity) and the CHECK refuses any overbooking.
slots = Table(
    "slots", metadata,
    Column("id", String(36), primary_key=True),
    Column("day", Date, nullable=False),
    Column("start", String(5), nullable=False),
    Column("end", String(5), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("taken", Integer, nullable=False, default=0),
    Column("waiting", Integer, nullable=False, default=0),
    UniqueConstraint("day", "start", name="uq_slots_day_start"),
    CheckConstraint("taken >= 0 AND taken <= capacity AND waiting >= 0", name="places"),
)

registrations = Table(
    "registrations", metadata,
    Column("child_id", String(36), primary_key=True),
    Column("kind", String(20), nullable=False),  # "occasional" or "regular"
    Column("weekly_hours", JSON, nullable=True),  # {"1": ["08:30", "17:00"], ...}
    Column("weeks_per_year", Integer, nullable=True),
    Column("contract_start", Date, nullable=True),
    Column("contract_end", Date, nullable=True),
    Column("leave_days", Integer, nullable=False, default=0),
    # Leave days declared: raised by a conditional UPDATE, so that two declarations cannot pass the allowance.
    Column("leave_taken", Integer, nullable=False, default=0),
    Column("registered_at", UTCDateTime, nullable=False),
    CheckConstraint("leave_taken >= 0 AND leave_taken <= leave_days", name="leave_allowance"),
)

# `seq` is the arrival order the waiting list follows; `id` is what leaves the service.
bookings = Table(
    "bookings", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("slot_id", String(36), ForeignKey("slots.id"), nullable=False),
    Column("child_id", String(36), nullable=False, index=True),
    Column("family_id", String(36), nullable=False),
    Column("status", String(12), nullable=False),  # confirmed, waiting, cancelled
    Column("contact_email", String(254), nullable=True),  # the parent told when promoted from the waiting list
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("late_cancelled", Boolean, nullable=False, default=False),
)
# One live booking per child and slot (a cancelled one may be booked again): the database settles a double tap.
Index("uq_bookings_live_child_slot", bookings.c.slot_id, bookings.c.child_id, unique=True,
      sqlite_where=text("status <> 'cancelled'"), postgresql_where=text("status <> 'cancelled'"))
Index("ix_bookings_slot_status", bookings.c.slot_id, bookings.c.status, bookings.c.seq)

leaves = Table(
    "leaves", metadata,
    Column("id", String(36), primary_key=True),
    Column("child_id", String(36), nullable=False, index=True),
    Column("family_id", String(36), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("days", JSON, nullable=False),  # the contract days it covers, ISO dates
    Column("declared_at", UTCDateTime, nullable=False),
)

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
    Column("decision", String(10), nullable=False),  # none, pending, accepted, refused
    Column("decision_comment", String(500), nullable=False, default=""),
    Column("decided_by", String(80), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
)

# GDPR: every read of a justification is recorded, by whom and when.
document_reads = Table(
    "document_reads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("absence_id", String(36), ForeignKey("absences.id"), nullable=False, index=True),
    Column("reader", String(80), nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
)

attendance = Table(
    "attendance", metadata,
    Column("child_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("arrived_at", String(5), primary_key=True),
    Column("left_at", String(5), nullable=True),
    Column("walk_in", Boolean, nullable=False),  # came without a booking or a contract day: billed as occasional
    Column("recorded_at", UTCDateTime, nullable=False),
)

news = Table(
    "news", metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("kind", String(20), nullable=False),  # "news" or "practical"
    Column("published_at", UTCDateTime, nullable=False),
)

mail_outbox = mail_outbox_table(metadata)

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
