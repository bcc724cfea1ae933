"""The health record's pages and API routes (issue #12), against fake services: the gateway hands the body to one
identity RPC, validates it once with openapi.yaml (forms and API alike), and answers identity's refusals (403 of
the other service, 404 of another family's child) and a care service that does not answer identity (503)."""
import html

import pytest

from .conftest import remote
from .test_api_identity import AUTH, as_
from .test_web_pages import AGENT, PARENT, log_in_as, post

VOCABULARY = {"relations": {"grand_parent": "Grand-parent", "autre": "Autre"}, "max_length": {},
              "max_authorised_persons": 6, "max_emergency_contacts": 4}
RECORD = {"child_id": "kid-1", "first_name": "Léa", "last_name": "Martin", "allergies": "Arachide",
          "treatment": "", "doctor": {"name": "Dr Lemoine", "phone": "0240450000"}, "vaccinations_up_to_date": True,
          "authorised_persons": [{"name": "Monique Martin", "phone": "0611223344", "relation": "grand_parent"}],
          "emergency_contacts": [], "updated_at": "2026-12-01T09:00:00+00:00", "updated_by": "Claire Martin",
          "vocabulary": VOCABULARY,
          "reads": [{"agent": "creche", "role": "petite_enfance", "role_label": "Petite enfance", "granted": True,
                     "at": "2026-12-02T08:30:00+00:00"},
                    {"agent": "ecoles", "role": "", "role_label": "", "granted": False,
                     "at": "2026-12-02T08:00:00+00:00"}]}
PAGE = "/mon-espace/fiches-sanitaires/kid-1"


def text(response):
    return html.unescape(response.get_data(as_text=True))


def test_the_parent_api_reads_and_saves_through_identity(client, services):
    services.answers[("identity", "health_record")] = RECORD
    services.answers[("identity", "save_health_record")] = RECORD
    headers = as_(services, {**PARENT, "token_kind": "api"})
    assert client.get("/api/v1/children/kid-1/health-record", headers=headers).get_json()["allergies"] == "Arachide"
    body = {"allergies": "Arachide", "authorised_persons": [{"name": "Monique", "phone": "0611223344"}]}
    assert client.put("/api/v1/children/kid-1/health-record", headers=headers, json=body).status_code == 200
    assert ("identity", "save_health_record", ("acc-1", "kid-1", body), {}) in services.calls


@pytest.mark.parametrize("body", [
    {"allergies": "a" * 100_000}, {"treatment": "é" * 1001}, {"doctor": "Dr House"}, {"vaccinations_up_to_date": "oui"},
    {"authorised_persons": [{"name": "x", "phone": "0611223344"}] * 7}, {"emergency_contacts": [{"name": "x"}]},
    {"authorised_persons": [{"name": "x", "phone": "0" * 100_000}]}, {"surprise": 1}, [1, 2],
])
def test_bad_bodies_are_refused_400_before_any_rpc(client, services, body):
    response = client.put("/api/v1/children/kid-1/health-record", headers=AUTH, json=body)
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
    assert not [c for c in services.calls if c[1] == "save_health_record"]


def test_the_agent_api_is_refused_403_for_the_other_service_and_404_for_an_unknown_child(client, services):
    headers = as_(services, {**AGENT, "token_kind": "api"})
    services.answers[("identity", "agent_health_record")] = remote(
        "Forbidden", "health_record_forbidden", "Vous n'avez pas accès à la fiche sanitaire de cet enfant.")
    response = client.get("/api/v1/children/kid-1/health-record", headers=headers)
    assert response.status_code == 403 and response.get_json()["code"] == "health_record_forbidden"
    services.answers[("identity", "agent_health_record")] = remote("NotFound", "child_not_found", "Cet enfant n'existe pas.")
    assert client.get("/api/v1/children/" + "x" * 100_000 + "/health-record", headers=headers).status_code == 404
    services.answers[("identity", "agent_health_record")] = remote("DependencyUnavailable", "internal_error", "canteen")
    services.answers[("identity", "agent_health_record")].message = "canteen"
    response = client.get("/api/v1/children/kid-1/health-record", headers=headers)
    assert response.status_code == 503 and response.get_json()["code"] == "service_unavailable"


def test_an_agent_cannot_save_a_record(client, services):
    headers = as_(services, {**AGENT, "token_kind": "api"})
    response = client.put("/api/v1/children/kid-1/health-record", headers=headers, json={"allergies": ""})
    assert response.status_code == 403


def test_the_parent_page_shows_the_record_and_who_read_it(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "health_record")] = RECORD
    page = text(client.get(PAGE))
    assert 'value="Arachide"' in page and "Monique Martin" in page and "06 11 22 33 44" in page
    assert "creche" in page and "consultée" in page and "refusée" in page
    services.answers[("identity", "family_health_records")] = {"children": [
        {"child_id": "kid-1", "first_name": "Léa", "last_name": "Martin", "filled": False, "allergies": "",
         "updated_at": None}], "vocabulary": VOCABULARY}
    listing = text(client.get("/mon-espace/fiches-sanitaires"))
    assert "fiche à remplir" in listing and PAGE in listing and 'aria-current="page">Fiches sanitaires' in listing


