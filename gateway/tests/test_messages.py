"""Messages to the service (issue #12) in the gateway, against fake services: what each page and API route asks
identity (who is calling, never which family or service), bodies refused before any RPC, refusals mapped to their
status, the request id of a form and the Idempotency-Key header passed on, attachments passed as base64."""
import base64
import html
import io
import re

import pytest

from .conftest import remote
from .test_api_identity import AUTH, PARENT as API_PARENT, SCOLAIRE as API_SCOLAIRE
from .test_web_pages import AGENT, ME, PARENT, csrf_token, log_in_as

CONVERSATION_ID = "6f9619ff-8b86-4011-b42d-00c04fc964ff"
MESSAGE_ID = "0b6d7c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e"
WORDS = {"services": {"affaires_scolaires": "Affaires Scolaires", "petite_enfance": "Petite Enfance"},
         "states": {"open": "Nouveau", "answered": "Répondu", "awaiting": "En attente de réponse", "closed": "Clos"},
         "family_states": {}, "max_subject": 200, "max_body": 5000,
         "attachment": {"max_bytes": 5 * 1024 * 1024, "media_types": ["application/pdf", "image/jpeg", "image/png"]}}
MESSAGE = {"id": MESSAGE_ID, "author_kind": "family", "author_name": "Claire Martin", "body": "Bonjour,\nLéa sera absente.",
           "at": "2026-12-02T09:00:00+00:00", "mine": True,
           "attachment": {"name": "certificat.pdf", "media_type": "application/pdf", "size": 900}}
CONVERSATION = {"id": CONVERSATION_ID, "service": "affaires_scolaires", "service_label": "Affaires Scolaires",
                "subject": "Repas du 7 décembre", "child_id": "kid-1", "child_first_name": "Léa", "invoice_id": None,
                "state": "open", "state_label": "Envoyé", "created_at": "2026-12-02T09:00:00+00:00",
                "last_message_at": "2026-12-02T09:00:00+00:00", "closed_at": None, "unread": False,
                "family_id": "fam-1", "dossier": "000042", "may_reply": True, "may_close": False,
                "messages": [MESSAGE], "message_count": 1}


@pytest.fixture(autouse=True)
def vocabulary(services):
    services.answers[("identity", "messages_vocabulary")] = WORDS


def page(response):
    return html.unescape(response.get_data(as_text=True))


def calls(services, method):
    return [c[2] for c in services.calls if c[1] == method]


# --- API ------------------------------------------------------------------------------------------------------------

def test_the_api_passes_who_calls_and_the_idempotency_key(client, services):
    services.answers[("identity", "resolve_token")] = API_PARENT
    services.answers[("identity", "start_conversation")] = CONVERSATION
    body = {"service": "affaires_scolaires", "subject": "Repas", "body": "Bonjour", "child_id": "kid-1"}
    response = client.post("/api/v1/messages", json=body, headers={**AUTH, "Idempotency-Key": "clic-1"})
    assert response.status_code == 201 and response.headers["Location"] == f"/api/v1/messages/{CONVERSATION_ID}"
    assert calls(services, "start_conversation") == [("acc-1", body, None, "clic-1")]

    services.answers[("identity", "conversations")] = [CONVERSATION]
    assert client.get("/api/v1/messages?state=open", headers=AUTH).get_json()["conversations"][0]["id"] == \
        CONVERSATION_ID
    assert calls(services, "conversations") == [("parent", "acc-1", "open")]

    services.answers[("identity", "reply_to_conversation")] = CONVERSATION
    response = client.post(f"/api/v1/messages/{CONVERSATION_ID}/replies", json={"body": "Merci"}, headers=AUTH)
    assert response.status_code == 201
    assert calls(services, "reply_to_conversation") == [("parent", "acc-1", CONVERSATION_ID, "Merci", None, None)]


def test_an_agent_answers_and_closes_through_the_api_and_a_parent_may_not_close(client, services):
    services.answers[("identity", "resolve_token")] = API_SCOLAIRE
    services.answers[("identity", "close_conversation")] = {**CONVERSATION, "state": "closed"}
    response = client.post(f"/api/v1/messages/{CONVERSATION_ID}/close", headers=AUTH)
    assert response.status_code == 200 and response.get_json()["state"] == "closed"
    assert calls(services, "close_conversation") == [("agent-sco", CONVERSATION_ID)]
    services.answers[("identity", "conversation")] = remote("Forbidden", "not_your_service", "Réservée à ses agents.")
    response = client.get(f"/api/v1/messages/{CONVERSATION_ID}", headers=AUTH)
    assert response.status_code == 403 and response.get_json()["code"] == "not_your_service"
    # An agent writes no new message: that is the family's.
    assert client.post("/api/v1/messages", json={"service": "affaires_scolaires", "subject": "x", "body": "y"},
                       headers=AUTH).status_code == 403
    services.answers[("identity", "resolve_token")] = API_PARENT
    assert client.post(f"/api/v1/messages/{CONVERSATION_ID}/close", headers=AUTH).status_code == 403


