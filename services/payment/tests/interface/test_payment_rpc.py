"""The payment service over the real broker."""
import pytest

pytestmark = pytest.mark.broker


def test_health(start_service, rpc, database_factory):
    start_service("payment")
    health = rpc.call("payment", "health")
    assert health["status"] == "ok" and health["database"]["backend"] == database_factory.backend
