"""The documents over the real broker: billing asks the real identity for the payer and the confirmed e-mails, the
online invoice's mail reaches a real SMTP server (aiosmtpd) with its link, and the paper batch holds only the
families on paper."""
import base64
import io
import time
from datetime import date

import pytest
from pypdf import PdfReader

from espace_deploy.testing import MailCatcher, computed_run, link_in

from .test_invoicing import CANTEEN_GRID, last_month, school_year_of

pytestmark = pytest.mark.broker
PUBLIC_URL = "https://espace.example.fr"


def text_of(answer):
    content = base64.b64decode(answer["pdf_base64"])
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.fixture(scope="module")
def mail():
    catcher = MailCatcher()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="module")
def started(module_services, mail):
    env = {"SMTP_URL": mail.url, "PUBLIC_URL": PUBLIC_URL,
           "BILLING_FILES_DIR": str(module_services.folder / "billing-files")}
    for name in ("identity", "canteen", "billing"):
        module_services.start(name, wait=False, **env)
    module_services.wait_healthy()
    return module_services


def register(rpc, first_name, last_name, email, child):
    return rpc.call("identity", "register_family", {
        "representatives": [{"first_name": first_name, "last_name": last_name, "email": email,
                             "address": {"line1": "12 rue de la Gare", "postal_code": "44480", "city": "Donges"}}],
        "children": [{"first_name": child, "last_name": last_name, "birth_date": "2018-04-17"}]})


def confirmed_account(rpc, mail, family, email):
    """The parent creates the account with the mailed key and follows the confirmation link."""
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    rpc.call("identity", "create_account", key, f"parent.{family['dossier'].lower()}", email, "Brise-Marine-44!")
    token = link_in(mail.wait_for(email)[-1], "confirmer-email").rsplit("/", 1)[1]
    rpc.call("identity", "confirm_email", token)


def test_the_online_family_is_mailed_and_the_paper_batch_holds_the_others(started, mail):
    rpc = started.rpc
    suffix = str(time.monotonic_ns())[-6:]
    online_email, paper_email = f"claire.{suffix}@example.org", f"marc.{suffix}@example.org"
    online = register(rpc, "Claire", "Martin", online_email, "Léa")
    paper = register(rpc, "Marc", "Dupont", paper_email, "Tom")
    confirmed_account(rpc, mail, online, online_email)
    deadline = time.monotonic() + 15
    for service in ("canteen", "billing"):
        for family in (online, paper):
            while not rpc.call(service, "family_children", family["id"]):
                assert time.monotonic() < deadline, f"{service} did not learn the family"
                time.sleep(0.1)
    assert rpc.call("billing", "set_billing_preference", online["id"], True, "parent:test")["paperless"] is True
    first, last = last_month()
    school = rpc.call("canteen", "add_school", f"École {suffix}", "public")
    open_days = [d["date"] for d in rpc.call("canteen", "school_days", first.isoformat(), last.isoformat()) if d["open"]]
    children = [online["children"][0]["id"], paper["children"][0]["id"]]
    for child in children:
        rpc.call("canteen", "enrol", child, school["id"], school_year_of(first))
    rpc.call("canteen", "record_attendance", school["id"], open_days[0], children)
    rpc.call("billing", "add_tariff_grid", "affaires_scolaires", CANTEEN_GRID, "agent")
    run = computed_run(rpc, rpc.call("billing", "start_invoicing_run", "affaires_scolaires", first.strftime("%Y-%m"),
                                     "agent"))
    final = rpc.call("billing", "finalize_run", run["id"], "agent")
    mine = next(i for i in final["invoices"] if i["family_id"] == online["id"])

    notice = next(m for m in mail.wait_for(online_email, count=2) if "facture" in str(m["Subject"]))
    assert str(notice["Subject"]) == f"Votre facture {mine['number']} ({_month(first)}) est disponible"
    assert link_in(notice, "mon-compte/factures") == f"{PUBLIC_URL}/mon-compte/factures/{mine['id']}"
    assert "4,10" in notice.get_body(preferencelist=("plain",)).get_content()  # one meal without reservation

    text = text_of(rpc.call("billing", "invoice_pdf", mine["id"], online["id"]))
    assert f"Dossier famille {online['dossier']}" in text and "Claire MARTIN" in text and "Total de la facture 4,10 €" in text
    batch = rpc.call("billing", "run_paper_pdf", run["id"])
    batch_text = text_of(batch)
    assert batch["invoices"] == 1 and "Marc DUPONT" in batch_text and "Claire MARTIN" not in batch_text
    assert not [m for m in mail.to(paper_email) if "facture" in str(m["Subject"])]


def _month(first):
    from billing.pdf import month_text
    return month_text(first.strftime("%Y-%m"))


def test_a_bad_year_or_a_stranger_gets_a_clear_refusal(started):
    from espace_common.rpc_client import RemoteError
    with pytest.raises(RemoteError) as refused:
        started.rpc.call("billing", "tax_certificate_pdf", "une-famille", "l'an dernier")
    assert refused.value.code == "invalid_year"
    with pytest.raises(RemoteError) as refused:
        started.rpc.call("billing", "invoice_pdf", "inconnue", "une-famille")
    assert refused.value.code == "invoice_not_found"
    assert date.today().year >= 2026
