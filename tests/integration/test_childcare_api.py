"""The childcare API through the gateway against the whole suite: parents race over HTTP for the last places, and
every refusal is a 4xx with its code, never a server error."""
import json
import threading
import time
import uuid
from datetime import date, timedelta

import pytest
import requests

from espace_common.rpc_client import RpcClient
from espace_deploy.testing import bearer

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Berceau-Donges-44!"
RACERS, PLACES = 20, 3


def token(suite, username, password=PASSWORD):
    return bearer(suite.url, username, password)


@pytest.fixture(scope="module")
def creche(suite):
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    tag = uuid.uuid4().hex[:6]
    toddler = (date.today() - timedelta(days=500)).isoformat()
    parents = []
    for n in range(RACERS + 1):
        family = rpc.call("identity", "register_family", {
            "representatives": [{"first_name": "Parent", "last_name": f"Berceau{tag}{n}"}],
            "children": [{"first_name": "Petit", "last_name": f"Berceau{tag}{n}", "birth_date": toddler},
                         {"first_name": "Grand", "last_name": f"Berceau{tag}{n}", "birth_date": "2019-03-01"}]})
        key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
        rpc.call("identity", "create_account", key, f"berceau.{tag}.{n}", f"berceau.{tag}.{n}@example.org", PASSWORD)
        parents.append(family)
    deadline = time.monotonic() + 30
    for family in parents:
        while len(rpc.call("childcare", "family_children", family["id"])) < 2:
            assert time.monotonic() < deadline, "childcare never learnt the families"
            time.sleep(0.1)
        rpc.call("childcare", "register", family["children"][0]["id"], "occasional")
        rpc.call("childcare", "register", family["children"][1]["id"], "occasional")  # seven: too old to book
    rpc.call("identity", "ensure_agent", f"pe-{tag}", PASSWORD, ["petite_enfance"])
    start = date.today() + timedelta(days=7)
    slots = rpc.call("childcare", "slots", start.isoformat(), (start + timedelta(days=9)).isoformat())
    free = [s for s in slots if s["available"] == s["capacity"] and not s["closed"]]
    rpc.close()
    tokens = [token(suite, f"berceau.{tag}.{n}") for n in range(RACERS + 1)]
    return {"parents": parents, "tokens": tokens, "agent": token(suite, f"pe-{tag}"), "free": free}


def test_parents_race_over_http_for_the_last_places(suite, creche):
    slot = creche["free"][0]
    assert requests.put(f"{suite.url}/api/v1/childcare/slots/{slot['id']}", json={"capacity": PLACES},
                        headers=creche["agent"], timeout=10).status_code == 200
    barrier = threading.Barrier(RACERS)
    answers, failures = [], []

    def race(family, headers):
        barrier.wait()
        response = requests.post(f"{suite.url}/api/v1/children/{family['children'][0]['id']}/childcare-bookings",
                                 json={"slot_id": slot["id"]}, headers=headers, timeout=60)
        (answers if response.status_code == 201 else failures).append((response.status_code, response.text))
    threads = [threading.Thread(target=race, args=pair)
               for pair in zip(creche["parents"][:RACERS], creche["tokens"][:RACERS])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    bookings = [json.loads(text) for _, text in answers]
    assert sum(b["status"] == "confirmed" for b in bookings) == PLACES
    assert sorted(b["position"] for b in bookings if b["status"] == "waiting") == list(range(1, RACERS - PLACES + 1))
    listed = requests.get(f"{suite.url}/api/v1/childcare/slots", params={"from": slot["date"], "to": slot["date"]},
                          timeout=10).json()["slots"]
    assert next(s for s in listed if s["id"] == slot["id"])["available"] == 0


def test_refusals_are_4xx_with_their_code(suite, creche):
    own, other = creche["parents"][RACERS], creche["parents"][0]
    headers = creche["tokens"][RACERS]
    slot = creche["free"][1]
    url = f"{suite.url}/api/v1/children"
    stranger = requests.post(f"{url}/{other['children'][0]['id']}/childcare-bookings", json={"slot_id": slot["id"]},
                             headers=headers, timeout=10)
    assert stranger.status_code == 404
    too_old = requests.post(f"{url}/{own['children'][1]['id']}/childcare-bookings", json={"slot_id": slot["id"]},
                            headers=headers, timeout=10)
    assert too_old.status_code == 409 and too_old.json()["code"] == "outside_age_range"
    mine = requests.post(f"{url}/{own['children'][0]['id']}/childcare-bookings", json={"slot_id": slot["id"]},
                         headers=headers, timeout=10)
    assert mine.status_code == 201 and mine.json()["status"] == "confirmed" and mine.json()["position"] is None
    # The family's private calendar feed (made by the canteen pages) carries the crèche booking too.
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    try:
        feed_token = rpc.call("canteen", "renew_calendar_feed", own["id"])["token"]
    finally:
        rpc.close()
    feed = requests.get(f"{suite.url}/cantine/calendrier/{feed_token}.ics", timeout=10)
    assert feed.status_code == 200 and "Multi-accueil : Petit" in feed.text
    again = requests.post(f"{url}/{own['children'][0]['id']}/childcare-bookings", json={"slot_id": slot["id"]},
                          headers=headers, timeout=10)
    assert again.status_code == 409 and again.json()["code"] == "already_booked"
    assert requests.delete(f"{suite.url}/api/v1/childcare-bookings/{mine.json()['id']}", headers=creche["tokens"][0],
                           timeout=10).status_code == 404
    fake = requests.post(f"{url}/{own['children'][0]['id']}/childcare-absences", headers=headers, timeout=10,
                         data={"from": date.today().isoformat(), "to": date.today().isoformat(), "reason": "illness"},
                         files={"document": ("certificat.pdf", b"<html>pas un PDF</html>", "application/pdf")})
    assert fake.status_code == 400 and fake.json()["code"] == "invalid_document"
    leave = requests.post(f"{url}/{own['children'][0]['id']}/childcare-leaves", headers=headers, timeout=10,
                          json={"from": (date.today() + timedelta(days=9)).isoformat(),
                                "to": (date.today() + timedelta(days=10)).isoformat()})
    assert leave.status_code == 409 and leave.json()["code"] == "no_contract"
    cancelled = requests.delete(f"{suite.url}/api/v1/childcare-bookings/{mine.json()['id']}", headers=headers,
                                timeout=10)
    assert cancelled.status_code == 200 and cancelled.json() == {"billed": False, "promoted_booking_id": None}
    assert requests.get(f"{suite.url}/api/v1/childcare/planning", params={"date": slot["date"]}, headers=headers,
                        timeout=10).status_code == 403
    planning = requests.get(f"{suite.url}/api/v1/childcare/planning", params={"date": slot["date"]},
                            headers=creche["agent"], timeout=10)
    assert planning.status_code == 200 and planning.json()["date"] == slot["date"]
