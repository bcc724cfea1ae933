"""The Petite Enfance pages (public, parents', agents') against fake services."""
import html
import io
import re
from datetime import datetime

import pytest

from espace_common.clock import PARIS, FixedClock

from .conftest import remote
from .test_web_pages import AGENT, PARENT, csrf_token, log_in_as, post

FAMILY_ID = PARENT["family_id"]
CRECHE = {**AGENT, "id": "agent-3", "username": "creche", "roles": ["petite_enfance"]}
PARENT_WITH_MAIL = {**PARENT, "email": "claire@example.org"}

# What the childcare service's vocabulary() answers (services/childcare/childcare/domain.py is its source).
VOCABULARY = {
    "name": "Multi-accueil Bout D'chou",
    "booking_statuses": {"confirmed": "Confirmée", "waiting": "En liste d'attente", "cancelled": "Annulée"},
    "registration_kinds": {"occasional": "Accueil occasionnel", "regular": "Accueil régulier (contrat)"},
    "absence_reasons": {"illness": "Maladie", "hospitalisation": "Hospitalisation", "other": "Autre motif"},
    "decisions": {"none": "Sans justificatif", "pending": "À examiner", "accepted": "Accepté", "refused": "Refusé"},
    "closure_kinds": {}, "deduction_reasons": {},
    "justification": {"max_bytes": 5 * 1024 * 1024, "media_types": ["application/pdf", "image/jpeg", "image/png"]},
    "age": {"min_weeks": 10, "max_months": 48},
    "opening": {"weekdays": [1, 2, 3, 4, 5], "opens": "07:30", "closes": "18:30"},
    "slots": [{"start": "08:00", "end": "12:00"}, {"start": "13:30", "end": "18:00"}],
    "slot_capacity": 4, "weeks_ahead": 4, "cancellation_hours": 48, "illness_waiting_days": 3,
    "leave_notice_days": 1, "absence": {"past_days": 30, "max_days": 62},
    "limits": {"closure_reason": 200, "comment": 500, "news_title": 200, "news_body": 20000, "document_name": 150},
}
CONTRACT = {"weekly_hours": {"1": ["08:30", "17:00"]}, "weeks_per_year": 45, "start": "2026-09-01",
            "end": "2027-07-31", "leave_days": 10, "weekly_minutes": 510, "monthly_minutes": 1913}
LINA = {"child_id": "kid-lina", "first_name": "Lina", "last_name": "Martin", "birth_date": "2025-03-14",
        "bookable_from": "2025-05-23", "bookable_until": "2029-03-13",
        "registration": {"child_id": "kid-lina", "kind": "regular", "contract": CONTRACT,
                         "leave": {"allowed": 10, "taken": 2, "remaining": 8}},
        "bookings": [{"id": "b-1", "slot_id": "s-2", "child_id": "kid-lina", "status": "waiting", "position": 2,
                      "date": "2026-12-07", "start": "13:30", "end": "18:00",
                      "free_cancellation_until": "2026-12-05T12:30:00+00:00", "late_cancelled": False}],
        "leaves": [], "absences": []}
SLOTS = [
    {"id": "s-1", "date": "2026-12-07", "start": "08:00", "end": "12:00", "capacity": 4, "available": 2, "waiting": 0,
     "closed": None, "past": False, "free_cancellation_until": "2026-12-05T07:00:00+00:00"},
    {"id": "s-2", "date": "2026-12-07", "start": "13:30", "end": "18:00", "capacity": 4, "available": 0, "waiting": 3,
     "closed": None, "past": False, "free_cancellation_until": "2026-12-05T12:30:00+00:00"},
]


@pytest.fixture(autouse=True)
def fixed_clock_and_vocabulary(app, services):
    app.extensions["clock"] = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=PARIS))
    services.answers[("childcare", "vocabulary")] = VOCABULARY


def page(response):
    return html.unescape(response.get_data(as_text=True))


def test_the_public_page_says_how_to_register_with_the_phone_numbers(client, services):
    services.answers[("childcare", "list_news")] = []
    text = page(client.get("/petite-enfance/"))
    assert "10 semaines à 4 ans" in text and "02 40 91 01 91" in text and "Relais Petite Enfance" in text
    assert "carnet de santé" in text and "48 heures" in text


