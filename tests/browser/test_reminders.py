"""Reminders by e-mail (issue #12) in a real browser: a parent opts in on «Mon espace › Rappels par courriel», the
reminder «la semaine prochaine n'est pas réservée» reaches a real SMTP server once, and the agent sees the choice and
the reminder sent in the family's file.

The services live on Wednesday 2 December 2026 at 10:30 in Donges (EF_CLOCK): next week's first deadline is
Thursday 3rd at 10:00. Identity's reminders' timer is off (an hour) while the family is set up, then identity is
restarted with a timer of one second.
"""
import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient
from espace_deploy.testing import MailCatcher, link_in, start_suite, stop_suite

from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

WEDNESDAY = "2026-12-02T10:30:00+01:00"
AGENT_PASSWORD = "Guichet-Mairie-Donges-2026!"
PARENT_PASSWORD = "Claire-Cantine-44480!"
SUBJECT = "La semaine prochaine n'est pas réservée"
PAST_SCHOOL_DAYS = ["2026-11-16", "2026-11-17", "2026-11-19", "2026-11-20", "2026-11-23", "2026-11-24",
                    "2026-11-26", "2026-11-27", "2026-11-30", "2026-12-01"]


@pytest.fixture(scope="module")
def mailbox():
    catcher = MailCatcher()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="module")
def suite(tmp_path_factory, mailbox):
    running = start_suite(tmp_path_factory.mktemp("reminders-var"), SMTP_URL=mailbox.url, EF_CLOCK=WEDNESDAY,
                          REMINDER_TIMER_SECONDS="3600")
    yield running
    stop_suite(running)


@pytest.fixture(scope="module")
def rpc(suite):
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="reminders-tests")
    yield client
    client.close()


@pytest.fixture(scope="module")
def family(rpc, mailbox):
    """The Martins, registered by the agents, Claire's account created and her address confirmed; Léa ate at the
    canteen the last three weeks and has nothing reserved next week."""
    suffix = uuid.uuid4().hex[:6]
    found = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Claire", "last_name": f"Martin{suffix}", "email": f"c.{suffix}@example.org"}],
        "children": [{"first_name": "Léa", "last_name": f"Martin{suffix}", "birth_date": "2018-04-17"}]})
    username, email = f"claire.{suffix}", f"claire.perso.{suffix}@example.org"
    key = rpc.call("identity", "issue_key", found["representatives"][0]["id"])["key"]
    rpc.call("identity", "create_account", key, username, email, PARENT_PASSWORD)
    rpc.call("identity", "confirm_email", link_in(mailbox.wait_for(email)[0], "confirmer-email").rsplit("/", 1)[1])
    child = found["children"][0]["id"]
    deadline = time.monotonic() + 15
    while not rpc.call("canteen", "family_children", found["id"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    school = rpc.call("canteen", "add_school", "École Jules Verne", "public", "1 rue des Écoles")["id"]
    rpc.call("canteen", "enrol", child, school, "2026-2027")
    rpc.call("canteen", "regularise_reservations", child, PAST_SCHOOL_DAYS)
    agent = f"guichet-{suffix}"
    rpc.call("identity", "ensure_agent", agent, AGENT_PASSWORD, ["affaires_scolaires"])
    return {"id": found["id"], "dossier": found["dossier"], "username": username, "email": email, "agent": agent,
            "last_name": f"Martin{suffix}"}


def test_the_parent_opts_in_the_reminder_leaves_once_and_the_agent_sees_both(phone_page, page, suite, family,
                                                                             mailbox, check):
    # --- The parent opts in, on a phone ---------------------------------------------------------------------
    parent = phone_page
    log_in(parent, family["username"], PARENT_PASSWORD)
    expect(heading(parent)).to_have_text(re.compile("tableau de bord", re.I))
    parent.goto("/mon-espace/securite")
    parent.get_by_role("navigation", name="Mon espace").get_by_role("link", name="Rappels par courriel").click()
    expect(heading(parent)).to_have_text("Rappels par courriel")
    expect(parent.locator("#etat-email-rappels")).to_have_text("confirmée")
    canteen_box = parent.get_by_label("Semaine de cantine non réservée")
    invoice_box = parent.get_by_label("Facture à payer")
    expect(canteen_box).not_to_be_checked()  # off until the parent says yes
    expect(invoice_box).not_to_be_checked()
    check(parent)
    canteen_box.check()
    parent.get_by_role("button", name="Enregistrer mes choix").click()
    expect(parent.get_by_role("status")).to_contain_text("Vos choix de rappels sont enregistrés.")
    expect(parent.get_by_label("Semaine de cantine non réservée")).to_be_checked()
    expect(parent.get_by_label("Facture à payer")).not_to_be_checked()
    check(parent)

    # --- The reminders' timer runs (identity restarted with it on): one mail, whatever the ticks -----------------
    suite.stop("identity")
    suite.start_service("identity", EF_CLOCK=WEDNESDAY, REMINDER_TIMER_SECONDS="1")
    suite.wait_ready(timeout=60)
    deadline = time.monotonic() + 30
    while not [m for m in mailbox.to(family["email"]) if m["Subject"] == SUBJECT] and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # more ticks: nothing more leaves
    reminders = [m for m in mailbox.to(family["email"]) if m["Subject"] == SUBJECT]
    assert len(reminders) == 1
    body = reminders[0].get_body(preferencelist=("plain",)).get_content()
    assert "Léa" in body and "lundi 7 décembre 2026" in body and "/mon-espace/rappels" in body

    # --- The agent sees the choice and the reminder sent in the family's file -------------------------------------
    log_in(page, family["agent"], AGENT_PASSWORD)
    expect(heading(page)).to_have_text("Espace agents")
    page.goto(f"/agents/familles/{family['id']}")
    expect(heading(page)).to_have_text(f"Dossier n° {family['dossier']}")
    section = page.get_by_role("region", name="Rappels par courriel")
    expect(section).to_contain_text(f"Claire {family['last_name']} ({family['username']}) :")
    expect(section).to_contain_text("Semaine de cantine non réservée, avant la date limite")
    expect(section).not_to_contain_text("Facture à payer")
    row = section.get_by_role("row").filter(has_text="Semaine du 7 décembre 2026 : Léa")
    expect(row).to_contain_text(family["email"])
    # The mails section lists it too, as every mail identity sent to the family.
    expect(page.get_by_role("region", name="Courriers électroniques envoyés")).to_contain_text(
        SUBJECT)
    check(page)
