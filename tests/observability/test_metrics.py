"""/metrics of the gateway (every gunicorn worker's counts, by route) and of a service (its own port), guarded
by METRICS_TOKEN when it is set."""
import os
import re
import time
import uuid
from pathlib import Path

import pytest
import requests

from espace_common.observability import set_request_id
from espace_common.rpc_client import RemoteError, RpcClient
from espace_deploy.testing import ServiceProcess, VirtualHost, free_port, start_suite, stop_suite

pytestmark = [pytest.mark.broker, pytest.mark.slow]

TOKEN = "jeton-des-metriques"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    running = start_suite(tmp_path_factory.mktemp("observability-metrics"), METRICS_TOKEN=TOKEN)
    yield running
    stop_suite(running)


@pytest.fixture(scope="module")
def canteen(tmp_path_factory):
    """canteen alone in a virtual host of its own, with /metrics on a free port."""
    folder = tmp_path_factory.mktemp("observability-canteen")
    host = VirtualHost("metrics")
    process = ServiceProcess("canteen", host.amqp_uri, f"sqlite:///{folder / 'canteen.sqlite'}", folder)
    process.migrate()
    process.port = free_port()
    process.start(METRICS_PORT=str(process.port), METRICS_TOKEN=TOKEN)
    yield process
    process.stop()
    host.delete()


def sample(text, name, **labels):
    """The value of one sample of a Prometheus text page, or None."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}\{{(.*)\}} (\S+)", line)
        if match and dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1))) == labels:
            return float(match.group(2))
    return None


def test_the_gateway_counts_requests_by_route_and_status_over_all_its_workers(suite):
    # An unknown family id each time: the route's rule names them all, never the raw path.
    for _ in range(24):
        assert requests.get(f"{suite.url}/api/v1/families/{uuid.uuid4()}", timeout=10).status_code == 401
    page = requests.get(f"{suite.url}/metrics", headers=BEARER, timeout=10)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert page.headers["Content-Type"].startswith("text/plain")
    route = "/api/v1/families/<family_id>"
    assert sample(page.text, "espace_gateway_requests_total", method="GET", route=route, status="401") == 24
    assert sample(page.text, "espace_gateway_request_duration_seconds_count", method="GET", route=route) == 24
    assert sample(page.text, "espace_gateway_request_duration_seconds_bucket", method="GET", route=route,
                  le="+Inf") == 24
    assert "/api/v1/families/0" not in page.text and "/api/v1/families/1" not in page.text


def test_two_workers_answered_and_both_are_counted(suite):
    """WEB_CONCURRENCY is 2 and each connection is closed: the requests spread over both workers, whose files
    /metrics sums (one worker's count alone would fall short)."""
    for _ in range(40):
        response = requests.get(f"{suite.url}/healthz", timeout=10, headers={"Connection": "close"})
        assert response.status_code == 200
    page = requests.get(f"{suite.url}/metrics", headers=BEARER, timeout=10).text
    total = sample(page, "espace_gateway_requests_total", method="GET", route="/healthz", status="200")
    assert total is not None and total >= 40


def test_the_gateway_metrics_need_the_token_when_it_is_set(suite):
    for headers in ({}, {"Authorization": "Bearer faux"}, {"Authorization": TOKEN}):
        response = requests.get(f"{suite.url}/metrics", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated" and response.json()["message"]
        assert response.headers["Cache-Control"] == "no-store"
        assert "espace_gateway" not in response.text


def test_a_service_serves_its_rpc_latency_outbox_backlog_and_queue_depth(canteen):
    client = RpcClient(canteen.amqp_uri, timeout=10, caller="test")
    try:
        set_request_id("metrics-test")
        for _ in range(3):
            assert client.call("canteen", "ping") == "pong"
        with pytest.raises(RemoteError):
            client.call("canteen", "menus_for_week", "pas-une-date")
    finally:
        set_request_id(None)
        client.close()
    url = f"http://127.0.0.1:{canteen.port}/metrics"
    deadline = time.monotonic() + 10
    while True:
        page = requests.get(url, headers=BEARER, timeout=10)
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        text = page.text
        if sample(text, "espace_queue_consumers", service="canteen", queue="rpc-canteen") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sample(text, "espace_rpc_duration_seconds_count", service="canteen", method="ping", outcome="ok") == 3
    assert sample(text, "espace_rpc_duration_seconds_bucket", service="canteen", method="ping", outcome="ok",
                  le="+Inf") == 3
    failed = [line for line in text.splitlines()
              if line.startswith("espace_rpc_duration_seconds_count") and 'method="menus_for_week"' in line]
    assert len(failed) == 1 and not failed[0].endswith(" 0.0") and 'outcome="ok"' not in failed[0]
    assert sample(text, "espace_outbox_pending", service="canteen") == 0
    assert sample(text, "espace_outbox_oldest_pending_seconds", service="canteen") == 0
    assert sample(text, "espace_queue_messages", service="canteen", queue="rpc-canteen") == 0
    assert sample(text, "espace_queue_consumers", service="canteen", queue="rpc-canteen") == 1
    queue = "evt-identity-family_registered--canteen.on_family_registered"
    assert sample(text, "espace_queue_consumers", service="canteen", queue=queue) == 1
    assert "process_resident_memory_bytes" in text


def test_a_service_metrics_need_the_token_when_it_is_set(canteen):
    url = f"http://127.0.0.1:{canteen.port}/metrics"
    for headers in ({}, {"Authorization": "Bearer faux"}):
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    assert requests.get(f"http://127.0.0.1:{canteen.port}/autre", headers=BEARER, timeout=10).status_code == 404


def listening_ports(pid):
    """The TCP ports a process (not its children) listens on, read from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_a_service_without_metrics_port_listens_on_no_port(suite, canteen):
    """The suite's services have no METRICS_PORT: replicas on one host must not clash on a port."""
    assert canteen.port in listening_ports(canteen.process.pid)  # the probe sees a listener when there is one
    for name in ("identity", "canteen", "childcare", "billing", "payment"):
        assert listening_ports(suite.processes[name].pid) == set(), name
