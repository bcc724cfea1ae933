"""The canteen pages (public, parents', agents') against fake services."""
import base64
import csv
import html
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from espace_common.clock import PARIS, FixedClock

from .conftest import remote
from .test_web_pages import AGENT, PARENT, csrf_token, log_in_as, post

FAMILY_ID = PARENT["family_id"]
LEA = {"child_id": "5f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f", "first_name": "Léa", "last_name": "Martin",
       "birth_date": "2018-04-17"}
HUGO = {"child_id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "first_name": "Hugo", "last_name": "Martin",
        "birth_date": "2020-09-03"}
CHILDREN = [LEA, HUGO]
SCHOOLS = [{"id": "s-1", "name": "École publique Jules Verne", "kind": "public", "address": "1 rue des Écoles"},
           {"id": "s-2", "name": "École privée St Joseph", "kind": "private", "address": ""}]
ADMIN = {**AGENT, "id": "agent-2", "username": "admin", "roles": ["admin"]}
CRECHE = {**AGENT, "id": "agent-3", "username": "creche", "roles": ["petite_enfance"]}
NO_SERVICE = "Pas de restauration scolaire ce jour de la semaine."
FROZEN = "Ce jour ne peut plus être modifié : la date limite était le 26/11/2026 à 10h00."


# What the canteen service's vocabulary() answers (services/canteen/canteen/domain.py is its source).
VOCABULARY = {
    "allergens": {"gluten": "Gluten", "crustaces": "Crustacés", "oeufs": "Œufs", "poissons": "Poissons",
                  "arachides": "Arachides", "soja": "Soja", "lait": "Lait", "fruits_a_coque": "Fruits à coque",
                  "celeri": "Céleri", "moutarde": "Moutarde", "sesame": "Sésame", "sulfites": "Sulfites",
                  "lupin": "Lupin", "mollusques": "Mollusques"},
    "labels": {"bio": "Agriculture biologique", "label_rouge": "Label Rouge", "aop": "AOP", "igp": "IGP",
               "hve": "Haute Valeur Environnementale", "peche_durable": "Pêche durable", "local": "Produit local",
               "vegetarien": "Plat végétarien"},
    "courses": [{"code": "entree", "label": "Entrée"}, {"code": "plat", "label": "Plat"},
                {"code": "accompagnement", "label": "Accompagnement"}, {"code": "laitage", "label": "Produit laitier"},
                {"code": "dessert", "label": "Dessert"}, {"code": "gouter", "label": "Goûter"}],
    "diets": {"standard": "Standard", "sans_porc": "Sans porc", "vegetarien": "Végétarien"},
    "meal_kinds": {"standard": "Standard", "sans_porc": "Sans porc", "vegetarien": "Végétarien",
                   "panier_pai": "Panier repas (PAI)"},
    "day_states": {"reserved": "Réservé", "not_reserved": "Non réservé", "absent": "Absent", "closed": "Fermé"},
    "bulk_results": {"reserved": "réservé", "cancelled": "annulé", "unchanged": "inchangé", "refused": "refusé"},
    "absence_reasons": {"illness": "Maladie", "other": "Autre motif"},
    "justification_states": {"none": "Sans justificatif", "waiting": "À envoyer", "accepted": "Accepté",
                             "refused": "Non retenu"},
    "school_kinds": {"public": "École publique", "private": "École privée"},
    "justification": {"max_bytes": 5 * 1024 * 1024, "media_types": ["application/pdf", "image/jpeg", "image/png"],
                      "hours": 48},
    "absence": {"past_days": 30, "max_days": 31},
    "max_ics_bytes": 2 * 1024 * 1024,
    "limits": {"school_name": 100, "school_address": 200, "class_name": 60, "closure_reason": 200, "dish_name": 120,
               "news_title": 200, "news_body": 20000, "document_name": 150},
    "school_weekdays": [1, 2, 4, 5],
}


@pytest.fixture(autouse=True)
def fixed_clock_and_vocabulary(app, services):
    """The pages' "today" (their default month and week) is Thursday 26 November 2026; the canteen serves
    its vocabulary."""
    app.extensions["clock"] = FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=PARIS))
    services.answers[("canteen", "vocabulary")] = VOCABULARY


def text(response):
    """The page with its entities decoded, so that French apostrophes read as typed."""
    return html.unescape(response.get_data(as_text=True))


def calls(services, method):
    return [args for service, name, args, _ in services.calls if service == "canteen" and name == method]


def month_of_days(start, end, frozen_until=None, reserved=True):
    """What canteen.meals answers: every day of the range, Wednesdays and week-ends without canteen."""
    days, day = [], date.fromisoformat(start)
    while day <= date.fromisoformat(end):
        iso = day.isoformat()
        if day.isoweekday() in (3, 6, 7):
            days.append({"date": iso, "state": "closed", "changeable": False, "deadline": None, "reason": NO_SERVICE,
                         "closure": "weekday"})
        elif day.month == 12 and day.day == 25:
            days.append({"date": iso, "state": "closed", "changeable": False, "deadline": None, "reason": "Jour férié.",
                         "closure": "public_holiday"})
        else:
            frozen = frozen_until is not None and day <= frozen_until
            days.append({"date": iso, "state": "reserved" if reserved else "not_reserved", "changeable": not frozen,
                         "deadline": f"{(day - timedelta(days=4)).isoformat()}T10:00:00+01:00",
                         "reason": FROZEN if frozen else None})
        day += timedelta(days=1)
    return days


def as_parent(client, services, children=CHILDREN, **meals_options):
    log_in_as(client, services, PARENT)
    services.answers[("canteen", "family_children")] = children
    services.answers[("canteen", "family_absences")] = []
    services.answers[("canteen", "meals")] = lambda family, child, start, end: {
        "child_id": child, "days": month_of_days(start, end, **meals_options)}
    # The month page asks for every child at once; the fake builds it from the per-child answer.
    services.answers[("canteen", "family_meals")] = lambda family, start, end: [
        dict(c, days=services.answers[("canteen", "meals")](family, c["child_id"], start, end)["days"])
        for c in services.answers[("canteen", "family_children")]]


def as_agent(client, services, principal=AGENT):
    log_in_as(client, services, principal)
    services.answers[("canteen", "list_schools")] = SCHOOLS
    services.answers[("canteen", "family_absences")] = []


# --- Public pages -----------------------------------------------------------------------------

MENU = [{"date": "2026-12-07", "courses": [
    {"course": "dessert", "name": "Yaourt nature", "allergens": ["lait"], "labels": ["bio"]},
    {"course": "entree", "name": "Carottes râpées", "allergens": [], "labels": ["bio", "local"]},
    {"course": "plat", "name": "Lasagnes aux légumes", "allergens": ["gluten", "lait"], "labels": ["vegetarien"]}]}]


def test_menus_of_a_week_show_allergens_and_labels_in_words(client, services):
    services.answers[("canteen", "menus_for_week")] = MENU
    response = client.get("/cantine/menus?semaine=2026-W50")
    page = text(response)
    assert response.status_code == 200 and calls(services, "menus_for_week") == [("2026-W50",)]
    assert "Semaine du lundi 7 au dimanche 13 décembre 2026" in page
    assert "Lundi 7 décembre" in page
    assert page.index("Carottes râpées") < page.index("Lasagnes aux légumes") < page.index("Yaourt nature")
    assert "Allergènes : gluten, lait" in page and "Agriculture biologique" in page and "Plat végétarien" in page
    assert 'href="/cantine/menus?semaine=2026-W49"' in page and 'href="/cantine/menus?semaine=2026-W51"' in page


def test_menus_default_to_this_week_and_say_when_nothing_is_published(client, services):
    services.answers[("canteen", "menus_for_week")] = []
    page = text(client.get("/cantine/menus"))
    assert calls(services, "menus_for_week") == [("2026-W48",)]
    assert "pas encore publiés" in page


