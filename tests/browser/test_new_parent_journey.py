"""Issue 11's "Done when", in a real browser against the session's suite on a 390 px phone: a new parent, from the
public home page, finds how to create the space, creates it with the key of the letter, and from the dashboard reaches
in at most two taps the next meals, the crèche bookings and the invoices; an absent day leads to its absence, which the
parent withdraws. Each page is checked with axe-core and for horizontal scroll.
"""
import re
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient
from gateway.web.canteen_common import day_fr

from .pages import heading

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Nouveau-Parent-Donges-44!"
PHONE_390 = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
             "has_touch": True}


def one_page_pdf():
    import io

    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()


def today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def school_year(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def wait_for(what, probe, seconds=60):
    deadline = time.monotonic() + seconds
    while not (found := probe()):
        assert time.monotonic() < deadline, what
        time.sleep(0.3)
    return found


@pytest.fixture(scope="module")
def rpc(suite):
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="new-parent-journey")
    yield client
    client.close()


@pytest.fixture(scope="module")
def family(rpc):
    """A family as the Mairie registers it: a schoolchild enrolled at the canteen with one meal reserved, a toddler
    registered at the crèche with one slot booked, and the key of the letter (issued as the agents' page does)."""
    suffix = uuid.uuid4().hex[:6]
    last_name = f"Nouveau{suffix}"
    registered = rpc.call("identity", "register_family", {
        "request_id": f"new-parent-journey-{suffix}",
        "representatives": [{"first_name": "Inès", "last_name": last_name, "email": f"famille.{suffix}@example.org"}],
        "children": [{"first_name": "Hugo", "last_name": last_name, "birth_date": "2018-03-02"},
                     {"first_name": "Alba", "last_name": last_name,
                      "birth_date": (today() - timedelta(days=420)).isoformat()}]})
    key = rpc.call("identity", "issue_key", registered["representatives"][0]["id"])["key"]
    hugo, alba = (next(c for c in registered["children"] if c["first_name"] == name) for name in ("Hugo", "Alba"))
    family_id = registered["id"]
    wait_for("canteen never learnt the family", lambda: rpc.call("canteen", "family_children", family_id))
    wait_for("childcare never learnt the family", lambda: rpc.call("childcare", "family_children", family_id))

    school = rpc.call("canteen", "add_school", "École Jules Verne", "public", "")["id"]
    start, end = today(), today() + timedelta(days=45)
    for year in sorted({school_year(start), school_year(end)}):
        rpc.call("canteen", "enrol", hugo["id"], school, year)
    days = next(c for c in rpc.call("canteen", "family_meals", family_id, start.isoformat(), end.isoformat())
                if c["child_id"] == hugo["id"])["days"]
    open_days = [d["date"] for d in days if d["changeable"] and d["state"] == "not_reserved"]
    assert len(open_days) >= 2, f"no school days open to reservation in {days}"
    meal_day, absent_day = open_days[0], open_days[1]  # within the dashboard's month ahead
    for day in (meal_day, absent_day):
        rpc.call("canteen", "change_meal", family_id, hugo["id"], day, "reserve")

    rpc.call("childcare", "register", alba["id"], "occasional")
    slots = rpc.call("childcare", "slots", (today() + timedelta(days=3)).isoformat(),
                     (today() + timedelta(days=24)).isoformat())
    slot = next(s for s in reversed(slots) if s["available"] > 0 and not s["closed"] and not s["past"])
    rpc.call("childcare", "book", family_id, alba["id"], slot["id"], None)
    return {"key": key, "username": f"ines.{suffix}", "email": f"ines.{suffix}@example.org", "hugo": hugo,
            "meal_day": meal_day, "absent_day": absent_day, "slot": slot}


def tap_from_dashboard(page, tile, link):
    page.goto("/tableau-de-bord")
    page.get_by_role("region", name=tile).get_by_role("link", name=link).click()


