"""Everything the canteen holds on a family (GDPR, issue #12), as JSON values: the family's own answer to «what do
you keep on us». Justifications are described (name, type, reads), never sent: the parent has them and can open
them from the absences page."""
from espace_common.purge import iso

from . import personal_data_store as pds
from .domain import ABSENCE_REASONS, DIETS
from .domain_gdpr import LABELS, reader_text


def family_export(unit_of_work, family_id):
    with unit_of_work(read_only=True) as uow:
        kids = pds.children(uow, family_id) if isinstance(family_id, str) and len(family_id) <= 36 else []
        names = {k.child_id: f"{k.first_name} {k.last_name}" for k in kids}
        ids = list(names)
        absences = pds.absences(uow, family_id, ids) if ids else []
        answer = {
            "children": [{"child_id": k.child_id, "first_name": k.first_name, "last_name": k.last_name,
                          "birth_date": k.birth_date.isoformat()} for k in kids],
            "enrolments": [{"child_id": e.child_id, "child": names[e.child_id], "school_year": e.school_year,
                            "school": e.school, "class": e.class_name or ""}
                           for e in (pds.enrolments(uow, ids) if ids else [])],
            "reservations": [{"child_id": r.child_id, "child": names[r.child_id], "day": r.day.isoformat(),
                              "created_at": iso(r.created_at)} for r in (pds.reservations(uow, ids) if ids else [])],
            "absences": [{"id": a.id, "child_id": a.child_id, "child": names[a.child_id], "start": a.start.isoformat(),
                          "end": a.end.isoformat(), "reason": ABSENCE_REASONS.get(a.reason, a.reason),
                          "reported_at": iso(a.reported_at), "justification": a.document_name,
                          "justification_type": a.document_type} for a in absences],
            "attendance": [{"child_id": r.child_id, "child": names[r.child_id], "day": r.day.isoformat(),
                            "reserved": r.reserved, "recorded_at": iso(r.recorded_at)}
                           for r in (pds.attendance(uow, ids) if ids else [])],
            "diets": [{"child_id": d.child_id, "child": names[d.child_id], "diet": DIETS.get(d.diet, d.diet),
                       "pai": d.pai, "updated_at": iso(d.updated_at)} for d in (pds.diets(uow, ids) if ids else [])],
            "calendar_feeds": [{"created_at": iso(f.created_at), "revoked_at": iso(f.revoked_at)}
                               for f in pds.calendar_feeds(uow, family_id)],
        }
        starts = {a.id: a.start.isoformat() for a in absences}
        answer["document_reads"] = [{"absence_id": r.absence_id, "absence_start": starts[r.absence_id],
                                     "reader": reader_text(r.reader), "read_at": iso(r.read_at)}
                                    for r in (pds.reads(uow, list(starts)) if starts else [])]
    answer["labels"] = LABELS
    return answer