@pytest.mark.parametrize("body", [
    {"service": "affaires_scolaires", "subject": "Repas", "body": "x" * 100_000},
    {"service": "affaires_scolaires", "subject": "x" * 201, "body": "Bonjour"},
    {"service": "mairie", "subject": "Repas", "body": "Bonjour"},
    {"service": "affaires_scolaires", "subject": "", "body": "Bonjour"},
    {"service": "affaires_scolaires", "subject": "Repas", "body": "Bonjour", "family_id": "fam-2"},
    {"service": "affaires_scolaires", "subject": "Repas", "body": "Bonjour", "child_id": "é" * 100},
    ["pas un objet"],
])
def test_a_malformed_body_is_a_400_before_any_rpc(client, services, body):
    services.answers[("identity", "resolve_token")] = API_PARENT
    response = client.post("/api/v1/messages", json=body, headers=AUTH)
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
    assert services.calls == []


def test_junk_ids_reach_identity_cut_short_and_come_back_404(client, services):
    services.answers[("identity", "resolve_token")] = API_PARENT
    services.answers[("identity", "conversation")] = remote("NotFound", "conversation_not_found", "Introuvable.")
    for junk in ("é" * 50, "x" * 10_000, "%00", "..%2F..%2Fetc"):
        response = client.get(f"/api/v1/messages/{junk}", headers=AUTH)
        assert response.status_code == 404, junk
    assert all(len(args[2]) <= 40 for args in calls(services, "conversation"))


# --- Web: the parent's pages ------------------------------------------------------------------------------------------

def test_the_subnav_leads_to_the_messages_and_the_list_shows_each_conversation(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "conversations")] = [{**CONVERSATION, "unread": True}]
    response = client.get("/mon-espace/messages")
    text = page(response)
    assert response.status_code == 200 and 'aria-current="page">Messages</a>' in text
    assert f'href="/mon-espace/messages/{CONVERSATION_ID}"' in text and "Nouveau" in text
    assert calls(services, "conversations") == [("parent", "acc-1")]


