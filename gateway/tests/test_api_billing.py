"""The billing routes of the JSON API, with fake services: parents see their own family's invoices, agents act on
the régie of their role, the accounting export is for the accounting scope and administrators."""
import pytest

from .conftest import remote
from .test_api_identity import ADMIN, AUTH, FAMILY_ID, KITCHEN, PARENT, PETITE_ENFANCE, SCOLAIRE, as_, principal

ACCOUNTING = principal("client", "client-compta", scopes=["accounting"])
BOTH = principal("agent", "agent-both", roles=["affaires_scolaires", "petite_enfance"])

# What billing's vocabulary() answers (services/billing/billing/domain.py is its source).
VOCABULARY = {
    "regies": {"affaires_scolaires": "Affaires scolaires (restauration scolaire)",
               "petite_enfance": "Petite enfance (multi-accueil)"},
    "invoice_statuses": {"draft": "Brouillon", "issued": "Émise", "partially_paid": "Partiellement payée",
                         "paid": "Payée", "cancelled": "Annulée par avoir"},
    "run_statuses": {"running": "En cours de calcul", "draft": "Brouillons à vérifier", "final": "Finalisée"},
    "payment_methods": {"cash": "Espèces", "cheque": "Chèque", "cesu": "CESU", "card": "Carte bancaire",
                        "direct_debit": "Prélèvement SEPA"},
    "agent_payment_methods": ["cash", "cheque", "cesu"],
    "line_kinds": {"meal_reserved": "Repas réservés", "note": "Information (non facturée)"},
    "limits": {"credit_note_reason": 500, "estimate_meals": 31, "estimate_hours": 300}, "due_days": 30,
}
SUMMARY = {"id": "inv-1", "number": "AS-2026-000001", "family_id": FAMILY_ID, "regie": "affaires_scolaires",
           "period": "2026-11", "status": "partially_paid", "total_cents": 4240, "paid_cents": 1000,
           "credited_cents": 0, "balance_cents": 3240, "issued_on": "2026-12-02", "due_date": "2027-01-01",
           "payable_by_card": True}
INVOICE = {**SUMMARY, "run_id": "run-1",
           "lines": [{"kind": "meal_reserved", "label": "Léa — 12 repas réservés × 2,85 € (tranche 3)",
                      "child_id": "c-1", "quantity": "12", "unit_price_cents": 285, "amount_cents": 3420},
                     {"kind": "meal_unreserved", "label": "Léa — 2 repas non réservés × 4,10 €", "child_id": "c-1",
                      "quantity": "2", "unit_price_cents": 410, "amount_cents": 820}],
           "payments": [{"id": "p-1", "invoice_id": "inv-1", "method": "cash", "amount_cents": 1000,
                         "external_id": None, "received_at": "2026-12-03T10:00:00+00:00"}],
           "credit_notes": []}
PE_INVOICE = {**INVOICE, "id": "inv-2", "regie": "petite_enfance", "number": "PE-2026-000001"}
RUN = {"id": "run-1", "regie": "affaires_scolaires", "month": "2026-11", "status": "running", "done": 40,
       "total": 120, "started_at": "2026-12-02T08:00:00+00:00", "error": None, "attempts": 0, "retry_at": None,
       "finalized_at": None, "invoices": [SUMMARY]}


@pytest.fixture(autouse=True)
def vocabulary(services):
    services.answers[("billing", "vocabulary")] = VOCABULARY


def billing_calls(services):
    return [(method, args, kwargs) for service, method, args, kwargs in services.calls
            if service == "billing" and method != "vocabulary"]


# --- Public ----------------------------------------------------------------------------------------------------

def test_tariffs_and_the_simulator_are_public(client, services):
    services.answers[("billing", "current_tariffs")] = {"affaires_scolaires": {"current": {"from": "2026-09-01"},
                                                                               "next": None}}
    response = client.get("/api/v1/tariffs")
    assert response.status_code == 200 and response.get_json()["affaires_scolaires"]["current"]["from"] == "2026-09-01"
    services.answers[("billing", "price_estimate")] = {"regie": "affaires_scolaires", "total_cents": 3420,
                                                       "lines": []}
    response = client.post("/api/v1/price-estimates", json={"regie": "affaires_scolaires", "quotient": 850, "meals": 12})
    assert response.status_code == 200 and response.get_json()["total_cents"] == 3420
    assert billing_calls(services)[-1] == ("price_estimate", ("affaires_scolaires", {"quotient": 850, "meals": 12}), {})


