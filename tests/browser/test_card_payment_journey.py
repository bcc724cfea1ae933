"""Issue 10's "Done when", in a real browser against the whole suite and the Paybox sandbox (a process of its own).

Last month's canteen run is started by RPC, computed and finalised: two families have an issued invoice. The first
parent opens «mon compte», opens the invoice, is handed to the sandbox (here without script: the page's own button,
after the page is checked with axe-core), pays with the test card, comes back to a page that says it is paid, sees the
invoice paid and gets the receipt by e-mail; the same invoice left open in another tab is then refused with its reason.
The second pays from the list (the page posts itself to the sandbox, reached as another site than the gateway's, as
Paybox is) with the refused card: back with the session cookie, the return page says why (00151) and the invoice stays
to pay.
"""
import time
import uuid
from datetime import date, timedelta

import pytest
import requests
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient
from espace_deploy.testing import computed_run

from .conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP
from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Carte-Bleue-Donges-44!"
ADMIN_PASSWORD = "Admin-Tarifs-Donges-9?"
CANTEEN_GRID = {"regie": "affaires_scolaires", "from": "2025-08-04", "unreserved_meal_price_cents": 410,
                "pai_meal_price_cents": 120,
                "brackets": [{"quotient_max": 700, "meal_price_cents": 190}, {"quotient_max": None, "meal_price_cents": 415}]}
TEST_CARD, REFUSED_CARD = "1111 2222 3333 4444", "1111 2222 3333 4441"
# Another site than the gateway's (127.0.0.1): Paybox is one, and the parent's session cookie (SameSite=Lax) must
# still come back with the browser sent home by Paybox's redirect.
SANDBOX_HOST = "paybox-sandbox.test"


def parent_with_a_pupil(rpc, tag, first_name, school_id, school_year):
    family = rpc.call("identity", "register_family", {
        "request_id": f"card-journey-{first_name}-{tag}",
        "representatives": [{"first_name": first_name, "last_name": f"Carte{tag}",
                             "address": {"line1": "3 rue du Port", "line2": "", "postal_code": "44480",
                                         "city": "Donges"}}],
        "children": [{"first_name": f"Noé{first_name}", "last_name": f"Carte{tag}", "birth_date": "2018-03-01"}]})
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    username, email = f"{first_name.lower()}.carte{tag}", f"{first_name.lower()}.carte{tag}@example.org"
    rpc.call("identity", "create_account", key, username, email, PASSWORD, "10.0.0.9")
    deadline = time.monotonic() + 30
    for service in ("canteen", "billing"):
        while not rpc.call(service, "family_children", family["id"]):
            assert time.monotonic() < deadline, f"{service} never learnt the family"
            time.sleep(0.2)
    child = family["children"][0]["id"]
    rpc.call("canteen", "enrol", child, school_id, school_year)
    return {"id": family["id"], "child": child, "username": username, "email": email}


