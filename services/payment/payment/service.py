"""The payment service's entrypoints."""
from espace_common.nameko_support import Database, HealthMixin

from .orm import metadata


class PaymentService(HealthMixin):
    name = "payment"

    db = Database(metadata)
