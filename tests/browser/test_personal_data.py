"""The family's data in its hands (issue #12) in Chromium against the whole suite: a parent downloads everything the
town holds on the family, as JSON and as PDF, from «Mon espace › Mes données»; the JSON holds the family's data
from every service (a canteen enrolment and diet, a crèche booking, billing's quotient and mandate, the IBAN
masked), not another family's, and no secret (the password hash and the session token are searched for in its
bytes); the PDF opens and carries the family's names. An administrator reads the retention periods and the purge
runs (each service purged at its start), and exports a family for a request received by post, which the agents'
journal records."""
import json
import sqlite3
import time
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from espace_common.rpc_client import RpcClient

from .pages import NO_HORIZONTAL_SCROLL, heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Mes-Donnees-Donges-44!"
IBAN = "FR7630006000011234567890189"


def family(rpc, tag, first, last, child, birth):
    slug = last.lower().replace("è", "e")
    registered = rpc.call("identity", "register_family", {
        "request_id": f"personal-data-{last}-{tag}",
        "representatives": [{"first_name": first, "last_name": f"{last}{tag}", "email": f"{slug}.{tag}@example.org",
                             "address": {"line1": "3 rue du Port", "line2": "", "postal_code": "44480",
                                         "city": "Donges"}}],
        "children": [{"first_name": child, "last_name": f"{last}{tag}", "birth_date": birth}]})
    key = rpc.call("identity", "issue_key", registered["representatives"][0]["id"])["key"]
    username = f"{slug}.{tag}"
    rpc.call("identity", "create_account", key, username, f"{slug}.perso.{tag}@example.org", PASSWORD, "10.0.0.7")
    deadline = time.monotonic() + 30
    for service in ("canteen", "childcare", "billing"):
        while not rpc.call(service, "family_children", registered["id"]):
            assert time.monotonic() < deadline, f"{service} never learnt the family"
            time.sleep(0.2)
    return registered, username


@pytest.fixture(scope="module")
def town(suite):
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="personal-data")
    tag = uuid.uuid4().hex[:6]
    admin = rpc.call("identity", "ensure_agent", f"rgpd-{tag}", PASSWORD, ["admin"])
    ours, username = family(rpc, tag, "Hélène", "Lefèvre", "Zoé", (date.today() - timedelta(days=400)).isoformat())
    other, _ = family(rpc, tag, "Paul", "Bernard", "Tom", (date.today() - timedelta(days=500)).isoformat())
    child = ours["children"][0]["id"]
    today = date.today()
    year = today.year if today.month >= 9 else today.year - 1
    school = rpc.call("canteen", "add_school", f"École Données {tag}", "public")
    rpc.call("canteen", "enrol", child, school["id"], f"{year}-{year + 1}")
    rpc.call("canteen", "set_diet", child, "vegetarien", False)
    rpc.call("childcare", "register", child, "occasional")
    slots = rpc.call("childcare", "slots", today.isoformat(), (today + timedelta(days=27)).isoformat())
    slot = next(s for s in slots if s["available"] and not s["closed"] and not s["past"])
    rpc.call("childcare", "book", ours["id"], child, slot["id"], f"lefevre.{tag}@example.org")
    rpc.call("billing", "set_family_resources", ours["id"], {
        "from": f"{year}-09-01", "quotient": 654, "monthly_resources_cents": 240000, "dependent_children": 1,
        "disability": False}, admin["id"])
    rpc.call("billing", "sign_mandate", ours["id"], IBAN, f"Hélène Lefèvre{tag}", True)
    rpc.close()
    return {"tag": tag, "family": ours, "other": other, "username": username, "admin": f"rgpd-{tag}",
            "slot": slot}


