"""Canteen, childcare and billing each keep their own copy of identity's families, once per event."""
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


@pytest.mark.parametrize("service", ["canteen", "childcare", "billing"])
def test_a_family_is_projected_once_however_often_told(service, start_service, rpc, vhost):
    start_service(service)
    with Connection(vhost.amqp_uri) as connection:
        producer = Producer(connection.channel(), exchange=event_exchange("identity"), serializer="json")
        for _ in range(2):
            producer.publish(FAMILY_REGISTERED, routing_key="family_registered", declare=[producer.exchange])
    deadline = time.monotonic() + 10
    while not rpc.call(service, "family_children", "fam-1") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # a second, duplicate effect would show now
    children = rpc.call(service, "family_children", "fam-1")
    assert [c["first_name"] for c in children] == ["Léa", "Hugo"]
    assert rpc.call(service, "family_children", "another-family") == []
