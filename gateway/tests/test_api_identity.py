"""The identity JSON API: each route's mapping to identity, who may call it, and bodies refused before any RPC."""
import base64

import pytest

from espace_common.rpc_client import ServiceUnavailable

from .conftest import remote

TOKEN = "le-jeton-du-test"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAMILY_ID = "5b0c3f38-6a52-4a8e-9a43-6d8f1f7d1a01"
OTHER_FAMILY_ID = "9e1d2c3b-0000-4000-8000-000000000002"
REP_ID = "0f6a1b2c-3d4e-4f50-8a61-7b8c9d0e1f23"


def principal(kind, id_, roles=(), scopes=(), family_id=None):
    return {"kind": kind, "id": id_, "username": id_, "family_id": family_id, "email_confirmed": True,
            "roles": list(roles), "scopes": list(scopes), "token_kind": "api"}


PARENT = principal("parent", "acc-1", family_id=FAMILY_ID)
SCOLAIRE = principal("agent", "agent-sco", roles=["affaires_scolaires"])
PETITE_ENFANCE = principal("agent", "agent-pe", roles=["petite_enfance"])
ADMIN = principal("agent", "agent-admin", roles=["admin"])
KITCHEN = principal("client", "client-kitchen", scopes=["kitchen"])
FAMILY_READER = principal("client", "client-families", scopes=["families:read"])

FAMILY = {
    "id": FAMILY_ID, "dossier": "000042",
    "representatives": [{"id": REP_ID, "first_name": "Léa", "last_name": "Martin", "email": "lea@example.fr",
                         "phone": "0612345678", "caf_number": "",
                         "address": {"line1": "3 rue de la Gare", "line2": "", "postal_code": "44480",
                                     "city": "Donges"}}],
    "children": [{"id": "c-1", "first_name": "Tom", "last_name": "Martin", "birth_date": "2019-05-04"}],
}
ME = {"account": {"id": "acc-1", "username": "lea.martin", "email": "lea@example.fr", "email_confirmed": False,
                  "representative_id": REP_ID},
      "family": FAMILY}

