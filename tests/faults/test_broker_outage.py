"""RabbitMQ stops for six seconds under a light write load, then comes back.

The broker is a RabbitMQ node of this module's own (the machine's broker serves other tests):
its application is stopped with `rabbitmqctl stop_app` (connections closed, port refused) and
started again. Every service must outlive it with the same pid, the gateway must answer 503
(never 500) while it is away and heal by itself, and every write answered 2xx must exist
exactly once afterwards, its event delivered to the other services.
"""
import itertools
import signal
import threading
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import text

from espace_common.db import create_database_engine
from espace_common.rpc_client import RpcClient
from espace_deploy.demo import agent_credentials, ensure_admin_agent
from espace_deploy.suite import SERVICES, RestartPolicy
from espace_deploy.testing import RabbitNode, start_suite, stop_suite

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timing]

OUTAGE_SECONDS = 6
WRITERS = 4
WRITE_INTERVAL = 0.1  # per writer: about 30 writes a second in all, a light load on two cores
HEAL_WITHIN = 30  # seconds after the broker is back: the services' consumers reconnect with kombu's backoff
RETRY_EVERY = 0.5  # a client that gets 503 sends the same write again, with the same request id


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    reason = RabbitNode.available()
    if reason:
        pytest.skip(f"cannot start a RabbitMQ node of the test's own: {reason}")
    node = RabbitNode(tmp_path_factory.mktemp("rabbit-node")).start()
    yield node
    node.shutdown()


@pytest.fixture(scope="module")
def node_suite(node, tmp_path_factory):
    running = start_suite(tmp_path_factory.mktemp("broker-outage-var"), amqp_uri=node.amqp_uri,
                          PASSWORD_TIME_COST="1", PASSWORD_MEMORY_KIB="8192")
    client = RpcClient(node.amqp_uri, timeout=30, caller="outage-setup")
    ensure_admin_agent(client, environ={})
    client.close()
    yield running
    stop_suite(running)


