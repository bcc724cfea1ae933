"""The billing service's tables.

Money is integer cents. A tariff grid is stored as the JSON an administrator entered, with the date it applies
from; once an invoice used it, it is never edited again (a new grid with a new date replaces it). A finalised
invoice never changes: only payments and credit notes move its balance.
"""
from sqlalchemy import (
    JSON, Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint,
    text,
)

from sqlalchemy.sql import false

from espace_common.db import UTCDateTime, messaging_tables, new_metadata
from espace_common.mail import mail_outbox_table
from espace_common.projections import family_children_table
from espace_common.schedule import scheduled_runs_table

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
    # --- The run in the background (issue 9): its last failure, when it is tried again, its heartbeat ---
    Column("error", Text, nullable=True),  # the last failure (canteen down...), in French, while it is retried
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("retry_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=True),  # the last progress: a run silent for long is resumed
    # At most one run of a régie and month is not final: a second start while one runs gets that one.
    Index("uq_invoicing_runs_open_month", "regie", "month", unique=True,
          sqlite_where=text("status != 'final'"), postgresql_where=text("status != 'final'")),
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
    # Paid by SEPA direct debit (the family had an active mandate at finalisation): not payable by card.
    Column("direct_debit", Boolean, nullable=False, default=False, server_default=false()),
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
    # How the price was computed, as it was when computed (issue #12; None on lines from before it).
    Column("explanation", JSON, nullable=True),
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

# --- Direct debit and payments arriving as events (billing/debits.py has the rules) -------------------------------

# A family's SEPA mandates, kept after revocation. `active_family_id` is the family's id while the mandate is active
# and NULL once revoked: its unique key lets a family hold one active mandate, on SQLite and PostgreSQL alike.
direct_debit_mandates = Table(
    "direct_debit_mandates", metadata,
    Column("id", String(36), primary_key=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column("reference", String(35), nullable=False, unique=True),  # the RUM
    Column("iban", String(34), nullable=False),
    Column("bic", String(11), nullable=True),
    Column("holder", String(70), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("signed_at", UTCDateTime(), nullable=False),
    Column("signed_by", String(36), nullable=True),
    Column("status", String(10), nullable=False),
    Column("active_family_id", String(36), nullable=True, unique=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("revoked_by", String(36), nullable=True),
    CheckConstraint("status IN ('active', 'revoked')", name="status"),
)

# The files given to the bank: a month's file is stored and given again as it was (same content, nothing sent twice).
debit_files = Table(
    "debit_files", metadata,
    Column("id", String(36), primary_key=True),
    Column("regie", String(30), nullable=False),
    Column("month", String(7), nullable=False),
    Column("rank", Integer, nullable=False),  # a second file of a month carries only the debits planned since
    Column("xml", Text, nullable=False),
    Column("count", Integer, nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("created_by", String(36), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("regie", "month", "rank", name="uq_debit_files_regie_month_rank"),
)

# One debit per invoice, with the mandate as it was at finalisation (its snapshot). Never deleted: a revoked
# mandate cancels it, a bank's rejection is recorded on it.
direct_debits = Table(
    "direct_debits", metadata,
    Column("id", String(36), primary_key=True),
    Column("invoice_id", String(36), ForeignKey("invoices.id"), nullable=False, unique=True),
    Column("mandate_id", String(36), ForeignKey("direct_debit_mandates.id"), nullable=False, index=True),
    Column("regie", String(30), nullable=False),
    Column("period", String(7), nullable=False),
    Column("mandate_reference", String(35), nullable=False),
    Column("iban", String(34), nullable=False),
    Column("bic", String(11), nullable=True),
    Column("holder", String(70), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("status", String(10), nullable=False),
    Column("planned_at", UTCDateTime(), nullable=False),
    Column("sequence_type", String(4), nullable=True),
    Column("amount_cents", Integer, nullable=True),
    Column("collection_date", Date, nullable=True),
    Column("file_id", String(36), ForeignKey("debit_files.id"), nullable=True),
    Column("payment_id", String(36), ForeignKey("payments.id"), nullable=True),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("rejected_at", UTCDateTime(), nullable=True),
    Column("rejection_reason", Text, nullable=True),
    Column("rejected_by", String(36), nullable=True),
    Index("ix_direct_debits_regie_period", "regie", "period"),
    CheckConstraint("status IN ('planned', 'sent', 'rejected', 'cancelled')", name="status"),
)

# A card payment billing could not apply (more than the balance, a settled or unknown invoice): kept for the agents,
# once per transaction, never lost silently.
payment_anomalies = Table(
    "payment_anomalies", metadata,
    Column("id", String(36), primary_key=True),
    Column("transaction_id", String(100), nullable=False, unique=True),
    Column("invoice_id", String(36), nullable=True),
    Column("amount_cents", Integer, nullable=False),
    Column("code", String(40), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

outbox, processed_events = messaging_tables(metadata)

# --- The agents' invoice search and the accounting export (issue 9): by régie and month, by day of issue ----------
Index("ix_invoices_regie_period", invoices.c.regie, invoices.c.period)
Index("ix_invoices_issued_on", invoices.c.issued_on)
Index("ix_payments_received_at", payments.c.received_at)
Index("ix_credit_notes_created_at", credit_notes.c.created_at)

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

# Once-per-slot scheduled tasks (espace_common.schedule), issue #12.
scheduled_runs = scheduled_runs_table(metadata)
