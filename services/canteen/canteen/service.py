"""The canteen service's entrypoints: thin wrappers around the rules and the store."""
import base64
import calendar as month_calendar
import hashlib
import secrets
from datetime import date, timedelta

from nameko.dependency_providers import Config

from espace_common.errors import Conflict, InvalidInput, NotFound
from espace_common.nameko_support import Database, HealthMixin, event_handler, rpc
from espace_common.projections import children_of, project_family_registered

from . import documents, domain, holidays_ical, store
from .calendar_rules import CanteenRules
from .orm import metadata

CHILD_NOT_FOUND = ("child_not_found", "Cet enfant n'existe pas.")


class CanteenService(HealthMixin):
    name = "canteen"

    db = Database(metadata)
    config = Config()

    @property
    def rules(self):
        return CanteenRules.from_config(self.config)

    @property
    def documents(self):
        return documents.DocumentStore(self.config.get("CANTEEN_FILES_DIR") or "var/canteen-files")

    @event_handler("identity", "family_registered")
    def on_family_registered(self, message):
        project_family_registered(self.db, message, "canteen.on_family_registered")

    @rpc
    def family_children(self, family_id):
        """The children this service knows for a family, from its own projection."""
        return children_of(self.db, family_id)

    @rpc
    def rules_summary(self):
        """The settings pages need to show: school weekdays and the deadline."""
        rules = self.rules
        return {"school_weekdays": list(rules.school_weekdays), "deadline_working_days": rules.deadline_working_days,
                "deadline_time": rules.deadline_time.strftime("%H:%M"), "timezone": rules.timezone}

    # --- Schools, classes, enrolments ------------------------------------------------

    @rpc
    def list_schools(self):
        with self.db.unit_of_work(read_only=True) as uow:
            return [{"id": s.id, "name": s.name, "kind": s.kind, "address": s.address} for s in store.schools(uow)]

    @rpc
    def add_school(self, name, kind="public", address=""):
        """Idempotent by name, so that demo data and imports can run twice."""
        name = (name or "").strip()
        if not name or kind not in ("public", "private"):
            raise InvalidInput("invalid_school", "Une école a un nom et est publique ou privée.")
        with self.db.unit_of_work() as uow:
            existing = store.school_by_name(uow, name)
            school_id = existing.id if existing else store.add_school(uow, name, kind, address or "")
            uow.commit()
        return {"id": school_id, "name": name, "kind": kind}

    @rpc
    def add_class(self, school_id, school_year, name):
        school_year = domain.parse_school_year(school_year)
        with self.db.unit_of_work() as uow:
            if store.school(uow, school_id) is None:
                raise NotFound("school_not_found", "Cette école n'existe pas.")
            class_id = store.add_class(uow, school_id, school_year, (name or "").strip() or "Classe")
            uow.commit()
        return {"id": class_id, "school_id": school_id, "school_year": school_year, "name": name}

    @rpc
    def list_classes(self, school_id, school_year):
        with self.db.unit_of_work(read_only=True) as uow:
            return [{"id": c.id, "name": c.name} for c in store.classes_of(uow, school_id, school_year)]

    @rpc
    def enrol(self, child_id, school_id, school_year, class_id=None):
        """An agent enrols a child (known from identity) in a school and class for a school year."""
        school_year = domain.parse_school_year(school_year)
        with self.db.unit_of_work() as uow:
            if store.known_child(uow, child_id) is None:
                raise NotFound(*CHILD_NOT_FOUND)
            if store.school(uow, school_id) is None:
                raise NotFound("school_not_found", "Cette école n'existe pas.")
            if class_id:
                klass = store.school_class(uow, class_id)
                if klass is None or klass.school_id != school_id or klass.school_year != school_year:
                    raise InvalidInput("invalid_class", "Cette classe n'est pas de cette école pour cette année.")
            store.save_enrolment(uow, child_id, school_id, school_year, class_id)
            uow.commit()
        return {"child_id": child_id, "school_id": school_id, "school_year": school_year, "class_id": class_id}

    # --- Calendar --------------------------------------------------------------------------

    @rpc
    def import_holidays(self, ics_text):
        """Import the national school-holiday calendar (iCalendar) of the town's zone; idempotent."""
        periods = holidays_ical.parse(ics_text)
        with self.db.unit_of_work() as uow:
            added = sum(store.upsert_holiday(uow, *period) for period in periods)
            uow.commit()
        return {"periods": len(periods), "added": added}

    @rpc
    def close_day(self, day, reason=""):
        day = domain.parse_date(day, "date")
        with self.db.unit_of_work() as uow:
            store.set_closed_day(uow, day, (reason or "").strip()[:200])
            uow.commit()
        return {"date": day.isoformat(), "closed": True}

    @rpc
    def reopen_day(self, day):
        day = domain.parse_date(day, "date")
        with self.db.unit_of_work() as uow:
            store.reopen_day(uow, day)
            uow.commit()
        return {"date": day.isoformat(), "closed": False}

    @rpc
    def closed_days(self, start, end):
        """The days agents closed in the range, with their reason."""
        start, end = domain.parse_range(start, end)
        with self.db.unit_of_work(read_only=True) as uow:
            return [{"date": r.day.isoformat(), "reason": r.reason} for r in store.closed_days_between(uow, start, end)]

    @rpc
    def school_days(self, start, end):
        """Each day of the range with whether meals are served, and why not."""
        start, end = domain.parse_range(start, end)
        rules = self.rules
        with self.db.unit_of_work(read_only=True) as uow:
            calendar = store.calendar(uow, start, end)
        days = []
        for day in _days(start, end):
            kind, reason = calendar.closure(day, rules) or (None, None)
            days.append({"date": day.isoformat(), "open": kind is None, "closure": kind, "reason": reason})
        return days

    # --- Reservations ---------------------------------------------------------------------

    def _own_child(self, uow, family_id, child_id):
        if store.child_in_family(uow, family_id, child_id) is None:
            raise NotFound(*CHILD_NOT_FOUND)

    @rpc
    def meals(self, family_id, child_id, start, end):
        """One entry per calendar day: state, whether it can still change, and its deadline."""
        start, end = domain.parse_range(start, end)
        rules = self.rules
        with self.db.unit_of_work(read_only=True) as uow:
            self._own_child(uow, family_id, child_id)
            calendar = store.calendar(uow, start, end)
            reserved = store.reserved_days(uow, [child_id], start, end)[child_id]
            absent = store.absent_days(uow, child_id, start, end)
        views = domain.day_views(start, end, calendar, rules, self.db.clock.now(), reserved, absent)
        return {"child_id": child_id, "days": [v.as_dict() for v in views]}

    @rpc
    def family_meals(self, family_id, start, end):
        """Every child of the family with its days, in one call: what the parent's month page shows."""
        start, end = domain.parse_range(start, end)
        rules = self.rules
        now = self.db.clock.now()
        with self.db.unit_of_work(read_only=True) as uow:
            children = store.children_of_family(uow, family_id)
            calendar = store.calendar(uow, start, end)
            reserved = store.reserved_days(uow, [c.child_id for c in children], start, end)
            absent = {c.child_id: store.absent_days(uow, c.child_id, start, end) for c in children}
        return [{"child_id": c.child_id, "first_name": c.first_name, "last_name": c.last_name,
                 "birth_date": c.birth_date.isoformat(),
                 "days": [v.as_dict() for v in domain.day_views(start, end, calendar, rules, now,
                                                                reserved[c.child_id], absent[c.child_id])]}
                for c in children]

    @rpc
    def change_meal(self, family_id, child_id, day, action):
        """Reserve or cancel one day; refused on a closed or frozen day. Repeating it changes nothing."""
        day = domain.parse_date(day, "date")
        rules = self.rules
        now = self.db.clock.now()
        with self.db.unit_of_work() as uow:
            self._own_child(uow, family_id, child_id)
            domain.check_change(day, store.calendar(uow, day, day), rules, now)
            if store.absent_children(uow, [child_id], day):
                raise Conflict("day_absent", "Une absence est signalée ce jour-là : le repas ne peut plus être modifié.")
            if action == "reserve":
                if store.enrolment(uow, child_id, domain.school_year_of(day)) is None:
                    raise Conflict("not_enrolled", "Cet enfant n'est pas inscrit à la restauration scolaire "
                                                   f"pour l'année {domain.school_year_of(day)}.")
                store.reserve(uow, [(child_id, day)], now)
            elif action == "cancel":
                store.cancel(uow, [(child_id, day)])
            else:
                raise InvalidInput("invalid_action", "L'action est « reserve » ou « cancel ».")
            uow.commit()
        return {"child_id": child_id, "date": day.isoformat(), "state": "reserved" if action == "reserve" else "not_reserved"}

    @rpc
    def change_meals(self, family_id, request):
        """Several children, a period and a weekday pattern in one request; answers day by day."""
        if not isinstance(request, dict):
            raise InvalidInput("invalid_body", "La demande doit être un objet JSON.")
        child_ids = request.get("children")
        if not isinstance(child_ids, list) or not child_ids or len(child_ids) > 10:
            raise InvalidInput("invalid_children", "Indiquez de un à dix enfants.")
        start, end = domain.parse_range(request.get("from"), request.get("to"))
        weekdays = domain.parse_weekdays(request.get("weekdays"))
        action = request.get("action")
        rules = self.rules
        now = self.db.clock.now()
        with self.db.unit_of_work() as uow:
            for child_id in child_ids:
                self._own_child(uow, family_id, child_id)
            calendar = store.calendar(uow, start, end)
            reserved = store.reserved_days(uow, child_ids, start, end)
            enrolled = store.enrolled_years(uow, child_ids)
            outcomes = []
            for outcome in domain.plan_bulk(child_ids, start, end, weekdays, action, calendar, rules, now, reserved):
                year = domain.school_year_of(outcome.date)
                if outcome.result == "reserved" and year not in enrolled[outcome.child_id]:
                    outcome = domain.Outcome(outcome.child_id, outcome.date, "refused",
                                             f"Enfant non inscrit à la restauration scolaire pour l'année {year}.")
                outcomes.append(outcome)
            store.reserve(uow, [(o.child_id, o.date) for o in outcomes if o.result == "reserved"], now)
            store.cancel(uow, [(o.child_id, o.date) for o in outcomes if o.result == "cancelled"])
            uow.commit()
        return {"results": [o.as_dict() for o in outcomes],
                "summary": {r: sum(o.result == r for o in outcomes) for r in ("reserved", "cancelled", "unchanged", "refused")}}

    # --- Absences ----------------------------------------------------------------------------

    @rpc
    def report_absence(self, family_id, child_id, start, end, reason, document=None):
        """A parent reports an absence, with an optional justification (PDF, JPEG or PNG, 5 MB)."""
        start, end = domain.parse_range(start, end)
        if reason not in domain.ABSENCE_REASONS:
            raise InvalidInput("invalid_reason", "Le motif est « illness » (maladie) ou « other » (autre).")
        stored = documents.decode(document) if document else None
        now = self.db.clock.now()
        with self.db.unit_of_work(read_only=True) as uow:
            self._own_child(uow, family_id, child_id)
        path = self.documents.save(stored[1], stored[3]) if stored else None
        with self.db.unit_of_work() as uow:
            absence_id = store.add_absence(uow, {
                "child_id": child_id, "family_id": family_id, "start": start, "end": end, "reason": reason,
                "reported_at": now, "document_name": stored[0] if stored else None,
                "document_type": stored[2] if stored else None, "document_path": path})
            uow.commit()
        return {"id": absence_id, "child_id": child_id, "from": start.isoformat(), "to": end.isoformat(),
                "reason": reason, "has_document": bool(stored)}

    @rpc
    def family_absences(self, family_id):
        """The absences reported for a family's children, newest first, with whether a justification came."""
        with self.db.unit_of_work(read_only=True) as uow:
            rows = store.absences_of_family(uow, family_id)
        return [{"id": r.id, "child_id": r.child_id, "from": r.start.isoformat(), "to": r.end.isoformat(),
                 "reason": r.reason, "reported_at": r.reported_at.isoformat(), "has_document": r.document_path is not None}
                for r in rows]

    @rpc
    def absence_document(self, absence_id, family_id=None, reader=None):
        """The justification file, for its family (family_id given) or an agent (None); every read is recorded."""
        with self.db.unit_of_work(read_only=True) as uow:
            row = store.absence(uow, absence_id)
        if row is None or row.document_path is None or (family_id is not None and row.family_id != family_id):
            raise NotFound("document_not_found", "Ce justificatif n'existe pas.")
        content = self.documents.read(row.document_path)
        with self.db.unit_of_work() as uow:
            store.record_document_read(uow, absence_id, reader or (f"family:{family_id}" if family_id else "agent"),
                                       self.db.clock.now())
            uow.commit()
        return {"name": row.document_name, "media_type": row.document_type,
                "content_base64": base64.b64encode(content).decode("ascii")}

    @rpc
    def document_reads(self, absence_id):
        """Who read a justification, and when (for the data protection officer)."""
        with self.db.unit_of_work(read_only=True) as uow:
            return [{"reader": r.reader, "read_at": r.read_at.isoformat()} for r in store.document_reads(uow, absence_id)]

    # --- Attendance, diets and head-counts (agents, the kitchen) -------------------------------

    @rpc
    def record_attendance(self, school_id, day, eaten_child_ids):
        """Who ate, per school and day; a meal eaten without reservation is kept as such."""
        day = domain.parse_date(day, "date")
        now = self.db.clock.now()
        with self.db.unit_of_work() as uow:
            enrolled = set(store.enrolled_children(uow, school_id, domain.school_year_of(day)))
            strangers = set(eaten_child_ids) - enrolled
            if strangers:
                raise InvalidInput("not_enrolled", "Certains enfants ne sont pas inscrits dans cette école.")
            reserved = store.reservations_on(uow, list(enrolled), day)
            store.replace_attendance(uow, school_id, day, list(dict.fromkeys(eaten_child_ids)), reserved, now)
            uow.commit()
        return {"date": day.isoformat(), "school_id": school_id, "eaten": len(set(eaten_child_ids)),
                "without_reservation": len(set(eaten_child_ids) - reserved)}

    @rpc
    def day_sheet(self, school_id, day):
        """The agents' sheet of a day: each enrolled child, reserved or not, eaten or not, diet."""
        day = domain.parse_date(day, "date")
        with self.db.unit_of_work(read_only=True) as uow:
            if store.school(uow, school_id) is None:
                raise NotFound("school_not_found", "Cette école n'existe pas.")
            enrolled = store.enrolled_children(uow, school_id, domain.school_year_of(day))
            reserved = store.reservations_on(uow, enrolled, day)
            absent = store.absent_children(uow, enrolled, day) if enrolled else set()
            eaten = {r.child_id for r in store.attendance_on(uow, school_id, day)}
            diets = store.diets_of(uow, enrolled)
            names = {c: store.known_child(uow, c) for c in enrolled}
        return sorted(({"child_id": c, "first_name": names[c].first_name, "last_name": names[c].last_name,
                        "reserved": c in reserved, "absent": c in absent, "eaten": c in eaten,
                        "diet": diets.get(c, ("standard", False))[0], "pai": diets.get(c, ("standard", False))[1]}
                       for c in enrolled), key=lambda r: (r["last_name"], r["first_name"]))

    @rpc
    def set_diet(self, child_id, diet, pai=False):
        if diet not in domain.DIETS:
            raise InvalidInput("invalid_diet", f"Le régime est l'un de : {', '.join(domain.DIETS)}.")
        with self.db.unit_of_work() as uow:
            if store.known_child(uow, child_id) is None:
                raise NotFound(*CHILD_NOT_FOUND)
            store.save_diet(uow, child_id, diet, bool(pai), self.db.clock.now())
            uow.commit()
        return {"child_id": child_id, "diet": diet, "pai": bool(pai)}

    @rpc
    def headcount(self, school_id, day):
        """Meals reserved for a school and day, split by diet: what the kitchen cooks."""
        day = domain.parse_date(day, "date")
        with self.db.unit_of_work(read_only=True) as uow:
            if store.school(uow, school_id) is None:
                raise NotFound("school_not_found", "Cette école n'existe pas.")
            enrolled = store.enrolled_children(uow, school_id, domain.school_year_of(day))
            # A child reported absent is not cooked for, though the meal stays booked (and billed unless justified).
            reserved = (store.reservations_on(uow, enrolled, day) - store.absent_children(uow, enrolled, day)
                        if enrolled else set())
            diets = store.diets_of(uow, list(reserved)) if reserved else {}
        return {"date": day.isoformat(), "school_id": school_id, **domain.headcount(reserved, diets)}

    # --- Billable facts (pulled by billing at month end) ----------------------------------------

    @rpc
    def billable_facts(self, month, family_id=None):
        """Per child of a family (or of all), the month's reserved, eaten-without-reservation and absent days."""
        try:
            year, month_number = (int(part) for part in str(month).split("-"))
            start = date(year, month_number, 1)
        except ValueError:
            raise InvalidInput("invalid_month", "Le mois s'écrit comme « 2026-11 ».") from None
        end = date(year, month_number, month_calendar.monthrange(year, month_number)[1])
        rules = self.rules
        with self.db.unit_of_work(read_only=True) as uow:
            pairs, reserved, eaten, absences = store.month_facts(uow, [family_id] if family_id else None, start, end)
        facts = []
        for pair in pairs:
            child_absences = [a for a in absences if a.child_id == pair.child_id]
            justified, unjustified = set(), set()
            for absence in child_absences:
                billable = domain.absence_is_billable(absence.reason, absence.start, absence.reported_at,
                                                      absence.document_path is not None, rules)
                for day in _days(max(absence.start, start), min(absence.end, end)):
                    if day in reserved.get(pair.child_id, set()):
                        (unjustified if billable else justified).add(day)
            booked = reserved.get(pair.child_id, set())
            facts.append({
                "family_id": pair.family_id, "child_id": pair.child_id, "month": f"{year:04d}-{month_number:02d}",
                "reserved": _iso(booked - justified),
                "eaten_without_reservation": _iso(eaten.get(pair.child_id, set()) - booked),
                "absent_justified": _iso(justified), "absent_unjustified": _iso(unjustified),
            })
        return facts

    # --- Menus and news (public) ------------------------------------------------------------------

    @rpc
    def set_menu(self, day, courses):
        day = domain.parse_date(day, "date")
        courses = domain.parse_courses(courses)
        with self.db.unit_of_work() as uow:
            store.save_menu(uow, day, courses)
            uow.commit()
        return {"date": day.isoformat(), "courses": courses}

    @rpc
    def menus_for_week(self, week):
        monday, sunday = domain.parse_iso_week(week)
        with self.db.unit_of_work(read_only=True) as uow:
            rows = store.menus_between(uow, monday, sunday)
        return [{"date": r.day.isoformat(), "courses": r.courses} for r in rows]

    @rpc
    def publish_news(self, title, body, kind="news"):
        title, body = (title or "").strip(), (body or "").strip()
        if not title or not body or kind not in ("news", "practical"):
            raise InvalidInput("invalid_news", "Une actualité a un titre, un texte, et est « news » ou « practical ».")
        with self.db.unit_of_work() as uow:
            news_id = store.add_news(uow, title[:200], body[:20000], kind, self.db.clock.now())
            uow.commit()
        return {"id": news_id}

    @rpc
    def list_news(self, kind="news", limit=20):
        with self.db.unit_of_work(read_only=True) as uow:
            rows = store.news(uow, kind, min(int(limit), 100))
        return [{"id": r.id, "title": r.title, "body": r.body, "published_at": r.published_at.isoformat()}
                for r in rows]

    # --- The family's private calendar feed -------------------------------------------------------

    @rpc
    def renew_calendar_feed(self, family_id):
        """A new private feed token for the family (the previous one stops working)."""
        token = secrets.token_urlsafe(24)
        with self.db.unit_of_work() as uow:
            store.replace_feed(uow, family_id, hashlib.sha256(token.encode()).hexdigest(), self.db.clock.now())
            uow.commit()
        return {"token": token}

    @rpc
    def revoke_calendar_feed(self, family_id):
        with self.db.unit_of_work() as uow:
            store.replace_feed(uow, family_id, None, self.db.clock.now())
            uow.commit()

    @rpc
    def calendar_feed(self, token, days_back=31, days_ahead=180):
        """The family's reserved meals around today, for an iCalendar feed."""
        with self.db.unit_of_work(read_only=True) as uow:
            feed = store.feed_by_digest(uow, hashlib.sha256((token or "").encode()).hexdigest())
            if feed is None:
                raise NotFound("feed_not_found", "Ce calendrier n'existe pas ou a été révoqué.")
            children = store.children_of_family(uow, feed.family_id)
            today = self.db.clock.today()
            start, end = today - timedelta(days=days_back), today + timedelta(days=days_ahead)
            reserved = store.reserved_days(uow, [c.child_id for c in children], start, end)
            absent = {c.child_id: store.absent_days(uow, c.child_id, start, end) for c in children}
        return [{"date": day.isoformat(), "child_id": c.child_id, "first_name": c.first_name}
                for c in children for day in sorted(reserved[c.child_id] - absent[c.child_id])]

    @rpc
    def calendar_feed_status(self, family_id):
        """Whether the family has a working calendar feed (its address is only shown when made)."""
        with self.db.unit_of_work(read_only=True) as uow:
            return {"active": store.active_feed(uow, family_id) is not None}


def _days(start, end):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _iso(days):
    return sorted(d.isoformat() for d in days)
