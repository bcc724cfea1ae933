"""Issue 4's "Done when", in a real browser against the whole suite, on today's real clock.

A parent of two children reserves next month with the pattern form, cancels a day before its deadline,
fails to change a frozen day and reads why, reports an absence with a PDF; an agent sees the head-count
of the cancelled day go down and downloads the CSV. Every new page is checked with axe-core.
"""
import re
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient
from gateway.web.canteen_common import Month, day_fr
from gateway.web.helpers import de

from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PARENT_PASSWORD = "Cantine-Donges-44480!"
AGENT_PASSWORD = "Guichet-Cantine-Donges-7?"


def one_page_pdf():
    import io

    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()


PDF = one_page_pdf()


def today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def school_year_of(day):
    """The school year the test enrols for (the canteen service counts the same way)."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


@pytest.fixture(scope="module")
def rpc(suite):
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="canteen-journey")
    yield client
    client.close()


@pytest.fixture(scope="module")
def town(rpc):
    """A school of its own, a family of two children enrolled in it, the parent's account, an agent."""
    suffix = uuid.uuid4().hex[:6]
    last_name = f"Cantine{suffix}"
    family = rpc.call("identity", "register_family", {
        "request_id": f"canteen-journey-{suffix}",
        "representatives": [{"first_name": "Claire", "last_name": last_name, "email": f"claire.{suffix}@example.org",
                             "address": {"line1": "12 rue de la Gare", "postal_code": "44480", "city": "Donges"}}],
        "children": [{"first_name": "Léa", "last_name": last_name, "birth_date": "2018-04-17"},
                     {"first_name": "Hugo", "last_name": last_name, "birth_date": "2020-09-03"}],
    })
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    username = f"claire.{suffix}"
    rpc.call("identity", "create_account", key, username, f"claire.perso.{suffix}@example.org", PARENT_PASSWORD,
             "10.0.0.1")
    agent = f"cantine-{suffix}"
    rpc.call("identity", "ensure_agent", agent, AGENT_PASSWORD, ["admin"])
    school = rpc.call("canteen", "add_school", f"École du parcours {suffix}", "public")
    deadline = time.monotonic() + 30
    while len(rpc.call("canteen", "family_children", family["id"])) < 2:
        assert time.monotonic() < deadline, "canteen never learnt the family's children"
        time.sleep(0.2)
    following = Month.parse(None, today()).next
    years = {school_year_of(today() - timedelta(days=7)), school_year_of(today()), school_year_of(following.last)}
    for child in family["children"]:
        for year in sorted(years):
            rpc.call("canteen", "enrol", child["id"], school["id"], year)
    return {"family": family, "username": username, "agent": agent, "school": school, "next_month": following}


def changeable_days(rpc, family_id, child_id, month):
    days = rpc.call("canteen", "meals", family_id, child_id, month.first.isoformat(), month.last.isoformat())["days"]
    return [d["date"] for d in days if d["changeable"]]


def frozen_school_day(rpc, family_id, child_id):
    """The first school day from today on whose deadline has passed (today or one of the next few days)."""
    start = today()
    days = rpc.call("canteen", "meals", family_id, child_id, start.isoformat(), (start + timedelta(days=14)).isoformat())
    return next(d for d in days["days"] if d["state"] != "closed" and not d["changeable"])


def headcount_of(page, school_name):
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=school_name))
    return row.get_by_role("cell").first


