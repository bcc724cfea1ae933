"""The payment service's entrypoints: each one delegates to a use case (use_cases.py), nothing else."""
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from nameko.timer import timer

from espace_common.nameko_support import Database, HealthMixin, rpc
from espace_common.observability import Observability  # noqa: E402

from . import collaborators, use_cases
from .orm import metadata
from . import export_use_cases  # the family's data in its hands (issue #12)
from .policy import PaymentSettings

RECONCILIATION_INTERVAL_S = 3600


class PaymentService(HealthMixin):
    name = "payment"

    db = Database(metadata)
    observability = Observability()  # issue #13: request ids in the log lines, /metrics
    config = Config()
    billing_rpc = RpcProxy("billing")
    identity_rpc = RpcProxy("identity")

    @property
    def payments(self):
        """The use cases, with this worker's units of work, the clock, the settings, billing, identity, the probe."""
        return use_cases.Payments(self.db.unit_of_work, self.db.clock, PaymentSettings.from_config(self.config),
                                  collaborators.Billing(self.billing_rpc), collaborators.Payers(self.identity_rpc),
                                  collaborators.probe)

    @rpc
    def vocabulary(self):
        """Card payment statuses and Paybox error codes with their French meaning."""
        return self.payments.vocabulary()

    @rpc
    def start_card_payment(self, invoice_id, family_id, payer_email):
        """{id, action_url, fields: [[name, value], ...]}: the form to post to Paybox, PBX_HMAC last."""
        return self.payments.start_card_payment(invoice_id, family_id, payer_email)

    @rpc
    def handle_notification(self, query_string, method="GET"):
        """Paybox's notification, as received: Forbidden when unsigned or wrongly signed, InvalidInput when it
        does not match a transaction; a success publishes payment.succeeded once."""
        return self.payments.handle_notification(query_string, method)

    @rpc
    def card_payment(self, payment_id, family_id=None):
        return self.payments.card_payment(payment_id, family_id)

    @rpc
    def family_mails(self, emails):
        """The receipts mailed to a family's addresses, for the agents' family file."""
        return self.payments.family_mails(emails)

    @rpc
    def reconcile(self, agent_id=None):
        """Successful transactions billing has not recorded get their event again; differences are reported."""
        return self.payments.reconcile(agent_id)

    @timer(interval=RECONCILIATION_INTERVAL_S)
    def scheduled_reconciliation(self):
        self.payments.reconcile()

    # --- The family's data in its hands (GDPR, issue #12) ---------------------------------------------------------

    @rpc
    def family_export(self, family_id):
        """The family's card payments and the receipts mailed, as JSON values (no card data is held here)."""
        return export_use_cases.family_export(self.db.unit_of_work, family_id)

    @rpc
    def personal_data(self, runs=True):
        """What the payment service keeps and for how long: accounting records, ten years, nothing purged."""
        return export_use_cases.personal_data(self.config)
