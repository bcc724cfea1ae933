"""The family's data in its hands (issue #12), identity over the real broker, on SQLite and PostgreSQL: the export
travels whole and without secrets, and the retention purge runs at the start of a process (its timer is eager) once
per day however many replicas start: two processes living 400 days later purge the old journal once."""
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from espace_common.formatting import PARIS
from espace_deploy.testing import ServiceProcess, stop_processes

pytestmark = pytest.mark.broker

PASSWORD = "Brise-Marine-44!"


def family_and_account(rpc):
    family = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Hélène", "last_name": "Lefèvre", "email": "helene@example.org"}],
        "children": [{"first_name": "Zoé", "last_name": "Lefèvre", "birth_date": "2019-03-01"}]})
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    rpc.call("identity", "create_account", key, "helene", "helene.perso@example.org", PASSWORD, "10.0.0.1")
    session = rpc.call("identity", "login", "helene", PASSWORD, "10.0.0.1")
    agent = rpc.call("identity", "ensure_agent", "guichet", "Guichet-Donges-2026!", ["admin"])
    rpc.call("identity", "record_agent_action", {
        "id": str(uuid.uuid4()), "agent_id": agent["id"], "action": "agent.issue_key", "method": "POST",
        "path": f"/agents/familles/{family['id']}", "family_id": family["id"]})
    return family, session


def purge_of(rpc, slot, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        runs = [run for run in rpc.call("identity", "personal_data", True)["runs"] if run["slot"] == slot]
        if runs and runs[0]["finished_at"]:
            return runs
        assert time.monotonic() < deadline, f"no finished purge for {slot}"
        time.sleep(0.3)


def test_the_export_and_the_purge_over_the_broker(vhost, rpc, database_factory, tmp_path):
    url = database_factory("identity")
    first = ServiceProcess("identity", vhost.amqp_uri, url, tmp_path)
    first.migrate()
    first.start()
    processes = [first]
    try:
        today = datetime.now(timezone.utc).astimezone(PARIS).date().isoformat()
        purge_of(rpc, today)                                  # the eager timer ran at start: nothing to purge yet
        family, session = family_and_account(rpc)
        export = rpc.call("identity", "family_export", family["id"])
        text = json.dumps(export, ensure_ascii=False)
        assert export["representatives"][0]["last_name"] == "Lefèvre" and export["agent_journal"]
        assert session["token"] not in text and "$argon2" not in text and "digest" not in text
        first.stop()
        later = (datetime.now(timezone.utc) + timedelta(days=400)).isoformat()
        processes = [ServiceProcess("identity", vhost.amqp_uri, url, tmp_path, env={"EF_CLOCK": later})
                     for _ in range(2)]                       # two replicas, 400 days later
        for process in processes:
            process.start(wait=False)
        for process in processes:
            process.wait_healthy()
        slot = (datetime.now(timezone.utc) + timedelta(days=400)).astimezone(PARIS).date().isoformat()
        runs = purge_of(rpc, slot)
        assert len(runs) == 1                                 # one run for the day, whoever claimed it
        counts = {kind["kind"]: kind["count"] for kind in runs[0]["kinds"]}
        assert counts["agent_journal"] == 1 and counts["audit_events"] >= 1 and counts["closed_accounts"] == 0
        after = rpc.call("identity", "family_export", family["id"])
        assert after["agent_journal"] == [] and [a["username"] for a in after["accounts"]] == ["helene"]
        assert [e["kind"] for e in after["account_events"]] == ["login_ok"]   # the last login stays
    finally:
        stop_processes(processes)
