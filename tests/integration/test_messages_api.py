"""Messages to the service (issue #12) through the real gateway and services (the session's suite, SQLite): a
parent writes (once for one Idempotency-Key), the agent of the service answers and closes, the other service's
agent and another family are refused, and junk is a 4xx, never a 500. Every answer is checked against the schema
openapi.yaml documents for it."""
import uuid

import pytest

from espace_common.rpc_client import RpcClient

from .test_identity_api import AGENT_PASSWORD, Api

pytestmark = [pytest.mark.broker, pytest.mark.slow]

ONE = "/messages/{conversation_id}"
REPLIES = "/messages/{conversation_id}/replies"
CLOSE = "/messages/{conversation_id}/close"


@pytest.fixture(scope="module")
def api(suite):
    api = Api(suite, None, "sqlite")
    suffix = uuid.uuid4().hex[:6]
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="messages-api")
    try:
        for name, roles in (("admin", ["admin"]), ("scolaire", ["affaires_scolaires"]), ("creche", ["petite_enfance"])):
            rpc.call("identity", "ensure_agent", f"msg-{name}-{suffix}", AGENT_PASSWORD, roles)
    finally:
        rpc.close()
    api.admin = api.token(f"msg-admin-{suffix}", AGENT_PASSWORD)
    api.scolaire = api.token(f"msg-scolaire-{suffix}", AGENT_PASSWORD)
    api.creche = api.token(f"msg-creche-{suffix}", AGENT_PASSWORD)
    return api


def test_a_conversation_from_the_first_message_to_its_closing(api):
    family, _, _, parent = api.new_parent("ecrit")
    other_family, _, _, stranger = api.new_parent("autre")
    body = {"service": "affaires_scolaires", "subject": "Facture de novembre", "body": "Bonjour,\nune question.",
            "child_id": family["children"][0]["id"]}
    key = {"Idempotency-Key": f"clic-{uuid.uuid4().hex}"}
    first = api("post", "/messages", parent, json=body, headers=key)
    assert first.status_code == 201, first.text
    again = api("post", "/messages", parent, json=body, headers=key)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    conversation_id = first.json()["id"]
    assert [c["id"] for c in api("get", "/messages", parent).json()["conversations"]] == [conversation_id]

    assert api("get", f"/messages/{conversation_id}", stranger, template=ONE).status_code == 404
    assert api("post", f"/messages/{conversation_id}/replies", stranger, template=REPLIES,
               json={"body": "Intrus"}).status_code == 404
    refused = api("post", "/messages", stranger, json={**body, "child_id": family["children"][0]["id"]})
    assert refused.status_code == 404 and refused.json()["code"] == "child_not_found"
    assert other_family["id"] != family["id"]

    inbox = api("get", "/messages?state=open", api.scolaire, template="/messages").json()["conversations"]
    assert conversation_id in [c["id"] for c in inbox]
    assert conversation_id not in [c["id"] for c in api("get", "/messages", api.creche).json()["conversations"]]
    forbidden = api("get", f"/messages/{conversation_id}", api.creche, template=ONE)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "not_your_service"
    assert api("post", f"/messages/{conversation_id}/close", api.creche, template=CLOSE).status_code == 403

    answered = api("post", f"/messages/{conversation_id}/replies", api.scolaire, template=REPLIES,
                   json={"body": "Un avoir suivra."})
    assert answered.status_code == 201 and answered.json()["state"] == "answered"
    seen = api("get", f"/messages/{conversation_id}", parent, template=ONE).json()
    assert [m["author_name"] for m in seen["messages"]][-1] == "Service Affaires Scolaires"
    assert api("post", f"/messages/{conversation_id}/close", parent, template=CLOSE).status_code == 403
    closed = api("post", f"/messages/{conversation_id}/close", api.admin, template=CLOSE)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    late = api("post", f"/messages/{conversation_id}/replies", parent, template=REPLIES, json={"body": "Merci"})
    assert late.status_code == 409 and late.json()["code"] == "conversation_closed"


def test_junk_is_a_4xx_never_a_500(api):
    _, _, _, parent = api.new_parent("junk")
    ok = {"service": "petite_enfance", "subject": "Objet", "body": "Bonjour"}
    for body in ({**ok, "body": "x" * 100_000}, {**ok, "subject": "é" * 201}, {**ok, "service": "police"},
                 {**ok, "child_id": "ü" * 36}, {**ok, "invoice_id": "pas-un-id"}, {**ok, "body": "\u0000"}):
        response = api("post", "/messages", parent, json=body)
        assert response.status_code == 400, (body, response.text)
    assert api("post", "/messages", parent, json=ok, headers={"Idempotency-Key": "x" * 81}).status_code == 400
    for junk in ("%C3%A9%C3%A9", "x" * 2000, "..%2F..", "%F0%9F%98%80"):
        response = api("get", f"/messages/{junk}", parent, template=ONE)
        assert response.status_code == 404, junk
    assert api("get", "/messages?state=perdu", parent, template="/messages").status_code == 400
    assert api("get", "/message-attachments/%C3%A9", parent,
               template="/message-attachments/{message_id}").status_code == 404
