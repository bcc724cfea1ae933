"""The billing service's tables.

Money is integer cents. A tariff grid is stored as the JSON an administrator entered, with the date it applies
from; once an invoice used it, it is never edited again (a new grid with a new date replaces it). A finalised
invoice never changes: only payments and credit notes move its balance.
"""
from sqlalchemy import (
    JSON, Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint,
)

from espace_common.db import UTCDateTime, messaging_tables, new_metadata
from espace_common.mail import mail_outbox_table
from espace_common.projections import family_children_table

metadata = new_metadata()

family_children = family_children_table(metadata)

tariff_grids = Table(
    "tariff_grids", metadata,
    Column("id", String(36), primary_key=True),
    Column("regie", String(30), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_by", String(36), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("regie", "valid_from", name="uq_tariff_grids_regie_from"),
)

# Every entry is kept (who entered what, when); for a given date the latest entry in force wins.
family_resources = Table(
    "family_resources", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column("valid_from", Date, nullable=False),
    Column("quotient", Integer, nullable=False),
    Column("monthly_resources_cents", Integer, nullable=False),
    Column("dependent_children", Integer, nullable=False),
    Column("disability", Boolean, nullable=False, default=False),
    Column("agent_id", String(36), nullable=True),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

invoicing_runs = Table(
    "invoicing_runs", metadata,
    Column("id", String(36), primary_key=True),
    Column("regie", String(30), nullable=False),
    Column("month", String(7), nullable=False),
    Column("status", String(10), nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("started_by", String(36), nullable=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finalized_by", String(36), nullable=True),
    Column("finalized_at", UTCDateTime(), nullable=True),
    Index("ix_invoicing_runs_regie_month", "regie", "month"),
    CheckConstraint("status IN ('running', 'draft', 'final')", name="status"),
)

# One invoice a month per family and régie: the unique key makes a repeated or concurrent run create nothing
# twice. `number` is given at finalisation, without gaps per régie and year of issue.
invoices = Table(
    "invoices", metadata,
    Column("id", String(36), primary_key=True),
    Column("run_id", String(36), ForeignKey("invoicing_runs.id"), nullable=False, index=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column("regie", String(30), nullable=False),
    Column("period", String(7), nullable=False),
    Column("number", String(20), nullable=True, unique=True),
    Column("status", String(20), nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("paid_cents", Integer, nullable=False, default=0),
    Column("credited_cents", Integer, nullable=False, default=0),
    Column("balance_cents", Integer, nullable=False),
    Column("issued_on", Date, nullable=True),
    Column("due_date", Date, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finalized_at", UTCDateTime(), nullable=True),
    Column("pdf_path", String(300), nullable=True),  # the PDF stored at finalisation (a later step of issue 9)
    # How the family gets it, as its choice stood when the invoice was finalised ('online' or 'paper'), and when
    # the mail that says it is there was queued (online only): see documents.py.
    Column("delivery", String(10), nullable=True),
    Column("notified_at", UTCDateTime(), nullable=True),
    UniqueConstraint("family_id", "regie", "period", name="uq_invoices_family_regie_period"),
    CheckConstraint("status IN ('draft', 'issued', 'partially_paid', 'paid', 'cancelled')", name="status"),
    CheckConstraint("total_cents >= 0 AND paid_cents >= 0 AND credited_cents >= 0 AND balance_cents >= 0 "
                    "AND balance_cents = total_cents - paid_cents - credited_cents", name="balance"),
)

invoice_lines = Table(
    "invoice_lines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("invoice_id", String(36), ForeignKey("invoices.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("child_id", String(36), nullable=True),
    Column("label", Text, nullable=False),
    Column("quantity", String(20), nullable=True),  # an exact decimal as text: 14.5 (hours), 12 (meals)
    Column("unit_price_cents", Integer, nullable=True),
    Column("amount_cents", Integer, nullable=False),
)

credit_notes = Table(
    "credit_notes", metadata,
    Column("id", String(36), primary_key=True),
    Column("invoice_id", String(36), ForeignKey("invoices.id"), nullable=False, index=True),
    Column("number", String(24), nullable=False, unique=True),
    Column("amount_cents", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("agent_id", String(36), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("amount_cents > 0", name="positive"),
)

# external_id (a Paybox transaction, a cheque's bank reference) makes a payment delivered twice recorded once.
payments = Table(
    "payments", metadata,
    Column("id", String(36), primary_key=True),
    Column("invoice_id", String(36), ForeignKey("invoices.id"), nullable=False, index=True),
    Column("method", String(20), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("external_id", String(100), nullable=True, unique=True),
    Column("agent_id", String(36), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    CheckConstraint("amount_cents > 0", name="positive"),
)

# The last number given per series (AS, PE, AS-AV, PE-AV) and year: moved by a conditional UPDATE inside the
# finalising transaction, so that two runs or two processes never share nor skip a number.
number_counters = Table(
    "number_counters", metadata,
    Column("series", String(10), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_number", Integer, nullable=False),
)

outbox, processed_events = messaging_tables(metadata)


# --- Documents: the online invoice, the paper batches, the mails (documents.py) ---------------------------------

# A family's choice of the online invoice (no paper, a mail for each new invoice) or paper; no row is paper. Who
# changed it last (a parent's account, an agent) and when; it applies from the next finalised run.
billing_preferences = Table(
    "billing_preferences", metadata,
    Column("family_id", String(36), primary_key=True),
    Column("paperless", Boolean, nullable=False),
    Column("changed_by", String(80), nullable=True),
    Column("changed_at", UTCDateTime(), nullable=False),
)

# The one printable PDF of a final run's paper invoices, for the post.
paper_batches = Table(
    "paper_batches", metadata,
    Column("run_id", String(36), ForeignKey("invoicing_runs.id"), primary_key=True),
    Column("pdf_path", String(300), nullable=False),
    Column("invoices", Integer, nullable=False),
    Column("made_at", UTCDateTime(), nullable=False),
)

mail_outbox = mail_outbox_table(metadata)
