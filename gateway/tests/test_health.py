"""Liveness, readiness and the ping floor, with a fake monitor."""
from gateway.rpc import ServiceMonitor


def test_healthz_needs_no_service(client, services):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert services.calls == []


def test_readyz_lists_every_service(client, services):
    monitor = ServiceMonitor("amqp://unused", ["identity", "canteen", "childcare", "billing", "payment"])
    monitor.broker_reachable = True
    for name in monitor.services:
        monitor._record(name, True, {"status": "ok"}, 1.0)
    services.monitor = monitor
    body = client.get("/readyz")
    assert body.status_code == 200
    assert set(body.get_json()["services"]) == set(monitor.services)
    monitor._record("billing", False, {"error": "no answer"})
    body = client.get("/readyz")
    assert body.status_code == 503
    assert body.get_json()["services"]["billing"]["healthy"] is False


def test_ping_does_one_round_trip(client, services):
    services.answers[("payment", "ping")] = "pong"
    response = client.get("/api/v1/services/payment/ping")
    assert response.status_code == 200
    assert response.get_json()["service"] == "payment"
    assert services.calls == [("payment", "ping", (), {})]


def test_every_answer_carries_the_security_headers(client):
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
