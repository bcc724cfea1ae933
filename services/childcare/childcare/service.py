"""The childcare service's entrypoints."""

from espace_common.nameko_support import Database, HealthMixin, event_handler, rpc
from espace_common.projections import children_of, project_family_registered

from .orm import metadata


class ChildcareService(HealthMixin):
    name = "childcare"

    db = Database(metadata)

    @event_handler("identity", "family_registered")
    def on_family_registered(self, message):
        project_family_registered(self.db, message, "childcare.on_family_registered")

    @rpc
    def family_children(self, family_id):
        """The children this service knows for a family, from its own projection."""
        return children_of(self.db, family_id)
