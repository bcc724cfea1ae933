"""The canteen's use cases: what each request does, beside the domain.

Each one opens a unit of work, reads through `store`, lets the domain's rules decide, writes and commits.
They know neither nameko nor the broker: `service.py` hands them a unit-of-work factory, the clock, the
settings (CanteenRules) and the private folder of justifications, and tests hand them the same things
on a SQLite file (services/canteen/tests/unit/test_use_cases.py).
"""
import hashlib
import secrets
from datetime import timedelta

from espace_common import formatting
from espace_common.errors import Conflict, InvalidInput, NotFound

from . import documents, domain, holidays_ical, store
from . import trail_use_cases  # the family's trail (issue #12)
from .calendar_rules import days_between
# Health record (issue #12)
from espace_common.health_flags import flags_of  # noqa: E402
from . import orm  # noqa: E402

CHILD_NOT_FOUND = ("child_not_found", "Cet enfant n'existe pas.")
SCHOOL_NOT_FOUND = ("school_not_found", "Cette école n'existe pas.")
ABSENCE_NOT_FOUND = ("absence_not_found", "Cette absence n'existe pas.")
CLASS_NOT_FOUND = ("class_not_found", "Cette classe n'existe pas.")
NEWS_NOT_FOUND = ("news_not_found", "Cette actualité n'existe pas ou a été retirée.")


