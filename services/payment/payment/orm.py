"""The payment service's tables."""
from sqlalchemy import Column, Index, Integer, String, Table

from espace_common.db import UTCDateTime, messaging_tables, new_metadata
from espace_common.mail import mail_outbox_table
from espace_common.schedule import scheduled_runs_table

metadata = new_metadata()

outbox, processed_events = messaging_tables(metadata)

# One row per attempt to pay an invoice by card; `reference` is the PBX_CMD sent to Paybox.
card_transactions = Table(
    "card_transactions", metadata,
    Column("id", String(36), primary_key=True),
    Column("reference", String(250), nullable=False, unique=True),
    Column("invoice_id", String(36), nullable=False, index=True),
    Column("invoice_number", String(40), nullable=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column("amount_cents", Integer, nullable=False),
    Column("payer_email", String(80), nullable=False),
    Column("server_url", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("error_code", String(5), nullable=True),
    Column("message", String(300), nullable=True),
    Column("authorization", String(20), nullable=True),
    Column("paybox_transaction", String(20), nullable=True),
    Column("call_number", String(20), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("notified_at", UTCDateTime, nullable=True),
    Column("paid_at", UTCDateTime, nullable=True),
)
Index("ix_card_transactions_status_paid_at", card_transactions.c.status, card_transactions.c.paid_at)

# The receipt mailed to the payer once a payment is confirmed, in the transaction that records it.
mail_outbox = mail_outbox_table(metadata)

# Once-per-slot scheduled tasks (espace_common.schedule), issue #12.
scheduled_runs = scheduled_runs_table(metadata)