def test_menus_refuse_a_malformed_week_in_french(client, services):
    response = client.get("/cantine/menus?semaine=semaine-49")
    assert response.status_code == 400 and "La semaine s'écrit comme « 2026-W49 »." in text(response)


def test_a_right_to_left_title_is_isolated_from_the_text_after_it(client, services):
    # An Arabic title (or a stray U+202E) must not reverse the date that follows it: the title sits in <bdi>.
    services.answers[("canteen", "list_news")] = [{
        "id": "n-1", "title": "مرحبا \u202eRentrée", "published_at": "2026-12-01T09:00:00+00:00", "body": "Texte."}]
    page = text(client.get("/cantine/actualites"))
    assert '<h2 id="actu-n-1"><bdi>مرحبا \u202eRentrée</bdi></h2>' in page


def test_the_meals_page_has_one_name_in_both_menus(client, services):
    as_parent(client, services)
    services.answers[("canteen", "list_news")] = []
    month, menus = text(client.get("/cantine/?mois=2026-12")), text(client.get("/cantine/actualites"))
    for page in (month, menus):
        assert re.search(r'<a href="/cantine/"[^>]*>Mes repas</a>', page)
    assert ">Calendrier</a>" not in month and ">Mes réservations</a>" not in menus


def test_news_bodies_are_markdown_rendered_and_sanitised(client, services):
    services.answers[("canteen", "list_news")] = [{
        "id": "n-1", "title": "Repas de Noël", "published_at": "2026-12-01T09:00:00+00:00",
        "body": "# Menu de fête\n\nLe **jeudi 17** : [le menu](https://donges.fr/menu) "
                "[piège](javascript:alert(1))\n\n<script>alert(1)</script><img src=x onerror=alert(1)>\n\n- dinde\n- bûche"}]
    page = text(client.get("/cantine/actualites"))
    assert calls(services, "list_news") == [("news",)]
    assert "<h3>Menu de fête</h3>" in page and "<strong>jeudi 17</strong>" in page and "<li>dinde</li>" in page
    assert 'href="https://donges.fr/menu"' in page and 'rel="noopener noreferrer"' in page
    assert "<script>alert" not in page and "javascript:" not in page and "onerror" not in page and "<img" not in page
    assert "1er décembre 2026" in page


def test_practical_information_and_schools(client, services):
    services.answers[("canteen", "list_news")] = []
    page = text(client.get("/cantine/informations-pratiques"))
    assert calls(services, "list_news") == [("practical",)] and "<h1>Informations pratiques</h1>" in page
    services.answers[("canteen", "list_schools")] = SCHOOLS
    page = text(client.get("/cantine/ecoles"))
    assert "École publique Jules Verne" in page and "école privée" in page and "1 rue des Écoles" in page


def test_the_vocabulary_is_asked_once_per_process_and_kept_a_few_minutes(client, services, app):
    services.answers[("canteen", "menus_for_week")] = MENU
    for _ in range(3):
        assert "Agriculture biologique" in text(client.get("/cantine/menus?semaine=2026-W50"))
    assert len(calls(services, "vocabulary")) == 1
    services.answers[("canteen", "vocabulary")] = dict(VOCABULARY, labels={**VOCABULARY["labels"], "bio": "Bio (AB)"})
    app.config["VOCABULARY_SECONDS"] = 0  # as if the few minutes had passed
    assert "Bio (AB)" in text(client.get("/cantine/menus?semaine=2026-W50"))
    assert len(calls(services, "vocabulary")) > 1


# --- A parent's month -----------------------------------------------------------------------------

def test_the_month_page_needs_a_parent(client, services):
    assert client.get("/cantine/").status_code == 302
    log_in_as(client, services, AGENT)
    assert client.get("/cantine/").status_code == 403


def test_the_month_shows_each_day_state_deadline_and_a_one_tap_form(client, services):
    as_parent(client, services, frozen_until=date(2026, 12, 3))
    services.answers[("canteen", "meals")] = lambda family, child, start, end: {"child_id": child, "days": [
        d if d["date"] != "2026-12-08" else {**d, "state": "absent", "changeable": False, "reason": "Absence signalée."}
        for d in month_of_days(start, end, frozen_until=date(2026, 12, 3))]}
    response = client.get("/cantine/?mois=2026-12")
    page = text(response)
    assert response.status_code == 200 and "<h1>Repas de décembre 2026</h1>" in page
    assert calls(services, "family_meals") == [(FAMILY_ID, "2026-12-01", "2026-12-31")]
    assert page.index(">Léa</bdi> <") < page.index(">Hugo</bdi> <")
    # Wednesdays and week-ends are not listed; a public holiday is, with its reason.
    assert 'id="e1-2026-12-02"' not in page and 'id="e1-2026-12-05"' not in page
    assert re.search(r'id="e1-2026-12-25" class="day k-closed[^"]*".*?Fermé.*?Jour férié\.', page, re.S)
    # A frozen day says why, an absent day too, and neither has a form.
    frozen = re.search(r'<li id="e1-2026-12-03".*?</li>', page, re.S).group(0)
    assert "Figé. " + FROZEN in frozen and "<form" not in frozen
    absent = re.search(r'<li id="e1-2026-12-08".*?</li>', page, re.S).group(0)
    assert "Absent" in absent and "Absence signalée." in absent and "<form" not in absent
    # A changeable day: its deadline and a form that cancels it.
    cell = re.search(r'<li id="e2-2026-12-04".*?</li>', page, re.S).group(0)
    assert "Réservé" in cell and "modifiable jusqu'au lun. 30/11 à 10h00" in cell
    assert f'action="/cantine/repas/{HUGO["child_id"]}/2026-12-04"' in cell
    assert 'name="csrf_token"' in cell and 'name="action" value="cancel"' in cell
    assert "Annuler<span class=\"vh\"> le repas d'Hugo du vendredi 4 décembre</span>" in cell
    assert 'href="/cantine/?mois=2026-11"' in page and 'href="/cantine/?mois=2027-01"' in page


def test_the_month_defaults_to_this_month_and_marks_today(client, services):
    as_parent(client, services, children=[LEA], frozen_until=date(2026, 11, 30))
    page = text(client.get("/cantine/"))
    assert calls(services, "family_meals")[0][1:] == ("2026-11-01", "2026-11-30")
    assert re.search(r'id="e1-2026-11-26"[^>]*aria-current="date"', page)
    assert "Figé : jour passé." in page  # a past day keeps it short


def test_the_month_for_two_children_stays_under_40_kb(client, services):
    """The heaviest month: every school day changeable (one form each), two children."""
    as_parent(client, services, reserved=False)
    response = client.get("/cantine/?mois=2027-03")
    size = len(response.data)
    assert response.status_code == 200 and response.data.count(b"<form") >= 2 * 17
    assert size < 40 * 1024, f"{size} bytes"


def test_a_bad_month_is_a_french_400(client, services):
    as_parent(client, services)
    response = client.get("/cantine/?mois=2026-13")
    assert response.status_code == 400 and "Le mois s'écrit comme « 2026-12 »." in text(response)


def one_tap(child, rank, refusal=None):
    """What canteen.change_day answers: the change or its refusal, with the child's name and rank."""
    return lambda family, child_id, day, action, actor=None: {
        "child_id": child_id, "first_name": child["first_name"], "rank": rank, "date": day,
        "changed": refusal is None, "refusal": refusal,
        **({"state": "reserved" if action == "reserve" else "not_reserved"} if refusal is None else {})}