def test_the_week_shows_places_and_positions_with_one_tap_buttons(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("childcare", "family_childcare")] = [LINA]
    services.answers[("childcare", "slots")] = SLOTS
    text = page(client.get("/petite-enfance/creneaux?semaine=2026-W50"))
    assert "2 places disponibles" in text and "liste d'attente, position 2" in text
    assert "Réserver<span class=\"vh\"> : lundi 7 décembre 8h00–12h00" in text
    assert "Quitter la liste d'attente" in text
    (_, method, args, _), = [c for c in services.calls if c[1] == "slots"]
    assert args == ("2026-12-07", "2026-12-13")


def test_booking_a_full_slot_says_the_position_and_passes_the_parents_mail(client, services):
    log_in_as(client, services, PARENT_WITH_MAIL)
    services.answers[("childcare", "family_childcare")] = [LINA]
    services.answers[("childcare", "slots")] = SLOTS
    services.answers[("childcare", "book")] = {"id": "b-2", "slot_id": "s-2", "child_id": "kid-lina",
                                               "status": "waiting", "position": 4, "date": "2026-12-07",
                                               "start": "13:30", "end": "18:00"}
    response = post(client, "/petite-enfance/creneaux/s-2/reserver", {"child": "kid-lina", "semaine": "2026-W50"},
                    csrf_from="/petite-enfance/creneaux?semaine=2026-W50")
    assert response.status_code == 303 and "semaine=2026-W50" in response.headers["Location"]
    assert ("childcare", "book", (FAMILY_ID, "kid-lina", "s-2", "claire@example.org"), {"actor": {"kind": "parent", "id": "acc-1", "name": "claire.martin"}}) in services.calls
    assert "en position 4" in page(client.get(response.headers["Location"]))


def test_a_refused_booking_is_told_and_another_familys_child_is_404(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("childcare", "family_childcare")] = [LINA]
    services.answers[("childcare", "slots")] = SLOTS
    token = csrf_token(client, "/petite-enfance/creneaux")
    services.answers[("childcare", "book")] = remote("Conflict", "outside_age_range", "Hors de la tranche d'âge.")
    response = client.post("/petite-enfance/creneaux/s-1/reserver", data={"child": "kid-lina", "csrf_token": token})
    assert "Hors de la tranche d'âge." in page(client.get(response.headers["Location"]))
    services.answers[("childcare", "book")] = remote("NotFound", "child_not_found", "Cet enfant n'existe pas.")
    assert client.post("/petite-enfance/creneaux/s-1/reserver",
                       data={"child": "other", "csrf_token": token}).status_code == 404
    services.answers[("childcare", "cancel_booking")] = remote("NotFound", "booking_not_found", "…")
    assert client.post("/petite-enfance/reservations/b-9/annuler", data={"csrf_token": token}).status_code == 404


def test_a_late_cancellation_says_it_is_billed(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("childcare", "family_childcare")] = [LINA]
    services.answers[("childcare", "cancel_booking")] = {"id": "b-1", "billed": True, "promoted_booking_id": None}
    response = post(client, "/petite-enfance/reservations/b-1/annuler", {"retour": "mes-reservations"},
                    csrf_from="/petite-enfance/mes-reservations")
    text = page(client.get(response.headers["Location"]))
    assert "elle sera facturée" in text and "8 jour(s) restant(s) sur 10" in text


