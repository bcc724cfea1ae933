"""Two gateway processes in front of one identity: each remembers the tokens it resolved, and a token
revoked through one is refused by the other within a second; a gateway that stops hearing
identity's revocations trusts nothing it remembers until it hears them again.

Gateway A is the suite's own; gateway B is a second gunicorn against the same broker and services.
Each runs one worker, so that a request through a gateway reaches the process whose cache the
test means. "Revoked behind the gateways' back" means written straight into identity's database,
with no event: only a gateway that asks identity sees it, which shows whether a gateway used its
cache or not.
"""
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import create_engine, text

from espace_common.rpc_client import RpcClient
from espace_deploy.suite import ROOT
from espace_deploy.testing import free_port, management_url, start_suite, stop_suite
from gateway.principals import token_digest

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timing]

PASSWORD = "Donges-Famille-2026!"
AGENT_PASSWORD = "Agent-Mairie-2026!"
REFUSED_WITHIN_SECONDS = 1.0
# Long enough to act while gateway B is deaf, short enough for the test.
B_RETRY_SECONDS = 4


class Gateway:
    def __init__(self, url, process=None):
        self.url = url
        self.process = process

    def worker_pid(self):
        """The pid of the single gunicorn worker under this gateway's master."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.1)
        raise TimeoutError("gateway B has no worker")

    def me(self, token):
        return requests.get(f"{self.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def families(self, token):
        return requests.get(f"{self.url}/api/v1/families", params={"q": "Revocation"},
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("token-revocation")
    suite = start_suite(var_dir, WEB_CONCURRENCY="1", PASSWORD_TIME_COST="1", PASSWORD_MEMORY_KIB="8192")
    port = free_port()
    env = dict(os.environ, **suite.extra_env, AMQP_URI=suite.amqp_uri, PORT=str(port),
               REVOCATION_RETRY_SECONDS=str(B_RETRY_SECONDS))
    with open(var_dir / "log" / "gateway-b.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=ROOT, start_new_session=True)
    suite.processes["gateway-b"] = process  # stopped with the suite
    suite.gateway_a = Gateway(suite.url)
    suite.gateway_b = Gateway(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{suite.gateway_b.url}/readyz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.3)
    else:
        stop_suite(suite)
        raise TimeoutError(f"gateway B did not start:\n{suite.log_tail('gateway-b')}")
    suite.rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    yield suite
    suite.rpc.close()
    stop_suite(suite)


def new_parent(rpc):
    """A new parent account; returns its identifier."""
    name = uuid.uuid4().hex[:8]
    family = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Claire", "last_name": f"Revocation{name}"}],
        "children": [{"first_name": "Zoé", "last_name": f"Revocation{name}", "birth_date": "2019-01-01"}]})
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    username = f"claire.{name}"
    rpc.call("identity", "create_account", key, username, f"{username}@example.org", PASSWORD)
    return username


@pytest.fixture
def parent(suite):
    return new_parent(suite.rpc)


def web_login(url, username):
    """A browser-like session logged in through the web form; returns it and its cookie."""
    browser = requests.Session()
    login_page = browser.get(f"{url}/connexion", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    response = browser.post(f"{url}/connexion", timeout=10, allow_redirects=False,
                            data={"csrf_token": csrf, "username": username, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return browser, browser.cookies.get("session")


def api_token(gateway, username, password=PASSWORD):
    response = requests.post(f"{gateway.url}/api/v1/auth/token", json={"username": username, "password": password},
                             timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def seconds_until_refused(request, status=401):
    """Poll until the request is refused; the time it took (fails after a few seconds)."""
    started = time.monotonic()
    while time.monotonic() - started < 5:
        if request().status_code == status:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("still accepted after 5 s")


def revoke_behind_the_gateways_back(suite, token):
    engine = create_engine(suite.database_urls["identity"])
    try:
        with engine.begin() as db:
            db.execute(text("UPDATE auth_tokens SET revoked_at = :now WHERE digest = :digest"),
                       {"now": datetime.now(timezone.utc).replace(tzinfo=None), "digest": token_digest(token)})
    finally:
        engine.dispose()


def test_logout_through_one_gateway_is_refused_by_the_other_within_a_second(suite, parent):
    token = api_token(suite.gateway_a, parent)
    for gateway in (suite.gateway_a, suite.gateway_b):  # both resolve it, and keep it
        assert gateway.me(token).status_code == 200
        assert gateway.me(token).status_code == 200
    response = requests.delete(f"{suite.gateway_a.url}/api/v1/auth/token",
                               headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 204
    assert seconds_until_refused(lambda: suite.gateway_b.me(token)) < REFUSED_WITHIN_SECONDS
    assert suite.gateway_a.me(token).status_code == 401


def test_a_password_change_ends_the_other_tokens_in_every_gateway_within_a_second(suite, parent):
    kept, other = api_token(suite.gateway_a, parent), api_token(suite.gateway_b, parent)
    for gateway in (suite.gateway_a, suite.gateway_b):
        assert gateway.me(kept).status_code == 200 and gateway.me(other).status_code == 200
    response = requests.put(f"{suite.gateway_a.url}/api/v1/me/password", timeout=10,
                            headers={"Authorization": f"Bearer {kept}"},
                            json={"current_password": PASSWORD, "new_password": "Nouveau-Mot-2026!"})
    assert response.status_code == 204, response.text
    assert seconds_until_refused(lambda: suite.gateway_b.me(other)) < REFUSED_WITHIN_SECONDS
    assert suite.gateway_a.me(other).status_code == 401
    assert suite.gateway_b.me(kept).status_code == 200  # the session that changed it stays


def test_an_agent_whose_roles_change_is_refused_by_every_gateway_within_a_second(suite):
    username = f"agent-{uuid.uuid4().hex[:8]}"
    suite.rpc.call("identity", "ensure_agent", username, AGENT_PASSWORD, ["affaires_scolaires"])
    token = api_token(suite.gateway_a, username, AGENT_PASSWORD)
    for gateway in (suite.gateway_a, suite.gateway_b):
        assert gateway.families(token).status_code == 200
    suite.rpc.call("identity", "ensure_agent", username, AGENT_PASSWORD, ["petite_enfance"])
    assert seconds_until_refused(lambda: suite.gateway_b.families(token)) < REFUSED_WITHIN_SECONDS
    assert suite.gateway_a.families(token).status_code == 401


def test_a_web_session_ended_on_one_gateway_is_refused_by_the_other_within_a_second(suite, parent):
    browser, cookie = web_login(suite.gateway_a.url, parent)

    def dashboard(gateway):
        return requests.get(f"{gateway.url}/tableau-de-bord", cookies={"session": cookie}, allow_redirects=False,
                            timeout=10)

    for gateway in (suite.gateway_a, suite.gateway_b):  # the same signed cookie works on both
        assert dashboard(gateway).status_code == 200
    page = browser.get(f"{suite.gateway_a.url}/tableau-de-bord", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert browser.post(f"{suite.gateway_a.url}/deconnexion", data={"csrf_token": csrf}, timeout=10,
                        allow_redirects=False).status_code == 302
    assert seconds_until_refused(lambda: dashboard(suite.gateway_b), status=302) < REFUSED_WITHIN_SECONDS


def listener_queue(suite, pid, other_than=None, timeout=15):
    """The revocation queue of a gateway worker (another than `other_than`) and its consumer's connection.

    The management API's consumer details lag by up to its statistics interval: poll."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _listener_queue(suite, pid)
        if found and found[0] != other_than:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no revocation queue for worker {pid}:\n{suite.log_tail('gateway-b')}")