def test_one_tap_cancels_then_redirects_back_to_the_day(client, services):
    as_parent(client, services)
    services.answers[("canteen", "change_day")] = one_tap(HUGO, 2)
    response = post(client, f"/cantine/repas/{HUGO['child_id']}/2026-12-04", {"action": "cancel"},
                    csrf_from="/cantine/?mois=2026-12")
    assert response.status_code == 303
    assert response.headers["Location"] == "/cantine/?mois=2026-12#e2-2026-12-04"
    # One round trip: the change, with what the message and the anchor need.
    posted = [c for c in services.calls if c[0] == "canteen" and c[1] != "family_meals"][-1:]
    assert [(c[1], c[2]) for c in posted] == [("change_day", (FAMILY_ID, HUGO["child_id"], "2026-12-04", "cancel"))]
    assert calls(services, "family_children") == []
    assert "Repas d'Hugo du vendredi 4 décembre annulé." in text(client.get("/cantine/?mois=2026-12"))


def test_one_tap_on_a_frozen_day_says_why(client, services):
    as_parent(client, services)
    services.answers[("canteen", "change_day")] = one_tap(LEA, 1, {"code": "day_frozen", "message": FROZEN})
    response = post(client, f"/cantine/repas/{LEA['child_id']}/2026-11-30", {"action": "reserve"},
                    csrf_from="/cantine/?mois=2026-12")
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert 'role="alert"' in page
    assert ("Le repas de Léa du lundi 30 novembre n'a pas été modifié. " + FROZEN) in page


def test_one_tap_on_another_familys_child_is_404(client, services):
    as_parent(client, services)
    services.answers[("canteen", "change_day")] = remote("NotFound", "child_not_found", "Cet enfant n'existe pas.")
    response = post(client, "/cantine/repas/someone-else/2026-12-04", {"action": "reserve"}, csrf_from="/cantine/")
    assert response.status_code == 404 and calls(services, "change_day") == [
        (FAMILY_ID, "someone-else", "2026-12-04", "reserve")]


def test_one_tap_without_csrf_is_refused(client, services):
    as_parent(client, services)
    response = client.post(f"/cantine/repas/{LEA['child_id']}/2026-12-04", data={"action": "reserve"})
    assert response.status_code == 400 and calls(services, "change_day") == []


# --- A period and a weekday pattern ---------------------------------------------------------------

def test_the_period_form_offers_next_month_and_the_school_weekdays(client, services):
    as_parent(client, services)
    page = text(client.get("/cantine/reservations"))
    assert 'name="from" type="date" value="2026-12-01"' in page and 'name="to" type="date" value="2026-12-31"' in page
    for number, short in ((1, "Lun"), (2, "Mar"), (4, "Jeu"), (5, "Ven")):
        assert re.search(rf'id="jour-{number}" name="weekdays" value="{number}" checked>\s*<label for="jour-{number}">'
                         rf'<span aria-hidden="true">{short}</span>', page)
    assert 'value="3"' not in page
    assert page.count('name="children"') == 2


def test_the_period_answer_lists_each_day_done_and_refused_with_why(client, services):
    as_parent(client, services)
    services.answers[("canteen", "change_meals")] = {
        "results": [
            {"child_id": HUGO["child_id"], "date": "2026-12-01", "result": "reserved", "reason": None},
            {"child_id": LEA["child_id"], "date": "2026-12-25", "result": "refused", "reason": "Jour férié.",
             "closure": "public_holiday"},
            {"child_id": LEA["child_id"], "date": "2026-12-01", "result": "reserved", "reason": None},
            {"child_id": LEA["child_id"], "date": "2026-12-03", "result": "unchanged", "reason": None},
            {"child_id": HUGO["child_id"], "date": "2026-12-04", "result": "refused", "reason": FROZEN, "closure": None}],
        "summary": {"reserved": 2, "cancelled": 0, "unchanged": 1, "refused": 2}}
    response = post(client, "/cantine/reservations", {
        "children": [LEA["child_id"], HUGO["child_id"]], "from": "2026-12-01", "to": "2026-12-31",
        "weekdays": ["1", "2", "4", "5"], "action": "reserve"})
    page = text(response)
    assert response.status_code == 200
    assert calls(services, "change_meals") == [(FAMILY_ID, {
        "children": [LEA["child_id"], HUGO["child_id"]], "from": "2026-12-01", "to": "2026-12-31",
        "weekdays": [1, 2, 4, 5], "action": "reserve"})]
    # A public holiday is no refusal: it reads «fermé (jour férié)», in the neutral style of a closed day.
    assert "2 repas réservés, 0 annulé, 1 inchangé, 1 refusé, 1 jour fermé." in page
    rows = re.findall(r'<tr class="o-(\w+)"><td><time datetime="([\d-]+)">[^<]+</time></td><td><bdi>([^<]+)</bdi></td>'
                      r'<td>([^<]+)</td><td>([^<]*)</td></tr>', page)
    assert rows == [("reserved", "2026-12-01", "Léa", "réservé", ""),
                    ("reserved", "2026-12-01", "Hugo", "réservé", ""),
                    ("unchanged", "2026-12-03", "Léa", "déjà réservé", ""),
                    ("refused", "2026-12-04", "Hugo", "refusé", FROZEN),
                    ("closed", "2026-12-25", "Léa", "fermé (jour férié)", "Jour férié.")]
    assert "mar. 1 déc." in page


@pytest.mark.parametrize("change, message", [
    ({"children": []}, "Cochez au moins un enfant."),
    ({"weekdays": []}, "Cochez au moins un jour de la semaine."),
    ({"to": ""}, "Indiquez la première et la dernière date de la période."),
])
def test_the_period_form_asks_for_what_is_missing(client, services, change, message):
    as_parent(client, services)
    form = {"children": [LEA["child_id"]], "from": "2026-12-01", "to": "2026-12-31", "weekdays": ["1"],
            "action": "cancel", **change}
    response = post(client, "/cantine/reservations", form)
    assert response.status_code == 400 and message in text(response) and calls(services, "change_meals") == []


def test_the_period_form_shows_the_services_refusal(client, services):
    as_parent(client, services)
    services.answers[("canteen", "change_meals")] = remote("InvalidInput", "invalid_range",
                                                           "La date de fin précède la date de début.")
    response = post(client, "/cantine/reservations", {"children": [LEA["child_id"]], "from": "2026-12-31",
                                                       "to": "2026-12-01", "weekdays": ["1"], "action": "reserve"})
    page = text(response)
    assert response.status_code == 400 and "La date de fin précède la date de début." in page
    assert re.search(r'id="to" name="to"[^>]*aria-invalid="true"', page)
    assert 'value="2026-12-31"' in page  # what was typed is kept


# --- Absences ---------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def absence_form(**changes):
    return {"children": HUGO["child_id"], "from": "2026-12-03", "to": "2026-12-04", "reason": "illness", **changes}


def reported(family, child_ids, start, end, reason, document, actor=None):
    """What the canteen's report_absences answers when every child's absence is recorded."""
    return {"results": [{"child_id": c, "absence": {"id": f"a-{c[:4]}", "child_id": c, "from": start, "to": end,
                                                     "reason": reason, "has_document": bool(document)},
                         "refusal": None} for c in child_ids]}


