"""Bookings, the waiting list and its mail, over the real broker, on SQLite and PostgreSQL."""
import threading
import time
from datetime import date, timedelta

import pytest

from espace_common.rpc_client import RemoteError, RpcClient

pytestmark = pytest.mark.broker

RACERS = 50
PLACES_LEFT = 3


def family(number):
    toddler = (date.today() - timedelta(days=400)).isoformat()
    return {"representatives": [{"first_name": "Parent", "last_name": f"Course{number}"}],
            "children": [{"first_name": f"Enfant{number}", "last_name": f"Course{number}", "birth_date": toddler}]}


@pytest.fixture(scope="module")
def started(module_services, tmp_path_factory):
    module_services.start("identity", wait=False)
    module_services.start("childcare", wait=False, CHILDCARE_FILES_DIR=str(tmp_path_factory.mktemp("childcare-files")))
    module_services.wait_healthy()
    return module_services


def registered_families(rpc, count):
    """`count` families of one child each, known to childcare and registered for occasional care."""
    families = [rpc.call("identity", "register_family", family(n)) for n in range(count)]
    deadline = time.monotonic() + 20
    for registered in families:
        while not rpc.call("childcare", "family_children", registered["id"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        rpc.call("childcare", "register", registered["children"][0]["id"], "occasional")
    return [(f["id"], f["children"][0]["id"]) for f in families]


def free_slot(rpc, days_ahead):
    """A slot of an opening day some days ahead (the service generated them when it started)."""
    start = date.today() + timedelta(days=days_ahead)
    slots = rpc.call("childcare", "slots", start.isoformat(), (start + timedelta(days=7)).isoformat())
    return next(s for s in slots if s["available"] == s["capacity"] and not s["closed"])


def test_fifty_parents_race_for_three_places(started):
    rpc = started.rpc
    racers = registered_families(rpc, RACERS + 2)
    slot = free_slot(rpc, 7)
    rpc.call("childcare", "set_capacity", slot["id"], PLACES_LEFT + 2)
    for family_id, child_id in racers[:2]:  # two places already taken: three left
        assert rpc.call("childcare", "book", family_id, child_id, slot["id"])["status"] == "confirmed"
    barrier = threading.Barrier(RACERS)
    answers, errors = {}, []

    def race(family_id, child_id):
        client = RpcClient(started.vhost.amqp_uri, timeout=60, caller="parent")
        try:
            barrier.wait()
            answers[child_id] = client.call("childcare", "book", family_id, child_id, slot["id"])
        except Exception as exc:  # every failure is a test failure, reported below
            errors.append(repr(exc))
        finally:
            client.close()
    threads = [threading.Thread(target=race, args=pair) for pair in racers[2:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    confirmed = [a for a in answers.values() if a["status"] == "confirmed"]
    waiting = [a for a in answers.values() if a["status"] == "waiting"]
    assert len(confirmed) == PLACES_LEFT and all(a["position"] is None for a in confirmed)
    assert sorted(a["position"] for a in waiting) == list(range(1, RACERS - PLACES_LEFT + 1))
    # The positions answered are the waiting list's order as the crèche sees it.
    day = rpc.call("childcare", "planning", slot["date"])
    listed = next(s for s in day["slots"] if s["id"] == slot["id"])
    assert listed["taken"] == listed["capacity"] == PLACES_LEFT + 2
    assert [w["booking_id"] for w in listed["waiting"]] == [a["id"] for a in sorted(waiting, key=lambda a: a["position"])]
    shown = rpc.call("childcare", "slots", slot["date"], slot["date"])
    assert next(s for s in shown if s["id"] == slot["id"])["waiting"] == RACERS - PLACES_LEFT


def test_a_cancellation_promotes_the_first_in_line_who_gets_a_mail(started, mail, tmp_path):
    rpc = started.rpc
    # The module's childcare writes its mails in files; a second one on the same database sends them by SMTP.
    started.processes["childcare"].stop()
    started.start("childcare", SMTP_URL=mail.url, CHILDCARE_FILES_DIR=str(tmp_path))
    (first_family, first_child), (second_family, second_child) = registered_families(rpc, 2)
    slot = free_slot(rpc, 14)
    rpc.call("childcare", "set_capacity", slot["id"], 1)
    mine = rpc.call("childcare", "book", first_family, first_child, slot["id"], "premier@example.org")
    theirs = rpc.call("childcare", "book", second_family, second_child, slot["id"], "second@example.org")
    assert (mine["status"], theirs["status"], theirs["position"]) == ("confirmed", "waiting", 1)
    with pytest.raises(RemoteError) as refused:
        rpc.call("childcare", "cancel_booking", second_family, mine["id"])
    assert refused.value.exc_type == "NotFound"
    answer = rpc.call("childcare", "cancel_booking", first_family, mine["id"])
    assert answer["billed"] is False and answer["promoted_booking_id"] == theirs["id"]
    message = mail.wait_for("second@example.org")[0]
    assert "place s'est libérée" in message["Subject"]
    assert rpc.call("childcare", "child_bookings", second_family, second_child)[0]["status"] == "confirmed"
    # A cancelled booking may be made again (now on the waiting list), but not twice.
    again = rpc.call("childcare", "book", first_family, first_child, slot["id"], None)
    assert (again["status"], again["position"]) == ("waiting", 1)
    with pytest.raises(RemoteError) as refused:
        rpc.call("childcare", "book", first_family, first_child, slot["id"], None)
    assert (refused.value.exc_type, refused.value.code) == ("Conflict", "already_booked")
