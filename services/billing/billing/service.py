"""The billing service's entrypoints: each one delegates to a use case (use_cases.py), nothing else."""
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy

from espace_common.nameko_support import Database, HealthMixin, event_handler, rpc
from espace_common.projections import children_of, project_family_registered

from . import debit_use_cases, domain, use_cases
from .orm import metadata


class BillingService(HealthMixin):
    name = "billing"

    db = Database(metadata)
    config = Config()
    canteen_rpc = RpcProxy("canteen")
    childcare_rpc = RpcProxy("childcare")

    def facts_of(self, regie, month):
        """The month's billable facts of a régie, one dict per child, pulled from the service that owns them."""
        if regie == domain.AFFAIRES_SCOLAIRES:
            return self.canteen_rpc.billable_facts(month)
        return self.childcare_rpc.billable_facts(month)["children"]

    @property
    def billing(self):
        """The use cases, with this worker's units of work, the clock, the settings and the facts source."""
        return use_cases.Billing(self.db.unit_of_work, self.db.clock,
                                 use_cases.BillingSettings.from_config(self.config), self.facts_of)

    @event_handler("identity", "family_registered")
    def on_family_registered(self, message):
        project_family_registered(self.db, message, "billing.on_family_registered")

    @rpc
    def family_children(self, family_id):
        """The children this service knows for a family, from its own projection."""
        return children_of(self.db, family_id)

    @rpc
    def vocabulary(self):
        """The codes this service owns (régies, states, payment methods, line kinds) with their French labels."""
        return {**self.billing.vocabulary(), **self.debits.vocabulary()}

    # --- Tariffs and resources -------------------------------------------------------------------------------

    @rpc
    def add_tariff_grid(self, regie, grid, agent_id=None):
        """A new dated grid for a régie; never edited in place once an invoice used it."""
        return self.billing.add_tariff_grid(regie, grid, agent_id)

    @rpc
    def current_tariffs(self, day=None):
        return self.billing.current_tariffs(day)

    @rpc
    def tariff_grids(self, regie):
        return self.billing.tariff_grids(regie)

    @rpc
    def price_estimate(self, regie, data):
        """{quotient, meals} or {monthly_resources_cents, children, disability, hours} -> the month's lines."""
        return self.billing.price_estimate(regie, data)

    @rpc
    def set_family_resources(self, family_id, resources, agent_id):
        """{from, quotient, monthly_resources_cents, dependent_children, disability}, kept with its agent."""
        return self.billing.set_family_resources(family_id, resources, agent_id)

    @rpc
    def family_resources(self, family_id):
        return self.billing.family_resources(family_id)

    # --- Runs and invoices ------------------------------------------------------------------------------------

    @rpc
    def start_invoicing_run(self, regie, month, agent_id=None):
        """Compute a régie's month as drafts; running it again creates nothing twice."""
        return self.billing.start_invoicing_run(regie, month, agent_id)

    @rpc
    def invoicing_run(self, run_id):
        return self.billing.invoicing_run(run_id)

    @rpc
    def invoicing_runs(self, regie=None, limit=24):
        return self.billing.invoicing_runs(regie, limit)

    @rpc
    def finalize_run(self, run_id, agent_id=None):
        """Number the drafts without gaps and issue them; a final invoice never changes."""
        return self.billing.finalize_run(run_id, agent_id)

    @rpc
    def family_invoices(self, family_id):
        return self.billing.family_invoices(family_id)

    @rpc
    def invoice(self, invoice_id, family_id=None):
        return self.billing.invoice(invoice_id, family_id)

    @rpc
    def record_payment(self, invoice_id, method, amount_cents, agent_id=None, external_id=None):
        return self.billing.record_payment(invoice_id, method, amount_cents, agent_id, external_id)

    @rpc
    def credit_note(self, invoice_id, amount_cents, reason, agent_id=None):
        return self.billing.credit_note(invoice_id, amount_cents, reason, agent_id)

    # --- Direct debit, and card payments arriving as events (debit_use_cases.py) -----------------------------

    @property
    def debits(self):
        """Mandates, debit files, rejections and card payment events, with the town as SEPA creditor."""
        return debit_use_cases.DirectDebits(self.db.unit_of_work, self.db.clock,
                                            debit_use_cases.DebitSettings.from_config(self.config), self.billing)

    @event_handler("payment", "succeeded")
    def on_payment_succeeded(self, message):
        """A card payment: recorded once however often it comes (its transaction id), else kept as an anomaly."""
        self.debits.card_payment_succeeded(message)

    @rpc
    def sign_mandate(self, family_id, iban, holder, accepted, signer_id=None):
        """A payer's SEPA mandate {iban, holder} for the family; answers it with its reference (RUM), IBAN masked."""
        return self.debits.sign_mandate(family_id, iban, holder, accepted, signer_id)

    @rpc
    def family_mandates(self, family_id):
        return self.debits.family_mandates(family_id)

    @rpc
    def revoke_mandate(self, family_id, by=None):
        return self.debits.revoke_mandate(family_id, by)

    @rpc
    def debit_file(self, regie, month, agent_id=None):
        """The month's pain.008.001.02 file {filename, xml, count, total_cents}; the same month again sends nothing."""
        return self.debits.debit_file(regie, month, agent_id)

    @rpc
    def month_debits(self, regie, month):
        return self.debits.month_debits(regie, month)

    @rpc
    def reject_debit(self, invoice_id, reason, agent_id=None):
        """The bank rejected an invoice's debit: the invoice is to pay again."""
        return self.debits.reject_debit(invoice_id, reason, agent_id)

    @rpc
    def payment_anomalies(self, limit=50):
        return self.debits.payment_anomalies(limit)

    # --- Reconciliation with the payment service (issue #10) --------------------------------------------------

    @rpc
    def card_payments_recorded(self, transaction_ids):
        """Which of the payment service's transactions billing holds, as a card payment or an anomaly."""
        return debit_use_cases.card_payments_recorded(self.db.unit_of_work, transaction_ids)