class Canteen:
    """The canteen service's use cases, one method per request."""

    def __init__(self, unit_of_work, clock, rules, files):
        self.unit_of_work = unit_of_work  # unit_of_work(read_only=False) -> a UnitOfWork
        self.clock = clock
        self.rules = rules
        self.files = files  # documents.DocumentStore

    def today(self):
        """Today in the town, whatever the server's zone."""
        return self.clock.now().astimezone(self.rules.zone).date()

    # --- What the gateway shows ---------------------------------------------------------------

    def vocabulary(self):
        return domain.vocabulary(self.rules, documents.MAX_BYTES, documents.MEDIA_TYPES)

    def rules_summary(self):
        rules = self.rules
        return {"school_weekdays": list(rules.school_weekdays), "deadline_working_days": rules.deadline_working_days,
                "deadline_time": rules.deadline_time.strftime("%H:%M"), "timezone": rules.timezone}

    # --- Schools, classes, enrolments -----------------------------------------------------------

    def list_schools(self):
        with self.unit_of_work(read_only=True) as uow:
            return [_school(s) for s in store.schools(uow)]

    def add_school(self, name, kind="public", address=""):
        """Idempotent by name, so that demo data and imports can run twice."""
        name, kind, address = domain.parse_school(name, kind, address)
        with self.unit_of_work() as uow:
            existing = store.school_by_name(uow, name)
            school_id = existing.id if existing else store.add_school(uow, name, kind, address)
            uow.commit()
        return {"id": school_id, "name": name, "kind": kind}

    def add_class(self, school_id, school_year, name):
        school_year = domain.parse_school_year(school_year)
        name = domain.parse_class_name(name)
        with self.unit_of_work() as uow:
            if store.school(uow, school_id) is None:
                raise NotFound(*SCHOOL_NOT_FOUND)
            class_id = store.add_class(uow, school_id, school_year, name)
            uow.commit()
        return {"id": class_id, "school_id": school_id, "school_year": school_year, "name": name}

    def edit_school(self, school_id, name, kind="public", address=""):
        """An agent corrects a school's name, kind or address; another school's name is refused."""
        name, kind, address = domain.parse_school(name, kind, address)
        with self.unit_of_work() as uow:
            if store.school(uow, school_id) is None:
                raise NotFound(*SCHOOL_NOT_FOUND)
            namesake = store.school_by_name(uow, name)
            if namesake is not None and namesake.id != school_id:
                raise Conflict("school_name_taken", f"Une autre école s'appelle déjà « {name} ».")
            store.update_school(uow, school_id, name, kind, address)
            uow.commit()
        return {"id": school_id, "name": name, "kind": kind, "address": address}

    def delete_school(self, school_id):
        """Delete a school entered by mistake, with its classes. A school that has (or had) enrolled children or
        attendance is refused: deleting it would lose where children ate, which invoicing and the history need."""
        with self.unit_of_work() as uow:
            school = store.school(uow, school_id)
            if school is None:
                raise NotFound(*SCHOOL_NOT_FOUND)
            enrolled, attended = store.school_uses(uow, school_id)
            if enrolled or attended:
                raise Conflict("school_in_use", domain.in_use_message(f"L'école « {school.name} »", enrolled))
            store.delete_school(uow, school_id)
            uow.commit()
        return {"id": school_id, "name": school.name}

    def rename_class(self, class_id, name):
        name = domain.parse_class_name(name)
        with self.unit_of_work() as uow:
            klass = store.school_class(uow, class_id)
            if klass is None:
                raise NotFound(*CLASS_NOT_FOUND)
            namesake = store.class_named(uow, klass.school_id, klass.school_year, name)
            if namesake is not None and namesake.id != class_id:
                raise Conflict("class_name_taken", f"Cette école a déjà une classe « {name} » en {klass.school_year}.")
            store.rename_class(uow, class_id, name)
            uow.commit()
        return {"id": class_id, "school_id": klass.school_id, "school_year": klass.school_year, "name": name}

    def delete_class(self, class_id):
        """Delete a class entered by mistake; one with enrolled children is refused (change their class first)."""
        with self.unit_of_work() as uow:
            klass = store.school_class(uow, class_id)
            if klass is None:
                raise NotFound(*CLASS_NOT_FOUND)
            enrolled = store.class_enrolments(uow, class_id)
            if enrolled:
                raise Conflict("class_in_use", domain.in_use_message(f"La classe « {klass.name} »", enrolled))
            store.delete_class(uow, class_id)
            uow.commit()
        return {"id": class_id, "name": klass.name, "school_year": klass.school_year}

    def list_classes(self, school_id, school_year):
        with self.unit_of_work(read_only=True) as uow:
            return [{"id": c.id, "name": c.name} for c in store.classes_of(uow, school_id, school_year)]

    def school_directory(self):
        """Every school with its classes of this school year and the next, in one answer: what the agents'
        schools and enrolment pages show."""
        years = domain.offered_school_years(self.today())
        with self.unit_of_work(read_only=True) as uow:
            schools = store.schools(uow)
            classes = store.classes_of_years(uow, years)
        listed = []
        for school in schools:
            entry = _school(school)
            entry["classes"] = {year: [{"id": c.id, "name": c.name} for c in classes
                                       if c.school_id == school.id and c.school_year == year] for year in years}
            listed.append(entry)
        return {"school_years": years, "schools": listed}

    def enrol(self, child_id, school_id, school_year, class_id=None):
        school_year = domain.parse_school_year(school_year)
        with self.unit_of_work() as uow:
            if store.known_child(uow, child_id) is None:
                raise NotFound(*CHILD_NOT_FOUND)
            if store.school(uow, school_id) is None:
                raise NotFound(*SCHOOL_NOT_FOUND)
            if class_id:
                klass = store.school_class(uow, class_id)
                if klass is None or klass.school_id != school_id or klass.school_year != school_year:
                    raise InvalidInput("invalid_class", "Cette classe n'est pas de cette école pour cette année.")
            store.save_enrolment(uow, child_id, school_id, school_year, class_id)
            uow.commit()
        return {"child_id": child_id, "school_id": school_id, "school_year": school_year, "class_id": class_id}

    # --- Calendar --------------------------------------------------------------------------------

    def import_holidays(self, ics_text):
        domain.check_ics_size(ics_text)
        periods = holidays_ical.parse(ics_text)
        with self.unit_of_work() as uow:
            added = sum(store.upsert_holiday(uow, *period) for period in periods)
            uow.commit()
        return {"periods": len(periods), "added": added}

    def close_day(self, day, reason=""):
        day = domain.parse_date(day, "date")
        reason = domain.parse_closure_reason(reason)
        with self.unit_of_work() as uow:
            store.set_closed_day(uow, day, reason)
            uow.commit()
        return {"date": day.isoformat(), "closed": True}

    def reopen_day(self, day):
        day = domain.parse_date(day, "date")
        with self.unit_of_work() as uow:
            store.reopen_day(uow, day)
            uow.commit()
        return {"date": day.isoformat(), "closed": False}

    def closed_days(self, start, end):
        start, end = domain.parse_range(start, end)
        with self.unit_of_work(read_only=True) as uow:
            return [{"date": r.day.isoformat(), "reason": r.reason} for r in store.closed_days_between(uow, start, end)]

    def school_days(self, start, end):
        start, end = domain.parse_range(start, end)
        with self.unit_of_work(read_only=True) as uow:
            calendar = store.calendar(uow, start, end)
        days = []
        for day in days_between(start, end):
            kind, reason = calendar.closure(day, self.rules) or (None, None)
            days.append({"date": day.isoformat(), "open": kind is None, "closure": kind, "reason": reason})
        return days

    # --- Reservations ---------------------------------------------------------------------------

    def meals(self, family_id, child_id, start, end):
        start, end = domain.parse_range(start, end)
        with self.unit_of_work(read_only=True) as uow:
            _own_child(uow, family_id, child_id)
            calendar = store.calendar(uow, start, end)
            reserved = store.reserved_days(uow, [child_id], start, end)[child_id]
            absent = store.absent_days(uow, child_id, start, end)
        views = domain.day_views(start, end, calendar, self.rules, self.clock.now(), reserved, absent)
        return {"child_id": child_id, "days": [v.as_dict() for v in views]}

    def family_meals(self, family_id, start, end):
        start, end = domain.parse_range(start, end)
        now = self.clock.now()
        with self.unit_of_work(read_only=True) as uow:
            children = store.children_of_family(uow, family_id)
            calendar = store.calendar(uow, start, end)
            reserved = store.reserved_days(uow, [c.child_id for c in children], start, end)
            absent = {c.child_id: store.absent_days(uow, c.child_id, start, end) for c in children}
        return [{**_child(c), "days": [v.as_dict() for v in domain.day_views(
                    start, end, calendar, self.rules, now, reserved[c.child_id], absent[c.child_id])]}
                for c in children]

    def change_meal(self, family_id, child_id, day, action, actor=None):
        """Reserve or cancel one day; repeating it changes nothing."""
        day = domain.parse_date(day, "date")
        now = self.clock.now()
        with self.unit_of_work() as uow:
            _own_child(uow, family_id, child_id)
            domain.check_meal_change(day, action, store.calendar(uow, day, day), self.rules, now,
                                     absent=bool(store.absent_children(uow, [child_id], day)),
                                     enrolled_years=store.enrolled_years(uow, [child_id])[child_id])
            # The family's trail (issue #12): the change and its entry, in this transaction.
            trail_use_cases.apply_meal_changes(uow, family_id, [(child_id, day)] if action == "reserve" else [],
                                               [] if action == "reserve" else [(child_id, day)], actor, now, "day")
            uow.commit()
        return {"child_id": child_id, "date": day.isoformat(), "state": "reserved" if action == "reserve" else "not_reserved"}

    def change_day(self, family_id, child_id, day, action, actor=None):
        """The month page's one tap in one round trip: the change, or the rule that refused it, with the
        child's first name and rank in the family (the page's anchor and message need them)."""
        with self.unit_of_work(read_only=True) as uow:
            children = store.children_of_family(uow, family_id)
        rank = next((i for i, c in enumerate(children, 1) if c.child_id == child_id), None)
        if rank is None:
            raise NotFound(*CHILD_NOT_FOUND)
        answer = {"child_id": child_id, "first_name": children[rank - 1].first_name, "rank": rank,
                  "date": str(day), "changed": False, "refusal": None}
        try:
            answer.update(self.change_meal(family_id, child_id, day, action, actor), changed=True)
        except (InvalidInput, Conflict) as refused:
            answer["refusal"] = {"code": refused.code, "message": refused.message}
        return answer

    def change_meals(self, family_id, request, actor=None):
        """Several children, a period and a weekday pattern in one request; answers day by day."""
        if not isinstance(request, dict):
            raise InvalidInput("invalid_body", "La demande doit être un objet JSON.")
        child_ids = request.get("children")
        if not isinstance(child_ids, list) or not child_ids or len(child_ids) > 10:
            raise InvalidInput("invalid_children", "Indiquez de un à dix enfants.")
        start, end = domain.parse_range(request.get("from"), request.get("to"))
        weekdays = domain.parse_weekdays(request.get("weekdays"))
        now = self.clock.now()
        with self.unit_of_work() as uow:
            for child_id in child_ids:
                _own_child(uow, family_id, child_id)
            outcomes = domain.plan_bulk(child_ids, start, end, weekdays, request.get("action"),
                                        store.calendar(uow, start, end), self.rules, now,
                                        store.reserved_days(uow, child_ids, start, end),
                                        store.enrolled_years(uow, child_ids))
            trail_use_cases.apply_meal_changes(  # with the family's trail (issue #12)
                uow, family_id, [(o.child_id, o.date) for o in outcomes if o.result == "reserved"],
                [(o.child_id, o.date) for o in outcomes if o.result == "cancelled"], actor, now, "period")
            uow.commit()
        return {"results": [o.as_dict() for o in outcomes], "summary": domain.bulk_summary(outcomes)}

    # --- Absences --------------------------------------------------------------------------------

    def report_absence(self, family_id, child_id, start, end, reason, document=None, actor=None):
        """A parent reports an absence, with an optional justification; the same report again is the same
        absence (a justification it brings is attached if the first had none)."""
        start, end = domain.parse_date(start, "from"), domain.parse_date(end, "to")
        domain.check_absence(start, end, reason, self.today(), self.rules)
        justification = documents.inspect(document) if document else None
        raced = False
        with self.unit_of_work() as uow:
            _own_child(uow, family_id, child_id)
            existing = store.absences_overlapping(uow, [child_id], start, end)
            if existing:
                same = existing[0]
                if len(existing) > 1 or not domain.same_absence(same, start, end, reason):
                    raise domain.overlap_refusal(same)
                if justification and same.document_path is None:
                    store.attach_document(uow, same.id, justification.name, justification.media_type,
                                          self.files.save(justification.content, justification.suffix))
                    trail_use_cases.absence_step(uow, "absence_justified", trail_use_cases.absence_values(same),
                                                 actor, self.clock.now())  # the family's trail (issue #12)
                    uow.commit()
                absence_id, has_document = same.id, bool(justification) or same.document_path is not None
            else:
                path = self.files.save(justification.content, justification.suffix) if justification else None
                absence_id = store.add_absence(uow, {
                    "child_id": child_id, "family_id": family_id, "start": start, "end": end, "reason": reason,
                    "reported_at": self.clock.now(), "document_name": justification.name if justification else None,
                    "document_type": justification.media_type if justification else None, "document_path": path})
                raced = absence_id is None  # the same report, sent twice at once, landed first
                if raced:
                    self.files.delete(path)
                else:
                    trail_use_cases.absence_step(uow, "absence_reported", {  # the family's trail (issue #12)
                        "id": absence_id, "family_id": family_id, "child_id": child_id, "start": start, "end": end,
                        "reason": reason}, actor, self.clock.now(), has_document=bool(justification))
                    uow.commit()
                has_document = bool(justification)
        if raced:
            return self.report_absence(family_id, child_id, start.isoformat(), end.isoformat(), reason, document, actor)
        return {"id": absence_id, "child_id": child_id, "from": start.isoformat(), "to": end.isoformat(),
                "reason": reason, "has_document": has_document}

    def enrolments_of_family(self, family_id):
        """Where each child of the family eats, per school year: the school and the class (None if not given)."""
        with self.unit_of_work(read_only=True) as uow:
            rows = store.enrolments_of_family(uow, family_id)
        return [{"child_id": r.child_id, "school_year": r.school_year, "school_id": r.school_id,
                 "school_name": r.school_name, "class_id": r.class_id, "class_name": r.class_name} for r in rows]

    def family_absences(self, family_id):
        """The family's absences, newest first, each with its child's first name, where its justification stands
        (`justification_state`), until when a certificate can still be added, and whether it can be withdrawn."""
        with self.unit_of_work(read_only=True) as uow:
            rows = store.absences_of_family(uow, family_id)
            names = {c.child_id: c.first_name for c in store.children_of_family(uow, family_id)}
        return [self._absence(r, names) for r in rows]

    def _absence(self, row, names):
        now, has_document = self.clock.now(), row.document_path is not None
        deadline = domain.justification_deadline(row.start, self.rules)
        return {"id": row.id, "child_id": row.child_id, "first_name": names.get(row.child_id, ""),
                "from": row.start.isoformat(), "to": row.end.isoformat(), "reason": row.reason,
                "reported_at": row.reported_at.isoformat(), "has_document": has_document,
                "document_name": row.document_name,
                "justification": domain.justification_state(row.reason, row.start, row.reported_at, has_document,
                                                            now, self.rules),
                "justify_until": deadline.isoformat() if not has_document and now <= deadline else None,
                "withdrawable": row.start > self.today()}

    def report_absences(self, family_id, child_ids, start, end, reason, document=None, actor=None):
        """One form for several children: the same period and reason reported for each, answered child by child
        (the absence, or the rule that refused it); a child of another family refuses the whole request."""
        if not isinstance(child_ids, list) or not child_ids or len(child_ids) > 10 or \
                not all(isinstance(c, str) for c in child_ids):
            raise InvalidInput("invalid_children", "Indiquez de un à dix enfants.")
        with self.unit_of_work(read_only=True) as uow:
            for child_id in child_ids:
                _own_child(uow, family_id, child_id)
        results = []
        for child_id in dict.fromkeys(child_ids):
            try:
                results.append({"child_id": child_id, "absence": self.report_absence(
                    family_id, child_id, start, end, reason, document, actor), "refusal": None})
            except (InvalidInput, Conflict) as refused:
                if refused.code not in ("absence_overlaps",):
                    raise
                results.append({"child_id": child_id, "absence": None,
                                "refusal": {"code": refused.code, "message": refused.message}})
        return {"results": results}

    def withdraw_absence(self, family_id, absence_id, actor=None):
        """A parent withdraws an absence that has not begun: the child is counted at the canteen again on the days
        whose meals stay reserved (reporting an absence never cancelled them) and its file is deleted."""
        with self.unit_of_work() as uow:
            row = store.absence(uow, absence_id)
            if row is None or row.family_id != family_id:
                raise NotFound(*ABSENCE_NOT_FOUND)
            domain.check_withdrawal(row.start, self.today())
            if store.delete_absence(uow, absence_id):  # the family's trail (issue #12)
                trail_use_cases.absence_step(uow, "absence_withdrawn", trail_use_cases.absence_values(row), actor,
                                             self.clock.now())
            uow.commit()
        self.files.delete(row.document_path)
        return {"id": absence_id, "child_id": row.child_id, "from": row.start.isoformat(), "to": row.end.isoformat(),
                "withdrawn": True}

    def attach_justification(self, family_id, absence_id, document, actor=None):
        """The medical certificate added afterwards, once, within `justification_hours` of the first day."""
        justification = documents.inspect(document)
        with self.unit_of_work() as uow:
            row = store.absence(uow, absence_id)
            if row is None or row.family_id != family_id:
                raise NotFound(*ABSENCE_NOT_FOUND)
            domain.check_attachment(row.document_path is not None, row.start, self.clock.now(), self.rules)
            path = self.files.save(justification.content, justification.suffix)
            if not store.attach_document_once(uow, absence_id, justification.name, justification.media_type, path):
                self.files.delete(path)
                raise Conflict("already_justified", "Un justificatif a déjà été envoyé pour cette absence.")
            trail_use_cases.absence_step(uow, "absence_justified", trail_use_cases.absence_values(row), actor,
                                         self.clock.now())  # the family's trail (issue #12)
            uow.commit()
            row = store.absence(uow, absence_id)
        return self._absence(row, {})

    def family_dashboard(self, family_id, next_count=3):
        """The parent's dashboard tile in one answer: each child's next meals and the days still to reserve before
        the next deadline, and the absences whose certificate can still be sent."""
        today, now = self.today(), self.clock.now()
        end = today + timedelta(days=31)
        with self.unit_of_work(read_only=True) as uow:
            children = store.children_of_family(uow, family_id)
            ids = [c.child_id for c in children]
            calendar = store.calendar(uow, today, end)
            reserved = store.reserved_days(uow, ids, today, end)
            absent = {c: store.absent_days(uow, c, today, end) for c in ids}
            enrolled = store.enrolled_years(uow, ids)
            rows = store.absences_of_family(uow, family_id)
        names = {c.child_id: c.first_name for c in children}
        waiting = [a for a in (self._absence(r, names) for r in rows) if a["justification"] == "waiting"]
        return {"today": today.isoformat(),
                "children": [{**_child(c), "enrolled": bool(enrolled[c.child_id]), **domain.meals_ahead(
                    domain.day_views(today, end, calendar, self.rules, now, reserved[c.child_id], absent[c.child_id]),
                    enrolled[c.child_id], today, next_count)} for c in children],
                "justifications_to_send": waiting}

    def family_overview(self, family_id, start, end):
        """The agents' family file in one answer: each child's enrolments, the days of a month (meals reserved,
        absences), the absences with who read their justification and when."""
        absences = self.family_absences(family_id)
        with self.unit_of_work(read_only=True) as uow:
            for absence in absences:
                absence["reads"] = [{"reader": r.reader, "read_at": r.read_at.isoformat()}
                                    for r in store.document_reads(uow, absence["id"])]
        return {"enrolments": self.enrolments_of_family(family_id), "children": self.family_meals(family_id, start, end),
                "absences": absences}

    def absences_to_review(self, limit=200):
        """The town's absences whose justification no agent has opened yet, oldest first, with the child's name:
        the agents' queue (canteen keeps no decision: an agent opening the file is what reviews it)."""
        with self.unit_of_work(read_only=True) as uow:
            rows = store.absences_unread_by_agents(uow, limit)
        return [{"id": r.id, "child_id": r.child_id, "family_id": r.family_id, "first_name": r.first_name or "",
                 "last_name": r.last_name or "", "from": r.start.isoformat(), "to": r.end.isoformat(),
                 "reason": r.reason, "reported_at": r.reported_at.isoformat()} for r in rows]

    def absence_document(self, absence_id, family_id=None, reader=None):
        """The justification file, for its family (family_id given) or an agent (None); every read is recorded."""
        return documents.read_recorded(self.unit_of_work, store, self.files, self.clock, absence_id, family_id, reader)

    def document_reads(self, absence_id):
        with self.unit_of_work(read_only=True) as uow:
            return [{"reader": r.reader, "read_at": r.read_at.isoformat()} for r in store.document_reads(uow, absence_id)]

    # --- Attendance, diets and head-counts ---------------------------------------------------------

    def record_attendance(self, school_id, day, eaten_child_ids, actor=None):
        """Who ate at a school on a school day up to today (the agents' sheet, the school's tablet); taking the
        same day again replaces it. A meal eaten without a reservation is kept as such (billed surcharged)."""
        day = domain.parse_date(day, "date")
        eaten = domain.parse_eaten(eaten_child_ids)
        domain.check_attendance_day(day, self.today())
        with self.unit_of_work() as uow:
            if store.school(uow, school_id) is None:
                raise NotFound(*SCHOOL_NOT_FOUND)
            closure = store.calendar(uow, day, day).closure(day, self.rules)
            if closure:
                raise Conflict("day_closed", f"Le {formatting.date_numeric(day)} n'est pas un jour de restauration "
                                             f"scolaire. {closure[1]}")
            unknown = sorted(set(eaten) - store.known_child_ids(uow, eaten))
            if unknown:
                raise InvalidInput("unknown_child", f"Enfant inconnu : {domain.shortened(unknown[0])}.")
            enrolled = set(store.enrolled_children(uow, school_id, domain.school_year_of(day)))
            if set(eaten) - enrolled:
                raise InvalidInput("not_enrolled", "Certains enfants ne sont pas inscrits dans cette école.")
            reserved = store.reservations_on(uow, list(enrolled), day)
            before = trail_use_cases.attendance_before(uow, school_id, day)  # the family's trail (issue #12)
            store.replace_attendance(uow, school_id, day, eaten, reserved, self.clock.now())
            trail_use_cases.attendance_recorded(uow, school_id, day, before, eaten, reserved, actor, self.clock.now())
            uow.commit()
        return {"date": day.isoformat(), "school_id": school_id, "eaten": len(eaten),
                "without_reservation": len(set(eaten) - reserved)}

    def regularise_reservations(self, child_id, days, actor=None):
        """An agent records, after the fact, the meals a family had reserved on paper or by phone for school days
        already past (the régularisation before invoicing, and the demo's last month); a day to come follows the
        parents' deadline rule instead. Recording a day again changes nothing."""
        wanted = domain.parse_past_days(days)
        today = self.today()
        with self.unit_of_work() as uow:
            if store.known_child(uow, child_id) is None:
                raise NotFound(*CHILD_NOT_FOUND)
            calendar = store.calendar(uow, wanted[0], wanted[-1]) if wanted else None
            enrolled = store.enrolled_years(uow, [child_id])[child_id]
            for day in wanted:
                domain.check_regularisation(day, today, calendar.closure(day, self.rules), enrolled)
            trail_use_cases.regularise(uow, child_id, wanted, actor, self.clock.now())  # with the trail (issue #12)
            uow.commit()
        return {"child_id": child_id, "days": [day.isoformat() for day in wanted]}

    def day_sheet(self, school_id, day):
        day = domain.parse_date(day, "date")
        with self.unit_of_work(read_only=True) as uow:
            if store.school(uow, school_id) is None:
                raise NotFound(*SCHOOL_NOT_FOUND)
            return _sheet(uow, school_id, day)

    def school_day(self, school_id, day):
        """The schools, the chosen one (the first when none is asked), its school year and its sheet of the
        day, in one answer: what the agents' attendance and diets pages show."""
        day = domain.parse_date(day, "date")
        with self.unit_of_work(read_only=True) as uow:
            schools = store.schools(uow)
            chosen = next((s for s in schools if s.id == school_id), None) if school_id else \
                (schools[0] if schools else None)
            sheet = _sheet(uow, chosen.id, day) if chosen else []
            recorded_at = store.attendance_recorded_at(uow, chosen.id, day) if chosen else None
        return {"date": day.isoformat(), "school_year": domain.school_year_of(day),
                "schools": [_school(s) for s in schools], "school": _school(chosen) if chosen else None,
                "sheet": sheet, "attendance_recorded_at": recorded_at.isoformat() if recorded_at else None}

    def set_diet(self, child_id, diet, pai=False, actor=None):
        if diet not in domain.DIETS:
            raise InvalidInput("invalid_diet", f"Le régime est l'un de : {', '.join(domain.DIETS)}.")
        with self.unit_of_work() as uow:
            if store.known_child(uow, child_id) is None:
                raise NotFound(*CHILD_NOT_FOUND)
            before = store.diets_of(uow, [child_id]).get(child_id)  # the family's trail (issue #12)
            store.save_diet(uow, child_id, diet, bool(pai), self.clock.now())
            trail_use_cases.diet_changed(uow, child_id, before, diet, pai, actor, self.clock.now())
            uow.commit()
        return {"child_id": child_id, "diet": diet, "pai": bool(pai)}

    def headcount(self, school_id, day):
        day = domain.parse_date(day, "date")
        with self.unit_of_work(read_only=True) as uow:
            if store.school(uow, school_id) is None:
                raise NotFound(*SCHOOL_NOT_FOUND)
            count = _headcount(uow, school_id, day)
        return {"date": day.isoformat(), "school_id": school_id, **count}

    def headcounts(self, day):
        """Every school's head-count of a day in one answer: the agents' page and its CSV export."""
        day = domain.parse_date(day, "date")
        with self.unit_of_work(read_only=True) as uow:
            return {"date": day.isoformat(),
                    "schools": [{"school": _school(s), **_headcount(uow, s.id, day)} for s in store.schools(uow)]}

    # --- Billable facts --------------------------------------------------------------------------

    def billable_facts(self, month, family_id=None):
        first, last = domain.month_bounds(month)
        with self.unit_of_work(read_only=True) as uow:
            pairs, reserved, eaten, absences = store.month_facts(uow, [family_id] if family_id else None, first, last)
            # The PAI as canteen holds it now (per child): billing prices that child's meals as basket meals.
            diets = store.diets_of(uow, [p.child_id for p in pairs]) if pairs else {}
        facts = []
        for pair in pairs:
            child_absences = [domain.Absence(a.start, a.end, a.reason, a.reported_at, a.document_path is not None)
                              for a in absences if a.child_id == pair.child_id]
            facts.append({"family_id": pair.family_id, "child_id": pair.child_id, "month": first.strftime("%Y-%m"),
                          "pai": diets.get(pair.child_id, ("standard", False))[1],
                          **domain.billable_month(first, last, reserved.get(pair.child_id, set()),
                                                  eaten.get(pair.child_id, set()), child_absences, self.rules)})
        return facts

    # --- Menus and news ---------------------------------------------------------------------------

    def set_menu(self, day, courses):
        day = domain.parse_date(day, "date")
        courses = domain.parse_courses(courses)
        with self.unit_of_work() as uow:
            store.save_menu(uow, day, courses)
            uow.commit()
        return {"date": day.isoformat(), "courses": courses}

    def menus_for_week(self, week):
        monday, sunday = domain.parse_iso_week(week)
        with self.unit_of_work(read_only=True) as uow:
            rows = store.menus_between(uow, monday, sunday)
        return [{"date": r.day.isoformat(), "courses": r.courses} for r in rows]

    def publish_news(self, title, body, kind="news"):
        title, body, kind = domain.parse_news(title, body, kind)
        with self.unit_of_work() as uow:
            news_id = store.add_news(uow, title, body, kind, self.clock.now())
            uow.commit()
        return {"id": news_id}

    def list_news(self, kind="news", limit=20):
        with self.unit_of_work(read_only=True) as uow:
            rows = store.news(uow, kind, min(int(limit), 100))
        return [_news(r) for r in rows]

    def news_item(self, news_id):
        with self.unit_of_work(read_only=True) as uow:
            row = store.news_item(uow, news_id)
        if row is None:
            raise NotFound(*NEWS_NOT_FOUND)
        return _news(row)

    def edit_news(self, news_id, title, body, kind="news"):
        """An agent corrects a published item (title, text, section); it keeps its publication date."""
        title, body, kind = domain.parse_news(title, body, kind)
        with self.unit_of_work() as uow:
            if not store.update_news(uow, news_id, title, body, kind):
                raise NotFound(*NEWS_NOT_FOUND)
            row = store.news_item(uow, news_id)
            uow.commit()
        return _news(row)

    def withdraw_news(self, news_id):
        """Withdraw a published item: it leaves the public pages at once. Withdrawing it again finds nothing."""
        with self.unit_of_work() as uow:
            row = store.news_item(uow, news_id)
            if row is None:
                raise NotFound(*NEWS_NOT_FOUND)
            store.delete_news(uow, news_id)
            uow.commit()
        return {"id": row.id, "title": row.title, "kind": row.kind}

    # --- The family's private calendar feed ----------------------------------------------------------

    def renew_calendar_feed(self, family_id):
        token = secrets.token_urlsafe(24)
        with self.unit_of_work() as uow:
            store.replace_feed(uow, family_id, _digest(token), self.clock.now())
            uow.commit()
        return {"token": token}

    def revoke_calendar_feed(self, family_id):
        with self.unit_of_work() as uow:
            store.replace_feed(uow, family_id, None, self.clock.now())
            uow.commit()

    def calendar_feed(self, token, days_back=31, days_ahead=180):
        with self.unit_of_work(read_only=True) as uow:
            feed = store.feed_by_digest(uow, _digest(token or ""))
            if feed is None:
                raise NotFound("feed_not_found", "Ce calendrier n'existe pas ou a été révoqué.")
            children = store.children_of_family(uow, feed.family_id)
            today = self.today()
            start, end = today - timedelta(days=days_back), today + timedelta(days=days_ahead)
            reserved = store.reserved_days(uow, [c.child_id for c in children], start, end)
            absent = {c.child_id: store.absent_days(uow, c.child_id, start, end) for c in children}
        return [{"date": day.isoformat(), "child_id": c.child_id, "first_name": c.first_name}
                for c in children for day in sorted(reserved[c.child_id] - absent[c.child_id])]

    def family_calendar_feed(self, token, days_back=31, days_ahead=180):
        """The feed's family with its meals, so that the gateway adds the family's crèche bookings to the same feed."""
        meals = self.calendar_feed(token, days_back, days_ahead)
        with self.unit_of_work(read_only=True) as uow:
            feed = store.feed_by_digest(uow, _digest(token or ""))
        if feed is None:
            raise NotFound("feed_not_found", "Ce calendrier n'existe pas ou a été révoqué.")
        return {"family_id": feed.family_id, "meals": meals}

    def calendar_feed_status(self, family_id):
        with self.unit_of_work(read_only=True) as uow:
            return {"active": store.active_feed(uow, family_id) is not None}


