"""The agents' family file: everything the town knows of a family, one call per service, each section for the roles
that may see it, a service down said in French."""
import html
from datetime import datetime

import pytest

from espace_common.clock import PARIS, FixedClock

from .test_api_billing import VOCABULARY as BILLING_VOCABULARY
from .test_web_canteen import VOCABULARY as CANTEEN_VOCABULARY
from .test_web_childcare import VOCABULARY as CHILDCARE_VOCABULARY
from .test_web_pages import AGENT, agent_family, log_in_as

SCOLAIRE = AGENT
CRECHE = {**AGENT, "id": "agent-3", "username": "creche", "roles": ["petite_enfance"]}
ADMIN = {**AGENT, "id": "agent-2", "username": "admin", "roles": ["admin"]}
KID = "kid-1"
IDENTITY_MAIL = {"recipient": "claire@example.org", "subject": "Confirmez votre adresse e-mail",
                 "created_at": "2026-11-20T08:00:00+00:00", "sent_at": "2026-11-20T08:00:05+00:00"}
CANTEEN = {
    "enrolments": [{"child_id": KID, "school_year": "2026-2027", "school_id": "s-1", "school_name": "École Jules Verne",
                    "class_id": "k-1", "class_name": "CE2"}],
    "children": [{"child_id": KID, "first_name": "Léa", "last_name": "Martin", "days": [
        {"date": "2026-12-01", "state": "reserved"}, {"date": "2026-12-03", "state": "absent"},
        {"date": "2026-12-04", "state": "reserved"}]}],
    "absences": [{"id": "abs-c", "child_id": KID, "from": "2026-12-03", "to": "2026-12-03", "reason": "illness",
                  "reported_at": "2026-12-02T07:00:00+00:00", "has_document": True,
                  "reads": [{"reader": "agent:a1b2c3d4-0000", "read_at": "2026-12-02T09:30:00+00:00"}]}],
}
CHILDCARE = {"children": [{"child_id": KID, "first_name": "Léa", "last_name": "Martin",
                           "registration": {"kind": "occasional", "contract": None},
                           "bookings": [{"id": "b-1", "date": "2026-12-07", "start": "08:00", "end": "12:00",
                                         "status": "waiting", "position": 2}],
                           "absences": [{"id": "abs-p", "child_id": KID, "from": "2026-11-30", "to": "2026-12-01",
                                         "reason": "illness", "has_document": True, "decision": "pending",
                                         "reads": [{"reader": "family:fam-1",
                                                    "read_at": "2026-11-30T10:00:00+00:00"}]}]}],
             "mails": [{"recipient": "claire@example.org", "subject": "Place confirmée pour Léa",
                        "created_at": "2026-11-25T17:00:00+00:00", "sent_at": None}]}
BILLING = {"invoices": [
    {"id": "inv-1", "number": "AS-2026-000012", "regie": "affaires_scolaires", "period": "2026-11",
     "status": "partially_paid", "total_cents": 4280, "balance_cents": 1280,
     "payments": [{"id": "p-1", "method": "cash", "amount_cents": 3000, "received_at": "2026-12-01T10:00:00+00:00"}]},
    {"id": "inv-2", "number": "PE-2026-000007", "regie": "petite_enfance", "period": "2026-11", "status": "issued",
     "total_cents": 9000, "balance_cents": 9000, "payments": []}],
    "mails": [{"recipient": "claire@example.org", "subject": "Votre facture de novembre",
               "created_at": "2026-12-01T06:00:00+00:00", "sent_at": "2026-12-01T06:01:00+00:00"}]}
PAYMENT = {"mails": [{"recipient": "claire@example.org", "subject": "Reçu de votre paiement par carte",
                     "created_at": "2026-12-01T19:00:00+00:00", "sent_at": "2026-12-01T19:00:02+00:00"}]}


@pytest.fixture(autouse=True)
def answers(app, services):
    app.extensions["clock"] = FixedClock(datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))
    family = {**agent_family(), "emails": ["claire@example.org"], "mails": [IDENTITY_MAIL]}
    services.answers.update({
        ("identity", "family_for_agent"): lambda family_id, with_mails=False: family,
        ("canteen", "family_overview"): CANTEEN, ("childcare", "family_overview"): CHILDCARE,
        ("billing", "family_overview"): BILLING, ("payment", "family_mails"): PAYMENT,
        ("canteen", "vocabulary"): CANTEEN_VOCABULARY,
        ("childcare", "vocabulary"): CHILDCARE_VOCABULARY, ("billing", "vocabulary"): BILLING_VOCABULARY})


def page_as(client, services, who, path="/agents/familles/fam-1"):
    log_in_as(client, services, who)
    response = client.get(path)
    return response, html.unescape(response.get_data(as_text=True))


def overview_calls(services):
    return [(service, args) for service, method, args, _ in services.calls if method in ("family_overview",
                                                                                       "family_for_agent",
                                                                                       "family_mails")]


