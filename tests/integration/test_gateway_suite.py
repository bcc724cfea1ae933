"""The whole suite through the gateway: readiness, the ping floor and error mapping."""
import pytest
import requests

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_readyz_lists_all_five_services_healthy(suite):
    body = requests.get(f"{suite.url}/readyz", timeout=5).json()
    assert body["status"] == "ready" and body["broker"]["reachable"] is True
    assert sorted(body["services"]) == ["billing", "canteen", "childcare", "identity", "payment"]
    assert all(entry["healthy"] for entry in body["services"].values())


@pytest.mark.parametrize("name", ["identity", "canteen", "childcare", "billing", "payment"])
def test_ping_is_one_round_trip_to_each_service(suite, name):
    response = requests.get(f"{suite.url}/api/v1/services/{name}/ping", timeout=10)
    assert response.status_code == 200
    assert response.json()["service"] == name and response.json()["round_trip_ms"] > 0


def test_unknown_routes_answer_json_errors(suite):
    response = requests.get(f"{suite.url}/api/v1/services/mairie/ping", timeout=5)
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message"}


def test_the_public_home_page_is_french_and_self_hosted(suite):
    page = requests.get(suite.url + "/", timeout=5)
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert "http://" not in page.text.replace(suite.url, "") and "https://" not in page.text