def agent_token(suite):
    username, password = agent_credentials({})
    response = requests.post(f"{suite.url}/api/v1/auth/token", json={"username": username, "password": password},
                             timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


class WriteLoad:
    """Writers registering families through the API, each with its own request id; a 503 is retried."""

    def __init__(self, suite, token):
        self.url = f"{suite.url}/api/v1/families"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.numbers = itertools.count()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses = Counter()
        self.failures = []  # (when, what): a 5xx other than 503, or no answer at all
        self.written = []  # request ids answered 2xx
        self.unconfirmed = []  # request ids never answered 2xx (retries exhausted or stopped)
        self.threads = [threading.Thread(target=self._write, daemon=True) for _ in range(WRITERS)]

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _write(self):
        session = requests.Session()
        while not self.stop.is_set():
            number = next(self.numbers)
            request_id = f"outage-{number}"
            family = {"request_id": request_id,
                      "representatives": [{"first_name": "Parent", "last_name": f"Panne{number}"}],
                      "children": [{"first_name": "Enfant", "last_name": f"Panne{number}", "birth_date": "2019-03-04"}]}
            status = None
            for _attempt in range(60):
                try:
                    status = session.post(self.url, json=family, headers=self.headers, timeout=15).status_code
                except requests.RequestException as exc:
                    status = None
                    self._failed(f"{request_id}: no answer ({exc.__class__.__name__})")
                with self.lock:
                    self.statuses[status] += 1
                if status in (200, 201):
                    with self.lock:
                        self.written.append(request_id)
                    break
                if status is not None and status >= 500 and status != 503:
                    self._failed(f"{request_id}: {status}")
                if status != 503 or self.stop.is_set():
                    break
                time.sleep(RETRY_EVERY)
            if status not in (200, 201):
                with self.lock:
                    self.unconfirmed.append(request_id)
            time.sleep(WRITE_INTERVAL)

    def _failed(self, what):
        with self.lock:
            self.failures.append((time.monotonic(), what))


def every_route_answers(suite, token, family_id):
    """One round of calls that reach every service through the gateway: {url: status}."""
    headers = {"Authorization": f"Bearer {token}"}
    urls = [f"{suite.url}/api/v1/services/{name}/ping" for name in SERVICES]
    urls.append(f"{suite.url}/api/v1/families/{family_id}")
    return {url: requests.get(url, headers=headers, timeout=10).status_code for url in urls}


def count_rows(suite, service, sql, **params):
    engine = create_database_engine(suite.database_urls[service])
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def service_pids(suite):
    return {name: suite.processes[name].pid for name in SERVICES + ("gateway",)}


def test_a_six_second_broker_outage_under_load_loses_nothing_and_heals_by_itself(node, node_suite):
    suite = node_suite
    token = agent_token(suite)
    pids = service_pids(suite)
    load = WriteLoad(suite, token).start()
    time.sleep(3)
    written_before = len(load.written)
    assert written_before > 0 and not load.failures, load.failures

    stopping_at = time.monotonic()
    node.stop_app()
    stopped_at = time.monotonic()
    time.sleep(OUTAGE_SECONDS)
    during = dict(load.statuses)
    node.start_app()
    back_at = time.monotonic()

    # The gateway heals by itself: every route through every service answers 2xx again, many times
    # in a row, so that each gateway thread's client has been through a call since the outage.
    first_family = count_rows(suite, "identity", "SELECT id FROM families WHERE request_id = :r", r="outage-0")
    healed_at = None
    read_failures = []
    while time.monotonic() - back_at < HEAL_WITHIN:
        statuses = every_route_answers(suite, token, first_family)
        read_failures += [(url, status) for url, status in statuses.items() if status >= 500 and status != 503]
        if all(status == 200 for status in statuses.values()):
            healed_at = healed_at or time.monotonic()
            if time.monotonic() - healed_at >= 3:
                break
        else:
            healed_at = None
        time.sleep(0.2)
    assert not read_failures, f"5xx other than 503 while healing: {read_failures[:10]}"
    assert healed_at is not None and time.monotonic() - healed_at >= 3, (
        f"the gateway did not heal within {HEAL_WITHIN} s: {suite.readiness()}")
    healed_after = healed_at - back_at
    unavailable_when_healed = load.statuses[503]
    time.sleep(3)  # keep writing once healed
    load.finish()
    unavailable_after = load.statuses[503] - unavailable_when_healed

    print(f"\nbroker away {back_at - stopping_at:.1f} s (stop_app {stopped_at - stopping_at:.1f} s, "
          f"{OUTAGE_SECONDS} s stopped, start_app until AMQP answered {back_at - stopped_at - OUTAGE_SECONDS:.1f} s); "
          f"healed {healed_after:.1f} s after; answers {dict(load.statuses)} (before start_app: {during}); "
          f"{len(load.written)} writes confirmed ({written_before} before the outage), "
          f"{len(load.unconfirmed)} unconfirmed, {unavailable_after} answers 503 once healed")
    assert not load.failures, f"5xx other than 503, or no answer, during the outage: {load.failures[:10]}"
    assert load.statuses[503] > 0, "the outage was not seen: no 503 at all"
    assert len(load.written) > written_before

    # Every process outlived the outage: same pids, still running.
    assert service_pids(suite) == pids and not suite.exited(), suite.exited()

    # Every write answered 2xx is there exactly once, and its event reached canteen exactly once.
    for request_id in load.written:
        number = request_id.rsplit("-", 1)[1]
        assert count_rows(suite, "identity", "SELECT count(*) FROM families WHERE request_id = :r", r=request_id) == 1
        assert count_rows(suite, "identity", "SELECT count(*) FROM representatives WHERE last_name = :n",
                          n=f"Panne{number}") == 1, f"{request_id} was registered twice"
    # A write never confirmed may or may not have happened, but never twice.
    for request_id in load.unconfirmed:
        number = request_id.rsplit("-", 1)[1]
        assert count_rows(suite, "identity", "SELECT count(*) FROM representatives WHERE last_name = :n",
                          n=f"Panne{number}") <= 1
    registered = count_rows(suite, "identity", "SELECT count(*) FROM families WHERE request_id LIKE 'outage-%'")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        projected = count_rows(suite, "canteen", "SELECT count(*) FROM family_children WHERE last_name LIKE 'Panne%'")
        if projected == registered:
            break
        time.sleep(0.5)
    assert projected == registered, f"canteen projected {projected} of {registered} families registered"
    assert count_rows(suite, "identity", "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


def test_the_runner_starts_again_a_service_that_died(node_suite):
    """What `make run` does each half second: a dead service is started again after its back-off."""
    suite = node_suite
    reports = []
    policy = RestartPolicy(first=0.5)
    old_pid = suite.processes["canteen"].pid
    suite.signal("canteen", signal.SIGKILL)
    suite.processes["canteen"].wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        suite.restart_exited(policy, report=reports.append)
        state = (suite.readiness() or {}).get("services", {}).get("canteen", {})
        if suite.processes["canteen"].pid != old_pid and state.get("healthy") and \
                state.get("detail", {}).get("pid") == suite.processes["canteen"].pid:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"canteen was not started again: {reports}\n{suite.log_tail('canteen')}")
    assert reports[0].startswith("canteen exited with code -9") and "starting it again in 0.5 s" in reports[0]
    assert reports[1] == f"canteen started again (pid {suite.processes['canteen'].pid})"
    assert requests.get(f"{suite.url}/api/v1/services/canteen/ping", timeout=10).status_code == 200
