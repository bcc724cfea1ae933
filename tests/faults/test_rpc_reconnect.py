"""A client cut from the broker says 503, and the gateway's clients come back by themselves.

A TCP proxy stands between the client and the real broker, so that only this client loses its
connection; the service behind stays connected.
"""
from urllib.parse import urlsplit, urlunsplit

import pytest

from espace_common.rpc_client import RpcClient, ServiceUnavailable
from espace_deploy.testing import ServiceProcess, TcpProxy, free_port
from gateway.rpc import ClientPool, ServiceMonitor, Services

pytestmark = pytest.mark.broker


@pytest.fixture
def payment(vhost, tmp_path):
    process = ServiceProcess("payment", vhost.amqp_uri, f"sqlite:///{tmp_path / 'payment.sqlite'}", tmp_path)
    process.migrate()
    process.start()
    yield process
    process.stop()


@pytest.fixture
def proxy(vhost):
    parts = urlsplit(vhost.amqp_uri)
    proxy = TcpProxy(parts.hostname, parts.port or 5672)
    proxy.amqp_uri = urlunsplit((parts.scheme, f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}",
                                 parts.path, "", ""))
    yield proxy
    proxy.close()


def test_a_lost_connection_is_service_unavailable_and_closes_the_client(payment, proxy):
    client = RpcClient(proxy.amqp_uri, timeout=3, caller="cut-test")
    assert client.call("payment", "ping") == "pong"
    proxy.cut()
    with pytest.raises(ServiceUnavailable) as lost:
        client.call("payment", "ping")
    assert lost.value.broker_lost and client.closed
    with pytest.raises(ServiceUnavailable) as closed:
        client.call("payment", "ping")
    assert closed.value.broker_lost


def test_no_broker_at_all_is_service_unavailable():
    with pytest.raises(ServiceUnavailable) as refused:
        RpcClient(f"amqp://guest:guest@127.0.0.1:{free_port()}/", timeout=2)
    assert refused.value.service == "broker" and refused.value.broker_lost


def test_the_gateway_pool_replaces_a_dead_client_once_the_broker_is_back(payment, proxy):
    services = Services(ClientPool(proxy.amqp_uri, timeout=3), monitor=None)
    assert services.call("payment", "ping") == "pong"
    first = services.pool.client()
    proxy.cut()
    with pytest.raises(ServiceUnavailable):
        services.call("payment", "ping")  # the thread's client finds its connection gone
    with pytest.raises(ServiceUnavailable) as away:
        services.call("payment", "ping")  # a new one cannot connect while the broker is away
    assert away.value.service == "broker"
    proxy.restore()
    assert services.call("payment", "ping") == "pong"
    assert services.pool.client() is not first


def test_the_monitor_sees_the_broker_go_and_come_back(payment, proxy):
    monitor = ServiceMonitor(proxy.amqp_uri, ["payment"], interval=0.2, probe_timeout=1)
    monitor.start()
    try:
        wait_until(lambda: monitor.broker_reachable and not monitor.is_down("payment"))
        proxy.cut()
        wait_until(lambda: monitor.broker_reachable is False and monitor.is_down("payment"))
        proxy.restore()
        wait_until(lambda: monitor.broker_reachable and not monitor.is_down("payment"))
    finally:
        monitor.stop()


def test_after_an_outage_the_monitor_saw_the_first_request_finds_a_live_client(payment, proxy):
    monitor = ServiceMonitor(proxy.amqp_uri, ["payment"], interval=0.2, probe_timeout=1)
    monitor.start()
    try:
        services = Services(ClientPool(proxy.amqp_uri, timeout=3), monitor)
        wait_until(lambda: monitor.broker_reachable and not monitor.is_down("payment"))
        assert services.call("payment", "ping") == "pong"
        proxy.cut()
        wait_until(lambda: monitor.broker_reachable is False)
        proxy.restore()
        wait_until(lambda: monitor.broker_reachable and not monitor.is_down("payment"))
        assert services.call("payment", "ping") == "pong"  # not a 503 from the client made before
    finally:
        monitor.stop()


def wait_until(condition, timeout=10):
    import time
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within 10 s"
        time.sleep(0.05)