def test_an_administrator_sees_every_section_in_one_call_per_service(client, services):
    response, page = page_as(client, services, ADMIN)
    assert response.status_code == 200
    assert overview_calls(services) == [
        ("identity", ("fam-1", True)), ("canteen", ("fam-1", "2026-12-01", "2026-12-31")),
        ("childcare", ("fam-1", ["claire@example.org"])), ("billing", ("fam-1", ["claire@example.org"])),
        ("payment", (["claire@example.org"],))]
    # Canteen: the enrolment, the month's meals and the absence with its justification.
    assert "classe <bdi>CE2</bdi>" in page and "Repas réservés en décembre 2026 : <strong>2</strong>" in page
    assert "Absent(e) : 3 décembre 2026" in page and 'href="/agents/cantine/absences/abs-c/justificatif"' in page
    # Crèche: registration, bookings with the waiting-list position, absence and its decision.
    assert "7 décembre 2026, 8h00–12h00 : En liste d'attente (position 2)" in page
    # Invoices of both régies with their payments, in French amounts.
    assert "AS-2026-000012" in page and "PE-2026-000007" in page and "30,00\u00a0€" in page
    # The mails of identity, the crèche, billing and payment, newest first; the reads of the justifications.
    assert page.index("Reçu de votre paiement par carte") < page.index("Votre facture de novembre")
    assert page.index("Votre facture de novembre") < page.index("Place confirmée pour Léa") \
        < page.index("Confirmez votre adresse e-mail")
    assert "en attente d'envoi" in page
    assert "Agent a1b2c3d4" in page and "La famille" in page and "de Léa Martin" in page
    assert "2 décembre 2026 à 10 h 30" in page  # 09:30 UTC in Paris
    assert 'href="/agents/journal?famille=fam-1"' in page


def test_a_canteen_agent_sees_neither_the_creche_nor_the_other_regies_invoices(client, services):
    response, page = page_as(client, services, SCOLAIRE)
    assert [s for s, _ in overview_calls(services)] == ["identity", "canteen", "billing", "payment"]
    assert "Restauration scolaire" in page and "titre-creche" not in page and "Place confirmée" not in page
    assert "AS-2026-000012" in page and "PE-2026-000007" not in page
    assert "/agents/journal" not in page


def test_a_creche_agent_sees_neither_the_canteen_nor_its_regies_invoices(client, services):
    response, page = page_as(client, services, CRECHE)
    assert [s for s, _ in overview_calls(services)] == ["identity", "childcare", "billing", "payment"]
    assert "titre-cantine" not in page and "Repas réservés" not in page and "abs-c" not in page and "Agent a1b2c3d4" not in page
    assert "PE-2026-000007" in page and "AS-2026-000012" not in page


def test_a_service_down_leaves_its_section_saying_so_in_french(client, services):
    for service in ("canteen", "childcare", "billing"):
        del services.answers[(service, "family_overview")]
    response, page = page_as(client, services, ADMIN)
    assert response.status_code == 200
    for name in ("La restauration scolaire", "Le multi-accueil", "La facturation"):
        assert f"{name} ne répond pas pour le moment" in page
    assert "Confirmez votre adresse e-mail" in page  # identity's part stays
    assert "Les reçus de paiement par carte" not in page


def test_payment_down_leaves_the_other_mails_and_says_the_receipts_are_missing(client, services):
    del services.answers[("payment", "family_mails")]
    response, page = page_as(client, services, ADMIN)
    assert response.status_code == 200
    assert "Les reçus de paiement par carte ne peuvent pas être affichés pour le moment" in page
    assert "Votre facture de novembre" in page and "Reçu de votre paiement par carte" not in page


def test_another_month_and_a_junk_month(client, services):
    response, page = page_as(client, services, SCOLAIRE, "/agents/familles/fam-1?mois=2027-01")
    assert ("canteen", ("fam-1", "2027-01-01", "2027-01-31")) in overview_calls(services)
    response, page = page_as(client, services, SCOLAIRE, "/agents/familles/fam-1?mois=%C3%A9t%C3%A9")
    assert response.status_code == 400 and "Le mois s'écrit comme" in page



# --- The town's absences waiting for an agent ------------------------------------------------------------------

CANTEEN_WAITING = [{"id": "abs-c", "child_id": KID, "family_id": "fam-1", "first_name": "Inès", "last_name": "Martin",
                    "from": "2026-12-03", "to": "2026-12-04", "reason": "illness",
                    "reported_at": "2026-12-02T07:00:00+00:00"}]
CRECHE_WAITING = [{"id": "abs-p", "child_id": "kid-2", "first_name": "Noé", "last_name": "Durand", "from": "2026-11-30",
                   "to": "2026-11-30", "reason": "illness", "has_document": True, "decision": "pending"}]


@pytest.fixture
def waiting(services):
    services.answers[("canteen", "absences_to_review")] = CANTEEN_WAITING
    services.answers[("childcare", "justifications")] = lambda status: CRECHE_WAITING if status == "pending" else []


def test_the_town_wide_absences_show_each_service_to_its_agents_with_a_link_to_decide(client, services, waiting):
    response, page = page_as(client, services, ADMIN, "/agents/absences")
    assert response.status_code == 200
    assert "Restauration scolaire : 1 justificatif à examiner" in page
    assert "Multi-accueil : 1 justificatif en attente de décision" in page
    assert "absence du 3 décembre 2026 au 4 décembre 2026 (maladie)" in page and "d'Inès Martin" in page
    assert 'href="/agents/cantine/absences/abs-c/justificatif"' in page
    assert 'href="/agents/petite-enfance/justificatifs#absence-abs-p"' in page
    services.calls.clear()
    response, page = page_as(client, services, SCOLAIRE, "/agents/absences")
    assert "abs-c" in page and "abs-p" not in page
    assert not [c for c in services.calls if c[0] == "childcare"]
    services.calls.clear()
    response, page = page_as(client, services, CRECHE, "/agents/absences")
    assert "abs-p" in page and "abs-c" not in page
    assert not [c for c in services.calls if c[0] == "canteen"]


def test_the_absences_page_says_in_french_when_a_service_is_down(client, services):
    services.answers[("childcare", "justifications")] = []
    response, page = page_as(client, services, ADMIN, "/agents/absences")
    assert response.status_code == 200
    assert "La restauration scolaire ne répond pas pour le moment" in page
    assert "Aucun justificatif en attente de décision." in page
