"""The billing service's entrypoints: each one delegates to a use case (use_cases.py), nothing else."""
from nameko.dependency_providers import Config
from eventlet import tpool
from nameko.rpc import RpcProxy
from nameko.timer import timer

from espace_common.nameko_support import Database, HealthMixin, event_handler, fault_point, rpc
from espace_common.projections import children_of, project_family_registered
from espace_common.rpc_client import RemoteError, RpcClient, ServiceUnavailable
from espace_common.observability import Observability  # noqa: E402

from . import debit_use_cases, domain, use_cases
from . import documents, domain, use_cases
from .orm import metadata
from . import export_use_cases  # the family's data in its hands (issue #12)
from . import reminder_use_cases  # issue #12's reminders


FACT_OWNERS_FR = {"canteen": "de la restauration scolaire", "childcare": "du multi-accueil"}
RESUME_SECONDS = 15


class BillingService(HealthMixin):
    name = "billing"

    db = Database(metadata)
    observability = Observability()  # issue #13: request ids in the log lines, /metrics
    config = Config()
    canteen_rpc = RpcProxy("canteen")
    childcare_rpc = RpcProxy("childcare")
    identity_rpc = RpcProxy("identity")

    def facts_of(self, regie, month):
        """The month's billable facts of a régie, one dict per child, pulled from the service that owns them.

        With a deadline (BILLING_FACTS_TIMEOUT): a service that does not answer makes the run fail visibly and
        be tried again, instead of waiting in its queue for ever as nameko's own proxy would."""
        owner = "canteen" if regie == domain.AFFAIRES_SCOLAIRES else "childcare"
        timeout = float(self.config.get("BILLING_FACTS_TIMEOUT") or 120)
        try:
            client = RpcClient(self.config["AMQP_URI"], timeout=timeout, caller="billing")
        except ServiceUnavailable as exc:
            raise use_cases.FactsUnavailable(f"La messagerie interne ne répond pas ({exc.reason}).") from None
        try:
            answer = client.call(owner, "billable_facts", month)
        except ServiceUnavailable as exc:
            raise use_cases.FactsUnavailable(f"Le service {FACT_OWNERS_FR[owner]} ne répond pas ({exc.reason}) : "
                                             "la tournée reprendra toute seule.") from None
        except RemoteError as exc:
            raise use_cases.FactsUnavailable(f"Le service {FACT_OWNERS_FR[owner]} a refusé la demande : "
                                             f"{exc.message}") from None
        finally:
            client.close()
        return answer if owner == "canteen" else answer["children"]

    @property
    def billing(self):
        """The use cases, with this worker's units of work, the clock, the settings and the facts source."""
        return use_cases.Billing(self.db.unit_of_work, self.db.clock,
                                 use_cases.BillingSettings.from_config(self.config), self.facts_of,
                                 after_batch=lambda: fault_point("billing.after_run_batch"))

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
        """Start computing a régie's month as drafts in the background; answers at once {id, status: running}."""
        return self.billing.start_invoicing_run(regie, month, agent_id)

    @event_handler("billing", use_cases.RUN_STARTED)
    def on_invoicing_run_started(self, message):
        """Compute a started run in the background; a redelivery resumes it, a duplicate finds it done."""
        self.billing.compute_invoicing_run(message["data"]["run_id"])

    @timer(interval=RESUME_SECONDS)
    def resume_invoicing_runs(self):
        """Try again the runs that failed (their retry is due) or went silent (their worker died)."""
        self.billing.resume_invoicing_runs()

    @rpc
    def invoicing_run(self, run_id, with_lines=False):
        return self.billing.invoicing_run(run_id, with_lines)

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
    def family_overview(self, family_id, emails=()):
        """The agents' family file: issued invoices with their payments, and the mails sent to the family."""
        return self.billing.family_overview(family_id, emails)

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
    # --- The agents' search and the accounting export (issue 9) ---------------------------------------------

    @rpc
    def search_invoices(self, number=None, family_id=None, regie=None, period=None, status=None, limit=50,
                        offset=0):
        return self.billing.search_invoices(number, family_id, regie, period, status, limit, offset)

    @rpc
    def accounting_export(self, date_from, date_to):
        """Invoices issued, credit notes and payments of a period, as rows for the accounting software."""
        return self.billing.accounting_export(date_from, date_to)
    # --- Documents: PDFs, the online invoice, receipts, tax certificates (documents.py) ------------------------

    @property
    def documents(self):
        """The documents' use cases; PDFs are drawn in a real thread (tpool) so the other workers keep going."""
        settings = documents.DocumentSettings.from_config(self.config)
        return documents.Documents(self.db.unit_of_work, self.db.clock, settings, self.identity_rpc.billing_contacts,
                                   settings.renderer(run=tpool.execute))

    @event_handler("billing", "invoices_issued")
    def on_invoices_issued(self, message):
        self.documents.issue_documents(message["data"]["run_id"])

    @timer(interval=300)
    def finish_documents(self):
        """What an event left unfinished (identity down, a process stopped) is finished here."""
        self.documents.sweep()

    @rpc
    def invoice_pdf(self, invoice_id, family_id=None):
        """An issued invoice's stored PDF (drawn now if not yet); given a family, another's is not found."""
        return self.documents.invoice_pdf(invoice_id, family_id)

    @rpc
    def run_paper_pdf(self, run_id):
        """The one printable PDF of a final run's paper invoices."""
        return self.documents.run_paper_pdf(run_id)

    @rpc
    def receipt_pdf(self, payment_id, family_id=None):
        return self.documents.receipt_pdf(payment_id, family_id)

    @rpc
    def tax_certificate_pdf(self, family_id, year):
        """What the family paid the multi-accueil in a year per child under six, as a PDF."""
        return self.documents.tax_certificate_pdf(family_id, year)

    @rpc
    def billing_preference(self, family_id):
        return self.documents.billing_preference(family_id)

    @rpc
    def set_billing_preference(self, family_id, paperless, actor_id=None):
        """Online invoice (paperless) or paper, from the next finalised run."""
        return self.documents.set_billing_preference(family_id, paperless, actor_id)

    @rpc
    def family_documents(self, family_id):
        """The choice, the tax certificates' years and the payments with a receipt, for the parent's page."""
        return self.documents.family_documents(family_id)

    # --- Reconciliation with the payment service (issue #10) --------------------------------------------------

    @rpc
    def card_payments_recorded(self, transaction_ids):
        """Which of the payment service's transactions billing holds, as a card payment or an anomaly."""
        return debit_use_cases.card_payments_recorded(self.db.unit_of_work, transaction_ids)

    # --- The family's data in its hands (GDPR, issue #12) ---------------------------------------------------------

    @rpc
    def family_export(self, family_id):
        """Everything billing holds on a family, as JSON values (an IBAN masked but for its last four)."""
        return export_use_cases.family_export(self.db.unit_of_work, family_id)

    @rpc
    def personal_data(self, runs=True):
        """What billing keeps and for how long: accounting documents, ten years, nothing purged."""
        return export_use_cases.personal_data(self.config)

    # --- Reminders (issue #12): what identity's reminders ask ---------------------------------------------------

    @rpc
    def invoices_falling_due(self, first_day, last_day):
        """The issued, unpaid invoices (direct debit aside) whose due date is from first_day to last_day."""
        return reminder_use_cases.invoices_falling_due(self.db.unit_of_work, first_day, last_day)