def test_a_new_parent_creates_the_space_and_reaches_meals_bookings_and_invoices_in_two_taps(new_page, family, check):
    page = new_page(**PHONE_390)

    # --- From the public home page, the way to create the space --------------------------------------------------
    page.goto("/")
    check(page)
    page.get_by_role("main").get_by_role("link", name=re.compile("^Créer mon espace$", re.I)).first.click()
    expect(heading(page)).to_have_text(re.compile("espace", re.I))
    check(page)
    page.get_by_label("Clé reçue par courrier").fill(family["key"])
    page.get_by_label("Identifiant choisi").fill(family["username"])
    page.get_by_label("Adresse e-mail personnelle").fill(family["email"])
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon espace").click()

    # --- The dashboard: every tile live -----------------------------------------------------------------------------
    expect(heading(page)).to_have_text("Mon tableau de bord")
    expect(page.get_by_role("status")).to_contain_text("Votre espace est créé")
    canteen = page.get_by_role("region", name="Cantine")
    expect(canteen).to_contain_text("Hugo")
    expect(canteen.locator(f'time[datetime="{family["meal_day"]}"]')).to_be_visible()
    creche = page.get_by_role("region", name="Multi-accueil")
    expect(creche).to_contain_text("Alba")
    expect(creche.locator(f'time[datetime="{family["slot"]["date"]}"]')).to_be_visible()
    expect(page.get_by_role("region", name="Mon compte")).to_contain_text("facture")
    expect(page.get_by_role("region", name="Mon espace")).to_contain_text("à confirmer")
    check(page)

    # --- One tap each: the meals, the crèche bookings, the invoices -------------------------------------------------
    tap_from_dashboard(page, "Cantine", "Mes réservations de repas")
    expect(page).to_have_url(re.compile(r"/cantine/"))
    page.goto(f"/cantine/?mois={family['meal_day'][:7]}")
    expect(page.locator(f"#e1-{family['meal_day']}")).to_contain_text("Réservé")
    check(page)
    tap_from_dashboard(page, "Multi-accueil", "Mes réservations au multi-accueil")
    expect(page.get_by_role("main")).to_contain_text(day_fr(family["slot"]["date"]))
    check(page)
    tap_from_dashboard(page, "Mon compte", "Mes factures")
    expect(page).to_have_url(re.compile(r"/mon-compte/factures$"))
    check(page)

    # --- An absence: reported, reached from its absent day, withdrawn; the meal is back -----------------------------
    day = family["absent_day"]
    page.goto("/cantine/absences")
    check(page)
    expect(page.get_by_role("group", name=re.compile("Enfant"))).to_contain_text("Alba")  # one form, a box a child
    page.get_by_label(re.compile("^Hugo ")).check()
    page.get_by_label("Premier jour d'absence").fill(day)
    page.get_by_label("Dernier jour d'absence").fill(day)
    page.get_by_label("Maladie").check()
    page.get_by_role("button", name="Signaler l'absence").click()
    expect(page.get_by_role("status")).to_contain_text(f"Absence d'Hugo enregistrée pour le {day_fr(day)}")
    page.goto(f"/cantine/?mois={day[:7]}")
    page.get_by_role("link", name=f"Voir l'absence d'Hugo du {day_fr(day)}").click()
    expect(page).to_have_url(re.compile(r"/cantine/absences#absence-"))
    item = page.locator(".absence-item", has_text=day_fr(datetime.fromisoformat(day).date(), year=True))
    expect(item).to_contain_text("À envoyer")
    check(page)
    # The certificate afterwards: a false PDF is refused beside its field, a real one taken.
    upload = item.get_by_label(re.compile("^Ajouter le certificat médical"))
    upload.set_input_files({"name": "certificat.pdf", "mimeType": "application/pdf", "buffer": b"GIF89a, pas un PDF"})
    item.get_by_role("button", name=re.compile("^Envoyer le certificat")).click()
    expect(page.get_by_role("alert")).to_contain_text("PDF, JPEG ou PNG")
    expect(upload).to_have_attribute("aria-invalid", "true")
    check(page)
    upload.set_input_files({"name": "certificat.pdf", "mimeType": "application/pdf", "buffer": one_page_pdf()})
    item.get_by_role("button", name=re.compile("^Envoyer le certificat")).click()
    expect(page.get_by_role("status")).to_contain_text("Justificatif « certificat.pdf » ajouté à l'absence d'Hugo")
    expect(item).to_contain_text("Accepté")
    item.get_by_role("button", name=re.compile("^Retirer cette absence")).click()
    expect(page.get_by_role("status")).to_contain_text("est retirée")
    expect(page.locator(f"#e1-{day}")).to_contain_text("Réservé")  # the meal was never cancelled: it is served again