def test_the_parent_form_builds_the_apis_body_and_names_a_refused_field(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "health_record")] = RECORD
    services.answers[("identity", "save_health_record")] = RECORD
    form = {"allergies": "Œuf", "treatment": "", "doctor_name": "Dr Lemoine", "doctor_phone": "02 40 45 00 00",
            "vaccinations": "1", "ap-0-name": "Monique Martin", "ap-0-phone": "06 11 22 33 44",
            "ap-0-relation": "grand_parent", "ap-1-name": "", "ap-1-phone": "", "ec-2-name": "Paul",
            "ec-2-phone": "0655443322"}
    response = post(client, PAGE, form)
    assert response.status_code == 303
    [saved] = [c[2][2] for c in services.calls if c[1] == "save_health_record"]
    assert saved == {"allergies": "Œuf", "treatment": "", "doctor": {"name": "Dr Lemoine", "phone": "02 40 45 00 00"},
                     "vaccinations_up_to_date": True,
                     "authorised_persons": [{"name": "Monique Martin", "phone": "06 11 22 33 44",
                                             "relation": "grand_parent"}],
                     "emergency_contacts": [{"name": "Paul", "phone": "0655443322"}]}
    response = post(client, PAGE, {**form, "ec-2-phone": "0" * 100_000})
    page = text(response)
    assert response.status_code == 400 and "Personne à prévenir 3 : téléphone" in page
    assert 'id="ec-2-phone"' in page and 'aria-invalid="true"' in page
    services.answers[("identity", "save_health_record")] = remote("InvalidInput", "invalid_phone",
                                                                  "Le numéro de téléphone « 12 » n'est pas valide.")
    response = post(client, PAGE, {**form, "ap-0-phone": "12"})
    assert response.status_code == 400 and "n'est pas valide" in text(response)


def test_another_familys_child_is_a_404_page(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "health_record")] = remote("NotFound", "child_not_found", "Cet enfant n'existe pas.")
    assert client.get("/mon-espace/fiches-sanitaires/kid-other").status_code == 404


def test_the_agent_page_shows_the_record_or_a_french_refusal(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "agent_health_record")] = {**RECORD, "read_as": "affaires_scolaires"}
    page = text(client.get("/agents/enfants/kid-1/fiche-sanitaire"))
    assert "Arachide" in page and "Monique Martin" in page and "votre consultation est enregistrée" in page
    assert ("identity", "agent_health_record", ("agent-1", "kid-1"), {}) in services.calls
    services.answers[("identity", "agent_health_record")] = remote(
        "Forbidden", "health_record_forbidden", "Vous n'avez pas accès à la fiche sanitaire de cet enfant.")
    response = client.get("/agents/enfants/kid-1/fiche-sanitaire")
    assert response.status_code == 403 and "Vous n'avez pas accès à la fiche sanitaire" in text(response)


def test_the_flags_show_on_the_canteen_day_sheet_with_a_link_to_the_record(client, services):
    log_in_as(client, services, AGENT)
    row = {"child_id": "kid-1", "first_name": "Léa", "last_name": "Martin", "reserved": True, "absent": False,
           "eaten": False, "diet": "standard", "pai": False,
           "health_flag": {"allergies": "Arachide", "has_treatment": True}}
    services.answers[("canteen", "school_day")] = {
        "date": "2026-12-03", "school_year": "2026-2027", "schools": [{"id": "s-1", "name": "École Aristide Briand"}],
        "school": {"id": "s-1", "name": "École Aristide Briand"}, "sheet": [row, {**row, "child_id": "kid-2",
                                                                                    "health_flag": None}],
        "attendance_recorded_at": None}
    page = text(client.get("/agents/cantine/presences?date=2026-12-03&ecole=s-1"))
    assert page.count("Allergie : ") == 1 and "Arachide" in page and "· traitement" in page
    assert "/agents/enfants/kid-1/fiche-sanitaire" in page and "/agents/enfants/kid-2/fiche-sanitaire" not in page


def test_an_administrator_sees_the_flag_without_a_link_he_could_not_follow(client, services):
    log_in_as(client, services, {**AGENT, "roles": ["admin"]})
    row = {"child_id": "kid-1", "first_name": "Léa", "last_name": "Martin", "reserved": True, "absent": False,
           "eaten": False, "diet": "standard", "pai": False, "health_flag": {"allergies": "Arachide",
                                                                             "has_treatment": False}}
    services.answers[("canteen", "school_day")] = {
        "date": "2026-12-03", "school_year": "2026-2027", "schools": [{"id": "s-1", "name": "École"}],
        "school": {"id": "s-1", "name": "École"}, "sheet": [row], "attendance_recorded_at": None}
    page = text(client.get("/agents/cantine/presences?date=2026-12-03&ecole=s-1"))
    assert "Allergie : " in page and "/fiche-sanitaire" not in page


def test_the_crèche_planning_links_the_flag_to_the_record(client, services):
    log_in_as(client, services, {**AGENT, "roles": ["petite_enfance"]})
    child = {"child_id": "kid-2", "first_name": "Noé", "last_name": "Martin", "absent": False,
             "health_flag": {"allergies": "Lait", "has_treatment": False}}
    services.answers[("childcare", "planning")] = {
        "date": "2026-12-03", "closed": None, "attendance": [], "contracted": [{**child, "arrives": "08:30",
                                                                               "leaves": "17:00", "on_leave": False}],
        "slots": [{"id": "sl-1", "start": "08:00", "end": "12:00", "capacity": 12, "taken": 1, "available": 11,
                   "occupancy_percent": 8, "expected": [{**child, "booking_id": "b-1"}], "waiting": []}]}
    page = text(client.get("/agents/petite-enfance/planning?date=2026-12-03"))
    assert page.count("Allergie : ") == 2 and page.count("/agents/enfants/kid-2/fiche-sanitaire") == 2