def _own_child(uow, family_id, child_id):
    if store.child_in_family(uow, family_id, child_id) is None:
        raise NotFound(*CHILD_NOT_FOUND)


def _news(row):
    return {"id": row.id, "title": row.title, "body": row.body, "kind": row.kind,
            "published_at": row.published_at.isoformat()}


def _school(row):
    return {"id": row.id, "name": row.name, "kind": row.kind, "address": row.address}


def _child(row):
    return {"child_id": row.child_id, "first_name": row.first_name, "last_name": row.last_name,
            "birth_date": row.birth_date.isoformat()}


def _headcount(uow, school_id, day):
    enrolled = store.enrolled_children(uow, school_id, domain.school_year_of(day))
    if not enrolled:
        return domain.headcount(set(), set(), {})
    reserved = store.reservations_on(uow, enrolled, day)
    absent = store.absent_children(uow, enrolled, day)
    return domain.headcount(reserved, absent, store.diets_of(uow, list(reserved)) if reserved else {})


def _sheet(uow, school_id, day):
    enrolled = store.enrolled_children(uow, school_id, domain.school_year_of(day))
    reserved = store.reservations_on(uow, enrolled, day)
    absent = store.absent_children(uow, enrolled, day) if enrolled else set()
    eaten = {r.child_id for r in store.attendance_on(uow, school_id, day)}
    diets = store.diets_of(uow, enrolled)
    names = {c: store.known_child(uow, c) for c in enrolled}
    flags = flags_of(uow, orm.health_flags, enrolled)  # the health record's allergy flags (issue #12)
    return sorted(({"child_id": c, "first_name": names[c].first_name, "last_name": names[c].last_name,
                    "reserved": c in reserved, "absent": c in absent, "eaten": c in eaten,
                    "diet": diets.get(c, ("standard", False))[0], "pai": diets.get(c, ("standard", False))[1],
                    "health_flag": flags.get(c)}
                   for c in enrolled), key=lambda r: (r["last_name"], r["first_name"]))


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()
