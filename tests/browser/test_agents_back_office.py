"""The agents' family file, the absences to handle and the journal in Chromium, at 320 px: axe-core finds nothing,
nothing scrolls sideways, a long name wraps."""
import uuid

import pytest
from playwright.sync_api import expect

from espace_common.rpc_client import RpcClient

from .pages import NO_HORIZONTAL_SCROLL, heading, log_in

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Guichet-Journal-Donges-9?"
PHONE_320 = {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True}
LONG_NAME = "Maximilienne-Marie-Antoinette-Bérengère-Clothilde-Anastasia"


def test_the_family_file_the_absences_and_the_journal_on_a_320_px_phone(suite, new_page, check):
    tag = uuid.uuid4().hex[:6]
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="agents-back-office")
    rpc.call("identity", "ensure_agent", f"bureau-{tag}", PASSWORD, ["admin"])
    family = rpc.call("identity", "register_family", {
        "request_id": f"back-office-{tag}",
        "representatives": [{"first_name": "Hélène", "last_name": f"{LONG_NAME}-{tag}",
                             "email": f"helene.{tag}@example.org", "phone": "02 40 45 79 79"}],
        "children": [{"first_name": "Inès", "last_name": f"{LONG_NAME}-{tag}", "birth_date": "2018-04-17"}]})
    rpc.close()
    phone = new_page(**PHONE_320)
    log_in(phone, f"bureau-{tag}", PASSWORD)
    expect(heading(phone)).to_have_text("Espace agents")
    phone.get_by_role("search").get_by_role("searchbox").fill(f"helene {tag}")
    phone.get_by_role("search").get_by_role("button", name="Rechercher").click()
    phone.get_by_role("link", name=f"Dossier n° {family['dossier']}").click()
    expect(heading(phone)).to_have_text(f"Dossier n° {family['dossier']}")
    for section in ("Restauration scolaire", "Multi-accueil", "Factures et paiements",
                    "Courriers électroniques envoyés", "Consultations des données sensibles"):
        expect(phone.get_by_role("heading", level=2, name=section)).to_be_visible()
    assert phone.evaluate(NO_HORIZONTAL_SCROLL)
    check(phone)
    phone.get_by_role("link", name="Journal des actions des agents pour cette famille").click()
    expect(heading(phone)).to_have_text("Journal des actions des agents")
    assert phone.evaluate(NO_HORIZONTAL_SCROLL)
    check(phone)
    phone.goto("/agents/absences")
    expect(heading(phone)).to_have_text("Absences à traiter")
    assert phone.evaluate(NO_HORIZONTAL_SCROLL)
    check(phone)
    phone.goto("/agents/journal?du=hier")
    expect(phone.get_by_role("alert")).to_contain_text("« Du » est une date")
    expect(phone.get_by_label("Du")).to_have_attribute("aria-invalid", "true")
    check(phone)
