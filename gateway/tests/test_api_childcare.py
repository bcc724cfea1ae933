"""The childcare routes of the JSON API, with fake services: the family comes from the token, agents need their role."""
import io

from .conftest import remote
from .test_api_identity import ADMIN, AUTH, FAMILY_ID, KITCHEN, PARENT, PETITE_ENFANCE, SCOLAIRE, as_

CHILD = "c-1"
PARENT_WITH_MAIL = {**PARENT, "email": "claire@example.org"}
SLOT = {"id": "s-1", "date": "2026-12-07", "start": "08:00", "end": "12:00", "capacity": 4, "available": 0,
        "waiting": 2, "closed": None, "past": False, "free_cancellation_until": "2026-12-05T08:00:00+01:00"}


def childcare_calls(services):
    return [(method, args) for service, method, args, _ in services.calls if service == "childcare"]


def test_slots_are_public_and_need_both_dates(client, services):
    services.answers[("childcare", "slots")] = [SLOT]
    response = client.get("/api/v1/childcare/slots?from=2026-12-07&to=2026-12-13")
    assert response.status_code == 200
    assert response.get_json() == {"slots": [{"id": "s-1", "date": "2026-12-07", "start": "08:00", "end": "12:00",
                                              "capacity": 4, "available": 0, "waiting": 2, "closed": None}]}
    assert client.get("/api/v1/childcare/slots?from=2026-12-07").status_code == 400


def test_a_booking_is_made_for_the_callers_family_with_their_mail(client, services):
    services.answers[("childcare", "book")] = {"id": "b-1", "slot_id": "s-1", "child_id": CHILD, "status": "waiting",
                                               "position": 3, "date": "2026-12-07", "start": "08:00", "end": "12:00"}
    response = client.post(f"/api/v1/children/{CHILD}/childcare-bookings", json={"slot_id": "s-1"},
                           headers=as_(services, PARENT_WITH_MAIL))
    assert response.status_code == 201 and response.get_json()["position"] == 3
    assert childcare_calls(services) == [("book", (FAMILY_ID, CHILD, "s-1", "claire@example.org"))]


def test_a_booking_body_is_checked_before_anything_is_asked(client, services):
    for bad in ({}, {"slot_id": 12}, {"slot_id": "s-1", "child_id": "other"}):
        response = client.post(f"/api/v1/children/{CHILD}/childcare-bookings", json=bad, headers=AUTH)
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
    assert services.calls == []


def test_refusals_are_409_and_another_familys_child_or_booking_404(client, services):
    services.answers[("childcare", "book")] = remote("Conflict", "outside_age_range", "La crèche accueille…")
    response = client.post(f"/api/v1/children/{CHILD}/childcare-bookings", json={"slot_id": "s-1"},
                           headers=as_(services, PARENT))
    assert response.status_code == 409 and response.get_json()["code"] == "outside_age_range"
    services.answers[("childcare", "book")] = remote("NotFound", "child_not_found", "Cet enfant n'existe pas.")
    assert client.post(f"/api/v1/children/{CHILD}/childcare-bookings", json={"slot_id": "s-1"},
                       headers=AUTH).status_code == 404
    services.answers[("childcare", "cancel_booking")] = remote("NotFound", "booking_not_found", "…")
    assert client.delete("/api/v1/childcare-bookings/b-9", headers=AUTH).status_code == 404