def test_an_absence_with_a_pdf_goes_to_the_service(client, services):
    as_parent(client, services)
    services.answers[("canteen", "report_absences")] = reported
    token = csrf_token(client, "/cantine/absences")
    response = client.post("/cantine/absences", data={**absence_form(), "csrf_token": token,
                                                      "document": (io.BytesIO(PDF), "certificat.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 303 and response.headers["Location"] == "/cantine/?mois=2026-12"
    (args,) = calls(services, "report_absences")
    assert args[:5] == (FAMILY_ID, [HUGO["child_id"]], "2026-12-03", "2026-12-04", "illness")
    assert args[5]["name"] == "certificat.pdf" and base64.b64decode(args[5]["content_base64"]) == PDF
    page = text(client.get("/cantine/?mois=2026-12"))
    assert "Absence d'Hugo enregistrée du jeudi 3 décembre au vendredi 4 décembre, avec le justificatif" in page


def test_one_form_reports_the_absence_of_several_children_in_one_call(client, services):
    as_parent(client, services)
    page = text(client.get("/cantine/absences"))
    assert page.count('type="checkbox" id="enfant-') == 2 and 'name="children"' in page
    services.answers[("canteen", "report_absences")] = lambda family, ids, start, end, reason, document, actor=None: {
        "results": [reported(family, ids[:1], start, end, reason, document)["results"][0],
                    {"child_id": ids[1], "absence": None, "refusal": {
                        "code": "absence_overlaps", "message": "Une absence est déjà signalée du 03/12/2026 au "
                                                               "03/12/2026 pour cet enfant."}}]}
    token = csrf_token(client, "/cantine/absences")
    response = client.post("/cantine/absences", data={"children": [LEA["child_id"], HUGO["child_id"], "intrus"],
                                                      "from": "2026-12-03", "to": "2026-12-03", "reason": "other",
                                                      "csrf_token": token})
    assert response.status_code == 303
    assert [c[1] for c in calls(services, "report_absences")] == [[LEA["child_id"], HUGO["child_id"]]]
    page = text(client.get(response.headers["Location"]))
    assert "Absence de Léa enregistrée pour le jeudi 3 décembre." in page
    assert "L'absence d'Hugo n'a pas été enregistrée : Une absence est déjà signalée" in page


def test_an_absence_every_child_of_which_is_refused_stays_on_the_form(client, services):
    as_parent(client, services)
    services.answers[("canteen", "report_absences")] = {"results": [{"child_id": HUGO["child_id"], "absence": None,
        "refusal": {"code": "absence_overlaps", "message": "Une absence est déjà signalée."}}]}
    response = post(client, "/cantine/absences", absence_form())
    assert response.status_code == 409 and "Une absence est déjà signalée." in text(response)
    assert re.search(r'id="from" name="from"[^>]*aria-invalid="true"', text(response), re.S)


def test_an_absence_without_a_file(client, services):
    as_parent(client, services)
    services.answers[("canteen", "report_absences")] = reported
    response = post(client, "/cantine/absences", absence_form(reason="other", to="2026-12-03"))
    assert response.status_code == 303 and calls(services, "report_absences")[0][5] is None


def test_a_file_that_is_not_a_pdf_whatever_its_name_is_refused_in_french(client, services):
    as_parent(client, services)
    services.answers[("canteen", "report_absences")] = remote(
        "InvalidInput", "invalid_document", "Le justificatif doit être un fichier PDF, JPEG ou PNG.")
    token = csrf_token(client, "/cantine/absences")
    response = client.post("/cantine/absences", data={**absence_form(), "csrf_token": token,
                                                      "document": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "certificat.pdf")},
                           content_type="multipart/form-data")
    page = text(response)
    assert response.status_code == 400
    assert 'role="alert" id="erreur-formulaire"' in page and "Le justificatif doit être un fichier PDF, JPEG ou PNG." in page
    assert re.search(r'id="document" name="document" type="file"[^>]*aria-invalid="true"', page, re.S)
    assert re.search(rf'value="{HUGO["child_id"]}" checked', page) and 'value="2026-12-03"' in page


def test_an_absence_needs_a_reason_and_a_child(client, services):
    as_parent(client, services)
    response = post(client, "/cantine/absences", absence_form(reason=""))
    assert response.status_code == 400 and "Choisissez le motif de l'absence." in text(response)
    response = post(client, "/cantine/absences", absence_form(children="pas-un-enfant-de-la-famille"))
    assert response.status_code == 400 and "Cochez l'enfant absent" in text(response)
    assert re.search(r'type="checkbox" id="enfant-1"[^>]*aria-invalid="true"', text(response))
    assert calls(services, "report_absences") == []


ABSENCE = {"id": "abs-1", "child_id": HUGO["child_id"], "first_name": "Hugo", "from": "2026-12-03",
           "to": "2026-12-04", "reason": "illness", "reported_at": "2026-12-03T07:00:00+00:00", "has_document": True,
           "document_name": "x.pdf", "justification": "accepted", "justify_until": None, "withdrawable": True}


def test_a_parent_sees_the_familys_absences_and_reads_a_justification_which_is_recorded(client, services):
    as_parent(client, services)
    services.answers[("canteen", "family_absences")] = [
        ABSENCE, {**ABSENCE, "id": "abs-2", "child_id": LEA["child_id"], "first_name": "Léa", "from": "2026-11-25",
                  "to": "2026-11-25", "has_document": False, "justification": "waiting",
                  "justify_until": "2026-11-26T23:00:00+00:00", "withdrawable": False},
        {**ABSENCE, "id": "abs-3", "reason": "other", "justification": "refused", "withdrawable": False}]
    page = text(client.get("/cantine/absences"))
    first = page[page.index('id="absence-abs-1"'):page.index('id="absence-abs-2"')]
    assert "<bdi>Hugo</bdi></strong> :\n        du jeudi 3 décembre au vendredi 4 décembre 2026" in first
    assert ">Accepté</span>" in first and 'href="/cantine/absences/abs-1/justificatif"' in first
    assert 'action="/cantine/absences/abs-1/retirer"' in first and "/abs-1/justificatif\" enctype" not in first
    second = page[page.index('id="absence-abs-2"'):page.index('id="absence-abs-3"')]
    assert ">À envoyer</span>" in second and "Avant le ven. 27/11 à 0h00" in second
    assert 'action="/cantine/absences/abs-2/justificatif"' in second and "/retirer" not in second
    assert "Seule une absence pour maladie justifiée" in page[page.index('id="absence-abs-3"'):]
    services.answers[("canteen", "absence_document")] = {"name": "x.pdf", "media_type": "application/pdf",
                                                         "content_base64": "JVBERi0xLjQ="}
    response = client.get("/cantine/absences/abs-1/justificatif")
    assert response.status_code == 200 and response.data == b"%PDF-1.4"
    assert response.headers["Content-Type"] == "application/pdf" and response.headers["Cache-Control"] == "no-store"
    assert calls(services, "absence_document") == [("abs-1", FAMILY_ID, f"parent:{PARENT['id']}")]


def test_a_parent_withdraws_a_future_absence(client, services):
    as_parent(client, services)
    services.answers[("canteen", "family_absences")] = [ABSENCE]
    services.answers[("canteen", "withdraw_absence")] = {"id": "abs-1", "child_id": HUGO["child_id"],
                                                         "from": "2026-12-03", "to": "2026-12-04", "withdrawn": True}
    response = post(client, "/cantine/absences/abs-1/retirer", {}, csrf_from="/cantine/absences")
    assert response.status_code == 303 and response.headers["Location"] == "/cantine/?mois=2026-12"
    assert calls(services, "withdraw_absence") == [(FAMILY_ID, "abs-1")]
    assert "L'absence d'Hugo du jeudi 3 décembre au vendredi 4 décembre est retirée" in \
        text(client.get("/cantine/?mois=2026-12"))
    services.answers[("canteen", "withdraw_absence")] = remote(
        "Conflict", "absence_started", "Cette absence a déjà commencé : elle ne peut plus être retirée.")
    response = post(client, "/cantine/absences/abs-1/retirer", {}, csrf_from="/cantine/absences")
    assert response.status_code == 303 and response.headers["Location"] == "/cantine/absences#absence-abs-1"
    assert "elle ne peut plus être retirée" in text(client.get("/cantine/absences"))
    services.answers[("canteen", "withdraw_absence")] = remote("NotFound", "absence_not_found", "Non.")
    assert post(client, "/cantine/absences/" + "x" * 5000 + "/retirer", {},
                csrf_from="/cantine/absences").status_code == 404
    assert calls(services, "withdraw_absence")[-1] == (FAMILY_ID, "x" * 40)


def test_a_parent_adds_the_certificate_afterwards_and_a_refusal_is_linked_to_its_field(client, services):
    as_parent(client, services)
    waiting = {**ABSENCE, "has_document": False, "justification": "waiting",
               "justify_until": "2026-12-04T23:00:00+00:00"}
    services.answers[("canteen", "family_absences")] = [waiting]
    services.answers[("canteen", "attach_justification")] = {**ABSENCE, "first_name": ""}
    token = csrf_token(client, "/cantine/absences")
    response = client.post("/cantine/absences/abs-1/justificatif", content_type="multipart/form-data",
                           data={"csrf_token": token, "document": (io.BytesIO(PDF), "certificat.pdf")})
    assert response.status_code == 303 and response.headers["Location"] == "/cantine/absences#absence-abs-1"
    (args,) = calls(services, "attach_justification")
    assert args[:2] == (FAMILY_ID, "abs-1") and base64.b64decode(args[2]["content_base64"]) == PDF
    assert "Justificatif « certificat.pdf » ajouté à l'absence d'Hugo du jeudi 3" in text(client.get("/cantine/absences"))
    services.answers[("canteen", "attach_justification")] = remote(
        "Conflict", "justification_too_late", "Le justificatif devait être envoyé au plus tard le 05/12/2026.")
    response = client.post("/cantine/absences/abs-1/justificatif", content_type="multipart/form-data",
                           data={"csrf_token": token, "document": (io.BytesIO(PDF), "certificat.pdf")})
    page = text(response)
    assert response.status_code == 409 and 'role="alert" id="erreur-abs-1"' in page
    assert re.search(r'id="document-abs-1"[^>]*aria-describedby="aide-abs-1 erreur-abs-1"[^>]*aria-invalid="true"',
                     page, re.S)
    response = client.post("/cantine/absences/abs-1/justificatif", data={"csrf_token": token})
    assert response.status_code == 400 and "Choisissez le fichier du justificatif." in text(response)
    assert len(calls(services, "attach_justification")) == 2
    services.answers[("canteen", "attach_justification")] = remote("NotFound", "absence_not_found", "Non.")
    response = client.post("/cantine/absences/abs-9/justificatif", content_type="multipart/form-data",
                           data={"csrf_token": token, "document": (io.BytesIO(PDF), "certificat.pdf")})
    assert response.status_code == 404


def test_an_absent_day_of_the_month_leads_to_its_absence(client, services):
    as_parent(client, services)
    services.answers[("canteen", "family_absences")] = [ABSENCE]
    response = client.get(f"/cantine/absences?enfant={HUGO['child_id']}&jour=2026-12-04")
    assert response.status_code == 302 and response.headers["Location"] == "/cantine/absences#absence-abs-1"
    assert client.get(f"/cantine/absences?enfant={LEA['child_id']}&jour=2026-12-04").status_code == 200
    assert client.get("/cantine/absences?enfant=%00&jour=" + "é" * 3000).status_code == 200


def test_another_familys_justification_is_404_for_a_parent(client, services):
    as_parent(client, services)
    services.answers[("canteen", "absence_document")] = remote("NotFound", "document_not_found",
                                                               "Ce justificatif n'existe pas.")
    assert client.get("/cantine/absences/abs-9/justificatif").status_code == 404
    log_in_as(client, services, AGENT)
    assert client.get("/cantine/absences/abs-1/justificatif").status_code == 403


# --- The calendar feed ------------------------------------------------------------------------------

def test_the_feed_page_creates_an_address_and_shows_it_once(client, services):
    as_parent(client, services)
    page = text(client.get("/cantine/agenda"))
    assert "Créer une nouvelle adresse" in page and "Révoquer l'adresse" in page and "calendrier/" not in page
    services.answers[("canteen", "renew_calendar_feed")] = {"token": "tok-123"}
    response = post(client, "/cantine/agenda/nouvelle-adresse", {}, csrf_from="/cantine/agenda")
    page = text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "http://localhost/cantine/calendrier/tok-123.ics" in page and "webcal://localhost/cantine/calendrier/tok-123.ics" in page
    assert calls(services, "renew_calendar_feed") == [(FAMILY_ID,)]


def test_the_feed_is_revoked(client, services):
    as_parent(client, services)
    services.answers[("canteen", "revoke_calendar_feed")] = lambda family: None
    response = post(client, "/cantine/agenda/revoquer", {}, csrf_from="/cantine/agenda")
    assert response.status_code == 303 and calls(services, "revoke_calendar_feed") == [(FAMILY_ID,)]
    assert "révoquée" in text(client.get("/cantine/agenda"))


def test_the_feed_is_icalendar(client, services):
    services.answers[("canteen", "family_calendar_feed")] = {"family_id": FAMILY_ID, "meals": [
        {"date": "2026-12-01", "child_id": LEA["child_id"], "first_name": "Léa"},
        {"date": "2026-12-03", "child_id": HUGO["child_id"], "first_name": "Hugo"}]}
    services.answers[("childcare", "family_bookings_feed")] = [
        {"date": "2026-12-02", "start": "08:00", "end": "12:00", "child_id": "kid-lina", "first_name": "Lina"}]
    response = client.get("/cantine/calendrier/tok-123.ics")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert calls(services, "family_calendar_feed") == [("tok-123",)]
    assert ("childcare", "family_bookings_feed", (FAMILY_ID,), {}) in services.calls
    from icalendar import Calendar
    events = Calendar.from_ical(body).walk("VEVENT")
    assert [(str(e["SUMMARY"]), e["DTSTART"].dt, e["DTEND"].dt) for e in events] == [
        ("Cantine : Léa", date(2026, 12, 1), date(2026, 12, 2)), ("Cantine : Hugo", date(2026, 12, 3), date(2026, 12, 4)),
        ("Multi-accueil : Lina", datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc),
         datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc))]
    assert len({str(e["UID"]) for e in events}) == 3


