"""The childcare service's entrypoints: each one delegates to a use case (use_cases.py), nothing else."""
from nameko.dependency_providers import Config
from nameko.timer import timer

from espace_common.documents import DocumentStore
from espace_common.nameko_support import Database, HealthMixin, event_handler, rpc
from espace_common.projections import children_of, project_family_registered

from . import trail_use_cases, use_cases
from .domain import ChildcareRules
from .orm import metadata
# Health record (issue #12)
from espace_common.health_flags import project_health_flags  # noqa: E402
from espace_common.observability import Observability  # noqa: E402
from . import health_use_cases  # noqa: E402
from . import export_use_cases, retention_use_cases  # the family's data in its hands (issue #12)

SLOT_GENERATION_SECONDS = 6 * 3600


class ChildcareService(HealthMixin):
    name = "childcare"

    db = Database(metadata)
    observability = Observability()  # issue #13: request ids in the log lines, /metrics
    config = Config()

    @property
    def childcare(self):
        """The use cases, with this worker's units of work, the clock, the settings and the files' folder."""
        files = DocumentStore(self.config.get("CHILDCARE_FILES_DIR") or "var/childcare-files")
        return use_cases.Childcare(self.db.unit_of_work, self.db.clock, ChildcareRules.from_config(self.config), files)

    @event_handler("identity", "family_registered")
    def on_family_registered(self, message):
        project_family_registered(self.db, message, "childcare.on_family_registered")

    @timer(interval=SLOT_GENERATION_SECONDS, eager=True)
    def keep_slots_ahead(self):
        """Slots exist for the coming weeks whatever day it is: at start, then every few hours."""
        self.childcare.generate_slots()

    @rpc
    def family_children(self, family_id):
        """The children this service knows for a family, from its own projection."""
        return children_of(self.db, family_id)

    @rpc
    def vocabulary(self):
        """The codes this service owns with their French labels, and the limits and settings it enforces."""
        return self.childcare.vocabulary()

    # --- Calendar and slots ------------------------------------------------------------------------

    @rpc
    def generate_slots(self):
        """Create the slots of the coming weeks (idempotent)."""
        return self.childcare.generate_slots()

    @rpc
    def slots(self, start, end):
        """The slots of a range with their capacity, available places and waiting list length."""
        return self.childcare.slots(start, end)

    @rpc
    def set_capacity(self, slot_id, capacity):
        """An agent changes a slot's places; new places go to the waiting list first."""
        return self.childcare.set_capacity(slot_id, capacity)

    @rpc
    def close_day(self, day, kind="closed", reason=""):
        return self.childcare.close_day(day, kind, reason)

    @rpc
    def reopen_day(self, day):
        return self.childcare.reopen_day(day)

    @rpc
    def closures(self, start, end):
        """The closed days of a range (agents' closures and public holidays) with their reason."""
        return self.childcare.closures(start, end)

    # --- Registrations --------------------------------------------------------------------------------

    @rpc
    def register(self, child_id, kind, contract=None, actor=None):
        """An agent registers a child for occasional care, or regular care with a contract."""
        return self.childcare.register(child_id, kind, contract, actor)

    @rpc
    def find_children(self, query):
        """Children known from identity's families by name, with whether they are registered (agents' search)."""
        return self.childcare.find_children(query)

    @rpc
    def registrations(self):
        return self.childcare.registrations()

    # --- Families ----------------------------------------------------------------------------------------

    @rpc
    def family_childcare(self, family_id):
        """The family's children with registration, leave balance, bookings, leaves and absences, in one call."""
        return self.childcare.family_childcare(family_id)

    @rpc
    def family_overview(self, family_id, emails=()):
        """The agents' family file: children, registration, bookings, absences with their reads, mails sent."""
        return self.childcare.family_overview(family_id, emails)

    @rpc
    def child_bookings(self, family_id, child_id):
        return self.childcare.child_bookings(family_id, child_id)

    @rpc
    def book(self, family_id, child_id, slot_id, contact_email=None, actor=None):
        """Book a slot: confirmed while places are left, else on the waiting list (its position answered)."""
        return self.childcare.book(family_id, child_id, slot_id, contact_email, actor)

    @rpc
    def cancel_booking(self, family_id, booking_id, actor=None):
        """Cancel a booking; says whether it will be billed and who was promoted from the waiting list."""
        return self.childcare.cancel(family_id, booking_id, actor)

    @rpc
    def declare_leave(self, family_id, child_id, start, end, actor=None):
        return self.childcare.declare_leave(family_id, child_id, start, end, actor)

    @rpc
    def report_absence(self, family_id, child_id, start, end, reason, document=None, actor=None):
        """An absence with a reason and an optional justification (PDF, JPEG or PNG, 5 MB)."""
        return self.childcare.report_absence(family_id, child_id, start, end, reason, document, actor)

    @rpc
    def family_absences(self, family_id):
        """The family's absences, newest first, with their justification's decision and what the parent may do."""
        return self.childcare.family_absences(family_id)

    @rpc
    def withdraw_absence(self, family_id, absence_id, actor=None):
        """A parent withdraws an absence that has not begun and is not decided (another family's is NotFound)."""
        return self.childcare.withdraw_absence(family_id, absence_id, actor)

    @rpc
    def attach_justification(self, family_id, absence_id, document, actor=None):
        """A justification added afterwards; it waits for the crèche's decision."""
        return self.childcare.attach_justification(family_id, absence_id, document, actor)

    @rpc
    def family_dashboard(self, family_id):
        """The dashboard's crèche tile: next bookings, waiting-list places, justifications waiting for a decision."""
        return self.childcare.family_dashboard(family_id)

    @rpc
    def absence_document(self, absence_id, family_id=None, reader=None):
        """The justification, for its family (family_id given) or an agent (None); every read is recorded."""
        return self.childcare.absence_document(absence_id, family_id, reader)

    @rpc
    def document_reads(self, absence_id):
        return self.childcare.document_reads(absence_id)

    # --- Agents: justifications, attendance, planning ------------------------------------------------------

    @rpc
    def justifications(self, status="pending"):
        return self.childcare.justifications(status)

    @rpc
    def decide_justification(self, absence_id, accepted, comment="", reader="agent", actor=None):
        return self.childcare.decide_justification(absence_id, accepted, comment, reader, actor)

    @rpc
    def record_attendance(self, child_id, day, arrived_at, left_at=None, actor=None):
        return self.childcare.record_attendance(child_id, day, arrived_at, left_at, actor)

    @rpc
    def planning(self, day):
        """The day's slots with who is expected and who waits, the contracted children, the attendance."""
        return self.childcare.planning(day)

    # --- Billing, calendar feed, news ------------------------------------------------------------------------

    @rpc
    def billable_facts(self, month, family_id=None):
        """Per child, the month's contract hours, occasional hours, late cancellations and deductions."""
        return self.childcare.billable_facts(month, family_id)

    @rpc
    def family_bookings_feed(self, family_id, days_back=31, days_ahead=180):
        return self.childcare.family_bookings_feed(family_id, days_back, days_ahead)

    @rpc
    def publish_news(self, title, body, kind="news"):
        return self.childcare.publish_news(title, body, kind)

    @rpc
    def list_news(self, kind="news", limit=20):
        return self.childcare.list_news(kind, limit)

    @rpc
    def news_item(self, news_id):
        return self.childcare.news_item(news_id)

    @rpc
    def edit_news(self, news_id, title, body, kind="news"):
        """An agent corrects a published news item or practical information."""
        return self.childcare.edit_news(news_id, title, body, kind)

    @rpc
    def withdraw_news(self, news_id):
        """An agent withdraws a published item from the public pages."""
        return self.childcare.withdraw_news(news_id)

    # --- Health record (issue #12) -------------------------------------------------------------------

    @rpc
    def child_known(self, child_id):
        """Identity asks, when an agent of Petite Enfance reads a child's health record: does the crèche know it?"""
        return health_use_cases.child_known(self.childcare, child_id)

    @event_handler("identity", "health_flags_changed")
    def on_health_flags_changed(self, message):
        project_health_flags(self.db, message, "childcare.on_health_flags_changed")
    # --- The family's data in its hands (GDPR, issue #12) ---------------------------------------------------------
    @rpc
    def family_export(self, family_id):
        """Everything the crèche holds on a family, as JSON values (justifications described, not sent)."""
        return export_use_cases.family_export(self.db.unit_of_work, family_id)
    @rpc
    def personal_data(self, runs=True):
        """The kinds of data the crèche keeps with their retention periods; with runs, the latest purges."""
        return retention_use_cases.personal_data(self.db.unit_of_work, self.config, runs)
    @timer(interval=3600, eager=True)
    def purge_expired_data(self):
        """Once a day (the first timer of the day in any replica): justification files, reads and mails past their
        period."""
        retention_use_cases.purge(self.db.unit_of_work, self.db.clock, self.config,
                                  ChildcareRules.from_config(self.config).zone, self.childcare.files)
    # --- The family's trail (issue #12) -------------------------------------------------------------
    @property
    def childcare_trail(self):
        return trail_use_cases.ChildcareTrail(self.db.unit_of_work, self.db.clock,
                                              ChildcareRules.from_config(self.config))
    @rpc
    def family_trail(self, family_id, start, end):
        """The family's crèche changes between two dates (both included), newest first, with who made them."""
        return self.childcare_trail.family_trail(family_id, start, end)
    @rpc
    def trail_export(self, family_id):
        """Every crèche entry of the family's trail, oldest first (the family's data export)."""
        return self.childcare_trail.trail_export(family_id)
