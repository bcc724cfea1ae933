"""Every agent route, every role: the role table below says who may use each route of the back office
(`/agents/...`) and of the JSON API, and the test walks the Flask url_map against it.

A route missing from the table fails the test: whoever adds a route says here who may use it.
Allowed means anything but 401/403 (the fake services answer nothing, so a page may well be 503 or 404);
refused means 403, and for an anonymous visitor the login page (web) or 401 (API).
"""
import re

import pytest

from gateway import create_app

from .conftest import FakeServices
from .test_api_identity import VALID_BODIES, principal

SCOLAIRE, CRECHE, ADMIN, PARENT_ = "affaires_scolaires", "petite_enfance", "admin", "parent"
S = frozenset({SCOLAIRE, ADMIN})            # the canteen and its régie
P = frozenset({CRECHE, ADMIN})              # the crèche and its régie
SP = frozenset({SCOLAIRE, CRECHE, ADMIN})   # both services (families, billing of the agent's own régie)
A = frozenset({ADMIN})                      # administrators only
NONE = frozenset()                          # no agent (a parent's route, or a system's)
PARENT = frozenset({PARENT_})
PUBLIC = None                               # anonymous visitors too: nothing to refuse

ROLE_TABLE = {
    ("GET", "/agents/cantine/actualites/<news_id>"): S,
    ("GET", "/agents/cantine/actualites/<news_id>/retirer"): S,
    ("GET", "/agents/cantine/classes/<class_id>"): S,
    ("GET", "/agents/cantine/classes/<class_id>/supprimer"): S,
    ("GET", "/agents/cantine/ecoles/<school_id>"): S,
    ("GET", "/agents/cantine/ecoles/<school_id>/supprimer"): S,
    ("GET", "/agents/petite-enfance/actualites/<news_id>"): P,
    ("GET", "/agents/petite-enfance/actualites/<news_id>/retirer"): P,
    ("POST", "/agents/cantine/actualites/<news_id>"): S,
    ("POST", "/agents/cantine/actualites/<news_id>/retirer"): S,
    ("POST", "/agents/cantine/classes/<class_id>"): S,
    ("POST", "/agents/cantine/classes/<class_id>/supprimer"): S,
    ("POST", "/agents/cantine/ecoles/<school_id>"): S,
    ("POST", "/agents/cantine/ecoles/<school_id>/supprimer"): S,
    ("POST", "/agents/petite-enfance/actualites/<news_id>"): P,
    ("POST", "/agents/petite-enfance/actualites/<news_id>/retirer"): P,
    ("GET", "/agents/"): SP,
    ("GET", "/agents/cantine/"): S,
    ("GET", "/agents/cantine/absences/<absence_id>/justificatif"): S,
    ("GET", "/agents/cantine/actualites"): S,
    ("POST", "/agents/cantine/actualites"): S,
    ("GET", "/agents/cantine/calendrier"): S,
    ("POST", "/agents/cantine/calendrier/fermer"): S,
    ("POST", "/agents/cantine/calendrier/rouvrir"): S,
    ("POST", "/agents/cantine/calendrier/vacances"): S,
    ("GET", "/agents/cantine/ecoles"): S,
    ("POST", "/agents/cantine/ecoles"): S,
    ("GET", "/agents/cantine/effectifs"): S,
    ("GET", "/agents/cantine/effectifs.csv"): S,
    ("GET", "/agents/cantine/inscriptions"): S,
    ("GET", "/agents/cantine/inscriptions/<family_id>"): S,
    ("POST", "/agents/cantine/inscriptions/<family_id>"): S,
    ("GET", "/agents/cantine/menus"): S,
    ("GET", "/agents/cantine/menus/<day>"): S,
    ("POST", "/agents/cantine/menus/<day>"): S,
    ("GET", "/agents/cantine/presences"): S,
    ("POST", "/agents/cantine/presences"): S,
    ("GET", "/agents/cantine/regimes"): S,
    ("POST", "/agents/cantine/regimes"): S,
    ("GET", "/agents/facturation/"): SP,
    ("GET", "/agents/facturation/factures"): SP,
    ("GET", "/agents/facturation/factures/<invoice_id>"): SP,
    ("POST", "/agents/facturation/factures/<invoice_id>/avoir"): SP,
    ("GET", "/agents/facturation/factures/<invoice_id>/facture.pdf"): SP,
    ("POST", "/agents/facturation/factures/<invoice_id>/paiement"): SP,
    ("GET", "/agents/facturation/familles/<family_id>"): SP,
    ("POST", "/agents/facturation/familles/<family_id>"): SP,
    ("GET", "/agents/facturation/paiements/<payment_id>/recu.pdf"): SP,
    ("GET", "/agents/facturation/prelevements/"): SP,
    ("GET", "/agents/facturation/prelevements/anomalies"): SP,
    ("POST", "/agents/facturation/prelevements/fichier"): SP,
    ("POST", "/agents/facturation/prelevements/rejets"): SP,
    ("GET", "/agents/facturation/tarifs"): SP,
    ("POST", "/agents/facturation/tarifs"): A,
    ("GET", "/agents/facturation/tournees"): SP,
    ("POST", "/agents/facturation/tournees"): SP,
    ("GET", "/agents/facturation/tournees/<run_id>"): SP,
    ("POST", "/agents/facturation/tournees/<run_id>/finaliser"): SP,
    ("GET", "/agents/facturation/tournees/<run_id>/papier.pdf"): SP,
    ("GET", "/agents/familles"): SP,
    ("GET", "/agents/journal"): A,
    ("GET", "/agents/absences"): SP,
    ("GET", "/agents/familles/<family_id>"): SP,
    ("GET", "/agents/familles/<family_id>/representants/<representative_id>/cle"): SP,
    ("POST", "/agents/familles/<family_id>/representants/<representative_id>/cle"): SP,
    ("GET", "/agents/familles/<family_id>/representants/<representative_id>/courrier.pdf"): SP,
    ("GET", "/agents/familles/nouvelle"): SP,
    ("POST", "/agents/familles/nouvelle"): SP,
    ("GET", "/agents/petite-enfance/"): P,
    ("GET", "/agents/petite-enfance/actualites"): P,
    ("POST", "/agents/petite-enfance/actualites"): P,
    ("POST", "/agents/petite-enfance/creneaux/<slot_id>/capacite"): P,
    ("GET", "/agents/petite-enfance/fermetures"): P,
    ("POST", "/agents/petite-enfance/fermetures"): P,
    ("POST", "/agents/petite-enfance/fermetures/<day>/rouvrir"): P,
    ("GET", "/agents/petite-enfance/inscriptions"): P,
    ("POST", "/agents/petite-enfance/inscriptions"): P,
    ("GET", "/agents/petite-enfance/justificatifs"): P,
    ("POST", "/agents/petite-enfance/justificatifs/<absence_id>/decision"): P,
    ("GET", "/agents/petite-enfance/justificatifs/<absence_id>/fichier"): P,
    ("GET", "/agents/petite-enfance/planning"): P,
    ("GET", "/agents/petite-enfance/presences"): P,
    ("POST", "/agents/petite-enfance/presences"): P,
    ("GET", "/api/v1/absences"): NONE | PARENT,
    ("GET", "/api/v1/absences/<absence_id>/document"): NONE | PARENT,
    ("DELETE", "/api/v1/absences/<absence_id>"): NONE | PARENT,
    ("POST", "/api/v1/absences/<absence_id>/document"): NONE | PARENT,
    ("GET", "/api/v1/childcare-absences"): NONE | PARENT,
    ("DELETE", "/api/v1/childcare-absences/<absence_id>"): NONE | PARENT,
    ("POST", "/api/v1/childcare-absences/<absence_id>/document"): NONE | PARENT,
    ("GET", "/api/v1/accounting/export"): A,
    ("POST", "/api/v1/accounts"): PUBLIC,
    ("POST", "/api/v1/api-clients"): A,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("DELETE", "/api/v1/auth/token"): SP | PARENT,
    ("GET", "/api/v1/card-payments/<payment_id>"): NONE | PARENT,
    ("POST", "/api/v1/childcare-absences/<absence_id>/decision"): P,
    ("GET", "/api/v1/childcare-absences/<absence_id>/document"): P | PARENT,
    ("DELETE", "/api/v1/childcare-bookings/<booking_id>"): NONE | PARENT,
    ("POST", "/api/v1/childcare/attendance"): P,
    ("GET", "/api/v1/childcare/billable-facts"): P,
    ("POST", "/api/v1/childcare/closures"): P,
    ("GET", "/api/v1/childcare/family"): NONE | PARENT,
    ("GET", "/api/v1/childcare/justifications"): P,
    ("GET", "/api/v1/childcare/news"): PUBLIC,
    ("GET", "/api/v1/childcare/planning"): P,
    ("POST", "/api/v1/childcare/registrations"): P,
    ("GET", "/api/v1/childcare/registrations"): P,
    ("GET", "/api/v1/childcare/slots"): PUBLIC,
    ("PUT", "/api/v1/childcare/slots/<slot_id>"): P,
    ("POST", "/api/v1/children/<child_id>/absences"): NONE | PARENT,
    ("POST", "/api/v1/children/<child_id>/childcare-absences"): NONE | PARENT,
    ("POST", "/api/v1/children/<child_id>/childcare-bookings"): NONE | PARENT,
    ("GET", "/api/v1/children/<child_id>/childcare-bookings"): NONE | PARENT,
    ("POST", "/api/v1/children/<child_id>/childcare-leaves"): NONE | PARENT,
    ("GET", "/api/v1/children/<child_id>/meals"): NONE | PARENT,
    ("PUT", "/api/v1/children/<child_id>/meals/<date>"): NONE | PARENT,
    ("DELETE", "/api/v1/children/<child_id>/meals/<date>"): NONE | PARENT,
    ("GET", "/api/v1/direct-debits/<month>"): SP,
    ("GET", "/api/v1/direct-debits/<month>.xml"): SP,
    ("POST", "/api/v1/email-confirmations"): PUBLIC,
    ("POST", "/api/v1/enrolments"): S,
    ("GET", "/api/v1/families"): SP,
    ("POST", "/api/v1/families"): SP,
    ("GET", "/api/v1/families/<family_id>"): SP | PARENT,
    ("GET", "/api/v1/families/<family_id>/direct-debit-mandates"): SP,
    ("GET", "/api/v1/families/<family_id>/resources"): SP,
    ("PUT", "/api/v1/families/<family_id>/resources"): SP,
    ("GET", "/api/v1/invoices"): NONE | PARENT,
    ("GET", "/api/v1/invoices/<invoice_id>"): SP | PARENT,
    ("POST", "/api/v1/invoices/<invoice_id>/card-payments"): NONE | PARENT,
    ("POST", "/api/v1/invoices/<invoice_id>/credit-notes"): SP,
    ("POST", "/api/v1/invoices/<invoice_id>/debit-rejections"): SP,
    ("POST", "/api/v1/invoices/<invoice_id>/payments"): SP,
    ("GET", "/api/v1/invoices/<invoice_id>/pdf"): SP | PARENT,
    ("GET", "/api/v1/invoices/search"): SP,
    ("GET", "/api/v1/invoicing-runs"): SP,
    ("POST", "/api/v1/invoicing-runs"): SP,
    ("GET", "/api/v1/invoicing-runs/<run_id>"): SP,
    ("POST", "/api/v1/invoicing-runs/<run_id>/finalize"): SP,
    ("GET", "/api/v1/invoicing-runs/<run_id>/paper.pdf"): SP,
    ("GET", "/api/v1/me"): NONE | PARENT,
    ("GET", "/api/v1/me/billing-preferences"): NONE | PARENT,
    ("PUT", "/api/v1/me/billing-preferences"): NONE | PARENT,
    ("PATCH", "/api/v1/me/contact"): NONE | PARENT,
    ("POST", "/api/v1/me/direct-debit-mandates"): NONE | PARENT,
    ("GET", "/api/v1/me/direct-debit-mandates"): NONE | PARENT,
    ("DELETE", "/api/v1/me/direct-debit-mandates"): NONE | PARENT,
    ("GET", "/api/v1/me/events"): NONE | PARENT,
    ("PUT", "/api/v1/me/password"): NONE | PARENT,
    ("GET", "/api/v1/me/tax-certificates/<year>.pdf"): NONE | PARENT,
    ("POST", "/api/v1/meal-reservations"): NONE | PARENT,
    ("GET", "/api/v1/menus"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("POST", "/api/v1/password-resets"): PUBLIC,
    ("POST", "/api/v1/password-resets/confirm"): PUBLIC,
    ("GET", "/api/v1/paybox/notifications"): PUBLIC,
    ("POST", "/api/v1/paybox/notifications"): PUBLIC,
    ("GET", "/api/v1/payment-anomalies"): SP,
    ("GET", "/api/v1/payments/<payment_id>/receipt.pdf"): SP | PARENT,
    ("POST", "/api/v1/payments/reconciliations"): A,
    ("POST", "/api/v1/price-estimates"): PUBLIC,
    ("POST", "/api/v1/representatives/<representative_id>/keys"): SP,
    ("GET", "/api/v1/representatives/<representative_id>/keys/letter.pdf"): SP,
    ("GET", "/api/v1/schools"): PUBLIC,
    ("POST", "/api/v1/schools/<school_id>/attendance"): S,
    ("GET", "/api/v1/schools/<school_id>/headcount"): S,
    ("GET", "/api/v1/services/<name>/ping"): PUBLIC,
    ("GET", "/api/v1/tariffs"): PUBLIC,
    ("POST", "/api/v1/tariffs"): A,
    # Health record (issue #12): agents of either care service may ask; identity grants the read only to the
    # service the child attends and refuses an administrator without a care role (services/identity tests).
    ("GET", "/agents/enfants/<child_id>/fiche-sanitaire"): SP,
    ("GET", "/api/v1/children/<child_id>/health-record"): SP | PARENT,
    ("PUT", "/api/v1/children/<child_id>/health-record"): NONE | PARENT,
    # The family's data in its hands (issue #12): a parent's own export; administrators' page and export by post.
    ("GET", "/api/v1/me/export"): NONE | PARENT,
    ("GET", "/agents/donnees-personnelles"): A,
    ("POST", "/agents/donnees-personnelles/export"): A,
    # Reminders by e-mail (issue #12): a parent's own choices.
    ("GET", "/api/v1/me/reminders"): NONE | PARENT,
    ("PUT", "/api/v1/me/reminders"): NONE | PARENT,
    # The family's trail (issue #12).
    ("GET", "/agents/familles/<family_id>/historique"): SP,
    ("GET", "/api/v1/me/trail"): NONE | PARENT,
    # The document wallet (issue #12): parents their own; agents of both services review and read.
    ("GET", "/agents/documents"): SP,
    ("GET", "/agents/documents/<document_id>/fichier"): SP,
    ("POST", "/agents/documents/<document_id>/decision"): SP,
    ("GET", "/api/v1/me/documents"): NONE | PARENT,
    ("POST", "/api/v1/me/documents"): NONE | PARENT,
    ("GET", "/api/v1/me/documents/<document_id>/file"): NONE | PARENT,
    ("GET", "/api/v1/documents"): SP,
    ("GET", "/api/v1/documents/<document_id>/file"): SP,
    ("POST", "/api/v1/documents/<document_id>/decision"): SP,
    ("GET", "/api/v1/families/<family_id>/documents"): SP,
    # Messages to the service (issue #12): the family, and the agents of the conversation's service (identity
    # refuses another service's conversation: these rows say who reaches identity at all).
    ("GET", "/agents/messages/"): SP,
    ("GET", "/agents/messages/<conversation_id>"): SP,
    ("POST", "/agents/messages/<conversation_id>"): SP,
    ("POST", "/agents/messages/<conversation_id>/clore"): SP,
    ("GET", "/agents/messages/pieces-jointes/<message_id>/fichier"): SP,
    ("GET", "/api/v1/messages"): SP | PARENT,
    ("POST", "/api/v1/messages"): NONE | PARENT,
    ("GET", "/api/v1/messages/<conversation_id>"): SP | PARENT,
    ("POST", "/api/v1/messages/<conversation_id>/replies"): SP | PARENT,
    ("POST", "/api/v1/messages/<conversation_id>/close"): SP,
    ("GET", "/api/v1/message-attachments/<message_id>"): SP | PARENT,
}

WHO = {
    "anonymous": None,
    PARENT_: principal("parent", "acc-1", family_id="0b6d7c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e"),
    SCOLAIRE: principal("agent", "agent-sco", roles=[SCOLAIRE]),
    CRECHE: principal("agent", "agent-pe", roles=[CRECHE]),
    ADMIN: principal("agent", "agent-admin", roles=[ADMIN]),
}
VALUES = {"day": "2026-12-07", "date": "2026-12-07", "month": "2026-11", "year": "2026", "name": "canteen"}
ANY_ID = "0b6d7c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e"
ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def covered_routes(app):
    """(method, rule) of every route of the back office and the API, from the url_map."""
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  if rule.rule.startswith(("/agents", "/api/")) for method in rule.methods - {"HEAD", "OPTIONS"})


