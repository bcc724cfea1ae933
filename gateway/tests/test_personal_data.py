"""The family's data in its hands (issue #12), the gateway's side, against fake services: the export gathers every
service's answer for the caller's own family, whole or a 503; the PDF opens and carries the family's names; the
parents' page shows each service's retention periods; the administrators' page shows the purge runs and exports a
family by dossier, recorded in the agents' journal."""
import io
import json
from datetime import datetime

import pytest
from pypdf import PdfReader

from espace_common.clock import FixedClock
from espace_common.formatting import PARIS
from espace_common.rpc_client import ServiceUnavailable

from .test_api_identity import principal

FAMILY_ID = "0b6d7c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e"
PARENT = principal("parent", "acc-1", family_id=FAMILY_ID)
ADMIN = principal("agent", "agent-admin", roles=["admin"])
SCOLAIRE = principal("agent", "agent-sco", roles=["affaires_scolaires"])

IDENTITY_EXPORT = {
    "family": {"id": FAMILY_ID, "dossier": "000042"},
    "representatives": [{"id": "rep-1", "first_name": "Hélène", "last_name": "Lefèvre", "email": "helene@example.org",
                         "phone": "0612345678", "address": {"line1": "12 rue de la Gare", "line2": "",
                                                            "postal_code": "44480", "city": "Donges"},
                         "caf_number": ""}],
    "children": [{"id": "child-1", "first_name": "Zoé", "last_name": "Lefèvre", "birth_date": "2019-03-01"}],
    "accounts": [{"id": "acc-1", "username": "helene", "email": "helene@example.org", "email_confirmed": True,
                  "created_at": "2026-11-02T09:00:00+00:00"}],
    "labels": {"sections": {"representatives": "Représentants légaux", "children": "Enfants"},
               "columns": {"first_name": "Prénom", "last_name": "Nom"}},
}
OTHERS = {
    "canteen": {"reservations": [{"child_id": "child-1", "child": "Zoé Lefèvre", "day": "2026-12-03",
                                  "created_at": "2026-11-20T10:00:00+00:00"}],
                "labels": {"sections": {"reservations": "Repas réservés"}, "columns": {"day": "Jour"}}},
    "childcare": {"bookings": [], "labels": {"sections": {"bookings": "Réservations"}, "columns": {}}},
    "billing": {"invoices": [{"id": "inv-1", "number": "AS-2026-000017", "total_cents": 7049, "issued_on": "2026-12-01",
                              "regie": "Affaires scolaires", "status": "Émise", "paid_cents": 0,
                              "balance_cents": 7049, "due_date": "2026-12-31"}],
                "mandates": [{"reference": "DONGES-000042-1", "iban": "•••• 0189"}],
                "labels": {"sections": {"invoices": "Factures"}, "columns": {"total_cents": "Montant"}}},
    "payment": {"card_transactions": [], "mails": [], "labels": {}},
}
RETENTION = {
    "identity": {"service": "identity", "retention": [
        {"kind": "audit_events", "label": "Historique de votre espace", "days": 365, "years": "1 an",
         "counted_from": "après l'événement", "why": "La CNIL recommande…", "setting": "RETENTION_AUDIT_DAYS",
         "purged": True}],
        "runs": [{"slot": "2026-12-02", "started_at": "2026-12-02T02:00:00+00:00",
                  "finished_at": "2026-12-02T02:00:01+00:00", "failed": [],
                  "kinds": [{"kind": "audit_events", "count": 17, "cutoff": "2025-12-02T02:00:00+00:00",
                             "at": "2026-12-02T02:00:00+00:00"}]}]},
    "canteen": {"service": "canteen", "retention": [
        {"kind": "justifications", "label": "Justificatifs d'absence", "days": 365, "years": "1 an",
         "counted_from": "après la fin de l'année scolaire de l'absence", "why": "…",
         "setting": "CANTEEN_RETENTION_JUSTIFICATIONS_DAYS", "purged": True}], "runs": []},
    "childcare": {"service": "childcare", "retention": [], "runs": []},
    "billing": {"service": "billing", "retention": [
        {"kind": "accounting", "label": "Factures, avoirs, paiements", "days": 3650, "years": "10 ans",
         "counted_from": "après la fin de l'exercice", "why": "Pièces comptables", "setting": "BILLING_RETENTION_DAYS",
         "purged": False}], "runs": []},
    "payment": {"service": "payment", "retention": [], "runs": []},
}


@pytest.fixture
def town(services):
    def export_of(name, answer):
        def answer_for(family_id):
            services.exported.append((name, family_id))
            return answer
        return answer_for
    services.exported = []
    services.answers[("identity", "family_export")] = export_of("identity", IDENTITY_EXPORT)
    for name, answer in OTHERS.items():
        services.answers[(name, "family_export")] = export_of(name, answer)
    for name, answer in RETENTION.items():
        services.answers[(name, "personal_data")] = answer
    return services


def as_(services, who, kind="api"):
    services.answers[("identity", "resolve_token")] = dict(who, token_kind=kind)


def api_get(client, path):
    return client.get(path, headers={"Authorization": "Bearer le-jeton"})


def web_client(client, services, who):
    as_(services, who, "web")
    with client.session_transaction() as session:
        session["token"] = "le-jeton"
    return client