@pytest.mark.parametrize("bad", [{}, {"regie": "piscine", "meals": 3}, {"regie": "affaires_scolaires", "meals": 32},
                                 {"regie": "petite_enfance", "hours": "x" * 100_000},
                                 {"regie": "affaires_scolaires", "meals": 3, "joke": "=1+1"}])
def test_a_malformed_estimate_is_refused_before_billing_is_asked(client, services, bad):
    response = client.post("/api/v1/price-estimates", json=bad)
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_body"
    assert billing_calls(services) == []


def test_a_refused_estimate_keeps_billings_code(client, services):
    services.answers[("billing", "price_estimate")] = remote("InvalidInput", "invalid_estimate", "Par demi-heure.")
    response = client.post("/api/v1/price-estimates", json={"regie": "petite_enfance", "hours": 1.25})
    assert response.status_code == 400 and response.get_json() == {"code": "invalid_estimate",
                                                                   "message": "Par demi-heure."}


# --- Parents ----------------------------------------------------------------------------------------------------

def test_a_parent_lists_the_familys_invoices_with_the_documented_fields(client, services):
    services.answers[("billing", "family_invoices")] = {"invoices": [SUMMARY]}
    response = client.get("/api/v1/invoices", headers=as_(services, PARENT))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {"invoices": [{
        "id": "inv-1", "number": "AS-2026-000001", "regie": "affaires_scolaires", "period": "2026-11",
        "total_cents": 4240, "balance_cents": 3240, "due_date": "2027-01-01", "status": "partially_paid",
        "payable_by_card": True}]}
    assert billing_calls(services) == [("family_invoices", (FAMILY_ID,), {})]


def test_a_parent_reads_an_invoice_of_the_family_and_another_familys_is_404(client, services):
    services.answers[("billing", "invoice")] = INVOICE
    response = client.get("/api/v1/invoices/inv-1", headers=as_(services, PARENT))
    body = response.get_json()
    assert response.status_code == 200 and body["lines"][0] == {
        "kind": "meal_reserved", "label": "Léa — 12 repas réservés × 2,85 € (tranche 3)", "quantity": "12",
        "unit_price_cents": 285, "amount_cents": 3420, "explanation": None}  # billing's, when it has one (#12)
    assert body["payments"][0]["method"] == "cash" and "family_id" not in body
    assert billing_calls(services) == [("invoice", ("inv-1", FAMILY_ID), {})]
    services.answers[("billing", "invoice")] = remote("NotFound", "invoice_not_found", "Cette facture n'existe pas.")
    assert client.get("/api/v1/invoices/inv-9", headers=AUTH).status_code == 404


def test_invoices_need_a_parent_or_an_agent_of_billing(client, services):
    assert client.get("/api/v1/invoices", headers=as_(services, SCOLAIRE)).status_code == 403
    assert client.get("/api/v1/invoices/inv-1", headers=as_(services, KITCHEN)).status_code == 403
    assert billing_calls(services) == []


# --- Agents -------------------------------------------------------------------------------------------------------

def test_an_agent_reads_an_invoice_of_the_regie_and_the_other_regies_is_404(client, services):
    services.answers[("billing", "invoice")] = INVOICE
    response = client.get("/api/v1/invoices/inv-1", headers=as_(services, SCOLAIRE))
    assert response.status_code == 200 and response.get_json()["family_id"] == FAMILY_ID
    assert billing_calls(services)[-1] == ("invoice", ("inv-1",), {})
    services.answers[("billing", "invoice")] = PE_INVOICE
    assert client.get("/api/v1/invoices/inv-2", headers=AUTH).status_code == 404
    assert client.get("/api/v1/invoices/inv-2", headers=as_(services, ADMIN)).status_code == 200