@pytest.fixture(scope="module")
def role_app():
    services = FakeServices()
    app = create_app({"LOCAL_RUN": True, "SECRET_KEY": "test", "TESTING": True}, services=services)
    app.config["WTF_CSRF_ENABLED"] = False  # the role decorators are under test, not the form's token
    return app, services


def test_every_agent_and_api_route_has_a_row_in_the_role_table(role_app):
    app, _ = role_app
    routes = set(covered_routes(app))
    missing = sorted(routes - set(ROLE_TABLE))
    assert not missing, f"routes without a row in ROLE_TABLE (say who may use them): {missing}"
    assert not sorted(set(ROLE_TABLE) - routes), "rows of ROLE_TABLE for routes that no longer exist"


def request_as(app, services, who, method, rule):
    client = app.test_client()
    api = rule.startswith("/api/")
    headers = {}
    if WHO[who] is not None:
        services.answers[("identity", "resolve_token")] = dict(WHO[who], token_kind="api" if api else "web")
        if api:
            headers["Authorization"] = "Bearer le-jeton"
        else:
            with client.session_transaction() as session:
                session["token"] = "le-jeton"
    path = ARGUMENT.sub(lambda m: VALUES.get(m.group(1), ANY_ID), rule)
    body = VALID_BODIES.get((ARGUMENT.sub(r"{\1}", rule)[len("/api/v1"):], method.lower())) if api else None
    if api:
        return client.open(path, method=method, headers=headers, json=body)
    return client.open(path, method=method, data={})