def test_an_unknown_or_revoked_feed_is_404(client, services):
    services.answers[("canteen", "family_calendar_feed")] = remote("NotFound", "feed_not_found",
                                                            "Ce calendrier n'existe pas ou a été révoqué.")
    assert client.get("/cantine/calendrier/nope.ics").status_code == 404


# --- The dashboard and the agents' home -----------------------------------------------------------

def test_the_dashboard_tile_leads_to_the_canteen(client, services):
    from .test_web_pages import ME
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    page = text(client.get("/tableau-de-bord"))
    tile = re.search(r'<section class="tile tile-live" aria-labelledby="tuile-cantine">.*?</section>', page, re.S).group(0)
    assert 'href="/cantine/"' in tile and 'href="/cantine/menus"' in tile
    assert 'href="/cantine/absences"' in page


def test_the_agents_home_links_to_the_canteen_pages_for_its_agents_only(client, services):
    log_in_as(client, services, AGENT)
    assert 'href="/agents/cantine/effectifs"' in text(client.get("/agents/"))
    log_in_as(client, services, CRECHE)
    assert "/agents/cantine/" not in text(client.get("/agents/"))


# --- Agents' pages ------------------------------------------------------------------------------------

AGENT_PAGES = ("/agents/cantine/", "/agents/cantine/calendrier", "/agents/cantine/menus",
               "/agents/cantine/menus/2026-12-07", "/agents/cantine/ecoles", "/agents/cantine/inscriptions",
               "/agents/cantine/inscriptions/fam-1", "/agents/cantine/presences", "/agents/cantine/effectifs",
               "/agents/cantine/effectifs.csv", "/agents/cantine/regimes", "/agents/cantine/actualites")