def test_a_parent_reserves_cancels_and_reports_an_absence_and_the_agent_sees_the_headcount(
        phone_page, page, town, rpc, check):
    parent, agent = phone_page, page
    family_id = town["family"]["id"]
    lea, hugo = town["family"]["children"]
    school_name = town["school"]["name"]
    next_month = town["next_month"]
    open_days = changeable_days(rpc, family_id, lea["id"], next_month)
    assert len(open_days) >= 8, open_days
    cancelled_day, absent_day = open_days[-1], open_days[-2]

    # --- Public pages -------------------------------------------------------------------------
    for path, title in (("/cantine/menus", "Menus de la semaine"), ("/cantine/actualites",
                        "Actualités de la restauration scolaire"), ("/cantine/informations-pratiques",
                        "Informations pratiques"), ("/cantine/ecoles", "Les restaurants scolaires")):
        parent.goto(path)
        expect(heading(parent)).to_have_text(title)
        check(parent)
    expect(parent.get_by_role("main")).to_contain_text(school_name)

    # --- The parent reserves next month for both children with the pattern form --------------------
    log_in(parent, town["username"], PARENT_PASSWORD)
    expect(heading(parent)).to_have_text("Mon tableau de bord")
    parent.get_by_role("region", name="Cantine").get_by_role("link", name="Mes réservations de repas").click()
    expect(heading(parent)).to_have_text(re.compile(r"^Repas (de |d')"))
    check(parent)
    parent.get_by_role("navigation", name="Cantine").get_by_role("link", name="Par période").click()
    expect(heading(parent)).to_have_text("Réserver ou annuler une période")
    expect(parent.get_by_label("Du", exact=True)).to_have_value(next_month.first.isoformat())
    expect(parent.get_by_label("Au (inclus)")).to_have_value(next_month.last.isoformat())
    for name in ("lundi", "mardi", "jeudi", "vendredi"):
        expect(parent.get_by_role("checkbox", name=name, exact=True)).to_be_checked()
    expect(parent.get_by_label(f"Léa {lea['last_name']}")).to_be_checked()
    expect(parent.get_by_label(f"Hugo {hugo['last_name']}")).to_be_checked()
    check(parent)
    parent.get_by_role("button", name="Valider la période").click()
    expect(parent.get_by_role("status")).to_contain_text(f"{2 * len(open_days)} repas réservés")
    result = parent.get_by_role("table")
    expect(result.get_by_role("row").filter(has_text="réservé")).to_have_count(2 * len(open_days))
    check(parent)
    for child in (lea, hugo):
        booked = rpc.call("canteen", "meals", family_id, child["id"], next_month.first.isoformat(),
                          next_month.last.isoformat())["days"]
        assert [d["date"] for d in booked if d["state"] == "reserved"] == open_days

    # --- The agent sees the head-count of the day to be cancelled ------------------------------------
    log_in(agent, town["agent"], AGENT_PASSWORD)
    expect(heading(agent)).to_have_text("Espace agents")
    agent.get_by_role("link", name="Effectifs").click()
    expect(heading(agent)).to_have_text("Effectifs de la cantine")
    agent.get_by_label("Jour", exact=True).fill(cancelled_day)
    agent.get_by_role("button", name="Afficher").click()
    expect(headcount_of(agent, school_name)).to_have_text("2")
    check(agent)

    # --- The parent cancels that day from the month calendar, before its deadline ---------------------
    parent.goto(f"/cantine/?mois={next_month.key}")
    expect(heading(parent)).to_have_text(f"Repas {de(next_month.label)}")
    cell = parent.locator(f"#e1-{cancelled_day}")
    expect(cell).to_contain_text("Réservé")
    expect(cell).to_contain_text("modifiable jusqu'au")
    check(parent)
    html = parent.content()
    assert len(html.encode()) < 40 * 1024, len(html.encode())
    parent.get_by_role("button", name=f"Annuler le repas de Léa du {day_fr(cancelled_day)}").click()
    expect(parent.get_by_role("status")).to_contain_text(f"Repas de Léa du {day_fr(cancelled_day)} annulé.")
    expect(parent).to_have_url(re.compile(rf"mois={next_month.key}#e1-{cancelled_day}$"))
    expect(parent.locator(f"#e1-{cancelled_day}")).to_contain_text("Non réservé")
    expect(parent.get_by_role("button", name=f"Réserver le repas de Léa du {day_fr(cancelled_day)}")).to_be_visible()
    expect(parent.locator(f"#e2-{cancelled_day}")).to_contain_text("Réservé")

    # --- The agent sees the head-count go down, and downloads the CSV ---------------------------------
    agent.reload()
    expect(headcount_of(agent, school_name)).to_have_text("1")
    with agent.expect_download() as download:
        agent.get_by_role("link", name=re.compile("Télécharger le fichier CSV")).click()
    assert download.value.suggested_filename == f"effectifs-cantine-{cancelled_day}.csv"
    with open(download.value.path(), "rb") as exported:
        raw = exported.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "date;école;total;standard;sans_porc;vegetarien;panier_pai"
    assert f"{cancelled_day};{school_name};1;1;0;0;0" in lines

    # --- A frozen day cannot change, and the parent reads why -------------------------------------------
    frozen = frozen_school_day(rpc, family_id, lea["id"])
    parent.goto(f"/cantine/?mois={frozen['date'][:7]}")
    frozen_cell = parent.locator(f"#e1-{frozen['date']}")
    expect(frozen_cell).to_contain_text("Figé")
    expect(frozen_cell).to_contain_text("la date limite était le")
    expect(frozen_cell.get_by_role("button")).to_have_count(0)
    parent.get_by_role("navigation", name="Cantine").get_by_role("link", name="Par période").click()
    parent.get_by_label(f"Hugo {hugo['last_name']}").uncheck()
    parent.get_by_label("Du", exact=True).fill(frozen["date"])
    parent.get_by_label("Au (inclus)").fill(frozen["date"])
    parent.get_by_role("button", name="Valider la période").click()
    expect(parent.get_by_role("status")).to_contain_text("1 refusé")
    refused = parent.get_by_role("row").filter(has_text="refusé")
    expect(refused).to_contain_text("Ce jour ne peut plus être modifié : la date limite était le")
    check(parent)

    # --- An absence with a justification: a false PDF is refused, a real one accepted ---------------------
    parent.get_by_role("navigation", name="Cantine").get_by_role("link", name="Absence").click()
    expect(heading(parent)).to_have_text("Absences à la cantine")
    check(parent)
    parent.get_by_label(f"Hugo {hugo['last_name']}").check()
    parent.get_by_label("Premier jour d'absence").fill(absent_day)
    parent.get_by_label("Dernier jour d'absence").fill(absent_day)
    parent.get_by_label("Maladie").check()
    parent.get_by_label("Justificatif").set_input_files(
        {"name": "certificat.pdf", "mimeType": "application/pdf", "buffer": b"GIF89a, pas un PDF"})
    parent.get_by_role("button", name="Signaler l'absence").click()
    expect(parent.get_by_role("alert")).to_contain_text("Le justificatif doit être un fichier PDF, JPEG ou PNG.")
    expect(parent.get_by_label("Justificatif")).to_have_attribute("aria-invalid", "true")
    check(parent)
    parent.get_by_label("Justificatif").set_input_files(
        {"name": "certificat.pdf", "mimeType": "application/pdf", "buffer": PDF})
    parent.get_by_role("button", name="Signaler l'absence").click()
    expect(parent.get_by_role("status")).to_contain_text(
        f"Absence d'Hugo enregistrée pour le {day_fr(absent_day)}, avec le justificatif « certificat.pdf ».")
    absent_cell = parent.locator(f"#e2-{absent_day}")
    expect(absent_cell).to_contain_text("Absent")
    expect(absent_cell.get_by_role("button")).to_have_count(0)
    # The parent reads the justification back, as the canteen service stored it.
    parent.get_by_role("navigation", name="Cantine").get_by_role("link", name="Absence").click()
    link = parent.get_by_role("link", name="Voir le justificatif de l'absence d'Hugo")
    expect(link).to_have_count(1)
    document = parent.request.get(link.get_attribute("href"))
    assert document.status == 200 and document.headers["content-type"] == "application/pdf"
    assert document.body().startswith(b"%PDF-")

    # --- The private calendar feed: created, read, revoked ------------------------------------------------
    parent.get_by_role("navigation", name="Cantine").get_by_role("link", name="Agenda").click()
    check(parent)
    parent.get_by_role("button", name="Créer une nouvelle adresse").click()
    feed_url = parent.locator("#adresse-agenda").inner_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/cantine/calendrier/[\w-]+\.ics", feed_url), feed_url
    check(parent)
    feed = parent.request.get(feed_url)
    assert feed.status == 200 and feed.headers["content-type"] == "text/calendar; charset=utf-8"
    body = feed.text()
    assert "Cantine : Léa" in body and "Cantine : Hugo" in body
    assert f"DTSTART;VALUE=DATE:{cancelled_day.replace('-', '')}" in body  # Hugo still eats that day
    parent.get_by_role("button", name="Révoquer l'adresse").click()
    expect(parent.get_by_role("status")).to_contain_text("révoquée")
    assert parent.request.get(feed_url).status == 404