# A body each route accepts, so that auth tests fail on auth alone.
VALID_BODIES = {
    ("/schools/{school_id}/attendance", "post"): {"date": "2026-12-03", "eaten": ["c-1"]},
    ("/accounts", "post"): {"key": "ABCD-EFGH-JKMN-PQRS", "username": "lea.martin", "email": "lea@example.fr",
                            "password": "Un-Mot-de-passe-2026"},
    ("/auth/token", "post"): {"username": "lea.martin", "password": "Un-Mot-de-passe-2026"},
    ("/me/password", "put"): {"current_password": "Ancien-Mot-2026!", "new_password": "Nouveau-Mot-2026!"},
    ("/me/contact", "patch"): {"phone": "06 12 34 56 78"},
    ("/password-resets", "post"): {"login": "lea.martin"},
    ("/password-resets/confirm", "post"): {"token": "t", "password": "Nouveau-Mot-2026!"},
    ("/email-confirmations", "post"): {"token": "t"},
    ("/families", "post"): {
        "representatives": [{"first_name": "Léa", "last_name": "Martin", "email": "lea@example.fr",
                             "phone": "06 12 34 56 78",
                             "address": {"line1": "3 rue de la Gare", "line2": "", "postal_code": "44480",
                                         "city": "Donges"}}],
        "children": [{"first_name": "Tom", "last_name": "Martin", "birth_date": "2019-05-04"}]},
    ("/api-clients", "post"): {"name": "Cuisine centrale", "scopes": ["kitchen"]},
    ("/meal-reservations", "post"): {"children": ["c-1"], "from": "2026-12-01", "to": "2026-12-31",
                                     "weekdays": [1, 2, 4, 5], "action": "reserve"},
    ("/enrolments", "post"): {"child_id": "c-1", "school_id": "s-1", "school_year": "2026-2027"},
    # Childcare (gateway/tests/test_api_childcare.py tests what they do).
    ("/children/{child_id}/childcare-bookings", "post"): {"slot_id": "s-1"},
    ("/children/{child_id}/childcare-leaves", "post"): {"from": "2026-12-07", "to": "2026-12-08"},
    ("/childcare/registrations", "post"): {"child_id": "c-1", "kind": "occasional"},
    ("/childcare/slots/{slot_id}", "put"): {"capacity": 6},
    ("/childcare-absences/{absence_id}/decision", "post"): {"accepted": True, "comment": "Reçu"},
    ("/childcare/attendance", "post"): {"child_id": "c-1", "date": "2026-12-01", "arrived_at": "08:10"},
    ("/childcare/closures", "post"): {"date": "2026-12-24", "kind": "closed"},
    # Direct debit (gateway/tests/test_direct_debit.py).
    ("/me/direct-debit-mandates", "post"): {"iban": "FR7630006000011234567890189", "holder": "Léa Martin"},
    ("/invoices/{invoice_id}/debit-rejections", "post"): {"reason": "AM04"},
    # Billing (gateway/tests/test_api_billing.py tests what they do).
    ("/tariffs", "post"): {"regie": "petite_enfance", "from": "2027-01-01", "floor_cents": 80100,
                           "ceiling_cents": 850000, "effort_rates": [{"children_from": 1, "percent": "0.0619"}]},
    ("/price-estimates", "post"): {"regie": "affaires_scolaires", "quotient": 850, "meals": 12},
    ("/families/{family_id}/resources", "put"): {"from": "2026-01-01", "quotient": 850,
                                                 "monthly_resources_cents": 238400, "dependent_children": 2},
    ("/invoicing-runs", "post"): {"regie": "affaires_scolaires", "month": "2026-11"},
    ("/invoices/{invoice_id}/payments", "post"): {"method": "cash", "amount_cents": 500},
    ("/invoices/{invoice_id}/credit-notes", "post"): {"amount_cents": 285, "reason": "Repas compté à tort"},
    # Billing documents (gateway/tests/test_billing_documents.py tests what they do).
    ("/me/billing-preferences", "put"): {"paperless": True},
    # Health record (issue #12; gateway/tests/test_health_records.py).
    ("/children/{child_id}/health-record", "put"): {"allergies": "Arachide", "authorised_persons": [
        {"name": "Monique Martin", "phone": "06 11 22 33 44", "relation": "grand_parent"}]},
    # Reminders by e-mail (issue #12; gateway/tests/test_reminders.py tests what they do).
    ("/me/reminders", "put"): {"canteen_deadline": True, "invoice_due": False},
    # The document wallet (gateway/tests/test_wallet.py).
    ("/documents/{document_id}/decision", "post"): {"decision": "refused", "reason": "Illisible"},
    # Messages to the service (issue #12; gateway/tests/test_messages.py tests what they do).
    ("/messages", "post"): {"service": "affaires_scolaires", "subject": "Repas", "body": "Bonjour"},
    ("/messages/{conversation_id}/replies", "post"): {"body": "Merci"},
}


def as_(services, who):
    """Headers of a request by `who`: identity resolves the test token to that principal."""
    services.answers[("identity", "resolve_token")] = who
    return AUTH


def calls(services, method=None):
    """The identity calls made, without resolving the token."""
    return [(m, args, kwargs) for s, m, args, kwargs in services.calls
            if s == "identity" and m != "resolve_token" and (method is None or m == method)]


def send(client, method, path, **kwargs):
    return getattr(client, method)("/api/v1" + path, **kwargs)


def documented_operations(client):
    document = client.get("/api/v1/openapi.json").get_json()
    return document, [(path, method, operation) for path, item in document["paths"].items()
                      for method, operation in item.items()]


def concrete(path):
    return path.replace("{family_id}", FAMILY_ID).replace("{representative_id}", REP_ID)


# --- Accounts and tokens ---------------------------------------------------------------------------

