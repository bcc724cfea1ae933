"""The development outbox of local runs: the mails the services wrote, with links to follow."""
import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Outbox-Donges-Locale-9!"


def test_a_mail_of_the_outbox_and_its_link(phone_page, suite, assert_accessible):
    suffix = uuid.uuid4().hex[:6]
    email = f"outbox.{suffix}@example.org"
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="outbox-tests")
    try:
        family = client.call("identity", "register_family", {
            "representatives": [{"first_name": "Inès", "last_name": f"Morel{suffix}"}], "children": []})
        key = client.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
        client.call("identity", "create_account", key, f"ines.{suffix}", email, PASSWORD, "192.0.2.9")
    finally:
        client.close()

    page = phone_page
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="courriels envoyés par l'application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Courriels envoyés")
    mail = page.get_by_role("article").filter(has_text=email)
    deadline = time.monotonic() + 15
    while mail.count() == 0 and time.monotonic() < deadline:  # the relay sends after commit
        time.sleep(0.3)
        page.reload()
    expect(mail).to_have_count(1)
    expect(mail.get_by_role("heading", level=2)).to_have_text(
        "Bienvenue sur l'Espace Famille : confirmez votre adresse e-mail")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert_accessible(page)
    mail.get_by_role("link", name=re.compile("confirmer-email")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adresse e-mail confirmée")
    expect(page.get_by_role("status")).to_contain_text(email)
