"""The identity service's tables."""
from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Integer, String, Table, UniqueConstraint

from espace_common.db import UTCDateTime, messaging_tables, new_metadata

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

outbox, processed_events = messaging_tables(metadata)
