"""The canteen routes of the JSON API, with fake services: the family comes from the token."""
import io

from .conftest import remote
from .test_api_identity import AUTH, FAMILY_ID, KITCHEN, PARENT, PETITE_ENFANCE, SCOLAIRE, as_

CHILD = "c-1"


def canteen_calls(services):
    return [(method, args) for service, method, args, _ in services.calls if service == "canteen"]


def test_meals_of_a_child_come_from_the_callers_family(client, services):
    services.answers[("canteen", "meals")] = {"child_id": CHILD, "days": [{"date": "2026-12-01"}]}
    response = client.get(f"/api/v1/children/{CHILD}/meals?from=2026-12-01&to=2026-12-31", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.get_json() == {"days": [{"date": "2026-12-01"}]}
    assert canteen_calls(services) == [("meals", (FAMILY_ID, CHILD, "2026-12-01", "2026-12-31"))]


def test_meals_need_both_dates(client, services):
    response = client.get(f"/api/v1/children/{CHILD}/meals?from=2026-12-01", headers=as_(services, PARENT))
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_query"


def test_a_frozen_day_is_409_and_another_familys_child_404(client, services):
    services.answers[("canteen", "change_meal")] = remote("Conflict", "day_frozen", "Ce jour ne peut plus être modifié.")
    response = client.put(f"/api/v1/children/{CHILD}/meals/2026-12-01", headers=as_(services, PARENT))
    assert response.status_code == 409 and response.get_json()["code"] == "day_frozen"
    services.answers[("canteen", "change_meal")] = remote("NotFound", "child_not_found", "Cet enfant n'existe pas.")
    assert client.delete(f"/api/v1/children/{CHILD}/meals/2026-12-01", headers=AUTH).status_code == 404


def test_cancel_is_204(client, services):
    services.answers[("canteen", "change_meal")] = {"state": "not_reserved"}
    response = client.delete(f"/api/v1/children/{CHILD}/meals/2026-12-01", headers=as_(services, PARENT))
    assert response.status_code == 204
    assert canteen_calls(services) == [("change_meal", (FAMILY_ID, CHILD, "2026-12-01", "cancel"))]


def test_agents_and_systems_cannot_reserve(client, services):
    for who in (SCOLAIRE, KITCHEN):
        assert client.put(f"/api/v1/children/{CHILD}/meals/2026-12-01", headers=as_(services, who)).status_code == 403


def test_absence_upload_passes_the_file_to_canteen(client, services):
    services.answers[("canteen", "report_absence")] = {"id": "a-1", "has_document": True}
    response = client.post(f"/api/v1/children/{CHILD}/absences", headers=as_(services, PARENT), data={
        "from": "2026-12-01", "to": "2026-12-02", "reason": "illness",
        "document": (io.BytesIO(b"%PDF-1.4 test"), "certificat.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 201
    (method, args), = canteen_calls(services)
    assert args[:5] == (FAMILY_ID, CHILD, "2026-12-01", "2026-12-02", "illness")
    assert args[5]["name"] == "certificat.pdf" and args[5]["content_base64"] == "JVBERi0xLjQgdGVzdA=="


def test_absence_without_dates_is_400(client, services):
    response = client.post(f"/api/v1/children/{CHILD}/absences", headers=as_(services, PARENT),
                           data={"reason": "other"}, content_type="multipart/form-data")
    assert response.status_code == 400 and canteen_calls(services) == []


def test_menus_and_schools_are_public(client, services):
    services.answers[("canteen", "menus_for_week")] = []
    services.answers[("canteen", "list_schools")] = [{"id": "s-1", "name": "École Jules Verne", "kind": "public",
                                                      "address": "x"}]
    assert client.get("/api/v1/menus?week=2026-W49").get_json() == {"week": "2026-W49", "menus": []}
    assert client.get("/api/v1/schools").get_json() == {"schools": [{"id": "s-1", "name": "École Jules Verne",
                                                                     "kind": "public"}]}


def test_headcount_for_school_agents_and_the_kitchen_only(client, services):
    services.answers[("canteen", "headcount")] = {"date": "2026-12-01", "school_id": "s-1", "total": 3, "by_diet": {}}
    for who, status in ((SCOLAIRE, 200), (KITCHEN, 200), (PETITE_ENFANCE, 403), (PARENT, 403)):
        response = client.get("/api/v1/schools/s-1/headcount?date=2026-12-01", headers=as_(services, who))
        assert response.status_code == status, who


def test_enrolment_by_a_school_agent(client, services):
    services.answers[("canteen", "enrol")] = {"child_id": CHILD, "school_id": "s-1", "school_year": "2026-2027",
                                              "class_id": None}
    body = {"child_id": CHILD, "school_id": "s-1", "school_year": "2026-2027"}
    assert client.post("/api/v1/enrolments", json=body, headers=as_(services, SCOLAIRE)).status_code == 201
    assert client.post("/api/v1/enrolments", json=dict(body, school_year="2026"),
                       headers=as_(services, SCOLAIRE)).status_code == 400


def test_a_parent_reads_the_familys_absences_and_a_justification(client, services):
    services.answers[("canteen", "family_absences")] = [{"id": "a-1", "child_id": CHILD, "has_document": True}]
    response = client.get("/api/v1/absences", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.get_json() == {"absences": [
        {"id": "a-1", "child_id": CHILD, "has_document": True}]}
    services.answers[("canteen", "absence_document")] = {"name": "x.png", "media_type": "image/png",
                                                         "content_base64": "iVBORw0KGgo="}
    response = client.get("/api/v1/absences/a-1/document", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.data == b"\x89PNG\r\n\x1a\n"
    assert response.headers["Content-Type"] == "image/png" and response.headers["Cache-Control"] == "no-store"
    (_, args), = [c for c in canteen_calls(services) if c[0] == "absence_document"]
    assert args[:2] == ("a-1", FAMILY_ID) and args[2].startswith("parent:")


def test_another_familys_justification_is_404_and_agents_use_their_own_pages(client, services):
    services.answers[("canteen", "absence_document")] = remote("NotFound", "document_not_found",
                                                               "Ce justificatif n'existe pas.")
    response = client.get("/api/v1/absences/a-9/document", headers=as_(services, PARENT))
    assert response.status_code == 404 and response.get_json()["code"] == "document_not_found"
    assert client.get("/api/v1/absences/a-1/document", headers=as_(services, SCOLAIRE)).status_code == 403


def test_a_parent_withdraws_an_absence_and_adds_its_certificate_afterwards(client, services):
    services.answers[("canteen", "withdraw_absence")] = {"id": "a-1", "child_id": CHILD, "from": "2026-12-03",
                                                         "to": "2026-12-03", "withdrawn": True}
    response = client.delete("/api/v1/absences/a-1", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.get_json()["withdrawn"] is True
    services.answers[("canteen", "withdraw_absence")] = remote("Conflict", "absence_started", "Déjà commencée.")
    response = client.delete("/api/v1/absences/a-1", headers=as_(services, PARENT))
    assert response.status_code == 409 and response.get_json()["code"] == "absence_started"
    services.answers[("canteen", "withdraw_absence")] = remote("NotFound", "absence_not_found", "Non.")
    assert client.delete("/api/v1/absences/" + "é" * 3000, headers=as_(services, PARENT)).status_code == 404
    services.answers[("canteen", "attach_justification")] = {"id": "a-1", "justification": "accepted"}
    response = client.post("/api/v1/absences/a-1/document", headers=as_(services, PARENT), content_type="multipart/form-data",
                           data={"document": (io.BytesIO(b"%PDF-1.4 test"), "certificat.pdf")})
    assert response.status_code == 200 and response.get_json()["justification"] == "accepted"
    assert ("attach_justification", (FAMILY_ID, "a-1", {"name": "certificat.pdf",
                                                        "content_base64": "JVBERi0xLjQgdGVzdA=="})) in canteen_calls(services)
    response = client.post("/api/v1/absences/a-1/document", headers=as_(services, PARENT), data={})
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_document"
    assert client.delete("/api/v1/absences/a-1", headers=as_(services, SCOLAIRE)).status_code == 403
    assert client.delete("/api/v1/absences/a-1").status_code == 401


# --- Attendance from the school's tablet ------------------------------------------------------------------------

def test_attendance_from_the_kitchen_scope_a_school_agent_or_an_admin(client, services):
    from .test_api_identity import ADMIN
    services.answers[("canteen", "record_attendance")] = {"date": "2026-12-03", "school_id": "s-1", "eaten": 2,
                                                          "without_reservation": 1}
    body = {"date": "2026-12-03", "eaten": ["c-1", "c-2"]}
    for who, status in ((KITCHEN, 200), (SCOLAIRE, 200), (ADMIN, 200), (PETITE_ENFANCE, 403), (PARENT, 403)):
        response = client.post("/api/v1/schools/s-1/attendance", json=body, headers=as_(services, who))
        assert response.status_code == status, who
    assert response.status_code == 403 and client.post("/api/v1/schools/s-1/attendance", json=body).status_code == 401
    calls = [args for method, args in canteen_calls(services) if method == "record_attendance"]
    assert calls == [("s-1", "2026-12-03", ["c-1", "c-2"])] * 3


def test_attendance_refusals_are_4xx_with_their_code(client, services):
    for kind, code, status in (("InvalidInput", "attendance_future", 400), ("Conflict", "day_closed", 409),
                               ("InvalidInput", "unknown_child", 400), ("InvalidInput", "not_enrolled", 400),
                               ("NotFound", "school_not_found", 404)):
        services.answers[("canteen", "record_attendance")] = remote(kind, code, "Refusé : voici pourquoi.")
        response = client.post("/api/v1/schools/s-1/attendance", json={"date": "2026-12-03", "eaten": ["c-1"]},
                               headers=as_(services, KITCHEN))
        assert response.status_code == status and response.get_json()["code"] == code


def test_a_malformed_attendance_is_400_before_any_call(client, services):
    for body in ({"date": "2026-12-03"}, {"date": "2026-12-03", "eaten": "c-1"}, {"eaten": []},
                 {"date": "2026-12-03", "eaten": ["é" * 65]}, {"date": "2026-12-03", "eaten": [""]},
                 {"date": "2026-12-03", "eaten": ["c"] * 2001}, {"date": "2026-12-03", "eaten": [], "extra": 1},
                 {"date": "x" * 100000, "eaten": []}):
        response = client.post("/api/v1/schools/s-1/attendance", json=body, headers=as_(services, KITCHEN))
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_body", body
    assert canteen_calls(services) == []
