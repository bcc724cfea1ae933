"""A test-only service whose event handler has a visible, non-idempotent effect: it counts."""
from nameko.events import event_handler
from sqlalchemy import Column, Integer, String, Table, update

from espace_common.db import messaging_tables, new_metadata
from espace_common.nameko_support import Database, HealthMixin

metadata = new_metadata()
counters = Table("counters", metadata, Column("name", String(20), primary_key=True), Column("value", Integer))
outbox, processed_events = messaging_tables(metadata)


class CountingService(HealthMixin):
    name = "counting"

    db = Database(metadata)

    @event_handler("identity", "family_registered")
    def on_family_registered(self, message):
        with self.db.unit_of_work() as uow:
            if uow.claim_event(message["id"], "counting.on_family_registered"):
                uow.execute(update(counters).values(value=counters.c.value + 1))
            uow.commit()
