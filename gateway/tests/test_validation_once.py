"""The API and the web forms check input against the same schemas of openapi.yaml, and the document says
what the server accepts (the fuzzer's findings: an empty name, no scope, an empty search)."""
import re

import pytest

from gateway.schemas import first_error, named_validator

from .test_api_identity import ADMIN, SCOLAIRE, as_, calls
from .test_web_pages import AGENT, ME, PARENT, STRONG, create_form, log_in_as, post, register_form, text

HUGE = "x" * 100_000


# --- The document refuses what the server refuses ------------------------------------------

@pytest.mark.parametrize("schema, value", [
    ("RegisterFamily", {"representatives": [{"first_name": "", "last_name": "Martin"}]}),
    ("RegisterFamily", {"representatives": [{"first_name": "   ", "last_name": "Martin"}]}),
    ("RegisterFamily", {"representatives": []}),
    ("NewApiClient", {"name": "Cuisine centrale", "scopes": []}),
    ("NewApiClient", {"name": " ", "scopes": ["kitchen"]}),
    ("FamilyQuery", ""),
    ("FamilyQuery", " a "),
])
def test_the_document_refuses_what_identity_refuses(schema, value):
    assert first_error(named_validator(schema), value) is not None


def test_the_search_parameter_is_described_by_the_shared_schema(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/families"]["get"]
    q = next(p for p in operation["parameters"] if p["name"] == "q")
    assert q["schema"] == {"$ref": "#/components/schemas/FamilyQuery"}


# --- The API: 400 {code, message}, no RPC --------------------------------------------------------

@pytest.mark.parametrize("path, body", [
    ("/api/v1/families", {"representatives": [{"first_name": "", "last_name": "Martin"}]}),
    ("/api/v1/families", {"representatives": [{"first_name": HUGE, "last_name": "Martin"}]}),
    ("/api/v1/api-clients", {"name": "Cuisine centrale", "scopes": []}),
    ("/api/v1/api-clients", {"name": HUGE, "scopes": ["kitchen"]}),
    ("/api/v1/auth/token", {"username": HUGE, "password": "x"}),
])
def test_the_api_refuses_before_any_rpc(client, services, path, body):
    response = client.post(path, json=body, headers=as_(services, ADMIN))
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_body" and response.get_json()["message"]
    assert calls(services) == []


@pytest.mark.parametrize("q", ["", "  ", HUGE])
def test_the_api_search_is_checked_like_the_document_says(client, services, q):
    response = client.get("/api/v1/families", query_string={"q": q}, headers=as_(services, SCOLAIRE))
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_query"
    assert calls(services) == []


# --- The web forms: the same schemas, a French message beside the field ----------------------

def assert_refused_beside(response, field, *words):
    page = text(response)
    assert response.status_code == 400
    assert re.search(rf'id="{field}" name="{field}"[^>]*aria-invalid="true"', page), field
    message = re.search(r'role="alert"[^>]*><p>([^<]*)</p>', page).group(1)
    for word in words:
        assert word in message, message


def test_the_agents_family_form_refuses_a_100000_character_name(client, services):
    log_in_as(client, services, AGENT)
    response = post(client, "/agents/familles/nouvelle", register_form(rep0_first_name=HUGE))
    assert_refused_beside(response, "rep0_first_name", "Prénom", "représentant légal 1", "100 caractères")
    assert not [c for c in services.calls if c[1] == "register_family"]


def test_the_agents_family_form_names_the_childs_row_even_after_a_blank_one(client, services):
    log_in_as(client, services, AGENT)
    form = register_form(child0_first_name="", child0_last_name="", child0_birth_date="",
                         child_rows="3", child2_first_name="Paul", child2_last_name=HUGE, child2_birth_date="2020-01-02")
    response = post(client, "/agents/familles/nouvelle", form)
    assert_refused_beside(response, "child2_last_name", "Nom", "enfant 3")
    assert not [c for c in services.calls if c[1] == "register_family"]


def test_the_agents_family_form_refuses_a_blank_name_like_the_api(client, services):
    log_in_as(client, services, AGENT)
    response = post(client, "/agents/familles/nouvelle", register_form(rep0_last_name="   ", rep0_first_name="Claire"))
    assert response.status_code == 400
    assert not [c for c in services.calls if c[1] == "register_family"]


@pytest.mark.parametrize("field", ["line1", "city", "phone", "email"])
def test_the_contact_form_refuses_100000_characters(client, services, field):
    log_in_as(client, services, PARENT)
    services.answers[("identity", "me")] = ME
    form = {"line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges",
            "phone": "06 12 34 56 78", "email": "claire@example.org", field: HUGE}
    response = post(client, "/mon-espace/coordonnees", form)
    assert_refused_beside(response, field, "caractères")
    assert not [c for c in services.calls if c[1] == "change_contact"]


def test_the_search_form_refuses_100000_characters(client, services):
    log_in_as(client, services, AGENT)
    response = client.get("/agents/familles", query_string={"q": HUGE})
    assert_refused_beside(response, "q", "100 caractères")
    assert not [c for c in services.calls if c[1] == "find_families"]


def test_the_create_form_refuses_an_over_long_identifier(client, services):
    response = post(client, "/creer-mon-espace", create_form(username=HUGE))
    assert_refused_beside(response, "username", "Identifiant")
    assert not [c for c in services.calls if c[1] == "create_account"]


def test_the_login_form_refuses_an_over_long_identifier_without_asking_identity(client, services):
    response = post(client, "/connexion", {"username": HUGE, "password": STRONG})
    assert response.status_code == 400 and "Identifiant" in text(response)
    assert not [c for c in services.calls if c[1] == "login"]


def test_the_new_password_form_refuses_an_over_long_password(client, services):
    log_in_as(client, services, PARENT)
    long_password = STRONG + HUGE
    response = post(client, "/mon-espace/identifiants", {"current_password": STRONG, "new_password": long_password,
                                                          "new_password_confirmation": long_password})
    assert response.status_code == 400 and "Nouveau mot de passe" in text(response)
    assert not [c for c in services.calls if c[1] == "change_password"]


# --- The pages say the same limits before anyone types ----------------------------------------------

@pytest.mark.parametrize("path, who, field, limit", [
    ("/connexion", None, "username", 80),
    ("/creer-mon-espace", None, "username", 40),
    ("/mot-de-passe-oublie", None, "login", 254),
    ("/mon-espace/coordonnees", PARENT, "line1", 200),
    ("/mon-espace/identifiants", PARENT, "new_password", 256),
    ("/agents/familles/nouvelle", AGENT, "rep0_first_name", 100),
    ("/agents/familles/nouvelle", AGENT, "child0_last_name", 100),
    ("/agents/familles", AGENT, "q", 100),
])
def test_each_field_carries_the_documents_max_length(client, services, path, who, field, limit):
    if who:
        log_in_as(client, services, who)
        services.answers[("identity", "me")] = ME
    page = text(client.get(path))
    tag = re.search(rf'<input id="{field}" [^>]*>', page).group(0)
    assert f'maxlength="{limit}"' in tag
