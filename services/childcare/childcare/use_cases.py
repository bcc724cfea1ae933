"""The multi-accueil's use cases: what each request does, beside the domain.

Each one opens a unit of work, reads through `store`, lets the domain's rules decide, writes and commits. They know
neither nameko nor the broker: `service.py` hands them a unit-of-work factory, the clock, the settings
(ChildcareRules) and the private folder of justifications; tests hand them the same on a SQLite file.
"""
from datetime import timedelta

from espace_common import documents
from espace_common.errors import Conflict, InvalidInput, NotFound
from espace_common.mail import mails_to

from . import domain, mails, orm, store
from . import trail_use_cases  # the family's trail (issue #12)
from .domain import CANCELLED, CONFIRMED, WAITING, hhmm
# Health record (issue #12)
from espace_common.health_flags import flags_of  # noqa: E402

CHILD_NOT_FOUND = ("child_not_found", "Cet enfant n'existe pas.")
BOOKING_NOT_FOUND = ("booking_not_found", "Cette réservation n'existe pas.")
SLOT_NOT_FOUND = ("slot_not_found", "Ce créneau n'existe pas.")
ABSENCE_NOT_FOUND = ("absence_not_found", "Cette absence n'existe pas.")
NEWS_NOT_FOUND = ("news_not_found", "Cette actualité n'existe pas ou a été retirée.")


