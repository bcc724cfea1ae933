"""The canteen service over the real broker: health, and its own projection of identity's families."""
import time

import pytest
from kombu import Connection, Producer

from espace_common.amqp import event_exchange

pytestmark = pytest.mark.broker

FAMILY_REGISTERED = {
    "id": "6d1f7a50-2f1a-4a53-a9a8-7e3c6b1d2e40", "source": "identity", "type": "family_registered",
    "occurred_at": "2026-11-26T09:00:00+00:00",
    "data": {"family_id": "fam-1", "dossier": "000007",
             "representatives": [{"id": "rep-1", "first_name": "Claire", "last_name": "Martin"}],
             "children": [{"id": "child-2", "first_name": "Hugo", "last_name": "Martin", "birth_date": "2020-09-03"},
                          {"id": "child-1", "first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}]},
}


def test_health(start_service, rpc, database_factory):
    start_service("canteen")
    health = rpc.call("canteen", "health")
    assert health["status"] == "ok" and health["database"]["backend"] == database_factory.backend


def test_keeps_its_own_copy_of_a_family_once_however_often_told(start_service, rpc, vhost):
    start_service("canteen")
    with Connection(vhost.amqp_uri) as connection:
        producer = Producer(connection.channel(), exchange=event_exchange("identity"), serializer="json")
        for _ in range(2):
            producer.publish(FAMILY_REGISTERED, routing_key="family_registered", declare=[producer.exchange])
    deadline = time.monotonic() + 10
    while not rpc.call("canteen", "family_children", "fam-1") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    children = rpc.call("canteen", "family_children", "fam-1")
    assert [c["first_name"] for c in children] == ["Léa", "Hugo"]
    assert rpc.call("canteen", "family_children", "another-family") == []
