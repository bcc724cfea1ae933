"""The document wallet in the gateway (issue #12): the API and the pages against fake services. Identity owns every
rule; these tests check what the gateway asks of it, what it answers, and that bad input costs no RPC."""
import base64
import html
import io
from datetime import datetime

import pytest

from espace_common.clock import PARIS, FixedClock

from .conftest import remote
from .test_api_identity import AUTH, PARENT as API_PARENT, PETITE_ENFANCE, SCOLAIRE, as_
from .test_web_canteen import VOCABULARY as CANTEEN_VOCABULARY, absence_form, as_parent, reported
from .test_web_pages import AGENT, PARENT, csrf_token, log_in_as

PDF = b"%PDF-1.4\n% un certificat\n"
DOC_ID = "3c2b1a00-1111-4222-8333-444455556666"
DOCUMENT = {"id": DOC_ID, "kind": "insurance", "kind_label": "Attestation d'assurance (responsabilité civile et "
            "individuelle accident)", "status": "pending", "status_label": "en attente de vérification",
            "valid_until": "2027-08-31", "expiring": False, "uploaded_at": "2026-12-02T09:00:00+00:00",
            "name": "assurance.pdf", "media_type": "application/pdf", "decided_at": None, "reason": "",
            "reusable_for_absences": False}
CERTIFICATE = {**DOCUMENT, "id": "c3c3c3c3-0000-4000-8000-000000000001", "kind": "medical_certificate",
               "kind_label": "Certificat médical", "status": "accepted", "status_label": "accepté",
               "valid_until": "2027-03-01", "reusable_for_absences": True}
EXPIRED = {**DOCUMENT, "id": "e0e0e0e0-0000-4000-8000-000000000002", "kind": "proof_of_address",
           "kind_label": "Justificatif de domicile de moins de trois mois", "status": "expired",
           "status_label": "expiré", "valid_until": "2026-11-30"}
STATE = {"proof_of_address": {"state": "expired", "label": "expiré", "document_id": EXPIRED["id"],
                              "valid_until": "2026-11-30"},
         "insurance": {"state": "pending", "label": "en attente de vérification", "document_id": DOC_ID,
                       "valid_until": "2027-08-31"},
         "caf_notice": {"state": "missing", "label": "manquant", "document_id": None, "valid_until": None},
         "vaccination_record": {"state": "expiring", "label": "expire bientôt", "document_id": "v",
                                "valid_until": "2026-12-10"}}
WALLET = {"documents": [DOCUMENT, CERTIFICATE, EXPIRED], "state": STATE, "complete": False}
FILE = {"name": "assurance.pdf", "media_type": "application/pdf", "content_base64": base64.b64encode(PDF).decode()}


@pytest.fixture(autouse=True)
def fixed_clock(app):
    app.extensions["clock"] = FixedClock(datetime(2026, 12, 2, 10, 0, tzinfo=PARIS))


def identity_calls(services, method):
    return [args for service, name, args, _ in services.calls if service == "identity" and name == method]


def text(response):
    return html.unescape(response.get_data(as_text=True))


# --- API --------------------------------------------------------------------------------------------------------------

def test_a_parent_uploads_a_document_and_gets_it_pending(client, services):
    services.answers[("identity", "upload_wallet_document")] = DOCUMENT
    response = client.post("/api/v1/me/documents", headers=as_(services, API_PARENT), content_type="multipart/form-data",
                           data={"kind": "insurance", "valid_until": "2027-08-31",
                                 "document": (io.BytesIO(PDF), "assurance.pdf")})
    assert response.status_code == 201 and response.get_json()["status"] == "pending"
    assert response.headers["Location"] == f"/api/v1/me/documents/{DOC_ID}/file"
    [(family, who, kind, until, document)] = identity_calls(services, "upload_wallet_document")
    assert (family, who, kind, until) == (API_PARENT["family_id"], "parent:acc-1", "insurance", "2027-08-31")
    assert document["name"] == "assurance.pdf" and base64.b64decode(document["content_base64"]) == PDF


def test_an_upload_without_file_is_refused_without_any_call(client, services):
    response = client.post("/api/v1/me/documents", headers=as_(services, API_PARENT),
                           data={"kind": "insurance", "valid_until": "2027-08-31"})
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_document"
    assert identity_calls(services, "upload_wallet_document") == []


def test_a_file_identity_refuses_is_a_french_400(client, services):
    services.answers[("identity", "upload_wallet_document")] = remote(
        "InvalidInput", "invalid_document", "Ce PDF contient des scripts ou des actions automatiques.")
    response = client.post("/api/v1/me/documents", headers=as_(services, API_PARENT), content_type="multipart/form-data",
                           data={"kind": "insurance", "valid_until": "2027-08-31",
                                 "document": (io.BytesIO(b"<html>"), "faux.pdf")})
    assert response.status_code == 400
    assert response.get_json() == {"code": "invalid_document",
                                   "message": "Ce PDF contient des scripts ou des actions automatiques."}