def test_resources_are_entered_with_the_agent(client, services):
    services.answers[("billing", "set_family_resources")] = {"family_id": FAMILY_ID, "current": None, "history": []}
    body = {"from": "2026-01-01", "quotient": 850, "monthly_resources_cents": 238400, "dependent_children": 2,
            "disability": False}
    response = client.put(f"/api/v1/families/{FAMILY_ID}/resources", json=body, headers=as_(services, PETITE_ENFANCE))
    assert response.status_code == 200
    assert billing_calls(services) == [("set_family_resources", (FAMILY_ID, body, "agent-pe"), {})]
    for bad in ({**body, "quotient": -1}, {**body, "dependent_children": 0}, {**body, "from": "hier"},
                {k: v for k, v in body.items() if k != "quotient"}):
        assert client.put(f"/api/v1/families/{FAMILY_ID}/resources", json=bad, headers=AUTH).status_code == 400
    assert client.put(f"/api/v1/families/{FAMILY_ID}/resources", json=body,
                      headers=as_(services, PARENT)).status_code == 403


def test_only_an_administrator_enters_a_grid(client, services):
    grid = {"regie": "affaires_scolaires", "from": "2027-01-01", "unreserved_meal_price_cents": 450,
            "pai_meal_price_cents": 120, "brackets": [{"quotient_max": 400, "meal_price_cents": 100},
                                                      {"quotient_max": None, "meal_price_cents": 415}]}
    assert client.post("/api/v1/tariffs", json=grid, headers=as_(services, SCOLAIRE)).status_code == 403
    services.answers[("billing", "add_tariff_grid")] = {"regie": "affaires_scolaires", "created": True}
    response = client.post("/api/v1/tariffs", json=grid, headers=as_(services, ADMIN))
    assert response.status_code == 201
    regie, data, agent = billing_calls(services)[-1][1]
    assert (regie, agent, data["from"], "regie" in data) == ("affaires_scolaires", "agent-admin", "2027-01-01", False)
    services.answers[("billing", "add_tariff_grid")] = remote("Conflict", "grid_in_use", "Déjà utilisée.")
    assert client.post("/api/v1/tariffs", json=grid, headers=AUTH).status_code == 409


def test_a_run_starts_with_202_and_the_other_regie_is_refused(client, services):
    services.answers[("billing", "start_invoicing_run")] = RUN
    response = client.post("/api/v1/invoicing-runs", json={"regie": "affaires_scolaires", "month": "2026-11"},
                           headers=as_(services, SCOLAIRE))
    assert response.status_code == 202 and response.headers["Location"] == "/api/v1/invoicing-runs/run-1"
    assert {k: response.get_json()[k] for k in ("id", "status", "done", "total")} == {
        "id": "run-1", "status": "running", "done": 40, "total": 120}
    assert billing_calls(services) == [("start_invoicing_run", ("affaires_scolaires", "2026-11", "agent-sco"), {})]
    refused = client.post("/api/v1/invoicing-runs", json={"regie": "petite_enfance", "month": "2026-11"}, headers=AUTH)
    assert refused.status_code == 403 and refused.get_json()["code"] == "other_regie"
    for bad in ({"regie": "affaires_scolaires", "month": "2026-13"}, {"regie": "affaires_scolaires"},
                {"regie": "affaires_scolaires", "month": "novembre"}):
        assert client.post("/api/v1/invoicing-runs", json=bad, headers=AUTH).status_code == 400
    assert len(billing_calls(services)) == 1