def test_every_agents_canteen_page_is_accessible(page, town, check):
    log_in(page, town["agent"], AGENT_PASSWORD)
    expect(heading(page)).to_have_text("Espace agents")
    check(page)
    page.get_by_role("link", name="Calendrier scolaire").click()
    expect(heading(page)).to_have_text("Calendrier scolaire")
    check(page)
    for link, title in (("Menus", "Menus de la semaine"), ("Écoles et classes", "Écoles et classes"),
                        ("Inscriptions", "Inscriptions à la restauration scolaire"),
                        ("Présences", "Présences à la cantine"), ("Effectifs", "Effectifs de la cantine"),
                        ("Régimes et PAI", "Régimes et PAI"),
                        ("Actualités", "Actualités et informations pratiques")):
        page.get_by_role("navigation", name="Restauration scolaire").get_by_role("link", name=link, exact=True).click()
        expect(heading(page)).to_have_text(title)
        check(page)
    # The menu editor of a day, saved, then shown on the public page.
    monday = today() - timedelta(days=today().weekday()) + timedelta(days=7)
    page.goto(f"/agents/cantine/menus/{monday.isoformat()}")
    expect(heading(page)).to_have_text(f"Menu du {day_fr(monday, year=True)}")
    check(page)
    page.get_by_label("Nom du plat (plat)").fill("Lasagnes aux légumes")
    page.get_by_role("group", name="Allergènes (plat)").get_by_label("Gluten").check()
    page.get_by_role("group", name="Labels (plat)").get_by_label("Agriculture biologique").check()
    page.get_by_role("button", name="Enregistrer le menu").click()
    expect(page.get_by_role("status")).to_contain_text("enregistré")
    page.goto(f"/cantine/menus?semaine={monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}")
    menu = page.get_by_role("region", name=day_fr(monday).capitalize())
    expect(menu).to_contain_text("Lasagnes aux légumes")
    expect(menu).to_contain_text("Allergènes : gluten")
    expect(menu).to_contain_text("Agriculture biologique")
    # The family's enrolment page.
    page.goto("/agents/cantine/inscriptions")
    page.get_by_role("search").get_by_label("Numéro de dossier, nom ou e-mail").fill(town["family"]["dossier"])
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name=re.compile(f"dossier n° {town['family']['dossier']}")).click()
    expect(heading(page)).to_have_text(f"Inscriptions du dossier n° {town['family']['dossier']}")
    check(page)
    # Attendance of the school on a day, with its children.
    page.goto(f"/agents/cantine/presences?ecole={town['school']['id']}&date={town['next_month'].last.isoformat()}")
    expect(page.get_by_role("main")).to_contain_text(town["family"]["children"][0]["last_name"])
    check(page)
    page.goto(f"/agents/cantine/regimes?ecole={town['school']['id']}")
    expect(page.get_by_role("main")).to_contain_text(town["family"]["children"][0]["last_name"])
    check(page)