def test_the_wallet_and_its_files_for_the_parent(client, services):
    services.answers[("identity", "family_documents")] = WALLET
    services.answers[("identity", "wallet_document_file")] = FILE
    assert client.get("/api/v1/me/documents", headers=as_(services, API_PARENT)).get_json() == WALLET
    response = client.get(f"/api/v1/me/documents/{DOC_ID}/file", headers=AUTH)
    assert response.status_code == 200 and response.data == PDF and response.headers["Cache-Control"] == "no-store"
    assert identity_calls(services, "wallet_document_file") == [(DOC_ID, API_PARENT["family_id"], "parent:acc-1")]


def test_another_familys_document_is_404(client, services):
    services.answers[("identity", "wallet_document_file")] = remote("NotFound", "document_not_found",
                                                                   "Ce document n'existe pas.")
    response = client.get("/api/v1/me/documents/" + "x" * 300 + "/file", headers=as_(services, API_PARENT))
    assert response.status_code == 404 and response.get_json()["code"] == "document_not_found"
    assert identity_calls(services, "wallet_document_file")[0][0] == "x" * 40


@pytest.mark.parametrize("body", [{"decision": "maybe"}, {}, {"decision": "refused", "reason": "x" * 501},
                                  {"decision": "accepted", "extra": 1}])
def test_a_malformed_decision_costs_no_rpc(client, services, body):
    response = client.post(f"/api/v1/documents/{DOC_ID}/decision", headers=as_(services, SCOLAIRE), json=body)
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
    assert identity_calls(services, "decide_wallet_document") == []


def test_an_agent_decides_and_the_second_decision_is_409(client, services):
    services.answers[("identity", "decide_wallet_document")] = {**DOCUMENT, "status": "refused", "reason": "Illisible"}
    response = client.post(f"/api/v1/documents/{DOC_ID}/decision", headers=as_(services, PETITE_ENFANCE),
                           json={"decision": "refused", "reason": "Illisible"})
    assert response.status_code == 200 and response.get_json()["status"] == "refused"
    assert identity_calls(services, "decide_wallet_document") == [(DOC_ID, "refused", "Illisible", "agent:agent-pe")]
    services.answers[("identity", "decide_wallet_document")] = remote("Conflict", "already_decided",
                                                                     "Ce document a déjà été examiné.")
    response = client.post(f"/api/v1/documents/{DOC_ID}/decision", headers=AUTH, json={"decision": "accepted"})
    assert response.status_code == 409 and response.get_json()["code"] == "already_decided"


def test_the_review_queue_takes_a_known_status_only(client, services):
    services.answers[("identity", "wallet_documents_to_review")] = [DOCUMENT]
    assert client.get("/api/v1/documents", headers=as_(services, SCOLAIRE)).get_json() == {"documents": [DOCUMENT]}
    assert identity_calls(services, "wallet_documents_to_review") == [("pending",)]
    response = client.get("/api/v1/documents?status=tout", headers=AUTH)
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_query"


def test_a_canteen_absence_reported_with_a_wallet_document(client, services):
    services.answers[("identity", "wallet_justification")] = {"name": "certificat.pdf",
                                                              "content_base64": FILE["content_base64"]}
    services.answers[("canteen", "report_absence")] = {"id": "a-1", "has_document": True}
    response = client.post("/api/v1/children/c-1/absences", headers=as_(services, API_PARENT),
                           data={"from": "2026-12-03", "to": "2026-12-04", "reason": "illness",
                                 "wallet_document_id": CERTIFICATE["id"]})
    assert response.status_code == 201
    assert identity_calls(services, "wallet_justification") == [(API_PARENT["family_id"], CERTIFICATE["id"],
                                                                 "parent:acc-1")]
    [call] = [args for s, m, args, _ in services.calls if (s, m) == ("canteen", "report_absence")]
    assert call[-1] == {"name": "certificat.pdf", "content_base64": FILE["content_base64"]}


def test_a_childcare_absence_with_a_document_not_accepted_is_409_and_nothing_reported(client, services):
    services.answers[("identity", "wallet_justification")] = remote(
        "Conflict", "document_not_accepted", "Seul un document accepté et encore valable du porte-documents peut "
                                             "servir de justificatif.")
    response = client.post("/api/v1/children/c-1/childcare-absences", headers=as_(services, API_PARENT),
                           data={"from": "2026-12-03", "to": "2026-12-04", "reason": "illness",
                                 "wallet_document_id": DOC_ID})
    assert response.status_code == 409 and response.get_json()["code"] == "document_not_accepted"
    assert not [m for s, m, _, _ in services.calls if s == "childcare"]