def answer_everything(services):
    from .test_web_pages import FAMILY
    services.answers.update({
        ("canteen", "list_schools"): SCHOOLS,
        ("canteen", "school_directory"): {"school_years": ["2026-2027", "2027-2028"], "schools": [
            {**school, "classes": {"2026-2027": [{"id": "k-1", "name": "CE2"}], "2027-2028": []}} for school in SCHOOLS]},
        ("canteen", "school_day"): lambda school, day: {
            "date": day, "school_year": "2026-2027", "schools": SCHOOLS, "sheet": SHEET,
            "school": next((s for s in SCHOOLS if s["id"] == school), None) if school else SCHOOLS[0]},
        ("canteen", "headcounts"): lambda day: {"date": day, "schools": [
            {"school": school, "total": 3, "by_diet": {"standard": 1, "sans_porc": 1, "vegetarien": 0, "panier_pai": 1}}
            for school in SCHOOLS]},
        ("canteen", "school_days"): lambda start, end: [
            {"date": d["date"], "open": d["state"] != "closed", "reason": d["reason"], "closure": d.get("closure")}
            for d in month_of_days(start, end)],
        ("canteen", "menus_for_week"): MENU,
        ("canteen", "list_classes"): [{"id": "k-1", "name": "CE2"}],
        ("identity", "family_for_agent"): FAMILY,
        ("canteen", "day_sheet"): SHEET,
        ("canteen", "headcount"): lambda school, day: {"date": day, "school_id": school, "total": 3, "by_diet": {
            "standard": 1, "sans_porc": 1, "vegetarien": 0, "panier_pai": 1}},
        ("canteen", "list_news"): [],
        ("canteen", "enrolments_of_family"): [],
    })


SHEET = [
    {"child_id": "k1", "first_name": "Tom", "last_name": "Bernard", "reserved": False, "eaten": True, "diet": "standard",
     "pai": False},
    {"child_id": "k2", "first_name": "Léa", "last_name": "Martin", "reserved": True, "eaten": True, "diet": "vegetarien",
     "pai": False},
    {"child_id": "k3", "first_name": "Hugo", "last_name": "Martin", "reserved": True, "eaten": False, "diet": "sans_porc",
     "pai": True},
]


@pytest.mark.parametrize("path", AGENT_PAGES)
def test_each_agent_page_renders_for_the_affaires_scolaires(client, services, path):
    as_agent(client, services)
    answer_everything(services)
    response = client.get(path)
    assert response.status_code == 200, text(response)[:500]
    if not path.endswith(".csv"):
        page = text(response)
        assert "<h1>" in page and 'lang="fr"' in page
        assert all('name="csrf_token" value="' in form for form in re.findall(r'<form method="post".*?</form>', page, re.S))


@pytest.mark.parametrize("path", AGENT_PAGES)
def test_parents_and_other_agents_cannot_reach_the_canteens_back_office(client, services, path):
    log_in_as(client, services, PARENT)
    assert client.get(path).status_code == 403
    log_in_as(client, services, CRECHE)
    assert client.get(path).status_code == 403
    assert not [c for c in services.calls if c[0] == "canteen"]


def test_a_parent_cannot_post_to_the_back_office(client, services):
    as_parent(client, services)
    token = csrf_token(client, "/cantine/agenda")
    for path in ("/agents/cantine/presences", "/agents/cantine/regimes", "/agents/cantine/calendrier/fermer"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403
    assert not [c for c in services.calls if c[1] in ("record_attendance", "set_diet", "close_day")]


def test_an_administrator_reaches_the_back_office(client, services):
    as_agent(client, services, ADMIN)
    answer_everything(services)
    assert client.get("/agents/cantine/regimes").status_code == 200


def test_the_headcount_csv_for_french_spreadsheets(client, services):
    as_agent(client, services)
    answer_everything(services)
    response = client.get("/agents/cantine/effectifs.csv?date=2026-12-03")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="effectifs-cantine-2026-12-03.csv"'
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows == [["date", "école", "total", "standard", "sans_porc", "vegetarien", "panier_pai"],
                    ["2026-12-03", "École publique Jules Verne", "3", "1", "1", "0", "1"],
                    ["2026-12-03", "École privée St Joseph", "3", "1", "1", "0", "1"]]
    assert raw.count(b"\r\n") == 3
    assert calls(services, "headcounts") == [("2026-12-03",)] and calls(services, "headcount") == []


def test_the_headcount_csv_neutralises_cells_a_spreadsheet_would_run(client, services):
    as_agent(client, services)
    answer_everything(services)
    names = ["=HYPERLINK(\"http://evil.example\")", "+33 cantine", "-2+3", "@SUM(A1)", "\tTab", "\rRetour",
             "École Jules Verne"]
    services.answers[("canteen", "headcounts")] = lambda day: {"date": day, "schools": [
        {"school": {"id": f"s-{i}", "name": name}, "total": 1, "by_diet": {"standard": 1}}
        for i, name in enumerate(names)]}
    raw = client.get("/agents/cantine/effectifs.csv?date=2026-12-03").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw, newline=""), delimiter=";"))[1:]
    assert [row[1] for row in rows] == ["'=HYPERLINK(\"http://evil.example\")", "'+33 cantine", "'-2+3", "'@SUM(A1)",
                                        "'\tTab", "'\rRetour", "École Jules Verne"]
    assert [row[2] for row in rows] == ["1"] * len(names)


def test_the_headcount_page_totals_by_diet(client, services):
    as_agent(client, services)
    answer_everything(services)
    page = text(client.get("/agents/cantine/effectifs?date=2026-12-03"))
    assert "Repas réservés le jeudi 3 décembre 2026" in page
    # Each figure carries its column's name, which a phone shows beside it (the table stacks its rows there).
    assert re.search(r'<th scope="row">Toutes les écoles</th><td class="num" data-label="Total">6</td>'
                     r'<td class="num" data-label="Standard">2</td><td class="num" data-label="Sans porc">2</td>'
                     r'<td class="num" data-label="Végétarien">0</td><td class="num" data-label="Panier repas \(PAI\)">2</td>',
                     page)
    assert 'class="table table-stack headcount"' in page
    assert 'href="/agents/cantine/effectifs.csv?date=2026-12-03"' in page


def test_a_bad_date_is_400(client, services):
    as_agent(client, services)
    answer_everything(services)
    assert client.get("/agents/cantine/effectifs?date=demain").status_code == 400


def test_attendance_shows_who_ate_without_reservation_and_saves_the_ticks(client, services):
    as_agent(client, services)
    answer_everything(services)
    page = text(client.get("/agents/cantine/presences?ecole=s-2&date=2026-12-03"))
    assert calls(services, "school_day") == [("s-2", "2026-12-03")] and calls(services, "list_schools") == []
    assert "1 repas pris sans réservation" in page and "Tom Bernard" in page
    assert re.search(r'name="eaten" value="k1" checked', page) and re.search(r'name="eaten" value="k3">', page)
    services.answers[("canteen", "record_attendance")] = {"eaten": 2, "without_reservation": 1}
    response = post(client, "/agents/cantine/presences", {"ecole": "s-2", "date": "2026-12-03", "eaten": ["k1", "k2"]},
                    csrf_from="/agents/cantine/presences?ecole=s-2&date=2026-12-03")
    assert response.status_code == 303
    assert response.headers["Location"] == "/agents/cantine/presences?ecole=s-2&date=2026-12-03"
    assert calls(services, "record_attendance") == [("s-2", "2026-12-03", ["k1", "k2"])]
    assert "2 repas pris, dont 1 sans réservation." in text(client.get(response.headers["Location"]))


def test_attendance_before_any_entry_ticks_the_reservations(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "school_day")] = lambda school, day: {
        "date": day, "school_year": "2026-2027", "schools": SCHOOLS, "school": SCHOOLS[0],
        "sheet": [{**row, "eaten": False} for row in SHEET]}
    page = text(client.get("/agents/cantine/presences?ecole=s-1&date=2026-12-03"))
    assert "pré-cochés" in page
    assert re.search(r'value="k2" checked', page) and re.search(r'value="k1">', page)


