"""The health record (issue #12) through the gateway against the whole suite over RabbitMQ: a parent saves a child's
record; identity asks canteen (or childcare) at the read whether the child attends the agent's service; an agent of
the other service is refused (403) and the refusal is recorded; the right one reads it, recorded, and the parent
sees both; the allergy flag reaches the canteen's day sheet and the crèche's planning by identity's event."""
import time
import uuid
from datetime import date, timedelta

import pytest
import requests

from espace_common.rpc_client import RpcClient

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PASSWORD = "Brise-Marine-44!"
RECORD = {"allergies": "Arachide, fruits à coque", "treatment": "Ventoline si crise d'asthme",
          "doctor": {"name": "Dr Lemoine", "phone": "02 40 45 00 00"}, "vaccinations_up_to_date": True,
          "authorised_persons": [{"name": "Monique Martin", "phone": "06 11 22 33 44", "relation": "grand_parent"}],
          "emergency_contacts": [{"name": "Paul Martin", "phone": "+33 6 55 44 33 22", "relation": "oncle_tante"}]}


def school_year_of(day):
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def eventually(probe, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def token(suite, username):
    answer = requests.post(f"{suite.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD},
                           timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def town(suite):
    rpc = RpcClient(suite.vhost.amqp_uri, timeout=30, caller="test")
    tag = uuid.uuid4().hex[:6]
    families = [rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Claire", "last_name": f"Sante{tag}{n}"}],
        "children": [{"first_name": "Léa", "last_name": f"Sante{tag}{n}", "birth_date": "2018-04-17"},
                     {"first_name": "Noé", "last_name": f"Sante{tag}{n}", "birth_date": "2024-06-02"}]})
        for n in range(2)]
    key = rpc.call("identity", "issue_key", families[0]["representatives"][0]["id"])["key"]
    rpc.call("identity", "create_account", key, f"sante.{tag}", f"sante{tag}@example.org", PASSWORD)
    for username, roles in ((f"ecoles-{tag}", ["affaires_scolaires"]), (f"creche-{tag}", ["petite_enfance"]),
                            (f"admin-{tag}", ["admin"])):
        rpc.call("identity", "ensure_agent", username, PASSWORD, roles)
    school = rpc.call("canteen", "add_school", f"École Santé {tag}", "public")["id"]
    family_id = families[0]["id"]
    for service in ("canteen", "childcare"):
        assert eventually(lambda: len(rpc.call(service, "family_children", family_id)) == 2), service
    lea, noe = (c["id"] for c in families[0]["children"])
    rpc.call("canteen", "enrol", lea, school, school_year_of(date.today()))  # Léa eats at the canteen
    rpc.call("childcare", "register", noe, "occasional")  # Noé goes to the crèche, booked on its first slot
    slots = rpc.call("childcare", "slots", date.today().isoformat(), (date.today() + timedelta(days=21)).isoformat())
    slot = next(s for s in slots if s["available"] > 0 and s["date"] > date.today().isoformat())
    assert rpc.call("childcare", "book", family_id, noe, slot["id"])["status"] == "confirmed"
    yield {"rpc": rpc, "tag": tag, "lea": lea, "noe": noe, "school": school, "slot": slot,
           "other_child": families[1]["children"][0]["id"], "parent": token(suite, f"sante.{tag}"),
           "ecoles": token(suite, f"ecoles-{tag}"), "creche": token(suite, f"creche-{tag}"),
           "admin": token(suite, f"admin-{tag}")}
    rpc.close()


def url(suite, child_id):
    return f"{suite.url}/api/v1/children/{child_id}/health-record"


