"""Everything the crèche holds on a family (GDPR, issue #12), as JSON values. Justifications are described (name,
type, decision, reads), never sent: the parent has them."""
from espace_common.mail import mails_to
from espace_common.purge import iso

from . import orm, personal_data_store as pds
from .domain import ABSENCE_REASONS, BOOKING_STATUSES, DECISIONS, REGISTRATION_KINDS
from .domain_gdpr import LABELS, reader_text


def family_export(unit_of_work, family_id):
    if not isinstance(family_id, str) or len(family_id) > 36:
        family_id = ""
    with unit_of_work(read_only=True) as uow:
        kids = pds.children(uow, family_id)
        names = {k.child_id: f"{k.first_name} {k.last_name}" for k in kids}
        ids = list(names)
        absences = pds.absences(uow, family_id)
        answer = {
            "children": [{"child_id": k.child_id, "first_name": k.first_name, "last_name": k.last_name,
                          "birth_date": k.birth_date.isoformat()} for k in kids],
            "registrations": [{
                "child_id": r.child_id, "child": names[r.child_id], "kind": REGISTRATION_KINDS.get(r.kind, r.kind),
                "weekly_hours": r.weekly_hours, "weeks_per_year": r.weeks_per_year,
                "contract_start": iso(r.contract_start), "contract_end": iso(r.contract_end),
                "leave_days": r.leave_days, "leave_taken": r.leave_taken, "registered_at": iso(r.registered_at)}
                for r in (pds.registrations(uow, ids) if ids else [])],
            "bookings": [{
                "id": b.id, "child_id": b.child_id, "child": names.get(b.child_id, ""), "day": b.day.isoformat(),
                "start": b.start, "end": b.end, "status": BOOKING_STATUSES.get(b.status, b.status),
                "contact_email": b.contact_email, "created_at": iso(b.created_at), "confirmed_at": iso(b.confirmed_at),
                "cancelled_at": iso(b.cancelled_at), "late_cancelled": b.late_cancelled}
                for b in pds.bookings(uow, family_id)],
            "leaves": [{"child_id": v.child_id, "child": names.get(v.child_id, ""), "start": v.start.isoformat(),
                        "end": v.end.isoformat(), "days": v.days, "declared_at": iso(v.declared_at)}
                       for v in pds.leaves(uow, family_id)],
            "absences": [{
                "id": a.id, "child_id": a.child_id, "child": names.get(a.child_id, ""), "start": a.start.isoformat(),
                "end": a.end.isoformat(), "reason": ABSENCE_REASONS.get(a.reason, a.reason),
                "reported_at": iso(a.reported_at), "justification": a.document_name,
                "justification_type": a.document_type, "decision": DECISIONS.get(a.decision, a.decision),
                "decision_comment": a.decision_comment, "decided_at": iso(a.decided_at)} for a in absences],
            "attendance": [{"child_id": r.child_id, "child": names[r.child_id], "day": r.day.isoformat(),
                            "arrived_at": r.arrived_at, "left_at": r.left_at, "walk_in": r.walk_in,
                            "recorded_at": iso(r.recorded_at)} for r in (pds.attendance(uow, ids) if ids else [])],
        }
        starts = {a.id: a.start.isoformat() for a in absences}
        answer["document_reads"] = [{"absence_id": r.absence_id, "absence_start": starts[r.absence_id],
                                     "reader": reader_text(r.reader), "read_at": iso(r.read_at)}
                                    for r in (pds.reads(uow, list(starts)) if starts else [])]
        answer["mails"] = mails_to(uow, orm.mail_outbox, pds.contact_emails(uow, family_id), limit=1000)
    answer["labels"] = LABELS
    return answer