def test_attendance_saved_with_nobody_eating_reads_as_taken(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "school_day")] = lambda school, day: {
        "date": day, "school_year": "2026-2027", "schools": SCHOOLS, "school": SCHOOLS[0],
        "sheet": [{**row, "eaten": False} for row in SHEET], "attendance_recorded_at": "2026-12-03T13:00:00+00:00"}
    page = text(client.get("/agents/cantine/presences?ecole=s-1&date=2026-12-03"))
    assert "Les présences de ce jour sont déjà saisies" in page and "pas encore saisies" not in page


def test_diets_are_listed_and_set(client, services):
    as_agent(client, services)
    answer_everything(services)
    response = client.get("/agents/cantine/regimes?ecole=s-1&q=mart")
    page = text(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Martin Hugo" in page and "Bernard Tom" not in page
    assert re.search(r'<option value="sans_porc" selected>Sans porc</option>', page)
    services.answers[("canteen", "set_diet")] = {"child_id": "k3", "diet": "vegetarien", "pai": True}
    response = post(client, "/agents/cantine/regimes", {"child": "k3", "diet": "vegetarien", "pai": "1",
                                                         "name": "Hugo Martin", "ecole": "s-1", "q": "mart"},
                    csrf_from="/agents/cantine/regimes?ecole=s-1")
    assert response.status_code == 303 and response.headers["Location"] == "/agents/cantine/regimes?ecole=s-1&q=mart"
    assert calls(services, "set_diet") == [("k3", "vegetarien", True)]
    assert "Régime d'Hugo Martin enregistré : végétarien, avec un PAI" in text(client.get(response.headers["Location"]))


def test_the_calendar_imports_an_ics_file_and_lists_closures(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "school_days")] = lambda start, end: [
        {"date": "2026-12-18", "open": True, "closure": None, "reason": None},
        {"date": "2026-12-19", "open": False, "closure": "weekday", "reason": NO_SERVICE},
        {"date": "2026-12-21", "open": False, "closure": "holiday", "reason": "Vacances de Noël."},
        {"date": "2026-12-23", "open": False, "closure": "weekday", "reason": NO_SERVICE},
        {"date": "2026-12-24", "open": False, "closure": "holiday", "reason": "Vacances de Noël."},
        {"date": "2026-12-25", "open": False, "closure": "public_holiday", "reason": "Jour férié."},
        {"date": "2027-01-04", "open": True, "closure": None, "reason": None},
        {"date": "2027-01-07", "open": False, "closure": "closed", "reason": "Restaurant scolaire fermé ce jour-là."}]
    page = text(client.get("/agents/cantine/calendrier"))
    assert "du lundi 21 décembre au jeudi 24 décembre 2026" in page and "Jour férié." in page
    assert re.search(r'name="day" value="2027-01-07">\s*<button[^>]*>Rouvrir', page)
    services.answers[("canteen", "import_holidays")] = {"periods": 7, "added": 2}
    token = csrf_token(client, "/agents/cantine/calendrier")
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    response = client.post("/agents/cantine/calendrier/vacances", content_type="multipart/form-data",
                           data={"csrf_token": token, "ics": (io.BytesIO(ics), "zone-b.ics")})
    assert response.status_code == 303 and calls(services, "import_holidays") == [(ics.decode(),)]
    assert "7 périodes de vacances, dont 2 nouvelles" in text(client.get("/agents/cantine/calendrier"))


def test_the_calendar_shows_a_bad_file_in_french(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "import_holidays")] = remote(
        "InvalidInput", "invalid_calendar", "Le fichier n'est pas un calendrier iCalendar valide.")
    token = csrf_token(client, "/agents/cantine/calendrier")
    response = client.post("/agents/cantine/calendrier/vacances", content_type="multipart/form-data",
                           data={"csrf_token": token, "ics": (io.BytesIO(b"pas un calendrier"), "vacances.ics")})
    assert response.status_code == 400
    assert "Le fichier n'est pas un calendrier iCalendar valide." in text(response)


def test_closing_and_reopening_a_day(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "close_day")] = {"closed": True}
    services.answers[("canteen", "reopen_day")] = {"closed": False}
    response = post(client, "/agents/cantine/calendrier/fermer", {"day": "2026-12-10", "reason": "Grève"},
                    csrf_from="/agents/cantine/calendrier")
    assert response.status_code == 303 and calls(services, "close_day") == [("2026-12-10", "Grève")]
    assert "fermé le jeudi 10 décembre 2026" in text(client.get("/agents/cantine/calendrier"))
    response = post(client, "/agents/cantine/calendrier/rouvrir", {"day": "2026-12-10"},
                    csrf_from="/agents/cantine/calendrier")
    assert response.status_code == 303 and calls(services, "reopen_day") == [("2026-12-10",)]


def test_the_menu_editor_sends_each_course_with_its_allergens_and_labels(client, services):
    as_agent(client, services)
    answer_everything(services)
    page = text(client.get("/agents/cantine/menus/2026-12-07"))
    assert 'id="plat-name" name="plat-name" type="text" value="Lasagnes aux légumes"' in page
    assert re.search(r'id="plat-a-gluten" name="plat-allergens" value="gluten" checked', page)
    assert page.count('name="entree-allergens"') == 14 and page.count('name="entree-labels"') == 8
    services.answers[("canteen", "set_menu")] = lambda day, courses: {"date": day, "courses": courses}
    response = post(client, "/agents/cantine/menus/2026-12-08", {
        "entree-name": "Potage", "entree-allergens": ["celeri"], "entree-labels": ["local"],
        "plat-name": " Colin, purée ", "plat-allergens": ["poissons", "lait"], "dessert-name": ""},
        csrf_from="/agents/cantine/menus/2026-12-08")
    assert response.status_code == 303 and response.headers["Location"] == "/agents/cantine/menus?semaine=2026-W50"
    assert calls(services, "set_menu") == [("2026-12-08", [
        {"course": "entree", "name": "Potage", "allergens": ["celeri"], "labels": ["local"]},
        {"course": "plat", "name": "Colin, purée", "allergens": ["poissons", "lait"], "labels": []}])]


def test_the_menu_editor_needs_a_course(client, services):
    as_agent(client, services)
    answer_everything(services)
    response = post(client, "/agents/cantine/menus/2026-12-08", {"entree-name": " "},
                    csrf_from="/agents/cantine/menus/2026-12-08")
    assert response.status_code == 400 and "Saisissez au moins un plat." in text(response)


def test_enrolment_finds_the_family_then_enrols_a_child(client, services):
    from .test_web_pages import FAMILY
    as_agent(client, services)
    answer_everything(services)
    services.answers[("identity", "find_families")] = [FAMILY]
    page = text(client.get("/agents/cantine/inscriptions?q=martin"))
    assert 'href="/agents/cantine/inscriptions/fam-1"' in page
    page = text(client.get("/agents/cantine/inscriptions/fam-1"))
    assert '<option value="s-1|2026-2027|k-1">École publique Jules Verne, classe CE2 (2026-2027)</option>' in page
    assert 'value="s-2|2027-2028|"' in page
    services.answers[("canteen", "enrol")] = {"child_id": "kid-1"}
    response = post(client, "/agents/cantine/inscriptions/fam-1", {"child": "kid-1", "placement": "s-1|2026-2027|k-1"})
    assert response.status_code == 303 and calls(services, "enrol") == [("kid-1", "s-1", "2026-2027", "k-1")]
    post(client, "/agents/cantine/inscriptions/fam-1", {"child": "kid-1", "placement": "s-2|2027-2028|"})
    assert calls(services, "enrol")[-1] == ("kid-1", "s-2", "2027-2028", None)