def test_an_absence_with_a_file_and_a_leave_past_the_allowance(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("childcare", "family_childcare")] = [LINA]
    services.answers[("childcare", "report_absence")] = {"id": "a-1", "has_document": True}
    token = csrf_token(client, "/petite-enfance/absences")
    response = client.post("/petite-enfance/absences", data={
        "csrf_token": token, "child": "kid-lina", "from": "2026-12-02", "to": "2026-12-04", "reason": "illness",
        "document": (io.BytesIO(b"%PDF-1.4 x"), "certificat.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 303
    call, = [c for c in services.calls if c[1] == "report_absence"]
    assert call[2][:5] == (FAMILY_ID, "kid-lina", "2026-12-02", "2026-12-04", "illness")
    services.answers[("childcare", "declare_leave")] = remote("Conflict", "leave_allowance_exceeded",
                                                              "Ce congé dépasse le nombre de jours de congé du contrat.")
    response = client.post("/petite-enfance/conges", data={"csrf_token": token, "child": "kid-lina",
                                                           "from": "2026-12-14", "to": "2026-12-31"})
    assert response.status_code == 409 and "dépasse le nombre de jours" in page(response)


CRECHE_ABSENCE = {"id": "ab-1", "child_id": "kid-lina", "first_name": "Lina", "from": "2026-12-07", "to": "2026-12-08",
                  "reason": "illness", "reported_at": "2026-12-01T08:00:00+00:00", "has_document": False,
                  "document_name": None, "decision": "none", "comment": "", "justify_until": "2027-01-06",
                  "withdrawable": True}


def test_the_absences_page_lists_the_familys_absences_with_their_decision(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("childcare", "family_childcare")] = [{**LINA, "absences": [
        CRECHE_ABSENCE, {**CRECHE_ABSENCE, "id": "ab-2", "from": "2026-11-20", "to": "2026-11-20",
                         "has_document": True, "decision": "refused", "comment": "Illisible",
                         "justify_until": None, "withdrawable": False}]}]
    text = page(client.get("/petite-enfance/absences"))
    first = text[text.index('id="absence-ab-1"'):text.index('id="absence-ab-2"')]
    assert "du lundi 7 décembre au mardi 8 décembre 2026" in first and ">Sans justificatif</span>" in first
    assert 'action="/petite-enfance/absences/ab-1/retirer"' in first and "Jusqu'au mercredi 6 janvier 2027" in first
    second = text[text.index('id="absence-ab-2"'):]
    assert ">Refusé</span>" in second and "Illisible" in second and "/ab-2/retirer" not in second
    assert 'href="/petite-enfance/absences/ab-2/justificatif"' in second and "/ab-2/justificatif\" enctype" not in second
    assert len([c for c in services.calls if c[0] == "childcare" and c[1] != "vocabulary"]) == 1


def test_a_parent_withdraws_a_creche_absence_and_adds_a_justification_afterwards(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("childcare", "family_childcare")] = [{**LINA, "absences": [CRECHE_ABSENCE]}]
    services.answers[("childcare", "withdraw_absence")] = {**CRECHE_ABSENCE, "withdrawn": True}
    token = csrf_token(client, "/petite-enfance/absences")
    response = client.post("/petite-enfance/absences/ab-1/retirer", data={"csrf_token": token})
    assert response.status_code == 303 and ("childcare", "withdraw_absence", (FAMILY_ID, "ab-1"), {"actor": {"kind": "parent", "id": "acc-1", "name": "claire.martin"}}) in services.calls
    assert "L'absence du lundi 7 décembre au mardi 8 décembre est retirée." in page(client.get("/petite-enfance/absences"))
    services.answers[("childcare", "withdraw_absence")] = remote("Conflict", "absence_decided", "La crèche a déjà examiné.")
    response = client.post("/petite-enfance/absences/ab-1/retirer", data={"csrf_token": token})
    assert response.status_code == 303 and "La crèche a déjà examiné." in page(client.get("/petite-enfance/absences"))
    services.answers[("childcare", "withdraw_absence")] = remote("NotFound", "absence_not_found", "Non.")
    assert client.post("/petite-enfance/absences/zz/retirer", data={"csrf_token": token}).status_code == 404

    services.answers[("childcare", "attach_justification")] = {**CRECHE_ABSENCE, "decision": "pending"}
    response = client.post("/petite-enfance/absences/ab-1/justificatif", content_type="multipart/form-data",
                           data={"csrf_token": token, "document": (io.BytesIO(b"%PDF-1.4 x"), "certificat.pdf")})
    assert response.status_code == 303 and response.headers["Location"] == "/petite-enfance/absences#absence-ab-1"
    call, = [c for c in services.calls if c[1] == "attach_justification"]
    assert call[2][:2] == (FAMILY_ID, "ab-1") and call[2][2]["name"] == "certificat.pdf"
    services.answers[("childcare", "attach_justification")] = remote(
        "InvalidInput", "invalid_document", "Le justificatif doit être un fichier PDF, JPEG ou PNG.")
    response = client.post("/petite-enfance/absences/ab-1/justificatif", content_type="multipart/form-data",
                           data={"csrf_token": token, "document": (io.BytesIO(b"MZ junk"), "certificat.pdf")})
    text = page(response)
    assert response.status_code == 400 and 'role="alert" id="erreur-ab-1"' in text
    assert re.search(r'id="document-ab-1"[^>]*aria-invalid="true"', text)
    services.answers[("childcare", "attach_justification")] = remote("NotFound", "absence_not_found", "Non.")
    response = client.post("/petite-enfance/absences/zz/justificatif", content_type="multipart/form-data",
                           data={"csrf_token": token, "document": (io.BytesIO(b"%PDF-1.4 x"), "c.pdf")})
    assert response.status_code == 404


def test_agent_pages_need_petite_enfance(client, services):
    services.answers[("childcare", "planning")] = {"date": "2026-12-01", "closed": None, "slots": [], "contracted": [],
                                                   "attendance": []}
    log_in_as(client, services, AGENT)
    assert client.get("/agents/petite-enfance/planning").status_code == 403
    log_in_as(client, services, CRECHE)
    assert client.get("/agents/petite-enfance/planning").status_code == 200


def test_the_planning_shows_expected_waiting_and_occupancy(client, services):
    log_in_as(client, services, CRECHE)
    services.answers[("childcare", "planning")] = {
        "date": "2026-12-07", "closed": None, "contracted": [],
        "attendance": [],
        "slots": [{"id": "s-2", "start": "13:30", "end": "18:00", "capacity": 4, "taken": 4, "available": 0,
                   "occupancy_percent": 100,
                   "expected": [{"child_id": "k", "first_name": "Lina", "last_name": "Martin", "absent": False,
                                 "booking_id": "b"}],
                   "waiting": [{"child_id": "z", "first_name": "Zoé", "last_name": "Durand", "absent": False,
                                "booking_id": "c", "position": 1}]}]}
    text = page(client.get("/agents/petite-enfance/planning?date=2026-12-07"))
    assert "13h30–18h00 : 4 / 4 (100 %)" in text and "Martin Lina" in text and "Durand Zoé" in text


def test_an_agent_accepts_a_justification(client, services):
    log_in_as(client, services, CRECHE)
    services.answers[("childcare", "justifications")] = [
        {"id": "a-1", "child_id": "k", "from": "2026-12-02", "to": "2026-12-04", "reason": "illness",
         "reported_at": "2026-12-01T08:00:00+00:00", "has_document": True, "document_name": "certificat.pdf",
         "decision": "pending", "comment": "", "first_name": "Lina", "last_name": "Martin"}]
    services.answers[("childcare", "decide_justification")] = {"id": "a-1", "decision": "accepted"}
    response = post(client, "/agents/petite-enfance/justificatifs/a-1/decision",
                    {"decision": "accept", "comment": "Certificat reçu"}, csrf_from="/agents/petite-enfance/justificatifs")
    assert response.status_code == 303
    assert ("childcare", "decide_justification", ("a-1", True, "Certificat reçu", "agent:agent-3"),
            {"actor": {"kind": "agent", "id": "agent-3", "name": "creche"}}) in services.calls


def test_attendance_entry_records_a_walk_in(client, services):
    log_in_as(client, services, CRECHE)
    services.answers[("childcare", "planning")] = {"date": "2026-12-01", "closed": None, "slots": [], "contracted": [],
                                                   "attendance": []}
    services.answers[("childcare", "registrations")] = [{"child_id": "k", "kind": "occasional", "contract": None,
                                                          "first_name": "Lina", "last_name": "Martin"}]
    services.answers[("childcare", "record_attendance")] = {"child_id": "k", "walk_in": True}
    response = post(client, "/agents/petite-enfance/presences", {"child_id": "k", "date": "2026-12-01",
                                                                 "arrived_at": "08:10", "left_at": "11:00"})
    assert "sans réservation" in page(client.get(response.headers["Location"]))
    assert ("childcare", "record_attendance", ("k", "2026-12-01", "08:10", "11:00"), {"actor": {"kind": "agent", "id": "agent-3", "name": "creche"}}) in services.calls


def test_the_dashboard_tile_leads_to_the_crèche(client, services):
    from .test_web_pages import ME
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    text = page(client.get("/tableau-de-bord"))
    assert 'href="/petite-enfance/creneaux"' in text


def test_an_agent_finds_a_child_by_name_to_register_it(client, services):
    log_in_as(client, services, CRECHE)
    services.answers[("childcare", "registrations")] = []
    services.answers[("childcare", "find_children")] = [
        {"child_id": "kid-mila", "family_id": "f", "first_name": "Mila", "last_name": "Roux",
         "birth_date": "2025-06-15", "registered": False, "bookable_from": "2025-08-24", "bookable_until": "2029-06-14"}]
    text = page(client.get("/agents/petite-enfance/inscriptions?q=roux"))
    assert "Roux Mila" in text and "enfant=kid-mila" in text
    assert 'value="kid-mila"' in page(client.get("/agents/petite-enfance/inscriptions?q=roux&enfant=kid-mila"))
    services.answers[("childcare", "register")] = {"child_id": "kid-mila", "kind": "occasional", "contract": None,
                                                   "first_name": "Mila", "last_name": "Roux"}
    response = post(client, "/agents/petite-enfance/inscriptions", {"child_id": "kid-mila", "kind": "occasional"})
    assert response.status_code == 303
    assert ("childcare", "register", ("kid-mila", "occasional", None), {"actor": {"kind": "agent", "id": "agent-3", "name": "creche"}}) in services.calls