@pytest.fixture(scope="module")
def month(suite):
    """Last month's canteen invoices, finalised, of two families who ate without reservation."""
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="card-journey")
    tag = uuid.uuid4().hex[:6]
    rpc.call("identity", "ensure_agent", f"tarifs-{tag}", ADMIN_PASSWORD, ["admin"])
    admin = requests.post(f"{suite.url}/api/v1/auth/token", json={"username": f"tarifs-{tag}",
                                                                   "password": ADMIN_PASSWORD}, timeout=30).json()
    grid = requests.post(f"{suite.url}/api/v1/tariffs", json=CANTEEN_GRID, timeout=10,
                         headers={"Authorization": f"Bearer {admin['access_token']}"})
    assert grid.status_code in (201, 409), grid.text  # 409: another test of the suite already set the grid
    last = date.today().replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    while not [d for d in rpc.call("canteen", "school_days", first.isoformat(), last.isoformat()) if d["open"]]:
        last = first - timedelta(days=1)  # August has no school: the month before
        first = last.replace(day=1)
    year = first.year if first.month >= 9 else first.year - 1
    school = rpc.call("canteen", "add_school", f"École Carte {tag}", "public")
    days = [d["date"] for d in rpc.call("canteen", "school_days", first.isoformat(), last.isoformat()) if d["open"]]
    payer = parent_with_a_pupil(rpc, tag, "Ines", school["id"], f"{year}-{year + 1}")
    refused = parent_with_a_pupil(rpc, tag, "Malo", school["id"], f"{year}-{year + 1}")
    for day in days[:2]:  # the day's list of who ate, without reservation
        rpc.call("canteen", "record_attendance", school["id"], day, [payer["child"], refused["child"]])
    run = computed_run(rpc, rpc.call("billing", "start_invoicing_run", "affaires_scolaires", first.strftime("%Y-%m"),
                                     "card-journey"))
    assert run["status"] == "draft", run
    assert {payer["id"], refused["id"]} <= {i["family_id"] for i in run["invoices"]}, (payer, refused, run)
    assert rpc.call("billing", "finalize_run", run["id"], "card-journey")["status"] == "final"
    for parent in (payer, refused):
        invoices = rpc.call("billing", "family_invoices", parent["id"])["invoices"]
        assert [i["status"] for i in invoices] == ["issued"], invoices
        parent["invoice"] = invoices[0]
    rpc.close()
    return {"payer": payer, "refused": refused}


@pytest.fixture(scope="module")
def cross_site_browser(browser):
    """A Chromium where SANDBOX_HOST is the sandbox's machine: the sandbox then is another site than the gateway."""
    other = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + [
        f"--host-resolver-rules=MAP {SANDBOX_HOST} 127.0.0.1"])
    yield other
    other.close()


@pytest.fixture
def open_page(browser, cross_site_browser, suite):
    """A page on the gateway that may also go to the Paybox sandbox (any other origin is blocked and fails);
    cross_site=True reaches the sandbox by SANDBOX_HOST."""
    contexts, elsewhere = [], []
    sandbox_alias = suite.sandbox_url.replace("127.0.0.1", SANDBOX_HOST)

    def block(route):
        elsewhere.append(route.request.url)
        route.abort()

    def by_alias(route):
        """The hand-over page as the gateway made it, with the sandbox's address (and the page's policy) by alias."""
        response = route.fetch()
        headers = {name: value.replace(suite.sandbox_url, sandbox_alias) for name, value in response.headers.items()}
        route.fulfill(response=response, headers=headers, body=response.text().replace(suite.sandbox_url, sandbox_alias))

    def make(cross_site=False):
        chromium = cross_site_browser if cross_site else browser
        context = chromium.new_context(locale="fr-FR", timezone_id="Europe/Paris", base_url=suite.url, **DESKTOP)
        context.set_default_timeout(15_000)
        allowed = (suite.url + "/", (sandbox_alias if cross_site else suite.sandbox_url) + "/")
        context.route(lambda url: not url.startswith(allowed), block)
        if cross_site:
            context.route(lambda url: url.startswith(suite.url + "/mon-compte/factures/") and url.endswith("/payer"),
                          by_alias)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert not elsewhere, f"the page asked for something outside the site and the sandbox: {elsewhere}"


def pay_in_the_sandbox(page, card):
    expect(page.get_by_role("heading", name="Paiement par carte bancaire")).to_be_visible()
    page.get_by_label("Numéro de carte").fill(card)
    page.get_by_label("Date de validité (MM/AA)").fill("12/30")
    page.get_by_label("Cryptogramme visuel").fill("123")
    page.get_by_role("button", name="Valider le paiement").click()


