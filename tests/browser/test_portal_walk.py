"""Regressions found by walking the portal as a parent and an agent (issue 11), in a real browser.

The login links keep their spaces, a right-to-left title is isolated from the text after it, the agents'
head-count fits a 390 px phone and one very long name leaves the attendance checkboxes in reach.
"""
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient

from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

AGENT_PASSWORD = "Guichet-Parcours-Donges-9?"
PHONE_390 = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
LONG_NAME = "Maximilienne-Marie-Antoinette-Bérengère-Clothilde-Anastasia"


def today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def school_year_of(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


@pytest.fixture(scope="module")
def rpc(suite):
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="portal-walk")
    yield client
    client.close()


@pytest.fixture(scope="module")
def walk(rpc):
    """An agent with every role, a school of its own and a child with a very long name enrolled in it."""
    suffix = uuid.uuid4().hex[:6]
    agent = f"parcours-{suffix}"
    rpc.call("identity", "ensure_agent", agent, AGENT_PASSWORD, ["admin"])
    family = rpc.call("identity", "register_family", {
        "request_id": f"portal-walk-{suffix}",
        "representatives": [{"first_name": "Inès", "last_name": f"Parcours{suffix}", "email": f"ines.{suffix}@example.org"}],
        "children": [{"first_name": LONG_NAME, "last_name": f"{LONG_NAME}-Parcours{suffix}", "birth_date": "2018-04-17"}],
    })
    school = rpc.call("canteen", "add_school", f"École élémentaire publique du parcours des bords de Loire {suffix}",
                      "public")
    deadline = time.monotonic() + 30
    while not rpc.call("canteen", "family_children", family["id"]):
        assert time.monotonic() < deadline, "canteen never learnt the family's children"
        time.sleep(0.2)
    day = today() + timedelta(days=1)
    rpc.call("canteen", "enrol", family["children"][0]["id"], school["id"], school_year_of(day))
    return {"agent": agent, "school": school, "day": day, "suffix": suffix}


def test_the_login_link_keeps_its_spaces_and_its_tap_size(page):
    page.goto("/connexion")
    link = page.get_by_role("link", name="créer mon espace")
    assert link.inner_text() == "Je n'ai pas d'espace › créer mon espace"
    assert link.bounding_box()["height"] >= 44


def test_a_right_to_left_title_is_isolated_from_the_text_after_it(page, rpc, check):
    title = f"إعلان \u202eRentrée {uuid.uuid4().hex[:6]}"
    rpc.call("canteen", "publish_news", title, "Texte de l'actualité.")
    page.goto("/cantine/actualites")
    shown = page.locator("bdi", has_text=title[-6:]).first
    expect(shown).to_be_visible()
    assert shown.evaluate("element => getComputedStyle(element).unicodeBidi") == "isolate"
    # The text after the title keeps its own direction: the heading's next sibling reads left to right.
    assert shown.evaluate("element => getComputedStyle(element.closest('h2').parentElement).direction") == "ltr"
    check(page)


def cells_outside(page, selector):
    """The cells matching selector whose right edge lies beyond the viewport."""
    return page.evaluate("""selector => [...document.querySelectorAll(selector)]
        .filter(cell => cell.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .map(cell => cell.textContent.trim())""", selector)


def test_the_headcount_fits_a_390_px_phone(new_page, walk, check):
    phone = new_page(**PHONE_390)
    log_in(phone, walk["agent"], AGENT_PASSWORD)
    expect(heading(phone)).to_have_text("Espace agents")
    phone.goto(f"/agents/cantine/effectifs?date={walk['day'].isoformat()}")
    expect(heading(phone)).to_have_text("Effectifs de la cantine")
    assert cells_outside(phone, ".headcount tbody > tr > *, .headcount tfoot > tr > *") == []
    # Each figure is read with its column's name beside it.
    row = phone.get_by_role("row").filter(has=phone.get_by_role("rowheader", name=walk["school"]["name"]))
    expect(row.get_by_role("cell").first).to_have_text("0")
    check(phone)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_a_long_name_leaves_the_attendance_checkbox_in_reach(new_page, walk, check, viewport):
    page = new_page(viewport=viewport)
    log_in(page, walk["agent"], AGENT_PASSWORD)
    expect(heading(page)).to_have_text("Espace agents")
    page.goto(f"/agents/cantine/presences?ecole={walk['school']['id']}&date={walk['day'].isoformat()}")
    box = page.get_by_role("checkbox", name=LONG_NAME).bounding_box()
    assert box is not None and box["x"] + box["width"] <= viewport["width"], box
    assert cells_outside(page, ".attendance tbody > tr > *") == []
    check(page)