def test_creating_an_account_hands_key_and_credentials_to_identity(client, services):
    services.answers[("identity", "create_account")] = ME
    response = client.post("/api/v1/accounts", json=VALID_BODIES[("/accounts", "post")])
    assert response.status_code == 201
    assert response.get_json() == ME
    assert response.headers["Location"] == "/api/v1/me"
    assert calls(services) == [("create_account", ("ABCD-EFGH-JKMN-PQRS", "lea.martin", "lea@example.fr",
                                                   "Un-Mot-de-passe-2026", "127.0.0.1"), {})]


@pytest.mark.parametrize("kind, code, status", [
    ("InvalidInput", "invalid_key", 400), ("InvalidInput", "weak_password", 400),
    ("Conflict", "key_used", 409), ("Conflict", "username_taken", 409)])
def test_account_refusals_come_back_with_identitys_code(client, services, kind, code, status):
    services.answers[("identity", "create_account")] = remote(kind, code, "Un message en français.")
    response = client.post("/api/v1/accounts", json=VALID_BODIES[("/accounts", "post")])
    assert response.status_code == status
    assert response.get_json() == {"code": code, "message": "Un message en français."}


def test_the_document_refuses_an_identifier_longer_than_identity_accepts(client, services):
    """identity accepts 3 to 40 characters; the schema said 80, so a fuzzer's 41 reached identity and was refused."""
    body = {**VALID_BODIES[("/accounts", "post")], "username": "l" * 41}
    response = client.post("/api/v1/accounts", json=body)
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
    assert "40" in response.get_json()["message"] and calls(services) == []


LOGIN = {"token": "jeton-api", "token_type": "Bearer", "expires_in": 900, "principal": PARENT}


def test_a_parent_or_agent_gets_an_api_token_with_identifier_and_password(client, services):
    services.answers[("identity", "login")] = LOGIN
    response = client.post("/api/v1/auth/token", json={"username": "lea.martin", "password": "secret"})
    assert response.status_code == 200
    assert response.get_json() == {"access_token": "jeton-api", "token_type": "Bearer", "expires_in": 900}
    assert response.headers["Cache-Control"] == "no-store"
    assert calls(services) == [("login", ("lea.martin", "secret", "127.0.0.1", "api"), {})]


def test_grant_type_password_is_accepted_too(client, services):
    services.answers[("identity", "login")] = LOGIN
    response = client.post("/api/v1/auth/token", json={"grant_type": "password", "username": "u", "password": "p"})
    assert response.status_code == 200
    assert calls(services, "login")[0][1] == ("u", "p", "127.0.0.1", "api")


def test_a_system_gets_a_token_with_client_credentials(client, services):
    services.answers[("identity", "client_login")] = dict(LOGIN, token="jeton-client", principal=KITCHEN)
    response = client.post("/api/v1/auth/token", json={"grant_type": "client_credentials",
                                                       "client_id": "client-1", "client_secret": "s3cret"})
    assert response.status_code == 200
    assert response.get_json() == {"access_token": "jeton-client", "token_type": "Bearer", "expires_in": 900}
    assert calls(services) == [("client_login", ("client-1", "s3cret", "127.0.0.1"), {})]