def test_the_export_gathers_every_service_for_the_callers_own_family(app, client, town):
    app.extensions["clock"] = FixedClock(datetime(2026, 12, 2, 11, 0, tzinfo=PARIS))
    as_(town, PARENT)
    response = api_get(client, "/api/v1/me/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="mes-donnees-espace-famille-000042-')
    assert "no-store" in response.headers["Cache-Control"]
    export = json.loads(response.data)
    assert set(export["services"]) == {"identity", "canteen", "childcare", "billing", "payment"}
    assert export["family"] == {"id": FAMILY_ID, "dossier": "000042", "representatives": ["Hélène Lefèvre"],
                                "children": ["Zoé Lefèvre"]}
    assert export["services"]["billing"]["invoices"][0]["number"] == "AS-2026-000017"
    assert export["generated_at"] == "2026-12-02T10:00:00+00:00"  # the gateway's clock
    assert {family for _, family in town.exported} == {FAMILY_ID}  # the principal's family, never one asked for


@pytest.mark.parametrize("down", ["canteen", "billing", "payment"])
def test_a_service_down_is_a_503_never_a_partial_export(client, town, down):
    as_(town, PARENT)
    town.answers[(down, "family_export")] = ServiceUnavailable(down, "down")
    response = api_get(client, "/api/v1/me/export")
    assert response.status_code == 503
    assert set(response.get_json()) == {"code", "message"}
    response = web_client(client, town, PARENT).get("/mon-espace/mes-donnees/export.pdf")
    assert response.status_code == 503 and "attachment" not in response.headers.get("Content-Disposition", "")


def test_the_pdf_opens_and_carries_the_familys_names_dates_and_money_in_french(client, town):
    as_(town, PARENT)
    response = api_get(client, "/api/v1/me/export?format=pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].endswith('.pdf"')
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(page.extract_text() for page in reader.pages)
    for words in ("Hélène Lefèvre", "Zoé Lefèvre", "Dossier n° 000042", "Repas réservés", "3 décembre 2026",
                  "70,49", "Factures", "Restauration scolaire", "Multi-accueil"):
        assert words in text, words
    assert "inv-1" not in text  # identifiers are left to the JSON


@pytest.mark.parametrize("query", ["format=xml", "format=" + "p" * 100_000, "format=pdfé"])
def test_a_wrong_format_is_a_400(client, town, query):
    as_(town, PARENT)
    response = api_get(client, f"/api/v1/me/export?{query}")
    assert response.status_code == 400 and set(response.get_json()) == {"code", "message"}


def test_nobody_but_a_parent_gets_an_export(client, town):
    assert client.get("/api/v1/me/export").status_code == 401
    for who in (ADMIN, SCOLAIRE):
        as_(town, who)
        assert api_get(client, "/api/v1/me/export").status_code == 403
    assert not town.exported


def test_the_parents_page_shows_each_services_periods_and_the_two_downloads(client, town):
    page = web_client(client, town, PARENT).get("/mon-espace/mes-donnees")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for words in ("Historique de votre espace", "1 an après l&#39;événement", "Justificatifs d&#39;absence",
                  "10 ans après la fin de l&#39;exercice", "Télécharger mes données (PDF)",
                  "Télécharger mes données (JSON)", 'aria-current="page">Mes données'):
        assert words in html, words
    download = client.get("/mon-espace/mes-donnees/export.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert "no-store" in download.headers["Cache-Control"]
    assert json.loads(download.data)["family"]["dossier"] == "000042"
    assert client.get("/mon-espace/mes-donnees/export.xml").status_code == 404


def test_the_parents_page_says_which_service_does_not_answer(client, town):
    town.answers[("canteen", "personal_data")] = ServiceUnavailable("canteen", "down")
    html = web_client(client, town, PARENT).get("/mon-espace/mes-donnees").get_data(as_text=True)
    assert "ne répond pas pour le moment" in html and "Historique de votre espace" in html


def test_the_administrators_page_shows_the_periods_and_the_purge_runs(client, town):
    html = web_client(client, town, ADMIN).get("/agents/donnees-personnelles").get_data(as_text=True)
    for words in ("RETENTION_AUDIT_DAYS", "365 jours (1 an)", "Dernières purges", "2 décembre 2026", ">17<",
                  "2 décembre 2025", "jamais (obligation légale)"):
        assert words in html, words
    assert web_client(client, town, SCOLAIRE).get("/agents/donnees-personnelles").status_code == 403


def test_an_administrator_exports_a_family_by_dossier_and_the_journal_records_it(app, client, town):
    app.config["WTF_CSRF_ENABLED"] = False
    town.answers[("identity", "find_families")] = [{"id": FAMILY_ID, "dossier": "000042"},
                                                   {"id": "other", "dossier": "004200"}]
    agent = web_client(client, town, ADMIN)
    response = agent.post("/agents/donnees-personnelles/export", data={"dossier": "42", "format": "pdf"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert {family for _, family in town.exported} == {FAMILY_ID}
    [action] = town.agent_actions
    assert action["action"] == "personal_data.agent_export" and action["family_id"] == FAMILY_ID
    town.answers[("identity", "find_families")] = lambda query: [] if query.isascii() else 1 / 0
    for dossier in ("999999", "abc", "1" * 100_000, "４２", "42\n"):
        refused = agent.post("/agents/donnees-personnelles/export", data={"dossier": dossier, "format": "pdf"})
        assert refused.status_code == 400 and 'role="alert"' in refused.get_data(as_text=True)
    assert len(town.agent_actions) == 1  # a refused export is not an act on a family
