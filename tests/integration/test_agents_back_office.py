"""The agents' back office against the whole suite: an administrator registers a family through the web form (sent
twice: one family, one journal line), opens its file (every service answers its section in one call) and reads the
journal of the agents' actions for that family."""
import re
import uuid

import pytest
import requests

from espace_common.rpc_client import RpcClient

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Journal-Donges-44!"


def csrf(session, url):
    page = session.get(url, timeout=30)
    assert page.status_code == 200, page.text[:500]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_an_administrator_registers_a_family_reads_its_file_and_the_journal_of_that_action(suite):
    tag = uuid.uuid4().hex[:6]
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    admin = rpc.call("identity", "ensure_agent", f"journal-{tag}", PASSWORD, ["admin"])
    web = requests.Session()
    login = web.post(f"{suite.url}/connexion", data={"csrf_token": csrf(web, f"{suite.url}/connexion"),
                                                     "username": f"journal-{tag}", "password": PASSWORD}, timeout=30)
    assert login.status_code == 200 and "Espace agents" in login.text
    form = {"csrf_token": csrf(web, f"{suite.url}/agents/familles/nouvelle"), "request_id": f"req-{tag}",
            "child_rows": "1", "rep0_first_name": "Hélène", "rep0_last_name": f"Journal{tag}",
            "rep0_email": f"helene.{tag}@example.org", "rep0_phone": "02 40 45 79 79",
            "child0_first_name": "Inès", "child0_last_name": f"Journal{tag}", "child0_birth_date": "2019-03-04"}
    first = web.post(f"{suite.url}/agents/familles/nouvelle", data=form, timeout=30)
    again = web.post(f"{suite.url}/agents/familles/nouvelle", data=form, timeout=30)  # the form sent twice
    assert first.status_code == again.status_code == 200 and first.url == again.url
    family_id = first.url.rsplit("/", 1)[-1]
    page = first.text
    for heading in ("Restauration scolaire", "Multi-accueil", "Factures et paiements",
                    "Courriers électroniques envoyés", "Consultations des données sensibles"):
        assert f">{heading}</h2>" in page, heading
    assert "ne répond pas pour le moment" not in page and "Aucune facture émise." in page
    # The search finds her without her accents, by her child and by her phone in another format.
    for query in ("helene journal" + tag, "ines", "+33 2 40 45 79 79"):
        found = web.get(f"{suite.url}/agents/familles", params={"q": query}, timeout=30)
        assert f"/agents/familles/{family_id}" in found.text, query
    # One line in the journal, by this agent, for this family.
    journal = rpc.call("identity", "agent_journal", {"family_id": family_id})
    assert journal["total"] == 1
    (line,) = journal["items"]
    assert line | {"agent_id": admin["id"], "agent": f"journal-{tag}", "action": "agent.register"} == line
    shown = web.get(f"{suite.url}/agents/journal", params={"famille": family_id}, timeout=30)
    assert shown.status_code == 200 and "Famille enregistrée" in shown.text and f"journal-{tag}" in shown.text
    rpc.close()
