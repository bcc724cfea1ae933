"""Issue 8's "Done when", in a real browser against the whole suite, on today's real clock.

A parent books two slots, joins the waiting list of a full one, and cancels one slot more than 48 hours ahead:
the first parent in line of that slot gets the place and the e-mail. A parent with a contract declares leave and
reports an illness with a PDF; an agent accepts the justification and reads the day's planning. Each page is checked
with axe-core and for horizontal scroll.
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

from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Creche-Donges-44480!"
AGENT_PASSWORD = "Agent-Creche-Donges-7?"


def one_page_pdf():
    import io

    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()


def today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def iso_week(day):
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


@pytest.fixture(scope="module")
def rpc(suite):
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="childcare-journey")
    yield client
    client.close()


def family_with_account(rpc, suffix, first_name, child, birth_date):
    family = rpc.call("identity", "register_family", {
        "request_id": f"childcare-journey-{first_name}-{suffix}",
        "representatives": [{"first_name": first_name, "last_name": f"Creche{suffix}"}],
        "children": [{"first_name": child, "last_name": f"Creche{suffix}", "birth_date": birth_date}]})
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    username, email = f"{first_name.lower()}.{suffix}", f"{first_name.lower()}.{suffix}@example.org"
    rpc.call("identity", "create_account", key, username, email, PASSWORD, "10.0.0.8")
    deadline = time.monotonic() + 30
    while not rpc.call("childcare", "family_children", family["id"]):
        assert time.monotonic() < deadline, "childcare never learnt the family's children"
        time.sleep(0.2)
    return {"id": family["id"], "child": family["children"][0], "username": username, "email": email}


def free_day_pair(rpc):
    """Two opening days of one week, 17 days ahead or more (nobody else books there), whose slots are untouched."""
    start = today() + timedelta(days=17)
    slots = rpc.call("childcare", "slots", start.isoformat(), (start + timedelta(days=11)).isoformat())
    by_day = {}
    for slot in slots:
        by_day.setdefault(slot["date"], []).append(slot)
    days = sorted(d for d, found in by_day.items()
                  if len(found) == 2 and all(s["available"] == s["capacity"] and not s["closed"] for s in found))
    for first in days:
        for second in days:
            if second > first and iso_week(datetime.fromisoformat(first)) == iso_week(datetime.fromisoformat(second)):
                return by_day[first], by_day[second]
    pytest.fail(f"no two free opening days in one week among {days}")


@pytest.fixture(scope="module")
def creche(rpc):
    suffix = uuid.uuid4().hex[:6]
    toddler = (today() - timedelta(days=420)).isoformat()
    parent = family_with_account(rpc, suffix, "Claire", "Lina", toddler)
    in_line = family_with_account(rpc, suffix, "Paul", "Zoé", toddler)
    regular = family_with_account(rpc, suffix, "Nadia", "Mila", toddler)
    for family in (parent, in_line):
        rpc.call("childcare", "register", family["child"]["id"], "occasional")
    start = today().replace(day=1)
    rpc.call("childcare", "register", regular["child"]["id"], "regular", {
        "weekly_hours": {str(d): ["08:30", "17:00"] for d in range(1, 6)}, "weeks_per_year": 45,
        "start": start.isoformat(), "end": (start + timedelta(days=330)).isoformat(), "leave_days": 5})
    agent = f"creche-{suffix}"
    rpc.call("identity", "ensure_agent", agent, AGENT_PASSWORD, ["petite_enfance"])
    (morning, afternoon), (full, _) = free_day_pair(rpc)
    rpc.call("childcare", "set_capacity", afternoon["id"], 1)  # the parent takes its last place
    rpc.call("childcare", "set_capacity", full["id"], 1)
    rpc.call("childcare", "book", in_line["id"], in_line["child"]["id"], full["id"], None)  # full before the parent comes
    return {"parent": parent, "in_line": in_line, "regular": regular, "agent": agent,
            "morning": morning, "afternoon": afternoon, "full": full}


def slot_label(slot):
    start, end = (f"{int(t[:2])}h{t[3:]}" for t in (slot["start"], slot["end"]))
    return f"{day_fr(slot['date'])} {start}–{end}"


def test_booking_the_waiting_list_a_free_cancellation_and_the_promotion_mail_then_leave_illness_and_the_agent(
        phone_page, new_page, page, creche, check):
    parent, other, agent = phone_page, new_page(), page
    morning, afternoon, full = creche["morning"], creche["afternoon"], creche["full"]
    week = iso_week(datetime.fromisoformat(morning["date"]))

    # --- Public page ----------------------------------------------------------------------------------------
    parent.goto("/petite-enfance/")
    expect(heading(parent)).to_have_text("Petite Enfance : le multi-accueil « Bout D'chou »")
    expect(parent.get_by_role("main")).to_contain_text("02 40 91 01 91")
    check(parent)

    # --- The parent books two slots (the second its last place) and joins a full one's waiting list --------
    log_in(parent, creche["parent"]["username"], PASSWORD)
    parent.get_by_role("region", name="Multi-accueil").get_by_role("link", name="Réserver un créneau").click()
    expect(heading(parent)).to_have_text("Réserver un créneau au multi-accueil")
    check(parent)
    parent.goto(f"/petite-enfance/creneaux?semaine={week}")
    parent.get_by_role("button", name=f"Réserver : {slot_label(morning)}").click()
    expect(parent.get_by_role("status")).to_contain_text("Créneau réservé")
    parent.get_by_role("button", name=f"Réserver : {slot_label(afternoon)}").click()
    expect(parent.get_by_role("status")).to_contain_text("Créneau réservé")
    parent.get_by_role("button", name=f"Liste d'attente : {slot_label(full)}").click()
    expect(parent.get_by_role("status")).to_contain_text("en position 1")
    expect(parent.locator(f"#creneau-{full['id']}")).to_contain_text("liste d'attente, position 1")
    check(parent)

    # --- Another parent joins the waiting list of the slot the first took last -------------------------------
    log_in(other, creche["in_line"]["username"], PASSWORD)
    other.goto(f"/petite-enfance/creneaux?semaine={week}")
    expect(other.locator(f"#creneau-{afternoon['id']}")).to_contain_text("complet")
    other.get_by_role("button", name=f"Liste d'attente : {slot_label(afternoon)}").click()
    expect(other.get_by_role("status")).to_contain_text("en position 1")

    # --- The first parent cancels it, more than 48 hours ahead: free, and the parent in line gets the place ----
    parent.get_by_role("navigation", name="Petite Enfance").get_by_role("link", name="Mes réservations").click()
    expect(heading(parent)).to_have_text("Mes réservations au multi-accueil")
    expect(parent.get_by_role("main")).to_contain_text("position 1")
    check(parent)
    start = f"{int(afternoon['start'][:2])}h{afternoon['start'][3:]}"
    parent.get_by_role("button", name=f"Annuler le créneau du {day_fr(afternoon['date'])} de {start}").click()
    expect(parent.get_by_role("status")).to_contain_text("Réservation annulée, sans frais.")
    other.reload()
    expect(other.locator(f"#creneau-{afternoon['id']}")).to_contain_text("réservé pour Zoé")

    other.goto("/dev/courriels")
    mail = other.get_by_role("article").filter(has_text=creche["in_line"]["email"]).filter(
        has_text="une place s'est libérée")
    deadline = time.monotonic() + 15
    while mail.count() == 0 and time.monotonic() < deadline:  # the relay sends after commit
        time.sleep(0.3)
        other.reload()
    expect(mail).to_have_count(1)
    expect(mail).to_contain_text("Zoé était le premier sur la liste d'attente")

    # --- A parent with a contract declares leave and reports an illness with a PDF ------------------------------
    regular = new_page(**{"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True})
    log_in(regular, creche["regular"]["username"], PASSWORD)
    regular.goto("/petite-enfance/absences")
    expect(heading(regular)).to_have_text("Absences et congés au multi-accueil")
    check(regular)
    leave_from = today() + timedelta(days=14)
    leave_to = leave_from + timedelta(days=1)
    regular.get_by_label("Premier jour de congé").fill(leave_from.isoformat())
    regular.get_by_label("Dernier jour de congé").fill(leave_to.isoformat())
    regular.get_by_role("button", name="Déclarer le congé").click()
    expect(regular.get_by_role("status")).to_contain_text(re.compile(r"Il vous reste [34] jour\(s\) de congé sur 5"))
    regular.goto("/petite-enfance/absences")
    regular.get_by_label("Premier jour d'absence").fill(today().isoformat())
    regular.get_by_label("Dernier jour d'absence").fill((today() + timedelta(days=4)).isoformat())
    regular.get_by_label("Maladie").check()
    regular.get_by_label("Justificatif").set_input_files(
        files=[{"name": "certificat.pdf", "mimeType": "application/pdf", "buffer": one_page_pdf()}])
    regular.get_by_role("button", name="Signaler l'absence").click()
    expect(regular.get_by_role("status")).to_contain_text("Le justificatif sera examiné")
    expect(regular.get_by_role("main")).to_contain_text("à examiner")
    check(regular)

    # --- The agent accepts the justification and reads the planning ---------------------------------------------
    log_in(agent, creche["agent"], AGENT_PASSWORD)
    agent.get_by_role("region", name="Petite Enfance").get_by_role("link", name="Justificatifs").click()
    expect(heading(agent)).to_have_text("Justificatifs d'absence")
    check(agent)
    card = agent.get_by_role("region", name=re.compile(f"Mila.*maladie|Creche.*Mila"))
    card.get_by_label("Commentaire").fill("Certificat médical reçu")
    card.get_by_role("button", name=re.compile("^Accepter")).click()
    expect(agent.get_by_role("status")).to_contain_text("Justificatif accepté.")
    agent.goto(f"/agents/petite-enfance/planning?date={morning['date']}")
    expect(heading(agent)).to_have_text(re.compile(r"^Planning du "))
    expect(agent.get_by_role("main")).to_contain_text(f"Creche{creche['parent']['username'].split('.')[1]} Lina")
    expect(agent.get_by_role("main")).to_contain_text("Mila")
    check(agent)


def test_every_page_of_the_crèche_is_accessible(page, creche, check):
    parent = creche["regular"]
    log_in(page, parent["username"], PASSWORD)
    for path, title in (("/petite-enfance/mes-reservations", "Mes réservations au multi-accueil"),
                        ("/petite-enfance/actualites", "Actualités de la Petite Enfance")):
        page.goto(path)
        expect(heading(page)).to_have_text(title)
        check(page)
    page.context.clear_cookies()
    log_in(page, creche["agent"], AGENT_PASSWORD)
    day = creche["morning"]["date"]
    for path, title in (("/agents/petite-enfance/", "Multi-accueil « Bout D'chou »"),
                        (f"/agents/petite-enfance/presences?date={today().isoformat()}", re.compile(r"^Présences du ")),
                        ("/agents/petite-enfance/inscriptions?q=Creche", "Inscriptions et contrats"),
                        ("/agents/petite-enfance/fermetures", "Fermetures de la crèche"),
                        ("/agents/petite-enfance/actualites", "Actualités et informations pratiques"),
                        (f"/agents/petite-enfance/planning?date={day}", re.compile(r"^Planning du "))):
        page.goto(path)
        expect(heading(page)).to_have_text(title)
        check(page)
    page.goto("/agents/petite-enfance/inscriptions?q=Creche")
    expect(page.get_by_role("list", name="Enfants trouvés")).to_contain_text("Mila")