# --- Pages ------------------------------------------------------------------------------------------------------------

def test_the_parents_page_shows_states_and_validity_in_french(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "family_documents")] = WALLET
    page = text(client.get("/mon-espace/porte-documents"))
    assert "<h1>Mon porte-documents</h1>" in page and 'aria-current="page">Porte-documents' in page
    assert "Attestation de quotient familial CAF :" in page and "manquant" in page
    assert "expire bientôt" in page and "Expiré depuis le 30 novembre 2026" in page
    assert "Valable jusqu'au 31 août 2027." in page and "en attente de vérification" in page
    assert 'enctype="multipart/form-data"' in page and 'name="csrf_token"' in page


def test_the_parent_uploads_from_the_page(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "family_documents")] = WALLET
    services.answers[("identity", "upload_wallet_document")] = DOCUMENT
    token = csrf_token(client, "/mon-espace/porte-documents")
    response = client.post("/mon-espace/porte-documents", content_type="multipart/form-data",
                           data={"csrf_token": token, "kind": "insurance", "valid_until": "2027-08-31",
                                 "document": (io.BytesIO(PDF), "assurance.pdf")})
    assert response.status_code == 303
    [(family, who, kind, until, document)] = identity_calls(services, "upload_wallet_document")
    assert (family, who, kind, until, document["name"]) == ("fam-1", "parent:acc-1", "insurance", "2027-08-31",
                                                           "assurance.pdf")
    assert "Document « Attestation d'assurance" in text(client.get(response.headers["Location"]))


@pytest.mark.parametrize("form, message, field", [
    ({"kind": "passeport", "valid_until": "2027-01-01"}, "Choisissez le type de document.", "kind"),
    ({"kind": "insurance", "valid_until": ""}, "Indiquez jusqu'à quand le document est valable.", "valid_until"),
    ({"kind": "insurance", "valid_until": "2027-08-31"}, "Choisissez le fichier du document.", "document"),
])
def test_an_incomplete_form_says_what_is_missing_without_calling_identity(client, services, form, message, field):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "family_documents")] = WALLET
    token = csrf_token(client, "/mon-espace/porte-documents")
    response = client.post("/mon-espace/porte-documents", data={"csrf_token": token, **form})
    page = text(response)
    assert response.status_code == 400 and message in page
    assert f'id="{field}"' in page and 'aria-invalid="true"' in page
    assert identity_calls(services, "upload_wallet_document") == []


def test_a_refused_file_is_shown_beside_the_form(client, services):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "family_documents")] = WALLET
    services.answers[("identity", "upload_wallet_document")] = remote(
        "InvalidInput", "document_too_large", "Le justificatif ne doit pas dépasser 5 Mo.")
    token = csrf_token(client, "/mon-espace/porte-documents")
    response = client.post("/mon-espace/porte-documents", content_type="multipart/form-data",
                           data={"csrf_token": token, "kind": "insurance", "valid_until": "2027-08-31",
                                 "document": (io.BytesIO(PDF), "gros.pdf")})
    assert response.status_code == 400 and "Le justificatif ne doit pas dépasser 5 Mo." in text(response)


def test_the_agents_queue_and_decision(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "wallet_documents_to_review")] = [
        {**DOCUMENT, "family_id": "fam-1", "dossier": "000042", "family_name": "Claire Martin"}]
    page = text(client.get("/agents/documents"))
    assert "Claire Martin" in page and "dossier 000042" in page and f"/agents/documents/{DOC_ID}/fichier" in page
    services.answers[("identity", "decide_wallet_document")] = {**DOCUMENT, "status": "accepted", "family_id": "fam-1"}
    token = csrf_token(client, "/agents/documents")
    response = client.post(f"/agents/documents/{DOC_ID}/decision",
                           data={"csrf_token": token, "decision": "accepted", "reason": ""})
    assert response.status_code == 303 and response.headers["Location"] == "/agents/documents"
    assert identity_calls(services, "decide_wallet_document") == [(DOC_ID, "accepted", "", "agent:agent-1")]
    [action] = services.agent_actions  # the agents' journal says which family
    assert (action["action"], action["family_id"], action["agent_id"]) == ("wallet.decide", "fam-1", "agent-1")
    assert "Document « Attestation d'assurance (responsabilité civile et individuelle accident) » accepté." in text(
        client.get("/agents/documents"))


def test_a_bad_decision_from_the_page_is_flashed_without_any_call(client, services):
    log_in_as(client, services, AGENT)
    services.answers[("identity", "wallet_documents_to_review")] = []
    token = csrf_token(client, "/agents/documents")
    response = client.post(f"/agents/documents/{DOC_ID}/decision", data={"csrf_token": token, "decision": "é" * 10})
    assert response.status_code == 303 and identity_calls(services, "decide_wallet_document") == []
    assert "Décision" in text(client.get("/agents/documents"))


