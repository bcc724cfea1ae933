"""Remote errors become HTTP answers in one place."""
import pytest

from espace_common.rpc_client import ServiceUnavailable

from .conftest import remote


@pytest.mark.parametrize("kind, status", [("InvalidInput", 400), ("Unauthenticated", 401), ("Forbidden", 403),
                                          ("NotFound", 404), ("Conflict", 409), ("Throttled", 429)])
def test_domain_errors_become_4xx_with_code_and_message(client, services, kind, status):
    services.answers[("canteen", "ping")] = remote(kind, "the_code", "Le message.", 30)
    response = client.get("/api/v1/services/canteen/ping")
    assert response.status_code == status
    assert response.get_json() == {"code": "the_code", "message": "Le message."}
    if status == 429:
        assert response.headers["Retry-After"] == "30"


def test_an_unexpected_remote_error_is_a_500_without_details(client, services):
    services.answers[("canteen", "ping")] = remote("KeyError", "x", "secret internals")
    response = client.get("/api/v1/services/canteen/ping")
    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)


def test_a_service_that_does_not_answer_is_a_503(client, services):
    services.answers[("billing", "ping")] = ServiceUnavailable("billing", "no answer within 5 s")
    response = client.get("/api/v1/services/billing/ping")
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "service_unavailable" and "facturation" in body["message"]


def test_web_pages_get_a_french_error_page(client):
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_unknown_api_route_is_json(client):
    response = client.get("/api/v1/nulle-part")
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_unknown_service_ping_is_404_and_calls_nothing(client, services):
    assert client.get("/api/v1/services/mairie/ping").status_code == 404
    assert services.calls == []
