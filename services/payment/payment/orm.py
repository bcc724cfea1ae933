"""The payment service's tables."""
from espace_common.db import messaging_tables, new_metadata

metadata = new_metadata()

outbox, processed_events = messaging_tables(metadata)