def _listener_queue(suite, pid):
    vhost = quote(suite.vhost.name, safe="")
    for queue in requests.get(f"{management_url()}/api/queues/{vhost}", timeout=10).json():
        if queue["name"].startswith("gateway-revocations.") and f".{pid}." in queue["name"]:
            details = requests.get(f"{management_url()}/api/queues/{vhost}/{quote(queue['name'], safe='')}",
                                   timeout=10).json()
            for consumer in details.get("consumer_details") or []:
                # A consumer whose connection is closing has no channel details left (an empty list).
                if isinstance(consumer.get("channel_details"), dict):
                    return queue["name"], consumer["channel_details"]["connection_name"]
    return None


def test_a_gateway_that_stops_hearing_revocations_trusts_nothing_until_it_hears_again(suite, parent):
    gateway = suite.gateway_b
    pid = gateway.worker_pid()
    # Listening: B answers from its cache, so a revocation identity did not broadcast goes unseen.
    cached = api_token(suite.gateway_a, parent)
    assert gateway.me(cached).status_code == 200
    revoke_behind_the_gateways_back(suite, cached)
    assert gateway.me(cached).status_code == 200

    # Cut B's revocation stream.
    queue, connection = listener_queue(suite, pid)
    assert requests.delete(f"{management_url()}/api/connections/{quote(connection, safe='')}",
                           timeout=10).status_code in (200, 204)
    cut_at = time.monotonic()
    # Deaf, B asks identity every request: the revoked token is refused, and so is one revoked now.
    assert seconds_until_refused(lambda: gateway.me(cached)) < REFUSED_WITHIN_SECONDS
    fresh = api_token(suite.gateway_a, parent)
    assert gateway.me(fresh).status_code == 200
    revoke_behind_the_gateways_back(suite, fresh)
    assert gateway.me(fresh).status_code == 401
    assert time.monotonic() - cut_at < B_RETRY_SECONDS, "the checks above ran after B had reconnected"

    # Back: a new queue and consumer, an empty cache, and the cache serves again.
    listener_queue(suite, pid, other_than=queue)
    assert gateway.me(cached).status_code == 401  # nothing from before the cut is trusted
    again = api_token(suite.gateway_a, parent)
    assert gateway.me(again).status_code == 200
    revoke_behind_the_gateways_back(suite, again)
    assert gateway.me(again).status_code == 200  # cached again
    # And it hears revocations again.
    heard = api_token(suite.gateway_a, parent)
    assert gateway.me(heard).status_code == 200
    assert requests.delete(f"{suite.gateway_a.url}/api/v1/auth/token", headers={"Authorization": f"Bearer {heard}"},
                           timeout=10).status_code == 204
    assert seconds_until_refused(lambda: gateway.me(heard)) < REFUSED_WITHIN_SECONDS


def test_an_idle_web_session_is_refused_even_when_cached(tmp_path):
    """What a gateway caches never outlives identity's idle expiry (valid_until)."""
    suite = start_suite(tmp_path, WEB_CONCURRENCY="1", WEB_SESSION_IDLE_MINUTES="0.05",  # 3 s
                        PASSWORD_TIME_COST="1", PASSWORD_MEMORY_KIB="8192")
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    try:
        username = new_parent(rpc)
        browser, _ = web_login(suite.url, username)
        assert browser.get(f"{suite.url}/tableau-de-bord", allow_redirects=False, timeout=10).status_code == 200
        time.sleep(3.5)
        response = browser.get(f"{suite.url}/tableau-de-bord", allow_redirects=False, timeout=10)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    finally:
        rpc.close()
        stop_suite(suite)
