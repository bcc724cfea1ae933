"""A service that stops answering is reported fast, fails fast, heals, and runs nothing late."""
import signal
import threading
import time

import pytest
import requests
from sqlalchemy import text

from espace_common.db import create_database_engine
from espace_common.rpc_client import RpcClient, ServiceUnavailable

from espace_deploy.testing import start_suite, stop_suite

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timing]

# "At once" means well before the RPC timeout (5 s) that a call to a silent service would wait: a bound that
# tells failing fast from waiting, whatever the load on the machine running the test.
FAST = 2.5


@pytest.fixture(scope="module")
def outage_suite(tmp_path_factory):
    running = start_suite(tmp_path_factory.mktemp("outage-var"))
    yield running
    stop_suite(running)


def disrupt(suite, how):
    if how == "stopped":
        suite.stop("identity")
    elif how == "crashed":
        suite.signal("identity", signal.SIGKILL)
        suite.processes["identity"].wait()
    else:
        suite.signal("identity", signal.SIGSTOP)


def restore(suite, how):
    if how == "frozen":
        suite.signal("identity", signal.SIGCONT)
    else:
        suite.processes.pop("identity", None)
        suite.start_service("identity")


def identity_healthy(suite):
    body = suite.readiness() or {}
    return body.get("services", {}).get("identity", {}).get("healthy")


def families_with_request(suite, request_id):
    engine = create_database_engine(suite.database_urls["identity"])
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM families WHERE request_id = :r"),
                                      {"r": request_id}).scalar()
    finally:
        engine.dispose()


@pytest.mark.parametrize("how", ["stopped", "crashed", "frozen"])
def test_outage_is_seen_fails_fast_and_heals(outage_suite, how):
    suite = outage_suite
    ready_by = time.monotonic() + 20
    while not identity_healthy(suite):  # the previous case's restart may still be settling
        assert time.monotonic() < ready_by, "identity was not healthy before the outage"
        time.sleep(0.2)
    disrupt(suite, how)
    try:
        down_at = time.monotonic()

        # A ping sent now waits at most the RPC timeout, and meanwhile other routes answer at once.
        result = {}

        def ping_identity():
            started = time.monotonic()
            result["status"] = requests.get(f"{suite.url}/api/v1/services/identity/ping", timeout=15).status_code
            result["seconds"] = time.monotonic() - started

        waiting = threading.Thread(target=ping_identity)
        waiting.start()
        time.sleep(0.2)
        for _ in range(5):
            started = time.monotonic()
            assert requests.get(f"{suite.url}/api/v1/services/canteen/ping", timeout=5).status_code == 200
            assert time.monotonic() - started < FAST

        # A command sent while the service is down, whose caller gives up.
        client = RpcClient(suite.amqp_uri, timeout=1, caller="outage-test")
        with pytest.raises(ServiceUnavailable):
            client.call("identity", "register_family", {
                "request_id": f"late-{how}", "representatives": [{"first_name": "A", "last_name": "B"}], "children": []})

        while identity_healthy(suite) is not False:
            assert time.monotonic() - down_at < 5, "readyz did not report the outage within 5 s"
            time.sleep(0.1)
        waiting.join()
        assert result["status"] == 503 and result["seconds"] < 6

        started = time.monotonic()
        response = requests.get(f"{suite.url}/api/v1/services/identity/ping", timeout=10)
        assert response.status_code == 503 and time.monotonic() - started < FAST, "known-down service must fail fast"
    except BaseException:
        restore(suite, how)  # so that the next case starts from a healthy identity
        raise
    restore(suite, how)
    healed_by = time.monotonic() + 20
    while not identity_healthy(suite):
        assert time.monotonic() < healed_by, "identity did not heal"
        time.sleep(0.2)
    assert requests.get(f"{suite.url}/api/v1/services/identity/ping", timeout=10).status_code == 200
    time.sleep(1.0)
    assert families_with_request(suite, f"late-{how}") == 0, "a request abandoned by its caller ran late"
    client.close()
