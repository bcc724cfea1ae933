"""The canteen service's tables."""
from espace_common.db import messaging_tables, new_metadata
from espace_common.projections import family_children_table

metadata = new_metadata()

family_children = family_children_table(metadata)

outbox, processed_events = messaging_tables(metadata)
