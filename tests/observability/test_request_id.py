"""A request's id, given to the gateway, is on the gateway's log lines and on those of every service it reached.

The suite runs as in production (gunicorn, nameko run) on a virtual host of its own; an agent registers a
family through the API with an X-Request-Id: identity handles the RPC, and canteen, childcare and billing
handle the event that identity's outbox relays. Each process's log (var/log/<name>.log) is JSON lines.
"""
import json
import time
import uuid

import pytest
import requests

from espace_common.rpc_client import RpcClient
from espace_deploy.testing import start_suite, stop_suite

pytestmark = [pytest.mark.broker, pytest.mark.slow]

AGENT_PASSWORD = "Agent-Mairie-2026!"


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    running = start_suite(tmp_path_factory.mktemp("observability-request-id"))
    rpc = RpcClient(running.vhost.amqp_uri, timeout=30, caller="test")
    try:
        rpc.call("identity", "ensure_agent", "admin-observability", AGENT_PASSWORD, ["admin"])
    finally:
        rpc.close()
    yield running
    stop_suite(running)


@pytest.fixture(scope="module")
def admin(suite):
    response = requests.post(f"{suite.url}/api/v1/auth/token", timeout=30,
                             json={"username": "admin-observability", "password": AGENT_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def json_lines(suite, name):
    """Every line of a process's log, each parsed: a line that is not one JSON object fails the test."""
    path = suite.var_dir / "log" / f"{name}.log"
    lines = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise AssertionError(f"{name}.log line {number} is not JSON: {line!r}") from None
        assert isinstance(entry, dict), line
        lines.append(entry)
    return lines


def wait_for_line(suite, name, match, timeout=20):
    """The first JSON line of a process's log that `match` accepts, waiting for it to be written."""
    deadline = time.monotonic() + timeout
    while True:
        found = [entry for entry in json_lines(suite, name) if match(entry)]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no such line in {name}.log:\n{suite.log_tail(name, 15)}")
        time.sleep(0.2)


def register_family(suite, admin, request_id):
    body = {"representatives": [{"first_name": "Léa", "last_name": "Journal", "email":
                                 f"lea.{uuid.uuid4().hex[:8]}@example.fr", "phone": "06 12 34 56 78",
                                 "address": {"line1": "3 rue de la Gare", "postal_code": "44480", "city": "Donges"}}],
            "children": [{"first_name": "Tom", "last_name": "Journal", "birth_date": "2021-05-04"}]}
    return requests.post(f"{suite.url}/api/v1/families", json=body, timeout=30,
                         headers={**admin, "X-Request-Id": request_id})


def test_the_request_id_is_in_the_gateway_and_the_service_lines_of_the_request(suite, admin):
    request_id = f"obs-{uuid.uuid4().hex}"
    response = register_family(suite, admin, request_id)
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-Id"] == request_id

    access = wait_for_line(suite, "gateway", lambda e: e.get("request_id") == request_id
                           and e.get("logger") == "gunicorn.access")
    assert access["method"] == "POST" and access["path"] == "/api/v1/families" and access["status"] == 201
    assert access["route"] == "/api/v1/families" and access["duration_ms"] > 0
    assert access["level"] == "INFO" and access["timestamp"].endswith("Z") and access["message"]

    # The bearer token is resolved by identity first (unless cached), then the family is registered there.
    handled = wait_for_line(suite, "identity", lambda e: e.get("request_id") == request_id
                            and e.get("entrypoint") == "register_family")
    assert handled["service"] == "identity" and handled["kind"] == "rpc"
    assert handled["outcome"] == "ok" and handled["logger"] == "espace.worker" and handled["duration_ms"] > 0


def test_the_request_id_reaches_the_handlers_of_the_event_it_caused(suite, admin):
    request_id = f"obs-{uuid.uuid4().hex}"
    assert register_family(suite, admin, request_id).status_code == 201
    for name in ("canteen", "childcare", "billing"):
        line = wait_for_line(suite, name, lambda e: e.get("request_id") == request_id and e.get("kind") == "event")
        assert line["event"] == "identity.family_registered" and line["entrypoint"] == "on_family_registered"
        assert line["service"] == name and line["outcome"] == "ok"


@pytest.mark.parametrize("given", ["deux mots", "x" * 65, '{"level": "ERROR"}', "<script>", "id;drop"])
def test_an_unsafe_request_id_is_replaced_by_a_new_one(suite, given):
    response = requests.get(f"{suite.url}/healthz", headers={"X-Request-Id": given}, timeout=10)
    answered = response.headers["X-Request-Id"]
    assert answered != given and len(answered) == 32 and int(answered, 16) >= 0


def test_without_a_request_id_the_gateway_makes_one_and_logs_it(suite):
    response = requests.get(f"{suite.url}/healthz", timeout=10)
    request_id = response.headers["X-Request-Id"]
    assert len(request_id) == 32
    access = wait_for_line(suite, "gateway", lambda e: e.get("request_id") == request_id)
    assert access["path"] == "/healthz" and access["status"] == 200


def test_every_line_of_every_log_is_json(suite):
    for name in ("gateway", "identity", "canteen", "childcare", "billing", "payment"):
        lines = json_lines(suite, name)
        assert lines, f"{name}.log is empty"
        assert all({"timestamp", "level", "logger", "message", "request_id"} <= set(e) for e in lines), name