class Childcare:
    """The childcare service's use cases, one method per request."""

    def __init__(self, unit_of_work, clock, rules, files):
        self.unit_of_work = unit_of_work  # unit_of_work(read_only=False) -> a UnitOfWork
        self.clock = clock
        self.rules = rules
        self.files = files  # espace_common.documents.DocumentStore

    def today(self):
        return self.clock.now().astimezone(self.rules.zone).date()

    def vocabulary(self):
        return domain.vocabulary(self.rules, documents.MAX_BYTES, documents.MEDIA_TYPES)

    # --- Calendar and slots (agents) -------------------------------------------------------------------

    def generate_slots(self):
        """Create the slots of the coming weeks on opening days; existing slots are kept as they are."""
        today = self.today()
        last = today + timedelta(weeks=self.rules.weeks_ahead)
        with self.unit_of_work() as uow:
            wanted = domain.slots_to_generate(today, self.rules, store.calendar(uow, today, last))
            added = store.add_slots(uow, [(d, hhmm(a), hhmm(b)) for d, a, b in wanted], self.rules.slot_capacity)
            uow.commit()
        return {"from": today.isoformat(), "to": last.isoformat(), "added": added}

    def close_day(self, day, kind="closed", reason=""):
        """Close the crèche a day (summer weeks, training day); its waiting lists stop, its bookings stay
        for the agents to see but the day cannot be booked any more."""
        day = domain.parse_date(day, "date")
        kind, reason = domain.parse_closure(kind, reason)
        with self.unit_of_work() as uow:
            store.set_closure(uow, day, kind, reason)
            uow.commit()
        return {"date": day.isoformat(), "kind": kind, "reason": reason, "closed": True}

    def reopen_day(self, day):
        day = domain.parse_date(day, "date")
        with self.unit_of_work() as uow:
            store.remove_closure(uow, day)
            uow.commit()
        return {"date": day.isoformat(), "closed": False}

    def closures(self, start, end):
        """Each closed day of the range, agents' closures and public holidays, with its reason."""
        start, end = domain.parse_range(start, end, max_days=400)
        with self.unit_of_work(read_only=True) as uow:
            calendar = store.calendar(uow, start, end)
        days = []
        for day in domain.days_between(start, end):
            found = calendar.closure(day, self.rules)
            if found and found[0] != "weekday":
                days.append({"date": day.isoformat(), "kind": found[0], "reason": found[1],
                             "removable": day in calendar.closed_days})
        return days

    def slots(self, start, end):
        """The slots of the range with their places: public, what the week view shows."""
        start, end = domain.parse_range(start, end)
        now = self.clock.now()
        with self.unit_of_work(read_only=True) as uow:
            rows = store.slots_between(uow, start, end)
            calendar = store.calendar(uow, start, end)
        return [self._slot(r, calendar, now) for r in rows]

    def _slot(self, row, calendar, now):
        closure = calendar.closure(row.day, self.rules)
        start = domain.parse_hhmm(row.start, "start")
        return {"id": row.id, "date": row.day.isoformat(), "start": row.start, "end": row.end,
                "capacity": row.capacity, "available": max(row.capacity - row.taken, 0), "waiting": row.waiting,
                "closed": closure[1] if closure else None,
                "past": domain.slot_start(row.day, start, self.rules) <= now,
                "free_cancellation_until": domain.free_cancellation_until(row.day, start, self.rules).isoformat()}

    def set_capacity(self, slot_id, capacity):
        """An agent changes the places of a slot for its day; new places go to the waiting list first, in order.
        Capacity cannot fall below the places already confirmed."""
        capacity = domain.parse_capacity(capacity)
        promoted = []
        with self.unit_of_work() as uow:
            row = store.slot(uow, slot_id)
            if row is None:
                raise NotFound(*SLOT_NOT_FOUND)
            if not store.set_capacity(uow, slot_id, capacity):
                raise Conflict("capacity_below_taken", f"{row.taken} place(s) sont déjà réservées sur ce créneau : "
                                                       "la capacité ne peut pas descendre en dessous.")
            while (found := self._promote_first(uow, store.slot(uow, slot_id))) is not None:
                promoted.append(found)
            row = store.slot(uow, slot_id)
            uow.commit()
        return {"id": slot_id, "capacity": row.capacity, "available": row.capacity - row.taken,
                "waiting": row.waiting, "promoted_booking_ids": promoted}

    # --- Registrations (agents) --------------------------------------------------------------------------

    def register(self, child_id, kind, contract=None, actor=None):
        if kind not in domain.REGISTRATION_KINDS:
            raise InvalidInput("invalid_kind", "L'accueil est « occasional » ou « regular ».")
        parsed = domain.parse_contract(contract, self.rules) if kind == "regular" else None
        with self.unit_of_work() as uow:
            child = store.known_child(uow, child_id)
            if child is None:
                raise NotFound(*CHILD_NOT_FOUND)
            before = trail_use_cases.registration_before(uow, child_id)  # the family's trail (issue #12)
            if not store.save_registration(uow, child_id, kind, parsed, self.clock.now()):
                raise Conflict("leave_allowance_below_taken", "Des congés déjà déclarés dépassent ce nombre de "
                                                              "jours de congé.")
            trail_use_cases.registration_changed(uow, child_id, before, actor, self.clock.now())
            uow.commit()
        youngest, oldest = domain.age_limits(child.birth_date, self.rules)
        return {"child_id": child_id, "kind": kind, "contract": parsed.as_dict() if parsed else None,
                "first_name": child.first_name, "last_name": child.last_name,
                "bookable_from": youngest.isoformat(), "bookable_until": oldest.isoformat()}

    def find_children(self, query):
        """Children known from identity's families whose name contains the query, with whether they are
        registered and from when to when the crèche may take them: the agents' registration search."""
        query = str(query or "").strip()
        if len(query) < 2:
            raise InvalidInput("query_too_short", "Saisissez au moins deux lettres du nom ou du prénom.")
        with self.unit_of_work(read_only=True) as uow:
            rows = store.children_named(uow, query[:100])
            registered = store.registrations_of(uow, [r.child_id for r in rows])
        found = []
        for row in rows:
            youngest, oldest = domain.age_limits(row.birth_date, self.rules)
            found.append({"child_id": row.child_id, "family_id": row.family_id, "first_name": row.first_name,
                          "last_name": row.last_name, "birth_date": row.birth_date.isoformat(),
                          "registered": row.child_id in registered, "bookable_from": youngest.isoformat(),
                          "bookable_until": oldest.isoformat()})
        return found

    def registrations(self):
        """Every registered child with its family's name and contract: the agents' list."""
        with self.unit_of_work(read_only=True) as uow:
            rows = store.all_registrations(uow)
            children = store.children_by_id(uow, [r.child_id for r in rows])
        listed = []
        for row in rows:
            child = children.get(row.child_id)
            listed.append({**self._registration(row), "first_name": child.first_name if child else "",
                           "last_name": child.last_name if child else "",
                           "birth_date": child.birth_date.isoformat() if child else None})
        return sorted(listed, key=lambda r: (r["last_name"], r["first_name"]))

    def _registration(self, row):
        contract = domain.contract_from_row(row) if row.kind == "regular" else None
        answer = {"child_id": row.child_id, "kind": row.kind, "contract": contract.as_dict() if contract else None}
        if contract:
            answer["leave"] = {"allowed": row.leave_days, "taken": row.leave_taken,
                               "remaining": row.leave_days - row.leave_taken}
        return answer

    # --- A family's view -----------------------------------------------------------------------------------

    def family_childcare(self, family_id, start=None, end=None):
        """Every child of the family with its registration, contract and leave balance, its bookings from today
        (with waiting-list positions), leaves and absences: the parent's page in one answer."""
        today = self.today()
        with self.unit_of_work(read_only=True) as uow:
            children = store.children_of_family(uow, family_id)
            ids = [c.child_id for c in children]
            registrations = store.registrations_of(uow, ids)
            bookings = {c: store.bookings_of_child(uow, c, today) for c in ids}
            positions = {c: store.positions_of(uow, bookings[c]) for c in ids}
            leaves = store.leaves_of(uow, ids)
            absences = store.absences_of(uow, ids)
        answer = []
        for child in children:
            registration = registrations.get(child.child_id)
            youngest, oldest = domain.age_limits(child.birth_date, self.rules)
            answer.append({
                "child_id": child.child_id, "first_name": child.first_name, "last_name": child.last_name,
                "birth_date": child.birth_date.isoformat(), "bookable_from": youngest.isoformat(),
                "bookable_until": oldest.isoformat(),
                "registration": self._registration(registration) if registration else None,
                "bookings": [self._booking(b, positions[child.child_id]) for b in bookings[child.child_id]
                             if b.status != CANCELLED],
                "leaves": [_leave(r) for r in leaves if r.child_id == child.child_id],
                "absences": [self._family_absence(r, {child.child_id: child.first_name}) for r in absences
                             if r.child_id == child.child_id and r.family_id == family_id],
            })
        return answer

    def _booking(self, row, positions):
        start = domain.parse_hhmm(row.start, "start")
        return {"id": row.id, "slot_id": row.slot_id, "child_id": row.child_id, "status": row.status,
                "position": positions.get(row.id) if row.status == WAITING else None,
                "date": row.day.isoformat(), "start": row.start, "end": row.end,
                "free_cancellation_until": domain.free_cancellation_until(row.day, start, self.rules).isoformat(),
                "late_cancelled": row.late_cancelled}

    def child_bookings(self, family_id, child_id):
        today = self.today()
        with self.unit_of_work(read_only=True) as uow:
            _own_child(uow, family_id, child_id)
            rows = store.bookings_of_child(uow, child_id, today - timedelta(days=31))
            positions = store.positions_of(uow, rows)
        return [self._booking(r, positions) for r in rows]

    # --- Booking and cancelling ----------------------------------------------------------------------------

    def book(self, family_id, child_id, slot_id, contact_email=None, actor=None):
        """Book a slot: confirmed while a place is left, else on the waiting list, in arrival order. The
        database settles the last place: the conditional UPDATE in store.take_place, never a read-then-write."""
        now = self.clock.now()
        with self.unit_of_work() as uow:
            child = _own_child(uow, family_id, child_id)
            slot = store.slot(uow, slot_id)
            if slot is None:
                raise NotFound(*SLOT_NOT_FOUND)
            domain.check_bookable(slot.day, domain.parse_hhmm(slot.start, "start"), now,
                                  store.calendar(uow, slot.day, slot.day), self.rules,
                                  store.registration(uow, child_id) is not None, child.birth_date)
            confirmed = store.take_place(uow, slot_id)
            if not confirmed:
                store.join_queue(uow, slot_id)
            booking_id = store.add_booking(uow, {
                "slot_id": slot_id, "child_id": child_id, "family_id": family_id,
                "status": CONFIRMED if confirmed else WAITING, "contact_email": (contact_email or None),
                "created_at": now, "confirmed_at": now if confirmed else None, "late_cancelled": False})
            if booking_id is None:
                raise Conflict("already_booked", "Cet enfant a déjà une réservation sur ce créneau.")
            position = None
            if not confirmed:
                position = store.waiting_position(uow, slot_id, store.booking(uow, booking_id).seq)
            trail_use_cases.booking_made(uow, booking_id, actor, now, position)  # the family's trail (issue #12)
            uow.commit()
        return {"id": booking_id, "slot_id": slot_id, "child_id": child_id,
                "status": CONFIRMED if confirmed else WAITING, "position": position,
                "date": slot.day.isoformat(), "start": slot.start, "end": slot.end}

    def cancel(self, family_id, booking_id, actor=None):
        """Cancel a booking: free 48 hours or more before the slot, billed after (unless an accepted
        justification covers the day). The first in line takes the place in this transaction and is told."""
        now = self.clock.now()
        with self.unit_of_work() as uow:
            row = store.booking(uow, booking_id)
            if row is None or (family_id is not None and row.family_id != family_id):
                raise NotFound(*BOOKING_NOT_FOUND)
            slot = store.slot(uow, row.slot_id)
            if row.status == CANCELLED:
                return {"id": booking_id, "billed": row.late_cancelled, "promoted_booking_id": None}
            start = domain.parse_hhmm(slot.start, "start")
            if domain.slot_start(slot.day, start, self.rules) <= now:
                raise Conflict("slot_past", "Ce créneau est déjà commencé : il ne peut plus être annulé.")
            billed = row.status == CONFIRMED and domain.cancellation_is_billed(slot.day, start, now, self.rules)
            if not store.set_booking_status(uow, booking_id, row.status, CANCELLED, cancelled_at=now,
                                            late_cancelled=billed):
                raise Conflict("booking_changed", "Cette réservation vient de changer : rechargez la page.")
            promoted = None
            if row.status == CONFIRMED:
                store.release_place(uow, slot.id)
                promoted = self._promote_first(uow, store.slot(uow, slot.id))
            else:
                store.leave_queue(uow, slot.id)
            trail_use_cases.booking_cancelled(uow, booking_id, billed, actor, now)  # the family's trail (issue #12)
            uow.commit()
        return {"id": booking_id, "billed": billed, "promoted_booking_id": promoted,
                "free_cancellation_until": domain.free_cancellation_until(slot.day, start, self.rules).isoformat()}

    def _promote_first(self, uow, slot):
        """Give a free place to the first in line, in the caller's transaction, and queue their e-mail."""
        if slot.taken >= slot.capacity or slot.waiting == 0:
            return None
        first = store.first_waiting(uow, slot.id)
        if first is None or not store.promote_place(uow, slot.id):
            return None
        store.set_booking_status(uow, first.id, WAITING, CONFIRMED, confirmed_at=self.clock.now())
        trail_use_cases.booking_promoted(uow, first.id, self.clock.now())  # the family's trail (issue #12)
        if first.contact_email:
            child = store.known_child(uow, first.child_id)
            uow.send_mail(first.contact_email, *mails.promoted(
                self.rules.name, child.first_name if child else "votre enfant", slot.day, slot.start, slot.end))
        return first.id

    # --- Leaves and absences -------------------------------------------------------------------------------

    def declare_leave(self, family_id, child_id, start, end, actor=None):
        """A parent declares leave days of a regular contract in advance; refused past the allowance."""
        start, end = domain.parse_range(start, end, max_days=366)
        today = self.today()
        with self.unit_of_work() as uow:
            _own_child(uow, family_id, child_id)
            row = store.registration(uow, child_id)
            if row is None or row.kind != "regular":
                raise Conflict("no_contract", "Les congés se déclarent pour un accueil régulier sous contrat.")
            contract = domain.contract_from_row(row)
            days = domain.leave_days_in(contract, start, end, store.calendar(uow, start, end), self.rules)
            domain.check_leave(contract, start, end, today, self.rules, days)
            overlapping = [r for r in store.leaves_of(uow, [child_id], start, end)]
            if overlapping:
                raise Conflict("leave_overlaps", f"Un congé est déjà déclaré du {overlapping[0].start:%d/%m/%Y} "
                                                 f"au {overlapping[0].end:%d/%m/%Y}.")
            if not store.take_leave_days(uow, child_id, len(days)):
                raise domain.leave_refusal(row.leave_days, row.leave_taken)
            leave_id = store.add_leave(uow, {"child_id": child_id, "family_id": family_id, "start": start,
                                             "end": end, "days": [d.isoformat() for d in days],
                                             "declared_at": self.clock.now()})
            trail_use_cases.leave_declared(uow, leave_id, family_id, child_id, start, end, len(days), actor,
                                           self.clock.now())  # the family's trail (issue #12)
            row = store.registration(uow, child_id)
            uow.commit()
        return {"id": leave_id, "child_id": child_id, "from": start.isoformat(), "to": end.isoformat(),
                "days": len(days), "allowed": row.leave_days, "taken": row.leave_taken,
                "remaining": row.leave_days - row.leave_taken}

    def report_absence(self, family_id, child_id, start, end, reason, document=None, actor=None):
        """A parent reports an absence with a reason and, if they have one, a justification for the agents."""
        start, end = domain.parse_date(start, "from"), domain.parse_date(end, "to")
        domain.check_absence(start, end, reason, self.today(), self.rules)
        justification = documents.inspect(document) if document else None
        with self.unit_of_work() as uow:
            _own_child(uow, family_id, child_id)
            if store.registration(uow, child_id) is None:
                raise Conflict("not_registered", "Cet enfant n'est pas inscrit au multi-accueil.")
            existing = store.absences_overlapping(uow, child_id, start, end)
            if existing:
                raise Conflict("absence_overlaps", f"Une absence est déjà signalée du {existing[0].start:%d/%m/%Y} "
                                                   f"au {existing[0].end:%d/%m/%Y}.")
            path = self.files.save(justification.content, justification.suffix) if justification else None
            absence_id = store.add_absence(uow, {
                "child_id": child_id, "family_id": family_id, "start": start, "end": end, "reason": reason,
                "reported_at": self.clock.now(), "document_name": justification.name if justification else None,
                "document_type": justification.media_type if justification else None, "document_path": path,
                "decision": "pending" if justification else "none", "decision_comment": ""})
            trail_use_cases.absence_step(uow, "absence_reported", {  # the family's trail (issue #12)
                "id": absence_id, "family_id": family_id, "child_id": child_id, "start": start, "end": end,
                "reason": reason}, actor, self.clock.now(), has_document=bool(justification))
            uow.commit()
        return {"id": absence_id, "child_id": child_id, "from": start.isoformat(), "to": end.isoformat(),
                "reason": reason, "has_document": bool(justification),
                "decision": "pending" if justification else "none"}

    def family_absences(self, family_id):
        """The family's absences at the crèche, newest first, with the child's first name, the justification's
        decision, until when a file can be added and whether the absence can still be withdrawn."""
        with self.unit_of_work(read_only=True) as uow:
            children = store.children_of_family(uow, family_id)
            rows = store.absences_of(uow, [c.child_id for c in children])
        names = {c.child_id: c.first_name for c in children}
        return [self._family_absence(r, names) for r in rows if r.family_id == family_id]

    def _family_absence(self, row, names):
        today, until = self.today(), domain.justification_until(row.start, self.rules)
        return {**_absence(row), "first_name": names.get(row.child_id, ""),
                "justify_until": until.isoformat() if row.decision == "none" and today <= until else None,
                "withdrawable": row.start > today and row.decision not in ("accepted", "refused")}

    def withdraw_absence(self, family_id, absence_id, actor=None):
        """A parent withdraws an absence that has not begun and is not decided; its file (and the record of who read
        it) goes with it."""
        with self.unit_of_work() as uow:
            row = store.absence(uow, absence_id)
            if row is None or row.family_id != family_id:
                raise NotFound(*ABSENCE_NOT_FOUND)
            domain.check_withdrawal(row.start, row.decision, self.today())
            if store.delete_absence(uow, absence_id):  # the family's trail (issue #12)
                trail_use_cases.absence_step(uow, "absence_withdrawn", row, actor, self.clock.now())
            uow.commit()
        self.files.delete(row.document_path)
        return {"id": absence_id, "child_id": row.child_id, "from": row.start.isoformat(), "to": row.end.isoformat(),
                "withdrawn": True}

    def attach_justification(self, family_id, absence_id, document, actor=None):
        """A justification added afterwards to an absence without one: it waits for the crèche's decision."""
        justification = documents.inspect(document)
        with self.unit_of_work() as uow:
            row = store.absence(uow, absence_id)
            if row is None or row.family_id != family_id:
                raise NotFound(*ABSENCE_NOT_FOUND)
            domain.check_attachment(row.decision, row.start, self.today(), self.rules)
            path = self.files.save(justification.content, justification.suffix)
            if not store.attach_document_once(uow, absence_id, justification.name, justification.media_type, path):
                self.files.delete(path)
                raise Conflict("already_justified", "Un justificatif a déjà été envoyé pour cette absence.")
            trail_use_cases.absence_step(uow, "absence_justified", row, actor, self.clock.now())  # the trail (#12)
            uow.commit()
            row = store.absence(uow, absence_id)
        return self._family_absence(row, {})

    def family_dashboard(self, family_id, next_count=3):
        """The dashboard's crèche tile in one answer: each registered child's next confirmed bookings, its places on
        waiting lists, and the family's justifications waiting for the crèche's decision."""
        today = self.today()
        with self.unit_of_work(read_only=True) as uow:
            children = store.children_of_family(uow, family_id)
            ids = [c.child_id for c in children]
            registrations = store.registrations_of(uow, ids)
            bookings = {c: store.bookings_of_child(uow, c, today) for c in ids}
            positions = {c: store.positions_of(uow, bookings[c]) for c in ids}
            pending = [r for r in store.absences_of(uow, ids) if r.decision == "pending" and r.family_id == family_id]
        names = {c.child_id: c.first_name for c in children}
        answer = []
        for child in children:
            if child.child_id not in registrations:
                continue
            rows = bookings[child.child_id]
            answer.append({"child_id": child.child_id, "first_name": child.first_name, "last_name": child.last_name,
                           "kind": registrations[child.child_id].kind,
                           "next_bookings": [self._booking(b, {}) for b in rows if b.status == CONFIRMED][:next_count],
                           "waiting": [self._booking(b, positions[child.child_id]) for b in rows
                                       if b.status == WAITING]})
        return {"today": today.isoformat(), "children": answer,
                "justifications_pending": [self._family_absence(r, names) for r in pending]}

    def justifications(self, status="pending"):
        """The justifications with a decision state, oldest first, with the child's name: the agents' queue."""
        if status not in ("pending", "accepted", "refused"):
            raise InvalidInput("invalid_status", "Le statut est « pending », « accepted » ou « refused ».")
        with self.unit_of_work(read_only=True) as uow:
            rows = store.absences_with_decision(uow, status)
            children = store.children_by_id(uow, [r.child_id for r in rows])
        return [{**_absence(r), "first_name": children[r.child_id].first_name if r.child_id in children else "",
                 "last_name": children[r.child_id].last_name if r.child_id in children else ""} for r in rows]

    def decide_justification(self, absence_id, accepted, comment="", reader="agent", actor=None):
        accepted, comment = domain.parse_decision(accepted, comment)
        with self.unit_of_work() as uow:
            row = store.absence(uow, absence_id)
            if row is None:
                raise NotFound(*ABSENCE_NOT_FOUND)
            if row.decision != "pending" or not store.decide(uow, absence_id, "accepted" if accepted else "refused",
                                                              comment, reader, self.clock.now()):
                raise Conflict("already_decided", "Ce justificatif a déjà reçu une décision." if row.document_path
                               else "Cette absence n'a pas de justificatif à examiner.")
            trail_use_cases.absence_step(uow, "justification_decided", row, actor, self.clock.now(),  # the trail (#12)
                                         decision="accepted" if accepted else "refused")
            uow.commit()
        deducted = domain.deducted_days(row.start, row.end, row.reason, accepted, self.rules)
        return {"id": absence_id, "decision": "accepted" if accepted else "refused", "comment": comment,
                "deducted_days": sorted(d.isoformat() for d in deducted)}

    def absence_document(self, absence_id, family_id=None, reader=None):
        """The justification file, for its family (family_id given) or an agent (None); every read is recorded."""
        return documents.read_recorded(self.unit_of_work, store, self.files, self.clock, absence_id, family_id, reader)

    def family_overview(self, family_id, emails=()):
        """The agents' family file in one answer: the family's children with registration, bookings, leaves and
        absences (each absence with who read its justification, when), and the mails sent to the family."""
        children = self.family_childcare(family_id)
        with self.unit_of_work(read_only=True) as uow:
            for child in children:
                for absence in child.get("absences", []):
                    absence["reads"] = [{"reader": r.reader, "read_at": r.read_at.isoformat()}
                                        for r in store.document_reads(uow, absence["id"])]
            mails = mails_to(uow, orm.mail_outbox, emails)
        return {"children": children, "mails": mails}

    def document_reads(self, absence_id):
        with self.unit_of_work(read_only=True) as uow:
            return [{"reader": r.reader, "read_at": r.read_at.isoformat()} for r in store.document_reads(uow, absence_id)]

    # --- Attendance and the day's planning (agents) -----------------------------------------------------------

    def record_attendance(self, child_id, day, arrived_at, left_at=None, actor=None):
        """Arrival and departure of a registered child; one who came without a booking or a contract day is
        recorded as a walk-in (billed as occasional care)."""
        day, arrived, left = domain.parse_attendance(day, arrived_at, left_at, self.today(), self.rules)
        with self.unit_of_work() as uow:
            child = store.known_child(uow, child_id)
            row = store.registration(uow, child_id)
            if child is None:
                raise NotFound(*CHILD_NOT_FOUND)
            if row is None:
                raise Conflict("not_registered", "Cet enfant n'est pas inscrit au multi-accueil.")
            if store.calendar(uow, day, day).closure(day, self.rules):
                raise Conflict("day_closed", "La crèche était fermée ce jour-là.")
            contracted = row.kind == "regular" and domain.contract_from_row(row).minutes_on(day) > 0
            walk_in = not contracted and not domain.within_booking(arrived, left, store.confirmed_slots_on(uow, child_id, day))
            before = trail_use_cases.attendance_before(uow, child_id, day, hhmm(arrived))  # the trail (issue #12)
            store.save_attendance(uow, child_id, day, hhmm(arrived), hhmm(left) if left else None, walk_in,
                                  self.clock.now())
            trail_use_cases.attendance_recorded(uow, child_id, day, hhmm(arrived), hhmm(left) if left else None,
                                                walk_in, before, actor, self.clock.now())
            uow.commit()
        return {"child_id": child_id, "date": day.isoformat(), "arrived_at": hhmm(arrived),
                "left_at": hhmm(left) if left else None, "walk_in": walk_in}

    def planning(self, day):
        """Per slot of the day: who is expected, who waits (in order) and the occupancy; the contracted children
        expected; the attendance recorded so far."""
        day = domain.parse_date(day, "date")
        with self.unit_of_work(read_only=True) as uow:
            calendar = store.calendar(uow, day, day)
            slots = store.slots_between(uow, day, day)
            bookings = store.bookings_on_slots(uow, [s.id for s in slots])
            regular = [r for r in store.all_registrations(uow) if r.kind == "regular"]
            regular_ids = [r.child_id for r in regular]
            leaves = store.leaves_of(uow, regular_ids, day, day)
            absences = store.absences_of(uow, regular_ids + [b.child_id for b in bookings], day, day)
            attendance = store.attendance_between(uow, None, day, day)
            children = store.children_by_id(uow, {b.child_id for b in bookings} | set(regular_ids)
                                            | {a.child_id for a in attendance})
            flags = flags_of(uow, orm.health_flags, children)  # the health record's allergy flags (issue #12)
        absent = {a.child_id for a in absences}
        on_leave = {r.child_id for r in leaves if day.isoformat() in r.days}

        def name(child_id):
            child = children.get(child_id)
            return {"child_id": child_id, "first_name": child.first_name if child else "",
                    "last_name": child.last_name if child else "", "absent": child_id in absent,
                    "health_flag": flags.get(child_id)}
        planned = []
        for slot in slots:
            confirmed = [b for b in bookings if b.slot_id == slot.id and b.status == CONFIRMED]
            waiting = [b for b in bookings if b.slot_id == slot.id and b.status == WAITING]
            planned.append({"id": slot.id, "start": slot.start, "end": slot.end, "capacity": slot.capacity,
                            "taken": slot.taken, "available": slot.capacity - slot.taken,
                            "occupancy_percent": round(100 * slot.taken / slot.capacity) if slot.capacity else 0,
                            "expected": [{**name(b.child_id), "booking_id": b.id} for b in confirmed],
                            "waiting": [{**name(b.child_id), "booking_id": b.id, "position": i}
                                        for i, b in enumerate(waiting, 1)]})
        contracted = []
        for row in regular:
            contract = domain.contract_from_row(row)
            if contract.minutes_on(day):
                arrives, leaves_at = contract.weekly_hours[day.isoweekday()]
                contracted.append({**name(row.child_id), "arrives": hhmm(arrives), "leaves": hhmm(leaves_at),
                                   "on_leave": row.child_id in on_leave})
        closure = calendar.closure(day, self.rules)
        return {"date": day.isoformat(), "closed": closure[1] if closure else None, "slots": planned,
                "contracted": sorted(contracted, key=lambda c: (c["last_name"], c["first_name"])),
                "attendance": [{**name(a.child_id), "arrived_at": a.arrived_at, "left_at": a.left_at,
                                "walk_in": a.walk_in} for a in attendance]}

    # --- Billable facts (pulled by billing at month end) ---------------------------------------------------------

    def billable_facts(self, month, family_id=None):
        """Per child of a family (or of all) registered at the crèche: contract hours, occasional hours booked and
        attended (by the half-hour), late cancellations, deductions with their reason. Reading it twice gives the
        same answer."""
        first, last = domain.month_bounds(month)
        with self.unit_of_work(read_only=True) as uow:
            pairs = store.family_children_pairs(uow, family_id)
            registrations = store.registrations_of(uow, {p.child_id for p in pairs})
            ids = list(registrations)
            bookings = store.month_bookings(uow, ids, first, last) if ids else []
            attendance = store.attendance_between(uow, ids, first, last)
            leaves = store.leaves_of(uow, ids, first, last)
            absences = store.absences_of(uow, ids, first, last)
            calendar = store.calendar(uow, first, last)
        facts = []
        for pair in pairs:
            row = registrations.get(pair.child_id)
            if row is None:
                continue
            contract = domain.contract_from_row(row) if row.kind == "regular" else None
            leave_days = {date for r in leaves if r.child_id == pair.child_id for date in r.days}
            child = domain.child_month(
                first, last, contract,
                [(b.day, domain.parse_hhmm(b.start, "s"), domain.parse_hhmm(b.end, "e"), b.status, b.late_cancelled)
                 for b in bookings if b.child_id == pair.child_id],
                [(a.day, domain.parse_hhmm(a.arrived_at, "a"), domain.parse_hhmm(a.left_at, "l") if a.left_at else None,
                  a.walk_in) for a in attendance if a.child_id == pair.child_id],
                {domain.parse_date(d, "leave") for d in leave_days},
                [(a.start, a.end, a.reason, a.decision == "accepted") for a in absences if a.child_id == pair.child_id],
                calendar, self.rules)
            facts.append({"family_id": pair.family_id, "child_id": pair.child_id, "first_name": pair.first_name,
                          "last_name": pair.last_name, "birth_date": pair.birth_date.isoformat(), "kind": row.kind,
                          "month": month, "from": first.isoformat(), "to": last.isoformat(), **child})
        return {"month": month, "children": facts}

    def family_bookings_feed(self, family_id, days_back=31, days_ahead=180):
        """The family's confirmed bookings around today, for its private calendar feed."""
        today = self.today()
        with self.unit_of_work(read_only=True) as uow:
            children = store.children_of_family(uow, family_id)
            rows = store.live_bookings_of_children(uow, [c.child_id for c in children],
                                                   today - timedelta(days=days_back), today + timedelta(days=days_ahead))
        names = {c.child_id: c.first_name for c in children}
        return [{"date": r.day.isoformat(), "start": r.start, "end": r.end, "child_id": r.child_id,
                 "first_name": names.get(r.child_id, "")} for r in rows if r.status == CONFIRMED]

    # --- News --------------------------------------------------------------------------------------------------------

    def publish_news(self, title, body, kind="news"):
        title, body, kind = domain.parse_news(title, body, kind)
        with self.unit_of_work() as uow:
            existing = store.news_by_title(uow, title, kind)  # publishing twice (a retry, the demo) is once
            news_id = existing.id if existing else store.add_news(uow, title, body, kind, self.clock.now())
            uow.commit()
        return {"id": news_id, "title": title, "kind": kind}

    def list_news(self, kind="news", limit=20):
        limit = max(1, min(int(limit), 100))
        with self.unit_of_work(read_only=True) as uow:
            return [_news(r) for r in store.news(uow, kind, limit)]

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


def _news(row):
    return {"id": row.id, "title": row.title, "body": row.body, "kind": row.kind,
            "published_at": row.published_at.isoformat()}


def _own_child(uow, family_id, child_id):
    child = store.child_in_family(uow, family_id, child_id)
    if child is None:
        raise NotFound(*CHILD_NOT_FOUND)
    return child


def _leave(row):
    return {"id": row.id, "from": row.start.isoformat(), "to": row.end.isoformat(), "days": len(row.days)}


def _absence(row):
    return {"id": row.id, "child_id": row.child_id, "from": row.start.isoformat(), "to": row.end.isoformat(),
            "reason": row.reason, "reported_at": row.reported_at.isoformat(),
            "has_document": row.document_path is not None, "document_name": row.document_name,
            "decision": row.decision, "comment": row.decision_comment}