def test_a_parent_writes_with_an_attachment_and_the_request_id_of_the_form(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    services.answers[("billing", "family_invoices")] = {"invoices": [
        {"id": "inv-1", "number": "AS-2026-000012", "period": "2026-11", "regie": "affaires_scolaires"}]}
    form = page(client.get("/mon-espace/messages/nouveau"))
    assert "Facture AS-2026-000012" in form and "Léa Martin" in form
    request_id = re.search(r'name="request_id" value="([^"]+)"', form).group(1)
    services.answers[("identity", "start_conversation")] = CONVERSATION
    response = client.post("/mon-espace/messages/nouveau", data={
        "csrf_token": csrf_token(client, "/mon-espace/messages/nouveau"), "request_id": request_id,
        "service": "affaires_scolaires", "subject": "  Repas du 7  ", "body": "Bonjour", "child_id": "kid-1",
        "invoice_id": "", "document": (io.BytesIO(b"%PDF-1.4 certificat"), "certificat.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/mon-espace/messages/{CONVERSATION_ID}")
    (args,) = calls(services, "start_conversation")
    assert args[0] == "acc-1" and args[1] == {"service": "affaires_scolaires", "subject": "Repas du 7",
                                              "body": "Bonjour", "child_id": "kid-1"}
    assert args[2] == {"name": "certificat.pdf", "content_base64": base64.b64encode(b"%PDF-1.4 certificat").decode()}
    assert args[3] == request_id


def test_a_too_long_message_is_refused_in_french_with_the_form_kept_and_no_rpc(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    response = client.post("/mon-espace/messages/nouveau", data={
        "csrf_token": csrf_token(client, "/mon-espace/messages/nouveau"), "service": "petite_enfance",
        "subject": "Objet", "body": "é" * 100_000})
    text = page(response)
    assert response.status_code == 400 and "Le champ « Message » ne peut pas dépasser 5000 caractères." in text
    assert calls(services, "start_conversation") == []
    services.answers[("identity", "start_conversation")] = remote("NotFound", "child_not_found",
                                                                  "Cet enfant n'existe pas.")
    response = client.post("/mon-espace/messages/nouveau", data={
        "csrf_token": csrf_token(client, "/mon-espace/messages/nouveau"), "service": "petite_enfance",
        "subject": "Objet", "body": "Bonjour", "child_id": "kid-of-another-family"})
    assert response.status_code == 404 and "Cet enfant n'existe pas." in page(response)


def test_the_conversation_page_shows_the_thread_and_a_closed_one_offers_a_new_message(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "conversation")] = CONVERSATION
    text = page(client.get(f"/mon-espace/messages/{CONVERSATION_ID}"))
    assert "Léa sera absente." in text and f"/mon-espace/messages/pieces-jointes/{MESSAGE_ID}/fichier" in text
    assert 'name="request_id"' in text and "Répondre" in text
    services.answers[("identity", "conversation")] = {**CONVERSATION, "state": "closed", "state_label": "Clos",
                                                       "may_reply": False, "closed_at": "2026-12-03T10:00:00+00:00"}
    text = page(client.get(f"/mon-espace/messages/{CONVERSATION_ID}"))
    assert "Répondre" not in text and "Écrire un nouveau message au service Affaires Scolaires" in text
    services.answers[("identity", "conversation")] = remote("NotFound", "conversation_not_found", "Introuvable.")
    assert client.get("/mon-espace/messages/%C3%A9%C3%A9").status_code == 404


def test_a_reply_to_a_closed_conversation_says_so(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "conversation")] = CONVERSATION
    token = csrf_token(client, f"/mon-espace/messages/{CONVERSATION_ID}")
    services.answers[("identity", "reply_to_conversation")] = remote(
        "Conflict", "conversation_closed", "Cette conversation est close : écrivez un nouveau message au service.")
    response = client.post(f"/mon-espace/messages/{CONVERSATION_ID}", data={"csrf_token": token, "body": "Merci",
                                                                             "request_id": "r-1"})
    assert response.status_code == 409 and "Cette conversation est close" in page(response)
    assert calls(services, "reply_to_conversation") == [("parent", "acc-1", CONVERSATION_ID, "Merci", None, "r-1")]


def test_an_attachment_is_served_as_stored_and_never_cached(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "message_attachment")] = {
        "name": "certificat.pdf", "media_type": "application/pdf", "content_base64": base64.b64encode(b"%PDF-1.7").decode()}
    response = client.get(f"/mon-espace/messages/pieces-jointes/{MESSAGE_ID}/fichier")
    assert response.data == b"%PDF-1.7" and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert calls(services, "message_attachment") == [("parent", "acc-1", MESSAGE_ID)]


# --- Web: the agents' pages ---------------------------------------------------------------------------------------------

def test_the_agent_inbox_filters_and_the_agent_answers_and_closes(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "conversations")] = [{**CONVERSATION, "unread": True}]
    text = page(client.get("/agents/messages/?etat=open"))
    assert "Non lu" in text and "000042" in text
    assert calls(services, "conversations") == [("agent", "agent-1", "open", None)]
    assert client.get("/agents/messages/?etat=perdu").status_code == 404

    services.answers[("identity", "conversation")] = {**CONVERSATION, "may_close": True}
    path = f"/agents/messages/{CONVERSATION_ID}"
    text = page(client.get(path))
    assert "Clore la conversation" in text and f"/agents/messages/pieces-jointes/{MESSAGE_ID}/fichier" in text
    token = csrf_token(client, path)
    services.answers[("identity", "reply_to_conversation")] = CONVERSATION
    response = client.post(path, data={"csrf_token": token, "body": "C'est noté.", "request_id": "agent-r-1"})
    assert response.status_code == 303
    assert calls(services, "reply_to_conversation")[0] == ("agent", "agent-1", CONVERSATION_ID, "C'est noté.", None,
                                                           "agent-r-1")
    services.answers[("identity", "close_conversation")] = {**CONVERSATION, "state": "closed"}
    response = client.post(f"{path}/clore", data={"csrf_token": token})
    assert response.status_code == 303 and calls(services, "close_conversation") == [("agent-1", CONVERSATION_ID)]
    # The agents' journal names the family of each answer and closing.
    assert [(a["action"], a["family_id"]) for a in services.agent_actions] == [
        ("messages_agent.agent_reply", "fam-1"), ("messages_agent.agent_close", "fam-1")]


def test_an_agent_of_the_other_service_gets_the_refusal_page(client, services):
    log_in_as(client, services, {**AGENT, "roles": ["petite_enfance"]})
    services.answers[("identity", "conversation")] = remote("Forbidden", "not_your_service",
                                                            "Cette conversation est adressée au service Affaires Scolaires.")
    response = client.get(f"/agents/messages/{CONVERSATION_ID}")
    assert response.status_code == 403 and "adressée au service Affaires Scolaires" in page(response)


def test_a_parent_cannot_open_the_agents_inbox(client, services):
    log_in_as(client, services, PARENT)
    assert client.get("/agents/messages/").status_code == 403
