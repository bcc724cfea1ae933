"""Messages to the service (issue #12) in a real browser against the whole suite, its mails caught by a real SMTP
server: a parent writes to Affaires Scolaires about a child with a PDF attached; the service's mailbox gets the
link; an agent of Petite Enfance is refused the conversation; the agent of Affaires Scolaires opens it from the
mail's link, reads the attachment, answers and closes; the parent is mailed each time, follows the link and sees
the answer and the closed state, with no reply form left. Each page is checked with axe-core and for horizontal
scroll."""
import io
import re
import uuid

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient
from espace_deploy.testing import MailCatcher, link_in, start_suite, stop_suite

from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Messages-Donges-44480!"
SCHOOL_MAILBOX = "affaires-scolaires@mairie-donges.fr"  # identity's default (config.yml)


def one_page_pdf():
    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def mailbox():
    catcher = MailCatcher()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="module")
def suite(tmp_path_factory, mailbox):
    """This module's own suite, whose services mail the SMTP server above (it overrides the shared one)."""
    running = start_suite(tmp_path_factory.mktemp("messages-var"), SMTP_URL=mailbox.url)
    yield running
    stop_suite(running)


@pytest.fixture(scope="module")
def rpc(suite):
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="messages-journey")
    yield client
    client.close()


@pytest.fixture(scope="module")
def people(rpc, mailbox):
    suffix = uuid.uuid4().hex[:6]
    family = rpc.call("identity", "register_family", {
        "request_id": f"messages-journey-{suffix}",
        "representatives": [{"first_name": "Inès", "last_name": f"Message{suffix}"}],
        "children": [{"first_name": "Noé", "last_name": f"Message{suffix}", "birth_date": "2018-09-03"}]})
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    username, email = f"ines.{suffix}", f"ines.{suffix}@example.org"
    rpc.call("identity", "create_account", key, username, email, PASSWORD, "10.0.0.9")
    token = link_in(mailbox.wait_for(email)[0], "confirmer-email").rsplit("/", 1)[1]
    rpc.call("identity", "confirm_email", token)
    school, creche = f"ecole-{suffix}", f"creche-{suffix}"
    rpc.call("identity", "ensure_agent", school, PASSWORD, ["affaires_scolaires"])
    rpc.call("identity", "ensure_agent", creche, PASSWORD, ["petite_enfance"])
    return {"username": username, "email": email, "school": school, "creche": creche, "suffix": suffix}


def test_a_parent_writes_with_an_attachment_the_agent_answers_and_closes(new_page, people, mailbox, check, tmp_path):
    subject = f"Repas de Noé du 7 décembre {people['suffix']}"
    parent = new_page()
    log_in(parent, people["username"], PASSWORD)
    parent.goto("/mon-espace/coordonnees")
    parent.get_by_role("navigation", name="Mon espace").get_by_role("link", name="Messages").click()
    expect(heading(parent)).to_have_text("Mes messages aux services")
    check(parent)
    parent.get_by_role("link", name="Écrire un nouveau message").click()
    expect(heading(parent)).to_have_text("Écrire au service")
    check(parent)
    parent.get_by_label("Affaires Scolaires").check()
    parent.get_by_label("Objet").fill(subject)
    parent.get_by_label("Enfant concerné").select_option(label=f"Noé Message{people['suffix']}")
    parent.get_by_label("Message").fill("Bonjour,\nNoé était absent le 7, voici le certificat.")
    certificate = tmp_path / "certificat.pdf"
    certificate.write_bytes(one_page_pdf())
    parent.get_by_label("Pièce jointe").set_input_files(str(certificate))
    parent.get_by_role("button", name="Envoyer le message").click()
    expect(heading(parent)).to_have_text(subject)
    expect(parent.get_by_role("status")).to_contain_text("Votre message est envoyé au service Affaires Scolaires")
    expect(parent.locator("#etat-conversation")).to_have_text("Envoyé")
    expect(parent.get_by_role("link", name="certificat.pdf")).to_be_visible()
    check(parent)

    # The service's mailbox is told, with the link to the agents' page and nothing personal beyond the subject.
    notice = next(m for m in mailbox.wait_for(SCHOOL_MAILBOX) if people["suffix"] in str(m["Subject"]))
    agent_link = link_in(notice, "agents/messages")
    assert "certificat" not in notice.get_body(preferencelist=("plain",)).get_content()

    # An agent of the other service may not read it.
    other = new_page()
    log_in(other, people["creche"], PASSWORD)
    response = other.goto(agent_link)
    assert response.status == 403
    expect(other.get_by_role("main")).to_contain_text("réservée à ses agents")

    # The agent of Affaires Scolaires: the inbox, the conversation from the mail's link, the attachment.
    agent = new_page()
    log_in(agent, people["school"], PASSWORD)
    agent.get_by_role("link", name="Lire et répondre aux messages adressés à vos services").click()
    expect(heading(agent)).to_have_text("Messages des familles")
    row = agent.get_by_role("row").filter(has_text=subject)
    expect(row).to_contain_text("Non lu")
    check(agent)
    agent.goto(agent_link)
    expect(heading(agent)).to_have_text(subject)
    expect(agent.get_by_role("main")).to_contain_text("voici le certificat")
    check(agent)
    attachment = agent.request.get(agent.get_by_role("link", name="certificat.pdf").get_attribute("href"))
    assert attachment.status == 200 and attachment.headers["content-type"] == "application/pdf"
    assert attachment.body()[:5] == b"%PDF-"
    agent.get_by_label("Votre message").fill("Bien reçu : le repas du 7 ne sera pas facturé.")
    agent.get_by_role("button", name="Envoyer", exact=True).click()
    expect(agent.get_by_role("status")).to_contain_text("Votre message est envoyé")
    expect(agent.locator("#etat-conversation")).to_have_text("Répondu")
    answered = mailbox.wait_for(people["email"], count=2)[-1]
    assert str(answered["Subject"]) == "Le service Affaires Scolaires a répondu à votre message"
    assert "facturé" not in answered.get_body(preferencelist=("plain",)).get_content()
    agent.get_by_role("button", name="Clore la conversation").click()
    expect(agent.get_by_role("status")).to_contain_text("est close")
    expect(agent.locator("#etat-conversation")).to_have_text("Clos")
    check(agent)
    closing = mailbox.wait_for(people["email"], count=3)[-1]
    assert "est close" in str(closing["Subject"])

    # The parent follows the mail's link: the answer, signed by the service, and the closed state.
    parent.goto(link_in(closing, "mon-espace/messages"))
    expect(heading(parent)).to_have_text(subject)
    expect(parent.get_by_role("main")).to_contain_text("le repas du 7 ne sera pas facturé")
    expect(parent.get_by_role("main")).to_contain_text("Service Affaires Scolaires")
    expect(parent.locator("#etat-conversation")).to_have_text("Clos")
    expect(parent.get_by_role("button", name="Envoyer")).to_have_count(0)
    expect(parent.get_by_role("link", name="Écrire un nouveau message au service Affaires Scolaires")).to_be_visible()
    check(parent)
    parent.get_by_role("link", name="Retour à mes messages").click()
    expect(parent.get_by_role("listitem").filter(has_text=subject)).to_contain_text("Clos")
    assert re.search(r"/mon-espace/messages$", parent.url)
