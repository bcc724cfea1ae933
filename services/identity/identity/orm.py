"""The identity service's tables."""
from sqlalchemy import (
    JSON, Boolean, Column, Date, ForeignKey, Index, Integer, LargeBinary, String, Table, UniqueConstraint,
)

from espace_common.db import UTCDateTime, messaging_tables, new_metadata
from espace_common.mail import mail_outbox_table
from espace_common.schedule import scheduled_runs_table
from espace_common.purge import purge_log_table

metadata = new_metadata()

counters = Table(
    "counters", metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)

families = Table(
    "families", metadata,
    Column("id", String(36), primary_key=True),
    Column("dossier", String(12), nullable=False, unique=True),
    Column("request_id", String(80), nullable=True, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# What the agents' search matches, one row per folded word of a family (domain.search_terms); the index on the
# term answers a prefix as a range (term >= 'hel' AND term < 'hem') without reading every family.
family_search_terms = Table(
    "family_search_terms", metadata,
    Column("term", String(100), primary_key=True),
    Column("family_id", String(36), ForeignKey("families.id"), primary_key=True, index=True),
)

representatives = Table(
    "representatives", metadata,
    Column("id", String(36), primary_key=True),
    Column("family_id", String(36), ForeignKey("families.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("email", String(254), nullable=False, default=""),
    Column("phone", String(20), nullable=False, default=""),
    Column("address_line1", String(200), nullable=False, default=""),
    Column("address_line2", String(200), nullable=False, default=""),
    Column("postal_code", String(10), nullable=False, default=""),
    Column("city", String(100), nullable=False, default=""),
    Column("caf_number", String(20), nullable=False, default=""),
)

children = Table(
    "children", metadata,
    Column("id", String(36), primary_key=True),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("birth_date", Date, nullable=False),
)

# A child may belong to two families (alternating custody), each with its own accounts.
family_children = Table(
    "family_children", metadata,
    Column("family_id", String(36), ForeignKey("families.id"), primary_key=True),
    Column("child_id", String(36), ForeignKey("children.id"), primary_key=True),
    Column("position", Integer, nullable=False),
)

agents = Table(
    "agents", metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(80), nullable=False),
    Column("username_folded", String(80), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("username_folded", name="uq_agents_username_folded"),
)

# One key per representative at a time; re-issuing revokes the previous one.
activation_keys = Table(
    "activation_keys", metadata,
    Column("id", String(36), primary_key=True),
    Column("representative_id", String(36), ForeignKey("representatives.id"), nullable=False, index=True),
    Column("key_digest", String(64), nullable=False, unique=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("issued_by", String(36), nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    # The printable letter, encrypted; erased once the key is used or expired.
    Column("letter", LargeBinary, nullable=True),
)

accounts = Table(
    "accounts", metadata,
    Column("id", String(36), primary_key=True),
    Column("representative_id", String(36), ForeignKey("representatives.id"), nullable=False, unique=True),
    Column("family_id", String(36), ForeignKey("families.id"), nullable=False, index=True),
    Column("username", String(40), nullable=False),
    Column("username_folded", String(40), nullable=False),
    Column("email", String(254), nullable=False),
    Column("email_folded", String(254), nullable=False, index=True),
    Column("email_confirmed", Boolean, nullable=False, default=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("username_folded", name="uq_accounts_username_folded"),
)

# Web sessions and API bearer tokens; only their digest is kept.
auth_tokens = Table(
    "auth_tokens", metadata,
    Column("digest", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("subject_kind", String(10), nullable=False),
    Column("subject_id", String(36), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("client_ip", String(45), nullable=False, default=""),
)
Index("ix_auth_tokens_subject", auth_tokens.c.subject_kind, auth_tokens.c.subject_id)

# Password-reset and e-mail confirmation links; only their digest is kept.
link_tokens = Table(
    "link_tokens", metadata,
    Column("digest", String(64), primary_key=True),
    Column("purpose", String(20), nullable=False),
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("email", String(254), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

throttles = Table(
    "throttles", metadata,
    Column("subject", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
)

audit_events = Table(
    "audit_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(36), nullable=True, index=True),
    Column("agent_id", String(36), nullable=True),
    Column("kind", String(30), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("client_ip", String(45), nullable=False, default=""),
    Column("detail", String(300), nullable=False, default=""),
)

# The agents' journal: who did what to which family, when; one row per action id (a retry records nothing more).
agent_actions = Table(
    "agent_actions", metadata,
    Column("id", String(36), primary_key=True),
    Column("agent_id", String(36), nullable=False, index=True),
    Column("action", String(80), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(300), nullable=False),
    Column("family_id", String(36), nullable=True, index=True),
    Column("at", UTCDateTime, nullable=False, index=True),
)

api_clients = Table(
    "api_clients", metadata,
    Column("client_id", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

mail_outbox = mail_outbox_table(metadata)

outbox, processed_events = messaging_tables(metadata)

# Once-per-slot scheduled tasks (espace_common.schedule), issue #12.
scheduled_runs = scheduled_runs_table(metadata)

# Health record («fiche sanitaire», issue #12): one per child, kept by its families' representatives.
health_records = Table(
    "health_records", metadata,
    Column("child_id", String(36), ForeignKey("children.id"), primary_key=True),
    Column("allergies", String(300), nullable=False, default=""),
    Column("treatment", String(1000), nullable=False, default=""),
    Column("doctor_name", String(100), nullable=False, default=""),
    Column("doctor_phone", String(20), nullable=False, default=""),
    Column("vaccinations_up_to_date", Boolean, nullable=False, default=False),
    Column("authorised_persons", JSON, nullable=False),
    Column("emergency_contacts", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(36), nullable=False),  # the account of the representative who saved it
)

# Every agent's read of a health record, granted or refused (a parent's own reads are not recorded).
health_record_reads = Table(
    "health_record_reads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("child_id", String(36), nullable=False, index=True),
    Column("agent_id", String(36), nullable=False),
    Column("agent_username", String(80), nullable=False),
    Column("role", String(30), nullable=False, default=""),  # the role it read under; "" when refused
    Column("granted", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False, index=True),
)

# The family's data in its hands (GDPR, issue #12): what each daily retention purge removed (espace_common.purge).
purge_log = purge_log_table(metadata)

# Reminders by e-mail (issue #12, docs/reminders.md): each account's opt-in, and each reminder sent, once per
# (account, kind, subject) whatever the runs and replicas; the row is written in the transaction of the mail.
reminder_preferences = Table(
    "reminder_preferences", metadata,
    Column("account_id", String(36), ForeignKey("accounts.id"), primary_key=True),
    Column("canteen_deadline", Boolean, nullable=False, default=False),
    Column("invoice_due", Boolean, nullable=False, default=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

reminders_sent = Table(
    "reminders_sent", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=False),
    Column("family_id", String(36), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("subject", String(60), nullable=False),  # the week's Monday, or the invoice's id
    Column("recipient", String(254), nullable=False),
    Column("detail", String(300), nullable=False, default=""),
    Column("sent_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "kind", "subject", name="uq_reminders_sent_account_kind_subject"),
)

# The document wallet (issue #12, docs/document-wallet.md): a family's documents, who read their files, and the
# expiry reminders sent (one per document and kind of reminder).
wallet_documents = Table(
    "wallet_documents", metadata,
    Column("id", String(36), primary_key=True),
    Column("family_id", String(36), ForeignKey("families.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("status", String(12), nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    Column("uploaded_by", String(80), nullable=False),
    Column("document_name", String(200), nullable=False),
    Column("document_type", String(40), nullable=False),
    Column("document_path", String(300), nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decided_by", String(80), nullable=True),
    Column("reason", String(500), nullable=False, default=""),
    Column("superseded_at", UTCDateTime, nullable=True),
)
Index("ix_wallet_documents_status", wallet_documents.c.status, wallet_documents.c.uploaded_at)

wallet_document_reads = Table(
    "wallet_document_reads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", String(36), ForeignKey("wallet_documents.id"), nullable=False, index=True),
    Column("reader", String(80), nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
)

wallet_reminders = Table(
    "wallet_reminders", metadata,
    Column("document_id", String(36), ForeignKey("wallet_documents.id"), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("sent_at", UTCDateTime, nullable=False),
)

# --- Messages to the service (issue #12, identity/domain_messages.py) -------------------------------------------
# A family's conversation with Affaires Scolaires or Petite Enfance; its messages; who read their attachments.
from sqlalchemy import Text  # noqa: E402  (kept in this block: the imports above are shared)

conversations = Table(
    "conversations", metadata,
    Column("id", String(36), primary_key=True),
    Column("family_id", String(36), ForeignKey("families.id"), nullable=False, index=True),
    Column("service", String(30), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("child_id", String(36), nullable=True),
    Column("invoice_id", String(36), nullable=True),
    Column("state", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_message_at", UTCDateTime, nullable=False),
    # When an agent of the service, and a member of the family, last opened it (what is unread for each side).
    Column("agent_read_at", UTCDateTime, nullable=True),
    Column("family_read_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True, index=True),
    Column("closed_by", String(36), nullable=True),
)
Index("ix_conversations_service_state", conversations.c.service, conversations.c.state)

messages = Table(
    "messages", metadata,
    Column("id", String(36), primary_key=True),
    Column("conversation_id", String(36), ForeignKey("conversations.id"), nullable=False, index=True),
    Column("author_kind", String(10), nullable=False),  # family | agent
    Column("author_id", String(36), nullable=False),  # the parent's account, or the agent
    Column("author_name", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # The POST's request id: the same form or Idempotency-Key sent twice by the same author is one message.
    Column("request_id", String(80), nullable=True),
    Column("attachment_name", String(150), nullable=True),
    Column("attachment_type", String(40), nullable=True),
    Column("attachment_path", String(80), nullable=True),
    Column("attachment_size", Integer, nullable=True),
    UniqueConstraint("author_kind", "author_id", "request_id", name="uq_messages_request"),
)

message_attachment_reads = Table(
    "message_attachment_reads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(36), ForeignKey("messages.id"), nullable=False, index=True),
    Column("reader", String(80), nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
)