CASES = [(method, rule, who) for (method, rule), allowed in ROLE_TABLE.items() if allowed is not PUBLIC
         for who in WHO]


@pytest.mark.parametrize("method, rule, who", CASES, ids=[f"{m} {r} as {w}" for m, r, w in CASES])
def test_each_role_is_allowed_or_refused_as_the_table_says(role_app, method, rule, who):
    app, services = role_app
    response = request_as(app, services, who, method, rule)
    allowed = ROLE_TABLE[(method, rule)]
    if who == "anonymous":
        if rule.startswith("/api/"):
            assert response.status_code == 401
        else:
            assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    elif who in allowed:
        assert response.status_code not in (401, 403), response.status_code
    else:
        assert response.status_code == 403


def test_the_table_keeps_each_service_to_its_agents():
    """The table itself follows the rule: canteen pages for Affaires Scolaires, crèche pages for Petite Enfance,
    the family file and billing for both, the journal for administrators."""
    for (method, rule), allowed in ROLE_TABLE.items():
        if rule.startswith("/agents/cantine"):
            assert allowed == S, rule
        elif rule.startswith("/agents/petite-enfance"):
            assert allowed == P, rule
        elif rule.startswith(("/agents/familles", "/agents/facturation")) and allowed != A:
            assert allowed == SP, rule