def test_enrolment_shows_the_refusal(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "enrol")] = remote("InvalidInput", "invalid_class",
                                                    "Cette classe n'est pas de cette école pour cette année.")
    response = post(client, "/agents/cantine/inscriptions/fam-1", {"child": "kid-1", "placement": "s-2|2026-2027|k-1"})
    page = text(response)
    assert response.status_code == 400 and "Cette classe n'est pas de cette école pour cette année." in page
    assert 'aria-invalid="true"' in page
    response = post(client, "/agents/cantine/inscriptions/fam-1", {"child": "other-kid", "placement": "s-1|2026-2027|"})
    assert response.status_code == 404


def test_schools_and_classes_are_added(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "add_class")] = {"id": "k-2"}
    services.answers[("canteen", "add_school")] = {"id": "s-3"}
    response = post(client, "/agents/cantine/ecoles", {"action": "add_class", "annee": "2027-2028", "school": "s-1",
                                                       "class_name": "CM1"})
    assert response.status_code == 303 and calls(services, "add_class") == [("s-1", "2027-2028", "CM1")]
    post(client, "/agents/cantine/ecoles", {"action": "add_school", "name": "École Simone Veil", "kind": "public",
                                            "address": ""})
    assert calls(services, "add_school") == [("École Simone Veil", "public", "")]
    page = text(client.get("/agents/cantine/ecoles"))
    assert 'maxlength="60"' in page and 'maxlength="100"' in page and 'maxlength="200"' in page  # canteen's limits


def test_news_are_published(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "publish_news")] = {"id": "n-2"}
    response = post(client, "/agents/cantine/actualites", {"title": "Menu de Noël", "body": "Le **17**.",
                                                           "kind": "practical"})
    assert response.status_code == 303 and calls(services, "publish_news") == [("Menu de Noël", "Le **17**.", "practical")]
    response = post(client, "/agents/cantine/actualites", {"title": "", "body": "x", "kind": "news"})
    assert response.status_code == 400 and "Donnez un titre et un texte." in text(response)
    page = text(client.get("/agents/cantine/actualites"))
    assert 'maxlength="20000"' in page and "20 000 caractères au plus." in page  # the service's own limit
    services.answers[("canteen", "publish_news")] = remote("InvalidInput", "invalid_news",
                                                           "Le titre d'une actualité ne doit pas dépasser 200 caractères.")
    response = post(client, "/agents/cantine/actualites", {"title": "T" * 201, "body": "x", "kind": "news"})
    assert response.status_code == 400 and "ne doit pas dépasser 200 caractères" in text(response)


def test_the_pattern_form_offers_the_weekdays_the_service_is_configured_with(client, services):
    as_parent(client, services)
    services.answers[("canteen", "vocabulary")] = dict(VOCABULARY, school_weekdays=[1, 2, 3, 4, 5])
    page = text(client.get("/cantine/reservations"))
    assert 'id="jour-3" name="weekdays" value="3" checked' in page


def test_an_agent_sees_a_familys_absences_and_reads_a_justification_which_is_recorded(client, services):
    from .test_web_pages import FAMILY
    as_agent(client, services)
    services.answers[("identity", "family_for_agent")] = FAMILY
    services.answers[("canteen", "school_directory")] = {"school_years": ["2026-2027", "2027-2028"], "schools": []}
    services.answers[("canteen", "enrolments_of_family")] = []
    services.answers[("canteen", "family_absences")] = [
        {"id": "abs-1", "child_id": FAMILY["children"][0]["id"], "from": "2026-12-01", "to": "2026-12-02",
         "reason": "illness", "reported_at": "2026-12-01T08:00:00+00:00", "has_document": True}]
    page = text(client.get("/agents/cantine/inscriptions/fam-1"))
    assert "voir le justificatif" in page and "/agents/cantine/absences/abs-1/justificatif" in page
    assert "du mardi 1er décembre au mercredi 2 décembre 2026" in page and "2026-12-01" not in page  # French dates
    services.answers[("canteen", "absence_document")] = {"name": "x.pdf", "media_type": "application/pdf",
                                                         "content_base64": "JVBERi0xLjQ="}
    response = client.get("/agents/cantine/absences/abs-1/justificatif")
    assert response.status_code == 200 and response.data == b"%PDF-1.4"
    assert response.headers["Content-Type"] == "application/pdf" and response.headers["Cache-Control"] == "no-store"
    (_, _, args, _), = [c for c in services.calls if c[1] == "absence_document"]
    assert args == ("abs-1", None, f"agent:{AGENT['id']}")


@pytest.mark.parametrize("path, method", [
    ("/agents/cantine/ecoles", "school_directory"), ("/agents/cantine/inscriptions/fam-1", "school_directory"),
    ("/agents/cantine/effectifs?date=2026-12-03", "headcounts"), ("/agents/cantine/effectifs.csv", "headcounts"),
    ("/agents/cantine/presences", "school_day"), ("/agents/cantine/regimes", "school_day"),
])
def test_an_agents_page_asks_the_canteen_once_whatever_the_number_of_schools(client, services, path, method):
    as_agent(client, services)
    answer_everything(services)
    assert client.get(path).status_code == 200
    asked = [name for service, name, _, _ in services.calls if service == "canteen" and name != "vocabulary"]
    assert [name for name in asked if name not in ("family_absences", "enrolments_of_family")] == [method]


def test_the_diets_page_shows_the_school_year_the_service_gives(client, services):
    as_agent(client, services)
    answer_everything(services)
    page = text(client.get("/agents/cantine/regimes?ecole=s-1&date=2027-09-02"))
    assert calls(services, "school_day") == [("s-1", "2027-09-02")]
    assert "<bdi>École publique Jules Verne</bdi>, année scolaire 2026-2027" in page  # the fake's answer, not a computation


LEA_ENROLMENTS = [
    {"child_id": "kid-1", "school_year": "2026-2027", "school_id": "s-1", "school_name": "École publique Jules Verne",
     "class_id": "k-1", "class_name": "CE2"},
    {"child_id": "kid-1", "school_year": "2027-2028", "school_id": "s-2", "school_name": "École privée St Joseph",
     "class_id": None, "class_name": None}]


def test_the_enrolment_page_shows_where_each_child_is_enrolled_per_year(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "family_absences")] = []
    services.answers[("canteen", "enrolments_of_family")] = LEA_ENROLMENTS
    page = text(client.get("/agents/cantine/inscriptions/fam-1"))
    assert calls(services, "enrolments_of_family") == [("fam-1",)]
    assert "Année 2026-2027 : <bdi>École publique Jules Verne</bdi>, classe <bdi>CE2</bdi>" in page
    assert "Année 2027-2028 : <bdi>École privée St Joseph</bdi>, classe non précisée" in page
    services.answers[("canteen", "enrolments_of_family")] = []
    assert "Pas encore inscrit(e) à la restauration scolaire." in text(client.get("/agents/cantine/inscriptions/fam-1"))


def test_the_family_file_shows_the_enrolments_and_links_to_the_enrolment_page(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers[("canteen", "family_overview")] = {"enrolments": LEA_ENROLMENTS, "children": [], "absences": []}
    page = text(client.get("/agents/familles/fam-1"))
    assert "Année 2026-2027 : <bdi>École publique Jules Verne</bdi>, classe <bdi>CE2</bdi>" in page
    assert 'href="/agents/cantine/inscriptions/fam-1"' in page


def test_the_family_file_of_a_creche_agent_asks_nothing_of_the_canteen(client, services):
    as_agent(client, services, CRECHE)
    answer_everything(services)
    page = text(client.get("/agents/familles/fam-1"))
    assert calls(services, "family_overview") == [] and "/agents/cantine/inscriptions/fam-1" not in page


def test_the_family_file_stays_readable_while_the_canteen_is_down(client, services):
    as_agent(client, services)
    answer_everything(services)
    services.answers.pop(("canteen", "family_overview"), None)  # the fake then answers ServiceUnavailable
    response = client.get("/agents/familles/fam-1")
    assert response.status_code == 200
    assert "ne peuvent pas être lues pour le moment" in text(response)
