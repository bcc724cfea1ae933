"""The health record (issue #12) between real identity, canteen and childcare processes over RabbitMQ, on SQLite and
PostgreSQL: identity asks the service of the agent's role at the read; the flag reaches both services by identity's
event; a care service that does not answer makes the read fail closed (nothing read, nothing recorded)."""
import time

import pytest

from espace_common.rpc_client import RemoteError

pytestmark = pytest.mark.broker

PASSWORD = "Brise-Marine-44!"
FAMILY = {"representatives": [{"first_name": "Claire", "last_name": "Martin"}],
          "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}]}
CHEAP = {"PASSWORD_TIME_COST": "1", "PASSWORD_MEMORY_KIB": "8192"}


def eventually(probe, timeout=20):
    deadline = time.monotonic() + timeout
    while not (value := probe()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_the_read_follows_the_services_and_fails_closed_when_one_is_silent(start_service, rpc):
    start_service("identity", **CHEAP)
    canteen = start_service("canteen")
    start_service("childcare")
    family = rpc.call("identity", "register_family", FAMILY)
    child = family["children"][0]["id"]
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    account = rpc.call("identity", "create_account", key, "claire.martin", "claire@example.org", PASSWORD)["account"]
    ecoles = rpc.call("identity", "ensure_agent", "ecoles", PASSWORD, ["affaires_scolaires"])
    creche = rpc.call("identity", "ensure_agent", "creche", PASSWORD, ["petite_enfance"])
    assert eventually(lambda: rpc.call("canteen", "family_children", family["id"]))
    assert eventually(lambda: rpc.call("childcare", "family_children", family["id"]))
    school = rpc.call("canteen", "add_school", "École Jules Verne", "public")["id"]
    year = rpc.call("canteen", "school_day", school, time.strftime("%Y-%m-%d"))["school_year"]
    rpc.call("canteen", "enrol", child, school, year)

    rpc.call("identity", "save_health_record", account["id"], child, {"allergies": "Arachide", "treatment": "Ventoline"})
    assert rpc.call("identity", "agent_health_record", ecoles["id"], child)["allergies"] == "Arachide"
    with pytest.raises(RemoteError) as refused:
        rpc.call("identity", "agent_health_record", creche["id"], child)
    assert (refused.value.exc_type, refused.value.code) == ("Forbidden", "health_record_forbidden")
    # The crèche registers Léa: its agent may read now, at once (no projection to wait for).
    rpc.call("childcare", "register", child, "occasional")
    assert rpc.call("identity", "agent_health_record", creche["id"], child)["read_as"] == "petite_enfance"

    def flag():
        rows = rpc.call("canteen", "day_sheet", school, time.strftime("%Y-%m-%d"))
        return next(r["health_flag"] for r in rows if r["child_id"] == child)
    assert eventually(flag) == {"allergies": "Arachide", "has_treatment": True}

    canteen.stop()
    with pytest.raises(RemoteError) as silent:
        rpc.call("identity", "agent_health_record", ecoles["id"], child, timeout=30)
    assert silent.value.exc_type == "DependencyUnavailable"
    reads = rpc.call("identity", "health_record", account["id"], child)["reads"]
    assert [(r["agent"], r["granted"]) for r in reads] == [("creche", True), ("creche", False), ("ecoles", True)]
