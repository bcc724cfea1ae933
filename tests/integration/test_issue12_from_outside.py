"""Issue #12's routes tried from outside, through the real gateway and services (the session's suite): another
family's ids, a parent's token on agents' routes, junk tokens, 100,000-character fields, a file whose bytes lie,
the same write twice at once. Each answer is a documented 4xx or a correct result, never a 5xx."""
import io
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from espace_common.rpc_client import RpcClient

from .test_identity_api import AGENT_PASSWORD, Api

pytestmark = [pytest.mark.broker, pytest.mark.slow]

HEALTH = "/children/{child_id}/health-record"
HUGE = "x" * 100_000


@pytest.fixture(scope="module")
def api(suite):
    api = Api(suite, None, "sqlite")
    suffix = uuid.uuid4().hex[:6]
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="issue12-outside")
    try:
        for name, roles in (("admin", ["admin"]), ("scolaire", ["affaires_scolaires"])):
            rpc.call("identity", "ensure_agent", f"out12-{name}-{suffix}", AGENT_PASSWORD, roles)
    finally:
        rpc.close()
    api.admin = api.token(f"out12-admin-{suffix}", AGENT_PASSWORD)
    api.scolaire = api.token(f"out12-scolaire-{suffix}", AGENT_PASSWORD)
    return api


def a_pdf():
    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return out.getvalue()


def test_another_familys_ids_are_not_found(api):
    family, _, _, parent = api.new_parent("owner12")
    _, _, _, stranger = api.new_parent("stranger12")
    child_id = family["children"][0]["id"]
    assert api("put", f"/children/{child_id}/health-record", parent, template=HEALTH,
               json={"allergies": "arachide"}).status_code == 200
    assert api("get", f"/children/{child_id}/health-record", stranger, template=HEALTH).status_code == 404
    assert api("put", f"/children/{child_id}/health-record", stranger, template=HEALTH,
               json={"allergies": "rien"}).status_code == 404
    assert api("get", f"/children/{child_id}/health-record", parent, template=HEALTH).json()["allergies"] == "arachide"

    uploaded = api("post", "/me/documents", parent, data={"kind": "proof_of_address", "valid_until": "2027-01-15"},
                   files={"document": ("justificatif.pdf", a_pdf(), "application/pdf")})
    assert uploaded.status_code == 201, uploaded.text
    document_id = uploaded.json()["id"]
    file_route = "/me/documents/{document_id}/file"
    assert api("get", f"/me/documents/{document_id}/file", stranger, template=file_route).status_code == 404

    written = api("post", "/messages", parent, json={"service": "affaires_scolaires", "subject": "Question",
                                                     "body": "Bonjour"})
    conversation_id = written.json()["id"]
    assert api("get", f"/messages/{conversation_id}", stranger, template="/messages/{conversation_id}").status_code == 404
    assert api("post", f"/messages/{conversation_id}/replies", stranger, template="/messages/{conversation_id}/replies",
               json={"body": "Intrus"}).status_code == 404


def test_a_parents_token_on_agents_routes_and_junk_tokens_are_refused(api):
    _, _, _, parent = api.new_parent("roles12")
    junk_id = str(uuid.uuid4())
    assert api("get", "/documents", parent).status_code == 403
    assert api("post", f"/documents/{junk_id}/decision", parent, template="/documents/{document_id}/decision",
               json={"decision": "accepted"}).status_code == 403
    assert api("get", f"/families/{junk_id}/documents", parent, template="/families/{family_id}/documents").status_code == 403
    for token in ("é" * 40, "a" * 5000, parent[:-3]):
        for method, path in (("get", "/me/trail?from=2026-11-01&to=2026-11-30"), ("get", "/me/export"),
                             ("get", "/me/reminders"), ("get", "/messages"), ("get", "/me/documents")):
            response = requests.request(method, f"{api.base}{path}", headers={"Authorization": f"Bearer {token}"},
                                        timeout=30)
            assert response.status_code == 401, (path, response.status_code, response.text[:200])


def test_huge_junk_and_lying_files_are_4xx_and_change_nothing(api):
    family, _, _, parent = api.new_parent("junk12")
    child_id = family["children"][0]["id"]
    for body in ({"allergies": HUGE}, {"authorised_persons": [{"name": HUGE, "phone": "0612345678",
                                                                 "relation": "grand-mère"}]},
                 {"vaccinations_up_to_date": "oui"}, {"doctor": "\u0000"}):
        response = api("put", f"/children/{child_id}/health-record", parent, template=HEALTH, json=body)
        assert 400 <= response.status_code < 500, (body.keys(), response.status_code, response.text[:200])
    for body in ({"canteen_deadline": HUGE, "invoice_due": True}, {"canteen_deadline": "true", "invoice_due": 1}):
        assert api("put", "/me/reminders", parent, json=body).status_code == 400
    saved = api("get", "/me/reminders", parent).json()
    assert (saved["canteen_deadline"], saved["invoice_due"]) == (False, False)
    for query in ("from=2026-13-01&to=2026-12-01", "from=" + "é" * 300, "from=2026-12-01&to=2026-11-01", ""):
        response = api("get", f"/me/trail?{query}", parent, template="/me/trail")
        assert response.status_code == 400, (query, response.text[:200])
    assert api("get", "/me/export?format=docx", parent, template="/me/export").status_code == 400
    for body in ({"service": "affaires_scolaires", "subject": "Objet", "body": HUGE},
                 {"service": "affaires_scolaires", "subject": HUGE, "body": "x"},
                 {"service": "mairie", "subject": "Objet", "body": "x"}):
        assert api("post", "/messages", parent, json=body).status_code == 400
    lying = [("certificat.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
             ("certificat.pdf", a_pdf()[:200], "application/pdf"),
             ("photo.png", b"\x89PNG\r\n\x1a\n" + b"<script>", "image/png")]
    for name, content, media in lying:
        response = api("post", "/me/documents", parent, data={"kind": "proof_of_address", "valid_until": "2027-01-15"},
                       files={"document": (name, content, media)})
        assert response.status_code == 400, (name, response.text[:200])
    assert api("get", "/me/documents", parent).json()["documents"] == []
    assert api("get", f"/children/{child_id}/health-record", parent, template=HEALTH).json()["allergies"] == ""


def test_the_same_message_twice_at_once_is_one_conversation(api):
    _, _, _, parent = api.new_parent("twice12")
    key = {"Idempotency-Key": f"double-{uuid.uuid4().hex}"}
    body = {"service": "petite_enfance", "subject": "Deux clics", "body": "Bonjour"}

    def post(_):
        return requests.post(f"{api.base}/messages", json=body, timeout=30,
                             headers={**key, "Authorization": f"Bearer {parent}"})
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(post, range(4)))
    assert all(a.status_code == 201 for a in answers), [a.status_code for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(api("get", "/messages", parent).json()["conversations"]) == 1