def test_the_right_service_reads_the_record_the_other_is_refused_and_the_parent_sees_both(suite, town):
    lea = town["lea"]
    saved = requests.put(url(suite, lea), headers=town["parent"], json=RECORD, timeout=10)
    assert saved.status_code == 200, saved.text
    assert saved.json()["authorised_persons"][0]["phone"] == "0611223344"

    refused = requests.get(url(suite, lea), headers=town["creche"], timeout=10)  # Léa is not at the crèche
    assert refused.status_code == 403 and refused.json()["code"] == "health_record_forbidden"
    assert requests.get(url(suite, lea), headers=town["admin"], timeout=10).status_code == 403
    granted = requests.get(url(suite, lea), headers=town["ecoles"], timeout=10)
    assert granted.status_code == 200 and granted.json()["allergies"] == RECORD["allergies"]
    assert granted.json()["read_as"] == "affaires_scolaires"
    # Noé is at the crèche, not at the canteen: the other way round.
    assert requests.get(url(suite, town["noe"]), headers=town["creche"], timeout=10).status_code == 200
    assert requests.get(url(suite, town["noe"]), headers=town["ecoles"], timeout=10).status_code == 403

    reads = requests.get(url(suite, lea), headers=town["parent"], timeout=10).json()["reads"]
    tag = town["tag"]
    assert [(r["agent"], r["granted"]) for r in reads] == \
        [(f"ecoles-{tag}", True), (f"admin-{tag}", False), (f"creche-{tag}", False)]


def test_another_familys_child_and_bad_input_are_refused_never_a_500(suite, town):
    assert requests.get(url(suite, town["other_child"]), headers=town["parent"], timeout=10).status_code == 404
    assert requests.put(url(suite, town["other_child"]), headers=town["parent"], json=RECORD,
                        timeout=10).status_code == 404
    for junk_id in ("x" * 1000, "é-%00-👶", "../../etc/passwd"):
        assert requests.get(url(suite, junk_id), headers=town["ecoles"], timeout=10).status_code == 404, junk_id
    for body in ({"allergies": "a" * 100_000}, {"authorised_persons": [{"name": "Zoé", "phone": "٠٦١١٢٢٣٣٤٤"}]},
                 {"emergency_contacts": [{"name": "Zoé", "phone": "0611223344", "relation": "chauffeur"}]},
                 {"doctor": {"phone": "pas un numéro"}}):
        answer = requests.put(url(suite, town["lea"]), headers=town["parent"], json=body, timeout=10)
        assert answer.status_code == 400 and set(answer.json()) == {"code", "message"}, answer.text
    junk = requests.put(url(suite, town["lea"]), headers={**town["parent"], "Content-Type": "application/json"},
                        data=b"\xff\xfe{", timeout=10)
    assert junk.status_code == 400


def test_the_flags_reach_the_canteen_day_sheet_and_the_creche_planning(suite, town):
    rpc, lea, noe = town["rpc"], town["lea"], town["noe"]
    for child in (lea, noe):
        body = {**RECORD, "allergies": f"Œuf ({child[:4]})", "treatment": ""}
        assert requests.put(url(suite, child), headers=town["parent"], json=body, timeout=10).status_code == 200

    def sheet_flag():
        day = rpc.call("canteen", "school_day", town["school"], date.today().isoformat())
        return next(r["health_flag"] for r in day["sheet"] if r["child_id"] == lea)

    def planning_flag():
        planning = rpc.call("childcare", "planning", town["slot"]["date"])
        return next((c["health_flag"] for s in planning["slots"] for c in s["expected"] if c["child_id"] == noe),
                    None)
    # Waited for until they are the new ones: the flags of the earlier tests' record may still be shown meanwhile.
    lea_flag, noe_flag = ({"allergies": f"Œuf ({child[:4]})", "has_treatment": False} for child in (lea, noe))
    assert eventually(lambda: sheet_flag() == lea_flag), sheet_flag()
    assert eventually(lambda: planning_flag() == noe_flag), planning_flag()
    # A record without allergy nor treatment takes the flag away.
    requests.put(url(suite, lea), headers=town["parent"], json={"allergies": "", "treatment": ""}, timeout=10)
    assert eventually(lambda: sheet_flag() is None)