NAVIGATION = {  # what the agents' home links to, by role
    SCOLAIRE: {"/agents/cantine/": True, "/agents/petite-enfance/": False, "/agents/journal": False},
    CRECHE: {"/agents/cantine/": False, "/agents/petite-enfance/": True, "/agents/journal": False},
    ADMIN: {"/agents/cantine/": True, "/agents/petite-enfance/": True, "/agents/journal": True},
}


@pytest.mark.parametrize("role", list(NAVIGATION))
def test_the_agents_home_links_only_to_what_the_role_allows(role_app, role):
    app, services = role_app
    services.answers[("billing", "vocabulary")] = {"regies": {"affaires_scolaires": "AS", "petite_enfance": "PE"}}
    page = request_as(app, services, role, "GET", "/agents/").get_data(as_text=True)
    links = set(re.findall(r'href="([^"#?]+)', page))
    for prefix, shown in NAVIGATION[role].items():
        assert any(link.startswith(prefix) for link in links) == shown, (role, prefix)
    for link in links:  # and every page the home links to is one the role may open
        rule = next((r for r in app.url_map.iter_rules() if r.rule == link and "GET" in r.methods), None)
        if rule is not None and ("GET", rule.rule) in ROLE_TABLE and ROLE_TABLE[("GET", rule.rule)] is not PUBLIC:
            assert role in ROLE_TABLE[("GET", rule.rule)], (role, link)
