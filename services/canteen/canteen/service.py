"""The canteen service's entrypoints: each one delegates to a use case (use_cases.py), nothing else."""
from nameko.dependency_providers import Config
from nameko.timer import timer

from espace_common.nameko_support import Database, HealthMixin, event_handler, rpc
from espace_common.projections import children_of, project_family_registered

from . import documents, use_cases
from . import reminder_use_cases  # issue #12's reminders
from . import documents, trail_use_cases, use_cases
from .calendar_rules import CanteenRules
from .orm import metadata
# Health record (issue #12)
from espace_common.health_flags import project_health_flags  # noqa: E402
from espace_common.observability import Observability  # noqa: E402
from . import health_use_cases  # noqa: E402
from . import export_use_cases, retention_use_cases  # the family's data in its hands (issue #12)


class CanteenService(HealthMixin):
    name = "canteen"

    db = Database(metadata)
    observability = Observability()  # issue #13: request ids in the log lines, /metrics
    config = Config()

    @property
    def canteen(self):
        """The use cases, with this worker's units of work, the clock, the settings and the files' folder."""
        files = documents.DocumentStore(self.config.get("CANTEEN_FILES_DIR") or "var/canteen-files")
        return use_cases.Canteen(self.db.unit_of_work, self.db.clock, CanteenRules.from_config(self.config), files)

    @event_handler("identity", "family_registered")
    def on_family_registered(self, message):
        project_family_registered(self.db, message, "canteen.on_family_registered")

    @rpc
    def family_children(self, family_id):
        """The children this service knows for a family, from its own projection."""
        return children_of(self.db, family_id)

    @rpc
    def vocabulary(self):
        """The codes this service owns with their French labels, and the limits it enforces."""
        return self.canteen.vocabulary()

    @rpc
    def rules_summary(self):
        """The settings pages need to show: school weekdays and the deadline."""
        return self.canteen.rules_summary()

    # --- Schools, classes, enrolments ------------------------------------------------

    @rpc
    def list_schools(self):
        return self.canteen.list_schools()

    @rpc
    def add_school(self, name, kind="public", address=""):
        """Idempotent by name, so that demo data and imports can run twice."""
        return self.canteen.add_school(name, kind, address)

    @rpc
    def add_class(self, school_id, school_year, name):
        return self.canteen.add_class(school_id, school_year, name)

    @rpc
    def list_classes(self, school_id, school_year):
        return self.canteen.list_classes(school_id, school_year)

    @rpc
    def edit_school(self, school_id, name, kind="public", address=""):
        return self.canteen.edit_school(school_id, name, kind, address)

    @rpc
    def delete_school(self, school_id):
        """Delete a school entered by mistake; refused (Conflict) when children are or were enrolled in it."""
        return self.canteen.delete_school(school_id)

    @rpc
    def rename_class(self, class_id, name):
        return self.canteen.rename_class(class_id, name)

    @rpc
    def delete_class(self, class_id):
        """Delete a class entered by mistake; refused (Conflict) when children are enrolled in it."""
        return self.canteen.delete_class(class_id)

    @rpc
    def school_directory(self):
        """Every school with its classes of this school year and the next, in one call."""
        return self.canteen.school_directory()

    @rpc
    def enrol(self, child_id, school_id, school_year, class_id=None):
        """An agent enrols a child (known from identity) in a school and class for a school year."""
        return self.canteen.enrol(child_id, school_id, school_year, class_id)

    # --- Calendar --------------------------------------------------------------------------

    @rpc
    def import_holidays(self, ics_text):
        """Import the national school-holiday calendar (iCalendar) of the town's zone; idempotent."""
        return self.canteen.import_holidays(ics_text)

    @rpc
    def close_day(self, day, reason=""):
        return self.canteen.close_day(day, reason)

    @rpc
    def reopen_day(self, day):
        return self.canteen.reopen_day(day)

    @rpc
    def closed_days(self, start, end):
        """The days agents closed in the range, with their reason."""
        return self.canteen.closed_days(start, end)

    @rpc
    def school_days(self, start, end):
        """Each day of the range with whether meals are served, and why not."""
        return self.canteen.school_days(start, end)

    # --- Reservations ---------------------------------------------------------------------

    @rpc
    def meals(self, family_id, child_id, start, end):
        """One entry per calendar day: state, whether it can still change, and its deadline."""
        return self.canteen.meals(family_id, child_id, start, end)

    @rpc
    def family_meals(self, family_id, start, end):
        """Every child of the family with its days, in one call: what the parent's month page shows."""
        return self.canteen.family_meals(family_id, start, end)

    @rpc
    def change_meal(self, family_id, child_id, day, action, actor=None):
        """Reserve or cancel one day; refused on a closed or frozen day. Repeating it changes nothing."""
        return self.canteen.change_meal(family_id, child_id, day, action, actor)

    @rpc
    def change_day(self, family_id, child_id, day, action, actor=None):
        """The month page's one tap: the change or its refusal, with the child's name and rank, in one call."""
        return self.canteen.change_day(family_id, child_id, day, action, actor)

    @rpc
    def change_meals(self, family_id, request, actor=None):
        """Several children, a period and a weekday pattern in one request; answers day by day."""
        return self.canteen.change_meals(family_id, request, actor)

    # --- Absences ----------------------------------------------------------------------------

    @rpc
    def report_absence(self, family_id, child_id, start, end, reason, document=None, actor=None):
        """A parent reports an absence, with an optional justification (PDF, JPEG or PNG, 5 MB)."""
        return self.canteen.report_absence(family_id, child_id, start, end, reason, document, actor)

    @rpc
    def enrolments_of_family(self, family_id):
        """Where each child of a family is enrolled, per school year (school and class), for the agents' pages."""
        return self.canteen.enrolments_of_family(family_id)

    @rpc
    def family_absences(self, family_id):
        """The absences reported for a family's children, newest first, with whether a justification came."""
        return self.canteen.family_absences(family_id)

    @rpc
    def family_overview(self, family_id, start, end):
        """The agents' family file: enrolments, the month's days of each child, absences with their reads."""
        return self.canteen.family_overview(family_id, start, end)

    @rpc
    def absences_to_review(self, limit=200):
        """The town's justifications no agent has opened yet, oldest first (the agents' queue)."""
        return self.canteen.absences_to_review(limit)

    @rpc
    def report_absences(self, family_id, child_ids, start, end, reason, document=None, actor=None):
        """One absence form for several children: answered child by child."""
        return self.canteen.report_absences(family_id, child_ids, start, end, reason, document, actor)

    @rpc
    def withdraw_absence(self, family_id, absence_id, actor=None):
        """A parent withdraws an absence that has not begun (another family's is NotFound)."""
        return self.canteen.withdraw_absence(family_id, absence_id, actor)

    @rpc
    def attach_justification(self, family_id, absence_id, document, actor=None):
        """The medical certificate added afterwards, within the hours the absence page announces."""
        return self.canteen.attach_justification(family_id, absence_id, document, actor)

    @rpc
    def family_dashboard(self, family_id):
        """The dashboard's canteen tile: next meals, days to reserve before the next deadline, certificates to send."""
        return self.canteen.family_dashboard(family_id)

    @rpc
    def absence_document(self, absence_id, family_id=None, reader=None):
        """The justification file, for its family (family_id given) or an agent (None); every read is recorded."""
        return self.canteen.absence_document(absence_id, family_id, reader)

    @rpc
    def document_reads(self, absence_id):
        """Who read a justification, and when (for the data protection officer)."""
        return self.canteen.document_reads(absence_id)

    # --- Attendance, diets and head-counts (agents, the kitchen) -------------------------------

    @rpc
    def record_attendance(self, school_id, day, eaten_child_ids, actor=None):
        """Who ate, per school and day; a meal eaten without reservation is kept as such."""
        return self.canteen.record_attendance(school_id, day, eaten_child_ids, actor)

    @rpc
    def regularise_reservations(self, child_id, days, actor=None):
        """Agents: the meals a family had reserved on paper for school days already past."""
        return self.canteen.regularise_reservations(child_id, days, actor)

    @rpc
    def day_sheet(self, school_id, day):
        """The agents' sheet of a day: each enrolled child, reserved or not, eaten or not, diet."""
        return self.canteen.day_sheet(school_id, day)

    @rpc
    def school_day(self, school_id, day):
        """The schools, the chosen one, its school year and its sheet of the day, in one call."""
        return self.canteen.school_day(school_id, day)

    @rpc
    def set_diet(self, child_id, diet, pai=False, actor=None):
        return self.canteen.set_diet(child_id, diet, pai, actor)

    @rpc
    def headcount(self, school_id, day):
        """Meals reserved for a school and day, split by diet: what the kitchen cooks."""
        return self.canteen.headcount(school_id, day)

    @rpc
    def headcounts(self, day):
        """Every school's head-count of a day, in one call."""
        return self.canteen.headcounts(day)

    # --- Billable facts (pulled by billing at month end) ----------------------------------------

    @rpc
    def billable_facts(self, month, family_id=None):
        """Per child of a family (or of all), the month's reserved, eaten-without-reservation and absent days."""
        return self.canteen.billable_facts(month, family_id)

    # --- Menus and news (public) ------------------------------------------------------------------

    @rpc
    def set_menu(self, day, courses):
        return self.canteen.set_menu(day, courses)

    @rpc
    def menus_for_week(self, week):
        return self.canteen.menus_for_week(week)

    @rpc
    def publish_news(self, title, body, kind="news"):
        return self.canteen.publish_news(title, body, kind)

    @rpc
    def list_news(self, kind="news", limit=20):
        return self.canteen.list_news(kind, limit)

    @rpc
    def news_item(self, news_id):
        return self.canteen.news_item(news_id)

    @rpc
    def edit_news(self, news_id, title, body, kind="news"):
        """An agent corrects a published news item or practical information."""
        return self.canteen.edit_news(news_id, title, body, kind)

    @rpc
    def withdraw_news(self, news_id):
        """An agent withdraws a published item from the public pages."""
        return self.canteen.withdraw_news(news_id)

    # --- The family's private calendar feed -------------------------------------------------------

    @rpc
    def renew_calendar_feed(self, family_id):
        """A new private feed token for the family (the previous one stops working)."""
        return self.canteen.renew_calendar_feed(family_id)

    @rpc
    def revoke_calendar_feed(self, family_id):
        return self.canteen.revoke_calendar_feed(family_id)

    @rpc
    def calendar_feed(self, token, days_back=31, days_ahead=180):
        """The family's reserved meals around today, for an iCalendar feed."""
        return self.canteen.calendar_feed(token, days_back, days_ahead)

    @rpc
    def family_calendar_feed(self, token, days_back=31, days_ahead=180):
        """The feed's family and its reserved meals: the gateway adds the crèche's bookings to the same feed."""
        return self.canteen.family_calendar_feed(token, days_back, days_ahead)

    @rpc
    def calendar_feed_status(self, family_id):
        """Whether the family has a working calendar feed (its address is only shown when made)."""
        return self.canteen.calendar_feed_status(family_id)

    # --- Health record (issue #12) -------------------------------------------------------------------

    @rpc
    def child_enrolled(self, child_id):
        """Identity asks, when an agent of Affaires Scolaires reads a child's health record: is it enrolled?"""
        return health_use_cases.child_enrolled(self.canteen, child_id)

    @event_handler("identity", "health_flags_changed")
    def on_health_flags_changed(self, message):
        project_health_flags(self.db, message, "canteen.on_health_flags_changed")
    # --- The family's data in its hands (GDPR, issue #12) ---------------------------------------------------------
    @rpc
    def family_export(self, family_id):
        """Everything the canteen holds on a family, as JSON values (justifications described, not sent)."""
        return export_use_cases.family_export(self.db.unit_of_work, family_id)
    @rpc
    def personal_data(self, runs=True):
        """The kinds of data the canteen keeps with their retention periods; with runs, the latest purges."""
        return retention_use_cases.personal_data(self.db.unit_of_work, self.config, runs)
    @timer(interval=3600, eager=True)
    def purge_expired_data(self):
        """Once a day (the first timer of the day in any replica): justification files and reads past their period."""
        retention_use_cases.purge(self.db.unit_of_work, self.db.clock, self.config,
                                  CanteenRules.from_config(self.config).zone, self.canteen.files)
    # --- Reminders (issue #12): what identity's reminders ask -------------------------------------------------------
    @rpc
    def reminder_week(self, week):
        """The earliest reservation deadline still ahead among the school days of the week of this Monday."""
        return self.reminders.reminder_week(week)
    @rpc
    def children_to_remind(self, week, usual_weeks=4, usual_min_weeks=2):
        """The children who usually eat and have no meal reserved that week, with the days still open."""
        return self.reminders.children_to_remind(week, usual_weeks, usual_min_weeks)
    @property
    def reminders(self):
        return reminder_use_cases.CanteenReminders(self.db.unit_of_work, self.db.clock,
                                                   CanteenRules.from_config(self.config))
    # --- The family's trail (issue #12) -------------------------------------------------------------
    @property
    def canteen_trail(self):
        return trail_use_cases.CanteenTrail(self.db.unit_of_work, self.db.clock, CanteenRules.from_config(self.config))
    @rpc
    def family_trail(self, family_id, start, end):
        """The family's canteen changes between two dates (both included), newest first, with who made them."""
        return self.canteen_trail.family_trail(family_id, start, end)
    @rpc
    def trail_export(self, family_id):
        """Every canteen entry of the family's trail, oldest first (the family's data export)."""
        return self.canteen_trail.trail_export(family_id)