def test_a_run_shows_its_progress_and_is_finalised_by_its_regies_agents_only(client, services):
    services.answers[("billing", "invoicing_run")] = {**RUN, "error": "Le service de la restauration scolaire ne "
                                                                      "répond pas.", "attempts": 2}
    body = client.get("/api/v1/invoicing-runs/run-1", headers=as_(services, SCOLAIRE)).get_json()
    assert (body["status"], body["done"], body["total"], body["attempts"]) == ("running", 40, 120, 2)
    assert body["error"].startswith("Le service") and body["invoices"][0]["number"] == "AS-2026-000001"
    services.answers[("billing", "finalize_run")] = {**RUN, "status": "final"}
    assert client.post("/api/v1/invoicing-runs/run-1/finalize", headers=AUTH).get_json()["status"] == "final"
    assert ("finalize_run", ("run-1", "agent-sco"), {}) in billing_calls(services)
    assert client.get("/api/v1/invoicing-runs/run-1", headers=as_(services, PETITE_ENFANCE)).status_code == 404
    assert client.post("/api/v1/invoicing-runs/run-1/finalize", headers=AUTH).status_code == 404
    services.answers[("billing", "invoicing_run")] = remote("NotFound", "run_not_found", "Cette tournée n'existe pas.")
    assert client.get("/api/v1/invoicing-runs/nope", headers=as_(services, ADMIN)).status_code == 404


def test_the_runs_list_keeps_to_the_agents_regie(client, services):
    services.answers[("billing", "invoicing_runs")] = {"runs": [RUN]}
    response = client.get("/api/v1/invoicing-runs", headers=as_(services, SCOLAIRE))
    assert response.status_code == 200 and response.get_json()["runs"][0]["id"] == "run-1"
    assert billing_calls(services) == [("invoicing_runs", ("affaires_scolaires", 24), {})]
    assert client.get("/api/v1/invoicing-runs?regie=petite_enfance", headers=AUTH).status_code == 403


def test_payments_and_credit_notes_at_the_counter(client, services):
    services.answers[("billing", "invoice")] = INVOICE
    services.answers[("billing", "record_payment")] = {"id": "p-2", "method": "cheque", "amount_cents": 3240,
                                                       "received_at": "x", "created": True,
                                                       "invoice": {**SUMMARY, "status": "paid", "balance_cents": 0}}
    response = client.post("/api/v1/invoices/inv-1/payments", json={"method": "cheque", "amount_cents": 3240},
                           headers=as_(services, SCOLAIRE))
    assert response.status_code == 201 and response.get_json()["invoice"]["status"] == "paid"
    assert ("record_payment", ("inv-1", "cheque", 3240, "agent-sco"), {}) in billing_calls(services)
    services.answers[("billing", "record_payment")] = remote("Conflict", "overpayment", "Le montant dépasse…")
    assert client.post("/api/v1/invoices/inv-1/payments", json={"method": "cash", "amount_cents": 9999},
                       headers=AUTH).status_code == 409
    for bad in ({"method": "card", "amount_cents": 100}, {"method": "cash", "amount_cents": 0},
                {"method": "cash", "amount_cents": "10"}):
        assert client.post("/api/v1/invoices/inv-1/payments", json=bad, headers=AUTH).status_code == 400
    services.answers[("billing", "credit_note")] = {"id": "cn-1", "number": "AS-AV-2026-000001", "amount_cents": 285,
                                                    "reason": "Repas", "invoice": SUMMARY}
    response = client.post("/api/v1/invoices/inv-1/credit-notes", json={"amount_cents": 285, "reason": "Repas"},
                           headers=AUTH)
    assert response.status_code == 201 and response.get_json()["number"] == "AS-AV-2026-000001"
    assert client.post("/api/v1/invoices/inv-1/credit-notes", json={"amount_cents": 285, "reason": "x" * 501},
                       headers=AUTH).status_code == 400
    services.answers[("billing", "invoice")] = PE_INVOICE  # the other régie's
    assert client.post("/api/v1/invoices/inv-2/payments", json={"method": "cash", "amount_cents": 100},
                       headers=AUTH).status_code == 404
    assert client.post("/api/v1/invoices/inv-1/payments", json={"method": "cash", "amount_cents": 100},
                       headers=as_(services, PARENT)).status_code == 403