def test_a_parent_pays_by_card_and_another_card_is_refused(open_page, suite, month, check):
    payer, invoice = month["payer"], month["payer"]["invoice"]
    page = open_page()
    log_in(page, payer["username"], PASSWORD)
    page.goto("/mon-compte/factures")
    expect(heading(page)).to_have_text("Mes factures")
    check(page)
    page.get_by_role("link", name=f"n° {invoice['number']}").click()
    expect(heading(page)).to_have_text(f"Facture n° {invoice['number']}")
    check(page)
    stale = page.context.new_page()  # the same invoice left open in another tab
    stale.goto(page.url)

    # Without script, the hand-over page waits for the parent's click: it is checked like any page first.
    page.route("**/static/js/autosubmit.js", lambda route: route.abort())
    page.get_by_role("button", name="Payer par carte").click()
    expect(heading(page)).to_have_text("Paiement par carte")
    check(page)
    page.unroute("**/static/js/autosubmit.js")
    page.get_by_role("button", name="Continuer vers le paiement sécurisé").click()  # allowed by the page's policy
    page.wait_for_url(suite.sandbox_url + "/**")
    pay_in_the_sandbox(page, TEST_CARD)

    page.wait_for_url("**/mon-compte/paiements/**")
    # «en cours de confirmation» until the notification, then the page reloads itself (Refresh header).
    expect(heading(page)).to_have_text("Paiement accepté", timeout=30_000)
    expect(page.get_by_role("main")).to_contain_text("votre facture est réglée")
    check(page)
    page.get_by_role("link", name="Voir la facture").click()
    facts = page.locator("dl.facts")
    deadline = time.monotonic() + 20
    while "Payée" not in facts.inner_text() and time.monotonic() < deadline:  # billing hears payment.succeeded
        time.sleep(0.3)
        page.reload()
    expect(facts).to_contain_text("Payée")
    expect(facts).to_contain_text("0,00")
    expect(page.get_by_role("main")).to_contain_text("Carte bancaire")
    expect(page.get_by_role("button", name="Payer par carte")).to_have_count(0)
    # The other tab's button, clicked now, is refused on the invoice's page: nothing is paid twice.
    stale.get_by_role("button", name="Payer par carte").click()
    expect(stale.get_by_role("alert")).to_contain_text("Cette facture est déjà payée.")
    expect(heading(stale)).to_have_text(f"Facture n° {invoice['number']}")
    check(stale)

    page.goto("/dev/courriels")
    receipt = page.get_by_role("article").filter(has_text=payer["email"]).filter(
        has_text="Reçu de votre paiement par carte")
    deadline = time.monotonic() + 20
    while receipt.count() == 0 and time.monotonic() < deadline:  # the outbox relay sends after commit
        time.sleep(0.3)
        page.reload()
    expect(receipt).to_have_count(1)
    expect(receipt).to_contain_text(invoice["number"])

    # --- The refused card, paid from the list: the page posts itself to the sandbox, here another site -------------
    refused, invoice = month["refused"], month["refused"]["invoice"]
    other = open_page(cross_site=True)
    log_in(other, refused["username"], PASSWORD)
    other.goto("/mon-compte/factures")
    other.get_by_role("button", name=f"Payer par carte la facture n° {invoice['number']}").click()
    other.wait_for_url(f"http://{SANDBOX_HOST}:*/**")
    pay_in_the_sandbox(other, REFUSED_CARD)
    other.wait_for_url(suite.url + "/mon-compte/paiements/**")  # logged in still: the session cookie came back
    expect(heading(other)).to_have_text("Paiement refusé", timeout=30_000)
    expect(other.get_by_role("alert")).to_contain_text("provision insuffisante")
    expect(other.get_by_role("alert")).to_contain_text("00151")
    check(other)
    other.get_by_role("link", name="Voir la facture").click()
    expect(other.locator("dl.facts")).to_contain_text("Émise")
    expect(other.get_by_role("main")).to_contain_text("Aucun paiement reçu pour cette facture.")
    expect(other.get_by_role("button", name="Payer par carte")).to_be_visible()  # the parent may try again
