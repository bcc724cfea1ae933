"""The health record («fiche sanitaire», issue #12) in a real browser against the whole suite.

A parent fills her daughter's record from Mon espace; an agent of Affaires Scolaires sees the allergy flag on the
canteen's attendance sheet, follows it to the record; an agent of Petite Enfance following the family file's link is
refused with a French page; the parent sees both reads. Each page is checked with axe-core and for horizontal scroll.
"""
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient

from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Fiche-Sanitaire-44!"


def today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def school_year_of(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


@pytest.fixture(scope="module")
def town(suite):
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="health-record-browser")
    tag = uuid.uuid4().hex[:6]
    family = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Claire", "last_name": f"Fiche{tag}"}],
        "children": [{"first_name": "Léa", "last_name": f"Fiche{tag}", "birth_date": "2018-04-17"}]})
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    rpc.call("identity", "create_account", key, f"claire.{tag}", f"claire.{tag}@example.org", PASSWORD)
    rpc.call("identity", "ensure_agent", f"cantine-{tag}", PASSWORD, ["affaires_scolaires"])
    rpc.call("identity", "ensure_agent", f"creche-{tag}", PASSWORD, ["petite_enfance"])
    school = rpc.call("canteen", "add_school", f"École Fiche {tag}", "public")["id"]
    deadline = time.monotonic() + 30
    while not rpc.call("canteen", "family_children", family["id"]):
        assert time.monotonic() < deadline, "canteen never learnt the family's children"
        time.sleep(0.2)
    child = family["children"][0]
    rpc.call("canteen", "enrol", child["id"], school, school_year_of(today()))
    yield {"rpc": rpc, "tag": tag, "family": family["id"], "child": child["id"], "school": school}
    rpc.close()


def test_parent_fills_the_record_the_canteen_agent_sees_the_flag_and_the_parent_sees_the_read(
        new_page, town, check):
    tag = town["tag"]
    parent = new_page()
    log_in(parent, f"claire.{tag}", PASSWORD)
    parent.goto("/mon-espace/securite")
    parent.get_by_role("navigation", name="Mon espace").get_by_role("link", name="Fiches sanitaires").click()
    expect(heading(parent)).to_have_text("Fiches sanitaires")
    expect(parent.get_by_role("listitem").filter(has_text="Léa")).to_contain_text("fiche à remplir")
    check(parent)
    parent.get_by_role("link", name=f"Léa Fiche{tag}").click()
    expect(heading(parent)).to_have_text(f"Fiche sanitaire de Léa Fiche{tag}")
    check(parent)
    parent.get_by_label("Allergies").fill("Arachide, kiwi")
    parent.get_by_label("Traitement en cours").fill("Ventoline en cas de crise")
    parent.get_by_label("Médecin traitant").fill("Dr Lemoine")
    parent.get_by_label("Téléphone du médecin").fill("02 40 45 00 00")
    parent.get_by_label("Les vaccinations obligatoires sont à jour").check()
    parent.locator("#ap-0-name").fill("Monique Fiche")
    parent.locator("#ap-0-phone").fill("06 11 22 33 44")
    parent.locator("#ap-0-relation").select_option("grand_parent")
    parent.locator("#ec-0-name").fill("Paul Fiche")
    parent.locator("#ec-0-phone").fill("12")  # not a phone number: refused in French, nothing saved
    parent.get_by_role("button", name="Enregistrer la fiche sanitaire").click()
    expect(parent.get_by_role("alert")).to_contain_text("n'est pas un numéro français valide")
    expect(parent.get_by_label("Allergies")).to_have_value("Arachide, kiwi")  # what she typed is kept
    parent.locator("#ec-0-phone").fill("06 55 44 33 22")
    parent.get_by_role("button", name="Enregistrer la fiche sanitaire").click()
    expect(parent.locator(".flash")).to_contain_text(
        "La fiche sanitaire de Léa est enregistrée")
    expect(parent.get_by_text("Aucun agent n'a consulté cette fiche.")).to_be_visible()

    # The canteen's agent: the flag on the attendance sheet, once identity's event reached the canteen.
    agent = new_page()
    log_in(agent, f"cantine-{tag}", PASSWORD)
    sheet = f"/agents/cantine/presences?ecole={town['school']}&date={today().isoformat()}"
    flag = agent.get_by_role("link", name=f"Allergie : Arachide, kiwi · traitement — fiche sanitaire de Léa Fiche{tag}")
    deadline = time.monotonic() + 20
    while True:
        agent.goto(sheet)
        if flag.count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(flag).to_be_visible()
    check(agent)
    flag.click()
    expect(heading(agent)).to_have_text(f"Fiche sanitaire de Léa Fiche{tag}")
    expect(agent.locator("dl")).to_contain_text("Arachide, kiwi")
    expect(agent.get_by_role("listitem").filter(has_text="Monique Fiche")).to_contain_text("06 11 22 33 44")
    check(agent)

    # The family file links the canteen's agent to the record; the crèche's agent, whose service does not know Léa,
    # gets no link, and the address typed by hand is refused in French (and recorded).
    agent.goto(f"/agents/familles/{town['family']}")
    expect(agent.get_by_role("link", name=f"fiche sanitaire de Léa Fiche{tag}")).to_be_visible()
    creche = new_page()
    log_in(creche, f"creche-{tag}", PASSWORD)
    creche.goto(f"/agents/familles/{town['family']}")
    expect(creche.get_by_role("heading", name="Enfants")).to_be_visible()
    expect(creche.get_by_role("link", name=f"fiche sanitaire de Léa Fiche{tag}")).to_have_count(0)
    refused = creche.goto(f"/agents/enfants/{town['child']}/fiche-sanitaire")
    assert refused.status == 403
    expect(creche.locator("main")).to_contain_text("Vous n'avez pas accès à la fiche sanitaire de cet enfant")
    check(creche)

    # The parent sees who read the record, and who was refused.
    parent.reload()
    reads = parent.get_by_role("region", name="Consultations par les agents")
    expect(reads.get_by_role("row").filter(has_text=f"cantine-{tag}")).to_contain_text("consultée")
    expect(reads.get_by_role("row").filter(has_text=f"creche-{tag}")).to_contain_text("refusée")
    check(parent)


def test_the_record_pages_fit_a_phone(new_page, town, check):
    from .conftest import PHONE
    phone = new_page(**PHONE)
    log_in(phone, f"claire.{town['tag']}", PASSWORD)
    phone.goto(f"/mon-espace/fiches-sanitaires/{town['child']}")
    expect(heading(phone)).to_contain_text("Fiche sanitaire de Léa")
    check(phone)
    phone.goto("/mon-espace/fiches-sanitaires/un-autre-enfant")
    expect(phone.locator("main")).to_contain_text("Cet enfant n'existe pas")