def test_the_search_keeps_to_the_agents_regie_and_finds_a_dossier(client, services):
    services.answers[("billing", "search_invoices")] = {"invoices": [SUMMARY], "count": 1, "limit": 50, "offset": 0}
    response = client.get("/api/v1/invoices/search?number=AS-2026", headers=as_(services, SCOLAIRE))
    assert response.status_code == 200 and response.get_json()["invoices"][0]["family_id"] == FAMILY_ID
    assert billing_calls(services)[-1] == ("search_invoices", (), {
        "number": "AS-2026", "family_id": None, "regie": "affaires_scolaires", "period": None, "status": None,
        "limit": 50, "offset": 0})
    assert client.get("/api/v1/invoices/search?regie=petite_enfance", headers=AUTH).status_code == 403
    services.answers[("identity", "find_families")] = [{"id": FAMILY_ID, "dossier": "000042"},
                                                       {"id": "other", "dossier": "0000420"}]
    client.get("/api/v1/invoices/search?dossier=000042", headers=as_(services, BOTH))
    assert billing_calls(services)[-1][2]["family_id"] == FAMILY_ID and billing_calls(services)[-1][2]["regie"] is None
    services.answers[("identity", "find_families")] = []
    empty = client.get("/api/v1/invoices/search?dossier=999999", headers=AUTH).get_json()
    assert empty["invoices"] == [] and empty["count"] == 0
    assert client.get("/api/v1/invoices/search?limit=500", headers=AUTH).status_code == 400
    assert client.get("/api/v1/invoices/search", headers=as_(services, PARENT)).status_code == 403


# --- Accounting ----------------------------------------------------------------------------------------------------

EXPORT = {"from": "2026-12-01", "to": "2026-12-31",
          "columns": ["kind", "date", "number", "invoice_number", "regie", "family_id", "period", "method",
                      "amount_cents", "reason", "id"],
          "rows": [{"kind": "invoice", "date": "2026-12-02", "number": "AS-2026-000001",
                    "invoice_number": "AS-2026-000001", "regie": "affaires_scolaires", "family_id": FAMILY_ID,
                    "period": "2026-11", "method": None, "amount_cents": 4240, "reason": "", "id": "inv-1"},
                   {"kind": "credit_note", "date": "2026-12-03", "number": "AS-AV-2026-000001",
                    "invoice_number": "AS-2026-000001", "regie": "affaires_scolaires", "family_id": FAMILY_ID,
                    "period": "2026-11", "method": None, "amount_cents": 285, "reason": "=HYPERLINK(\"x\")",
                    "id": "cn-1"}],
          "totals_cents": {"invoice": 4240, "credit_note": 285, "payment": 0}}


def test_the_accounting_export_as_json_and_as_csv_with_formulas_neutralised(client, services):
    services.answers[("billing", "accounting_export")] = EXPORT
    response = client.get("/api/v1/accounting/export?from=2026-12-01&to=2026-12-31", headers=as_(services, ACCOUNTING))
    assert response.status_code == 200 and response.get_json() == EXPORT
    assert billing_calls(services) == [("accounting_export", ("2026-12-01", "2026-12-31"), {})]
    response = client.get("/api/v1/accounting/export?from=2026-12-01&to=2026-12-31&format=csv", headers=AUTH)
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    lines = response.get_data(as_text=True).lstrip("\ufeff").split("\r\n")
    assert lines[0] == "kind;date;number;invoice_number;regie;family_id;period;method;amount_cents;reason;id"
    assert lines[1] == f"invoice;2026-12-02;AS-2026-000001;AS-2026-000001;affaires_scolaires;{FAMILY_ID};2026-11;;4240;;inv-1"
    assert "'=HYPERLINK" in lines[2]
    assert client.get("/api/v1/accounting/export?from=2026-12-01&to=2026-12-31",
                      headers=as_(services, ADMIN)).status_code == 200


def test_the_accounting_export_needs_its_scope_and_both_dates(client, services):
    services.answers[("billing", "accounting_export")] = EXPORT
    for who in (KITCHEN, SCOLAIRE, PARENT):
        assert client.get("/api/v1/accounting/export?from=2026-12-01&to=2026-12-31",
                          headers=as_(services, who)).status_code == 403
    headers = as_(services, ACCOUNTING)
    assert client.get("/api/v1/accounting/export?from=2026-12-01", headers=headers).status_code == 400
    assert client.get("/api/v1/accounting/export?from=2026-12-01&to=2026-12-31&format=xls",
                      headers=headers).status_code == 400
    assert billing_calls(services) == []
