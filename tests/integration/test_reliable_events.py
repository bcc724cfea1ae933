"""Events survive a crash between commit and publish, and a duplicate delivery has one effect."""
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kombu import Connection, Producer
from sqlalchemy import func, insert, select

from espace_common.amqp import event_exchange
from espace_common.db import create_database_engine
from espace_common.rpc_client import ServiceUnavailable

from . import counting_service

pytestmark = pytest.mark.broker

FAMILY = {
    "request_id": "crash-test-family",
    "representatives": [{"first_name": "Sophie", "last_name": "Bernard"}],
    "children": [{"first_name": "Tom", "last_name": "Bernard", "birth_date": "2017-11-30"},
                 {"first_name": "Jade", "last_name": "Bernard", "birth_date": "2019-06-08"}],
}


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def unpublished(database_url):
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT count(*) FROM outbox WHERE published_at IS NULL").scalar()
    finally:
        engine.dispose()


def test_an_event_committed_before_a_crash_is_published_after_restart(start_service, rpc):
    canteen = start_service("canteen")
    identity = start_service("identity", EF_FAULTS="outbox.before_publish")
    try:
        rpc.call("identity", "register_family", FAMILY, timeout=3)
    except ServiceUnavailable:
        pass  # the process may die before its reply leaves
    identity.process.wait(timeout=10)
    assert identity.process.returncode == 70, identity.log()
    assert unpublished(identity.database_url) == 1

    identity.start()  # no fault this time
    family = rpc.call("identity", "register_family", FAMILY)  # same request id: nothing new is recorded
    children = wait_for(lambda: rpc.call("canteen", "family_children", family["id"]))
    assert sorted(c["first_name"] for c in children) == ["Jade", "Tom"]
    assert wait_for(lambda: unpublished(identity.database_url) == 0)
    assert canteen.process.poll() is None


@pytest.fixture
def counting(vhost, database_factory, tmp_path):
    url = database_factory("counting")
    engine = create_database_engine(url)
    counting_service.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(counting_service.counters).values(name="families", value=0))
    config = tmp_path / "counting.yml"
    config.write_text(f"AMQP_URI: '{vhost.amqp_uri}'\nDATABASE_URL: '{url}'\n")
    log = open(tmp_path / "counting.log", "wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("nameko")), "run", "--config", str(config),
         "counting_service:CountingService"], cwd=Path(__file__).parent, stdout=log, stderr=subprocess.STDOUT)
    process.engine = engine
    yield process
    process.terminate()
    process.wait(10)
    engine.dispose()


def test_the_same_event_delivered_twice_has_its_effect_once(start_service, rpc, vhost, counting):
    wait_for(lambda: (vhost.queue("evt-identity-family_registered--counting.on_family_registered") or {})
             .get("consumers"), timeout=20)
    message = {"id": "b3a7a0c6-0d4e-4f55-9d59-3c8f0a4d9e01", "source": "identity", "type": "family_registered",
               "occurred_at": "2026-11-26T10:00:00+00:00",
               "data": {"family_id": "f-1", "dossier": "000042", "representatives": [], "children": []}}
    with Connection(vhost.amqp_uri) as connection:
        producer = Producer(connection.channel(), exchange=event_exchange("identity"), serializer="json")
        for _ in range(2):
            producer.publish(message, routing_key="family_registered", declare=[producer.exchange])
        other = dict(message, id="5f0e1f54-7a52-4d7e-a3a4-8f2a3e0b7c11")
        producer.publish(other, routing_key="family_registered")

    def families_counted():
        with counting.engine.connect() as db:
            return db.execute(select(counting_service.counters.c.value)).scalar()

    assert wait_for(lambda: families_counted() == 2)
    time.sleep(0.5)  # a late third effect would show now
    assert families_counted() == 2
    with counting.engine.connect() as db:
        assert db.execute(select(func.count()).select_from(counting_service.processed_events)).scalar() == 2
