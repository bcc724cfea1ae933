"""The document wallet (issue #12) in a real browser against the whole suite: a parent's wrong file is refused, a
real one is uploaded and waits; an agent of Affaires Scolaires finds it from the agents' home, opens its file (the
read is recorded) and accepts it; the parent then reads «accepté» and the family file links to the wallet. Each page
is checked with axe-core and for horizontal scroll."""
import io
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient

from .pages import heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Porte-Documents-44480!"
AGENT_PASSWORD = "Agent-Documents-Donges-7?"


def one_page_pdf():
    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()


def today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()


@pytest.fixture(scope="module")
def rpc(suite):
    client = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="wallet-journey")
    yield client
    client.close()


@pytest.fixture(scope="module")
def family(rpc):
    suffix = uuid.uuid4().hex[:6]
    registered = rpc.call("identity", "register_family", {
        "request_id": f"wallet-journey-{suffix}",
        "representatives": [{"first_name": "Inès", "last_name": f"Porte{suffix}", "email": f"ines.{suffix}@example.org"}],
        "children": [{"first_name": "Noé", "last_name": f"Porte{suffix}", "birth_date": "2019-06-02"}]})
    key = rpc.call("identity", "issue_key", registered["representatives"][0]["id"])["key"]
    username = f"ines.{suffix}"
    rpc.call("identity", "create_account", key, username, f"ines.{suffix}@example.org", PASSWORD, "10.0.0.9")
    agent = f"documents-{suffix}"
    rpc.call("identity", "ensure_agent", agent, AGENT_PASSWORD, ["affaires_scolaires"])
    return {"id": registered["id"], "dossier": registered["dossier"], "username": username, "agent": agent,
            "name": f"Inès Porte{suffix}"}


def test_a_parent_uploads_an_agent_accepts_and_the_parent_reads_accepte(phone_page, page, family, rpc, check):
    parent, agent = phone_page, page
    until = (today() + timedelta(days=60)).isoformat()

    # --- The parent: Mon espace › Porte-documents ---------------------------------------------------------------
    log_in(parent, family["username"], PASSWORD)
    parent.goto("/mon-espace/")
    parent.get_by_role("link", name="Ouvrir mon porte-documents").click()
    expect(heading(parent)).to_have_text("Mon porte-documents")
    expect(parent.get_by_role("navigation", name="Mon espace").get_by_role("link", name="Porte-documents")) \
        .to_have_attribute("aria-current", "page")
    expect(parent.locator("#etat-caf_notice")).to_contain_text("manquant")
    check(parent)

    # A web page renamed .pdf is refused, in French, beside the file field; nothing is stored.
    parent.get_by_label("Type de document").select_option(label="Certificat médical")
    parent.get_by_label("Valable jusqu'au").fill(until)
    parent.get_by_label("Fichier").set_input_files({"name": "certificat.pdf", "mimeType": "application/pdf",
                                                    "buffer": b"<html><script>alert(1)</script></html>"})
    parent.get_by_role("button", name="Déposer le document").click()
    expect(parent.get_by_role("alert")).to_contain_text("Le justificatif doit être un fichier PDF, JPEG ou PNG.")
    expect(parent.get_by_label("Fichier")).to_have_attribute("aria-invalid", "true")
    assert rpc.call("identity", "family_documents", family["id"])["documents"] == []

    # A real PDF is kept, pending.
    parent.get_by_label("Type de document").select_option(label="Certificat médical")
    parent.get_by_label("Valable jusqu'au").fill(until)
    parent.get_by_label("Fichier").set_input_files({"name": "certificat.pdf", "mimeType": "application/pdf",
                                                    "buffer": one_page_pdf()})
    parent.get_by_role("button", name="Déposer le document").click()
    expect(parent.get_by_role("status")).to_contain_text("Document « Certificat médical » déposé")
    item = parent.locator(".absence-item").filter(has_text="Certificat médical")
    expect(item).to_contain_text("en attente de vérification")
    check(parent)

    # --- The agent: from the agents' home to the queue, the file, the decision ----------------------------------
    log_in(agent, family["agent"], AGENT_PASSWORD)
    agent.goto("/agents/")
    agent.get_by_role("link", name="Porte-documents : les documents des familles à vérifier").click()
    expect(heading(agent)).to_have_text("Porte-documents des familles")
    card = agent.locator("section.card").filter(has_text=family["name"])
    expect(card).to_contain_text(f"dossier {family['dossier']}")
    href = card.get_by_role("link", name="Ouvrir le fichier").get_attribute("href")
    opened = agent.request.get(href)
    assert opened.status == 200 and opened.headers["content-type"] == "application/pdf"
    assert opened.body().startswith(b"%PDF-")
    check(agent)
    card.get_by_role("button", name="Accepter").click()
    expect(agent.get_by_role("status")).to_contain_text("Document « Certificat médical » accepté.")

    # The family file links to the family's wallet, which shows who read the file.
    agent.goto(f"/agents/familles/{family['id']}")
    agent.get_by_role("link", name="Porte-documents de la famille").click()
    expect(heading(agent)).to_have_text(f"Porte-documents de la famille {family['dossier']}")
    expect(agent.get_by_role("main")).to_contain_text("Certificat médical : accepté")
    expect(agent.get_by_role("main")).to_contain_text(f"Lu par : agent:")
    check(agent)

    # --- The parent reads «accepté» ------------------------------------------------------------------------------
    deadline = time.monotonic() + 10
    parent.reload()
    while "accepté" not in item.inner_text() and time.monotonic() < deadline:
        time.sleep(0.2)
        parent.reload()
    expect(item).to_contain_text("accepté")
    expect(item).to_contain_text("Valable jusqu'au")
    check(parent)