def test_the_agent_reads_a_file_and_the_family_wallet(client, services):
    log_in_as(client, services, {**AGENT, "roles": ["petite_enfance"]})
    services.answers[("identity", "wallet_document_file")] = FILE
    response = client.get(f"/agents/documents/{DOC_ID}/fichier")
    assert response.status_code == 200 and response.data == PDF
    assert identity_calls(services, "wallet_document_file") == [(DOC_ID, None, "agent:agent-1")]
    services.answers[("identity", "family_wallet_for_agent")] = {
        **WALLET, "documents": [{**DOCUMENT, "reads": [{"reader": "agent:agent-1", "read_at": "2026-12-02T09:30:00+00:00"}]}],
        "family": {"id": "fam-1", "dossier": "000042", "representatives": [{"first_name": "Claire", "last_name": "Martin"}]}}
    page = text(client.get("/agents/documents?famille=fam-1"))
    assert "Porte-documents de la famille 000042" in page and "Dossier incomplet" in page
    assert "Lu par : agent:agent-1 le 2 décembre 2026" in page
    services.answers[("identity", "family_wallet_for_agent")] = remote("NotFound", "family_not_found", "Non.")
    assert client.get("/agents/documents?famille=inconnue").status_code == 404


def test_the_canteen_absence_form_offers_the_accepted_documents_and_passes_one(client, services):
    as_parent(client, services)
    services.answers[("canteen", "vocabulary")] = CANTEEN_VOCABULARY
    services.answers[("identity", "family_documents")] = WALLET
    page = text(client.get("/cantine/absences"))
    assert 'name="wallet_document_id"' in page and f'value="{CERTIFICATE["id"]}"' in page
    assert f'value="{DOC_ID}"' not in page  # a pending insurance certificate justifies nothing
    services.answers[("canteen", "report_absences")] = reported
    services.answers[("identity", "wallet_justification")] = {"name": "certificat.pdf",
                                                              "content_base64": FILE["content_base64"]}
    token = csrf_token(client, "/cantine/absences")
    response = client.post("/cantine/absences", data={**absence_form(), "csrf_token": token,
                                                      "wallet_document_id": CERTIFICATE["id"]})
    assert response.status_code == 303
    [args] = [a for s, m, a, _ in services.calls if (s, m) == ("canteen", "report_absences")]
    assert args[5] == {"name": "certificat.pdf", "content_base64": FILE["content_base64"]}
    assert identity_calls(services, "wallet_justification") == [("fam-1", CERTIFICATE["id"], "parent:acc-1")]


def test_the_creche_absence_form_passes_a_wallet_document_like_an_upload(client, services):
    from .test_web_childcare import LINA, VOCABULARY as CHILDCARE_VOCABULARY
    log_in_as(client, services, PARENT)
    services.answers[("childcare", "vocabulary")] = CHILDCARE_VOCABULARY
    services.answers[("childcare", "family_childcare")] = [LINA]
    services.answers[("identity", "family_documents")] = WALLET
    page = text(client.get("/petite-enfance/absences"))
    assert f'<option value="{CERTIFICATE["id"]}">Certificat médical (valable jusqu\'au 1er mars 2027)' in page
    services.answers[("childcare", "report_absence")] = {"id": "a-1", "has_document": True}
    services.answers[("identity", "wallet_justification")] = {"name": "certificat.pdf",
                                                              "content_base64": FILE["content_base64"]}
    token = csrf_token(client, "/petite-enfance/absences")
    response = client.post("/petite-enfance/absences", data={
        "csrf_token": token, "child": "kid-lina", "from": "2026-12-02", "to": "2026-12-04", "reason": "illness",
        "wallet_document_id": CERTIFICATE["id"]})
    assert response.status_code == 303
    [call] = [args for s, m, args, _ in services.calls if (s, m) == ("childcare", "report_absence")]
    assert call[5] == {"name": "certificat.pdf", "content_base64": FILE["content_base64"]}
    # A document identity will not hand over (another family's) is a 404, and nothing is reported.
    services.answers[("identity", "wallet_justification")] = remote("NotFound", "document_not_found", "Non.")
    response = client.post("/petite-enfance/absences", data={
        "csrf_token": token, "child": "kid-lina", "from": "2026-12-02", "to": "2026-12-04", "reason": "illness",
        "wallet_document_id": "x" * 500})
    assert response.status_code == 404
    assert len([1 for s, m, _, _ in services.calls if (s, m) == ("childcare", "report_absence")]) == 1
    assert identity_calls(services, "wallet_justification")[-1][1] == "x" * 40