def secrets_of(suite, username):
    """The account's password hash and its sessions' digests, straight from identity's database file."""
    path = suite.database_urls["identity"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        password_hash, account_id = db.execute("SELECT password_hash, id FROM accounts WHERE username = ?",
                                               (username,)).fetchone()
        digests = [row[0] for row in db.execute("SELECT digest FROM auth_tokens WHERE subject_id = ?", (account_id,))]
        keys = [row[0] for row in db.execute("SELECT key_digest FROM activation_keys")]
    return [password_hash, *digests, *keys]


def test_a_parent_downloads_the_familys_data_as_json_and_pdf(suite, town, page, check):
    log_in(page, town["username"], PASSWORD)
    page.goto("/mon-espace/")
    page.get_by_role("link", name="Voir et télécharger mes données").click()
    expect(heading(page)).to_have_text("Mes données")
    expect(page.get_by_role("navigation", name="Mon espace").get_by_role("link", name="Mes données")).to_have_attribute(
        "aria-current", "page")
    expect(page.get_by_role("table", name="Durées de conservation : Famille et espaces personnels")).to_contain_text(
        "Historique de votre espace")
    expect(page.get_by_role("table", name="Durées de conservation : Restauration scolaire")).to_contain_text(
        "1 an après la fin de l'année scolaire de l'absence")
    expect(page.get_by_role("table", name="Durées de conservation : Facturation")).to_contain_text("10 ans")
    assert page.evaluate(NO_HORIZONTAL_SCROLL)
    check(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger mes données (JSON)").click()
    assert download.value.suggested_filename.endswith(".json")
    raw = open(download.value.path(), "rb").read()
    export = json.loads(raw)
    tag, services = town["tag"], export["services"]
    assert export["family"]["dossier"] == town["family"]["dossier"]
    assert [r["last_name"] for r in services["identity"]["representatives"]] == [f"Lefèvre{tag}"]
    assert [a["username"] for a in services["identity"]["accounts"]] == [town["username"]]
    assert any(e["kind"] == "login_ok" for e in services["identity"]["account_events"])
    assert services["canteen"]["enrolments"][0]["school"] == f"École Données {tag}"
    assert services["canteen"]["diets"][0]["diet"] == "Végétarien"
    assert services["childcare"]["registrations"][0]["child"] == f"Zoé Lefèvre{tag}"
    assert [b["day"] for b in services["childcare"]["bookings"]] == [town["slot"]["date"]]
    assert services["billing"]["resources"][0]["quotient"] == 654
    assert services["billing"]["mandates"][0]["iban"] == "•••• 0189"
    assert services["payment"]["card_transactions"] == []
    text = raw.decode("utf-8")
    assert IBAN not in text and "30006000011234567890" not in text
    assert f"Bernard{tag}" not in text and town["other"]["id"] not in text
    for secret in secrets_of(suite, town["username"]):
        assert secret not in text
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger mes données (PDF)").click()
    assert download.value.suggested_filename.endswith(".pdf")
    pdf = " ".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    for words in (f"Hélène Lefèvre{tag}", f"Zoé Lefèvre{tag}", f"Dossier n° {town['family']['dossier']}",
                  "Restauration scolaire", f"École Données {tag}", "•••• 0189", "Végétarien"):
        assert words in pdf, words
    assert f"Bernard{tag}" not in pdf


def test_an_administrator_reads_the_periods_and_purges_and_exports_a_family_by_post(suite, town, new_page, check):
    agent = new_page(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    log_in(agent, town["admin"], PASSWORD)
    agent.goto("/agents/")
    agent.get_by_role("link", name="Voir les données personnelles").click()
    expect(heading(agent)).to_have_text("Données personnelles")
    identity = agent.get_by_role("region", name="Purges : Famille et espaces personnels")
    expect(identity).to_contain_text("Dernières purges")
    expect(identity).to_contain_text("Historique de votre espace")   # each kind purged at start, 0 or more rows
    expect(agent.get_by_role("region", name="Purges : Restauration scolaire")).to_contain_text("Justificatifs")
    expect(agent.get_by_role("region", name="Purges : Multi-accueil (petite enfance)")).to_be_visible()
    expect(agent.get_by_text("RETENTION_CLOSED_ACCOUNTS_DAYS")).to_be_visible()
    expect(agent.get_by_text("jamais (obligation légale)").first).to_be_visible()
    assert agent.evaluate(NO_HORIZONTAL_SCROLL)
    check(agent)
    agent.get_by_label("Numéro de dossier").fill("999998")
    agent.get_by_role("button", name="Exporter").click()
    expect(agent.get_by_role("alert")).to_contain_text("Aucune famille n'a le dossier n° 999998")
    agent.get_by_label("Numéro de dossier").fill(town["family"]["dossier"])
    agent.get_by_label("Format").select_option("pdf")
    with agent.expect_download() as download:
        agent.get_by_role("button", name="Exporter").click()
    pdf = " ".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert f"Hélène Lefèvre{town['tag']}" in pdf
    agent.goto(f"/agents/journal?dossier={town['family']['dossier']}")
    expect(agent.get_by_role("table")).to_contain_text("Export des données d'une famille (demande écrite)")
