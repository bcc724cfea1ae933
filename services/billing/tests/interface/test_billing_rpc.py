"""The billing service over the real broker (its projection of families: tests/integration)."""
import pytest

pytestmark = pytest.mark.broker


def test_health(start_service, rpc, database_factory):
    start_service("billing")
    health = rpc.call("billing", "health")
    assert health["status"] == "ok" and health["database"]["backend"] == database_factory.backend