def test_cancelling_says_whether_it_is_billed_and_who_was_promoted(client, services):
    services.answers[("childcare", "cancel_booking")] = {"id": "b-1", "billed": False, "promoted_booking_id": "b-2",
                                                         "free_cancellation_until": "x"}
    response = client.delete("/api/v1/childcare-bookings/b-1", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.get_json() == {"billed": False, "promoted_booking_id": "b-2"}
    assert childcare_calls(services) == [("cancel_booking", (FAMILY_ID, "b-1"))]


def test_an_absence_upload_passes_the_file_and_a_leave_answers_the_allowance(client, services):
    services.answers[("childcare", "report_absence")] = {"id": "a-1", "has_document": True, "decision": "pending"}
    response = client.post(f"/api/v1/children/{CHILD}/childcare-absences", headers=as_(services, PARENT), data={
        "from": "2026-12-01", "to": "2026-12-02", "reason": "illness",
        "document": (io.BytesIO(b"%PDF-1.4 test"), "certificat.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 201
    (method, args), = childcare_calls(services)
    assert args[:5] == (FAMILY_ID, CHILD, "2026-12-01", "2026-12-02", "illness") and args[5]["name"] == "certificat.pdf"
    services.answers[("childcare", "declare_leave")] = {"id": "l-1", "days": 2, "remaining": 1}
    response = client.post(f"/api/v1/children/{CHILD}/childcare-leaves", json={"from": "2026-12-07", "to": "2026-12-08"},
                           headers=AUTH)
    assert response.status_code == 201 and response.get_json()["remaining"] == 1
    assert client.post(f"/api/v1/children/{CHILD}/childcare-leaves", json={"from": "demain"},
                       headers=AUTH).status_code == 400


def test_agent_routes_need_petite_enfance_or_admin(client, services):
    services.answers[("childcare", "planning")] = {"date": "2026-12-07", "slots": []}
    for who, status in ((PETITE_ENFANCE, 200), (ADMIN, 200), (SCOLAIRE, 403), (PARENT, 403), (KITCHEN, 403)):
        response = client.get("/api/v1/childcare/planning?date=2026-12-07", headers=as_(services, who))
        assert response.status_code == status, who
    assert client.get("/api/v1/childcare/planning?date=2026-12-07").status_code == 401


def test_registration_capacity_decision_and_attendance_by_an_agent(client, services):
    headers = as_(services, PETITE_ENFANCE)
    services.answers[("childcare", "register")] = {"child_id": CHILD, "kind": "regular"}
    contract = {"weekly_hours": {"1": ["08:30", "17:00"]}, "weeks_per_year": 45, "start": "2026-09-01",
                "end": "2027-07-31", "leave_days": 10}
    assert client.post("/api/v1/childcare/registrations", json={"child_id": CHILD, "kind": "regular",
                                                               "contract": contract}, headers=headers).status_code == 201
    assert client.post("/api/v1/childcare/registrations", json={"child_id": CHILD, "kind": "sometimes"},
                       headers=headers).status_code == 400
    services.answers[("childcare", "set_capacity")] = {"id": "s-1", "capacity": 6, "promoted_booking_ids": []}
    assert client.put("/api/v1/childcare/slots/s-1", json={"capacity": 6}, headers=headers).status_code == 200
    assert client.put("/api/v1/childcare/slots/s-1", json={"capacity": "six"}, headers=headers).status_code == 400
    services.answers[("childcare", "decide_justification")] = {"id": "a-1", "decision": "accepted"}
    assert client.post("/api/v1/childcare-absences/a-1/decision", json={"accepted": True, "comment": "Reçu"},
                       headers=headers).status_code == 200
    services.answers[("childcare", "record_attendance")] = {"child_id": CHILD, "walk_in": True}
    assert client.post("/api/v1/childcare/attendance", json={"child_id": CHILD, "date": "2026-12-01",
                                                            "arrived_at": "08:10", "left_at": "12:00"},
                       headers=headers).status_code == 201
    assert client.post("/api/v1/childcare/attendance", json={"child_id": CHILD, "date": "2026-12-01",
                                                            "arrived_at": "8h10"}, headers=headers).status_code == 400
    calls = childcare_calls(services)
    assert ("register", (CHILD, "regular", contract)) in calls
    assert ("decide_justification", ("a-1", True, "Reçu", "agent:agent-pe")) in calls
    assert ("record_attendance", (CHILD, "2026-12-01", "08:10", "12:00")) in calls


def test_a_parent_lists_withdraws_and_justifies_the_familys_creche_absences(client, services):
    services.answers[("childcare", "family_absences")] = [{"id": "ab-1", "decision": "none"}]
    response = client.get("/api/v1/childcare-absences", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.get_json() == {"absences": [{"id": "ab-1", "decision": "none"}]}
    services.answers[("childcare", "withdraw_absence")] = remote("Conflict", "absence_decided", "Déjà examinée.")
    response = client.delete("/api/v1/childcare-absences/ab-1", headers=as_(services, PARENT))
    assert response.status_code == 409 and response.get_json()["code"] == "absence_decided"
    services.answers[("childcare", "attach_justification")] = {"id": "ab-1", "decision": "pending"}
    response = client.post("/api/v1/childcare-absences/ab-1/document", headers=as_(services, PARENT),
                           content_type="multipart/form-data",
                           data={"document": (io.BytesIO(b"%PDF-1.4 test"), "certificat.pdf")})
    assert response.status_code == 200 and response.get_json()["decision"] == "pending"
    assert ("withdraw_absence", (FAMILY_ID, "ab-1")) in childcare_calls(services)
    assert client.post("/api/v1/childcare-absences/ab-1/document", headers=as_(services, PARENT),
                       data={}).status_code == 400
    assert client.get("/api/v1/childcare-absences", headers=as_(services, PETITE_ENFANCE)).status_code == 403