def test_the_client_address_is_the_one_identity_sees(client, services):
    services.answers[("identity", "login")] = LOGIN
    client.post("/api/v1/auth/token", json={"username": "u", "password": "p"},
                environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert calls(services, "login")[0][1][2] == "192.0.2.7"


def test_wrong_credentials_are_401_and_throttling_is_429_with_retry_after(client, services):
    services.answers[("identity", "login")] = remote("Unauthenticated", "bad_credentials",
                                                     "Identifiant ou mot de passe incorrect.")
    response = client.post("/api/v1/auth/token", json={"username": "u", "password": "p"})
    assert (response.status_code, response.get_json()["code"]) == (401, "bad_credentials")
    services.answers[("identity", "login")] = remote("Throttled", "too_many_attempts", "Trop de tentatives.", 120)
    response = client.post("/api/v1/auth/token", json={"username": "u", "password": "p"})
    assert (response.status_code, response.headers["Retry-After"]) == (429, "120")


def test_revoking_the_token_logs_out_that_token(client, services):
    services.answers[("identity", "logout")] = lambda token: None
    response = client.delete("/api/v1/auth/token", headers=as_(services, PARENT))
    assert response.status_code == 204 and response.data == b""
    assert calls(services) == [("logout", (TOKEN,), {})]


# --- The parent's own space ------------------------------------------------------------------------

def test_me_is_the_parents_account_and_family(client, services):
    services.answers[("identity", "me")] = ME
    response = client.get("/api/v1/me", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.get_json() == ME
    assert calls(services) == [("me", ("acc-1",), {})]
    assert services.calls[0] == ("identity", "resolve_token", (TOKEN,), {})


def test_changing_the_password_keeps_the_callers_token(client, services):
    services.answers[("identity", "change_password")] = lambda *args, **kwargs: None
    response = client.put("/api/v1/me/password", headers=as_(services, PARENT),
                          json={"current_password": "Ancien", "new_password": "Nouveau-Mot-2026!"})
    assert response.status_code == 204
    assert calls(services) == [("change_password", ("acc-1", "Ancien", "Nouveau-Mot-2026!", "127.0.0.1"),
                                {"keep_token": TOKEN})]


def test_a_wrong_current_password_is_403_wrong_password(client, services):
    services.answers[("identity", "change_password")] = remote("Forbidden", "wrong_password",
                                                               "Le mot de passe actuel est incorrect.")
    response = client.put("/api/v1/me/password", headers=as_(services, PARENT),
                          json={"current_password": "Faux", "new_password": "Nouveau-Mot-2026!"})
    assert response.status_code == 403
    assert response.get_json() == {"code": "wrong_password", "message": "Le mot de passe actuel est incorrect."}


def test_changing_contact_details_passes_the_changes_as_sent(client, services):
    answer = dict(ME, pending_email="nouvelle@example.fr")
    services.answers[("identity", "change_contact")] = answer
    changes = {"phone": "0698765432", "email": "nouvelle@example.fr",
               "address": {"line1": "1 place de la Mairie", "postal_code": "44480", "city": "Donges"}}
    response = client.patch("/api/v1/me/contact", headers=as_(services, PARENT), json=changes)
    assert response.status_code == 200 and response.get_json() == answer
    assert calls(services) == [("change_contact", ("acc-1", changes, "127.0.0.1"), {})]


def test_recent_events_are_the_accounts_own(client, services):
    events = [{"kind": "login_ok", "label": "Connexion", "at": "2026-01-05T08:00:00+00:00", "client_ip": "192.0.2.7"}]
    services.answers[("identity", "recent_events")] = events
    response = client.get("/api/v1/me/events", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.get_json() == {"events": events}
    client.get("/api/v1/me/events?limit=5", headers=AUTH)
    assert calls(services) == [("recent_events", ("acc-1", 20), {}), ("recent_events", ("acc-1", 5), {})]


@pytest.mark.parametrize("limit", ["0", "101", "dix", "-3", ""])
def test_a_bad_limit_is_400_and_asks_nothing(client, services, limit):
    response = client.get(f"/api/v1/me/events?limit={limit}", headers=as_(services, PARENT))
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_query"
    assert calls(services) == []


# --- Password resets and e-mail confirmation -----------------------------------------------------------

def test_a_reset_request_is_always_202(client, services):
    services.answers[("identity", "request_password_reset")] = lambda *args: None
    response = client.post("/api/v1/password-resets", json={"login": "personne@example.fr"})
    assert response.status_code == 202
    assert set(response.get_json()) == {"message"}
    assert calls(services) == [("request_password_reset", ("personne@example.fr", "127.0.0.1"), {})]


def test_a_reset_is_confirmed_with_the_token_and_the_new_password(client, services):
    services.answers[("identity", "confirm_password_reset")] = lambda *args: None
    response = client.post("/api/v1/password-resets/confirm", json={"token": "abc", "password": "Nouveau-Mot-2026!"})
    assert response.status_code == 204
    assert calls(services) == [("confirm_password_reset", ("abc", "Nouveau-Mot-2026!", "127.0.0.1"), {})]


def test_a_used_reset_link_is_409(client, services):
    services.answers[("identity", "confirm_password_reset")] = remote("Conflict", "link_expired",
                                                                      "Ce lien a déjà servi.")
    response = client.post("/api/v1/password-resets/confirm", json={"token": "abc", "password": "Nouveau-Mot-2026!"})
    assert (response.status_code, response.get_json()["code"]) == (409, "link_expired")


def test_an_email_is_confirmed_with_the_token_of_its_link(client, services):
    services.answers[("identity", "confirm_email")] = {"email": "lea@example.fr"}
    response = client.post("/api/v1/email-confirmations", json={"token": "abc"})
    assert response.status_code == 200 and response.get_json() == {"email": "lea@example.fr"}
    assert calls(services) == [("confirm_email", ("abc",), {})]


# --- Families -------------------------------------------------------------------------------------------

def test_a_parent_reads_a_family_only_as_their_own(client, services):
    services.answers[("identity", "get_family")] = FAMILY
    response = client.get(f"/api/v1/families/{FAMILY_ID}", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.get_json() == FAMILY
    assert calls(services) == [("get_family", (FAMILY_ID,), {"account_id": "acc-1"})]


def test_a_parent_reading_another_family_gets_404_with_code_and_message(client, services):
    services.answers[("identity", "get_family")] = remote("NotFound", "family_not_found", "Cette famille n'existe pas.")
    response = client.get(f"/api/v1/families/{OTHER_FAMILY_ID}", headers=as_(services, PARENT))
    assert response.status_code == 404
    assert response.get_json() == {"code": "family_not_found", "message": "Cette famille n'existe pas."}
    assert calls(services) == [("get_family", (OTHER_FAMILY_ID,), {"account_id": "acc-1"})]


@pytest.mark.parametrize("agent", [SCOLAIRE, PETITE_ENFANCE, ADMIN])
def test_an_agent_reads_any_family_with_accounts_and_keys(client, services, agent):
    services.answers[("identity", "family_for_agent")] = FAMILY
    response = client.get(f"/api/v1/families/{FAMILY_ID}", headers=as_(services, agent))
    assert response.status_code == 200
    assert calls(services) == [("family_for_agent", (FAMILY_ID,), {})]


def test_a_system_with_families_read_reads_a_family(client, services):
    services.answers[("identity", "get_family")] = FAMILY
    response = client.get(f"/api/v1/families/{FAMILY_ID}", headers=as_(services, FAMILY_READER))
    assert response.status_code == 200
    assert calls(services) == [("get_family", (FAMILY_ID,), {})]


def test_agents_find_families(client, services):
    services.answers[("identity", "find_families")] = [FAMILY]
    response = client.get("/api/v1/families?q=Martin", headers=as_(services, SCOLAIRE))
    assert response.status_code == 200 and response.get_json() == {"families": [FAMILY]}
    assert calls(services) == [("find_families", ("Martin",), {})]


def test_a_search_without_query_is_refused_as_the_document_says(client, services):
    response = client.get("/api/v1/families", headers=as_(services, SCOLAIRE))
    assert response.get_json() == {"code": "invalid_query", "message": "Saisissez au moins deux caractères."}
    assert response.status_code == 400 and calls(services) == []


def test_an_agent_registers_a_family_as_given(client, services):
    body = VALID_BODIES[("/families", "post")]
    services.answers[("identity", "register_family")] = FAMILY
    response = client.post("/api/v1/families", headers=as_(services, PETITE_ENFANCE), json=body)
    assert response.status_code == 201 and response.get_json() == FAMILY
    assert response.headers["Location"] == f"/api/v1/families/{FAMILY_ID}"
    assert calls(services) == [("register_family", (body,), {})]


# --- Keys and letters ---------------------------------------------------------------------------------

def test_an_agent_issues_a_key_shown_once(client, services):
    issued = {"key": "ABCD-EFGH-JKMN-PQRS", "expires_at": "2026-04-05T08:00:00+00:00", "representative_id": REP_ID}
    services.answers[("identity", "issue_key")] = issued
    response = client.post(f"/api/v1/representatives/{REP_ID}/keys", headers=as_(services, SCOLAIRE))
    assert response.status_code == 201 and response.get_json() == issued
    assert response.headers["Cache-Control"] == "no-store"
    assert calls(services) == [("issue_key", (REP_ID,), {"agent_id": "agent-sco"})]


def test_the_letter_is_the_decoded_pdf(client, services):
    pdf = b"%PDF-1.4\n...lettre...\n%%EOF\n"
    services.answers[("identity", "key_letter")] = {"filename": "cle-espace-famille-0f6a1b2c.pdf",
                                                    "pdf_base64": base64.b64encode(pdf).decode("ascii")}
    headers = as_(services, SCOLAIRE)
    for _ in range(2):
        response = client.get(f"/api/v1/representatives/{REP_ID}/keys/letter.pdf", headers=headers)
        assert response.status_code == 200
        assert response.mimetype == "application/pdf" and response.data == pdf
        assert response.headers["Content-Disposition"] == 'attachment; filename="cle-espace-famille-0f6a1b2c.pdf"'
        assert response.headers["Cache-Control"] == "no-store"
    assert calls(services) == [("key_letter", (REP_ID,), {})] * 2


def test_no_letter_to_print_is_a_json_404(client, services):
    services.answers[("identity", "key_letter")] = remote("NotFound", "letter_unavailable",
                                                          "Aucun courrier à imprimer.")
    response = client.get(f"/api/v1/representatives/{REP_ID}/keys/letter.pdf", headers=as_(services, SCOLAIRE))
    assert response.status_code == 404
    assert response.get_json() == {"code": "letter_unavailable", "message": "Aucun courrier à imprimer."}


# --- API clients --------------------------------------------------------------------------------------

def test_an_administrator_creates_an_api_client_whose_secret_is_shown_once(client, services):
    created = {"client_id": "client-1", "client_secret": "s3cret", "scopes": ["kitchen"], "name": "Cuisine centrale"}
    services.answers[("identity", "create_api_client")] = created
    response = client.post("/api/v1/api-clients", headers=as_(services, ADMIN),
                           json={"name": "Cuisine centrale", "scopes": ["kitchen"]})
    assert response.status_code == 201 and response.get_json() == created
    assert response.headers["Cache-Control"] == "no-store"
    assert calls(services) == [("create_api_client", ("Cuisine centrale", ["kitchen"]), {})]


# --- Who may call what ------------------------------------------------------------------------------------

ANONYMOUS_ROUTES = {("/accounts", "post"), ("/auth/token", "post"), ("/password-resets", "post"),
                    ("/password-resets/confirm", "post"), ("/email-confirmations", "post"),
                    ("/openapi.json", "get"), ("/services/{name}/ping", "get"), ("/menus", "get"), ("/schools", "get"),
                    ("/childcare/slots", "get"), ("/childcare/news", "get"),
                    ("/tariffs", "get"), ("/price-estimates", "post")}
# Paybox's notification: its RSA signature is the authentication (issue #10).
ANONYMOUS_ROUTES |= {("/paybox/notifications", "get"), ("/paybox/notifications", "post")}


def test_every_other_route_needs_a_token(client, services):
    _, operations = documented_operations(client)
    protected = [(path, method) for path, method, _ in operations if (path, method) not in ANONYMOUS_ROUTES]
    # 72 before issue #12 (three of them canteen: a family's absences, a justification, the tablet's attendance;
    # 16 childcare, 8 direct debit, 13 billing, 6 billing documents, 3 card payments...), then issue #12:
    # 1 the family's export, 2 reminders, 1 family trail, 7 the document wallet, 6 messages, 2 health record
    assert len(protected) == 72 + 1 + 2 + 1 + 7 + 6 + 2
    for path, method in protected:
        response = send(client, method, concrete(path), json=VALID_BODIES.get((path, method)))
        assert response.status_code == 401, (path, method)
        assert response.get_json()["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert services.calls == []


def test_the_document_says_which_routes_need_a_token(client):
    document, operations = documented_operations(client)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An access token from `POST /auth/token`."}
    for path, method, operation in operations:
        anonymous = operation.get("security", document["security"]) == []
        assert anonymous == ((path, method) in ANONYMOUS_ROUTES), (path, method)


def test_an_expired_or_revoked_token_is_401(client, services):
    services.answers[("identity", "resolve_token")] = remote("Unauthenticated", "session_expired",
                                                             "Votre session a expiré.")
    response = client.get("/api/v1/me", headers=AUTH)
    assert response.status_code == 401 and response.get_json()["code"] == "unauthenticated"
    assert calls(services) == []


def test_a_cookie_session_is_no_api_credential(client, services):
    with client.session_transaction() as session:
        session["token"] = TOKEN
    assert client.get("/api/v1/me").status_code == 401
    assert services.calls == []


FORBIDDEN = [
    # Parents only.
    ("get", "/me", SCOLAIRE), ("get", "/me", ADMIN), ("get", "/me", FAMILY_READER),
    ("put", "/me/password", ADMIN), ("patch", "/me/contact", KITCHEN), ("get", "/me/events", PETITE_ENFANCE),
    # Agents of either service (admin holds every role), or systems with families:read where they read.
    ("get", "/families", PARENT), ("get", "/families", KITCHEN),
    ("get", "/families/{family_id}", KITCHEN),
    ("post", "/families", PARENT), ("post", "/families", FAMILY_READER),
    ("post", "/representatives/{representative_id}/keys", PARENT),
    ("post", "/representatives/{representative_id}/keys", FAMILY_READER),
    ("get", "/representatives/{representative_id}/keys/letter.pdf", PARENT),
    ("get", "/representatives/{representative_id}/keys/letter.pdf", KITCHEN),
    # Administrators only.
    ("post", "/api-clients", SCOLAIRE), ("post", "/api-clients", PETITE_ENFANCE), ("post", "/api-clients", PARENT),
    ("post", "/api-clients", FAMILY_READER),
]


@pytest.mark.parametrize("method, path, who", FORBIDDEN,
                         ids=[f"{m} {p} as {w['id']}" for m, p, w in FORBIDDEN])
def test_a_token_of_the_wrong_kind_role_or_scope_is_403(client, services, method, path, who):
    response = send(client, method, concrete(path), headers=as_(services, who), json=VALID_BODIES.get((path, method)))
    assert response.status_code == 403
    assert response.get_json() == {"code": "forbidden", "message": "Ce jeton ne donne pas accès à cette ressource."}
    assert calls(services) == []


# --- Bodies are checked before anything is called ----------------------------------------------------------

def body_routes(client):
    """Routes that take a JSON body (a multipart upload is checked by its own tests)."""
    _, operations = documented_operations(client)
    return [(path, method) for path, method, operation in operations
            if "application/json" in operation.get("requestBody", {}).get("content", {})]


def test_every_route_with_a_body_has_a_valid_example_here(client):
    assert set(body_routes(client)) == set(VALID_BODIES)


@pytest.mark.parametrize("raw, content_type", [
    ("pas du JSON", "application/json"), ("[1, 2]", "application/json"), ("null", "application/json"),
    ("", "application/json"), ('{"login": "x"}', "text/plain"), ("login=x", "application/x-www-form-urlencoded")])
def test_a_body_that_is_not_a_json_object_is_400_and_calls_nothing(client, services, raw, content_type):
    for path, method in body_routes(client):
        response = send(client, method, concrete(path), data=raw, content_type=content_type, headers=AUTH)
        assert response.status_code == 400, (path, method)
        assert response.get_json() == {"code": "invalid_body", "message": "Le corps de la demande doit être un objet "
                                        "JSON (en-tête Content-Type: application/json)."}
    assert services.calls == []


def test_an_unknown_field_or_a_wrong_type_is_400_on_every_route_and_calls_nothing(client, services):
    for path, method in body_routes(client):
        for body in ({**VALID_BODIES[(path, method)], "intrus": 1},
                     {name: 42 for name in VALID_BODIES[(path, method)]}):
            response = send(client, method, concrete(path), json=body, headers=AUTH)
            assert response.status_code == 400, (path, method, body)
            assert response.get_json()["code"] == "invalid_body"
    assert services.calls == []


@pytest.mark.parametrize("path, method, body, message", [
    ("/accounts", "post", {"key": "K", "username": "u", "password": "p"},
     "Le champ « email » est obligatoire."),
    ("/accounts", "post", {"key": "K", "username": ["u"], "email": "e", "password": "p"},
     "Le champ « username » doit être une chaîne de caractères."),
    ("/accounts", "post", {"key": "K", "username": "u", "email": "e", "password": "p", "role": "admin"},
     "Champ inconnu : « role »."),
    ("/auth/token", "post", {"grant_type": "client_credentials", "client_id": "c"},
     "Le champ « client_secret » est obligatoire."),
    ("/auth/token", "post", {"username": "u"}, "Le champ « password » est obligatoire."),
    ("/auth/token", "post", {"grant_type": "implicit", "username": "u", "password": "p"},
     "Le champ « grant_type » doit valoir : password."),
    ("/password-resets", "post", {"login": "x" * 255}, "Le champ « login » ne peut pas dépasser 254 caractères."),
    ("/me/contact", "patch", {}, "Indiquez au moins un champ."),
    ("/me/contact", "patch", {"address": {"line1": "1 rue", "city": "Donges"}},
     "Le champ « address.postal_code » est obligatoire."),
    ("/families", "post", {"representatives": {"first_name": "Léa"}},
     "Le champ « representatives » doit être une liste."),
    ("/families", "post", {"representatives": [{"first_name": "Léa", "last_name": "Martin",
                                                "address": {"line1": "1 rue", "postal_code": 44480, "city": "D"}}]},
     "Le champ « representatives[0].address.postal_code » doit être une chaîne de caractères."),
    ("/families", "post", {"representatives": [{"first_name": "Léa", "last_name": "Martin"}],
                           "children": [{"first_name": "Tom", "last_name": "Martin", "birth_date": "04/05/2019"}]},
     "Le champ « children[0].birth_date » doit être une date au format AAAA-MM-JJ."),
    ("/api-clients", "post", {"name": "Cuisine", "scopes": "kitchen"}, "Le champ « scopes » doit être une liste."),
])
def test_a_malformed_body_is_explained_in_french(client, services, path, method, body, message):
    response = send(client, method, concrete(path), json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {"code": "invalid_body", "message": message}
    assert services.calls == []


def test_a_body_is_checked_before_the_token_is_resolved(client, services):
    response = client.post("/api/v1/families", json={"representatives": "?"}, headers=as_(services, SCOLAIRE))
    assert response.status_code == 400
    assert services.calls == []


def test_a_service_that_does_not_answer_is_503(client, services):
    services.answers[("identity", "login")] = ServiceUnavailable("identity", "no answer within 5 s")
    response = client.post("/api/v1/auth/token", json={"username": "u", "password": "p"})
    assert response.status_code == 503 and response.get_json()["code"] == "service_unavailable"


def test_getting_a_token_sets_no_cookie(client, services):
    services.answers[("identity", "login")] = LOGIN
    response = client.post("/api/v1/auth/token", json={"username": "u", "password": "p"})
    assert "Set-Cookie" not in response.headers
