"""The runbook's backup and restore, done for real on PostgreSQL: the whole suite on five fresh databases makes the
demo's families, last month's invoices of both régies (PDFs drawn), a cash payment, a card payment through the
Paybox sandbox and a canteen justification; every invoice is noted through the API (its detail and its PDF's hash). `python -m espace_deploy.backup dump`
writes the backup; the suite stops; the five databases are DROPPED and the folders of files deleted;
`python -m espace_deploy.backup restore` puts them back; the suite starts again and every invoice, every PDF, the
justification and every stored file are the same, a parent logs in and reserves meals, and the migrations run on
the restored databases change nothing. Then the outboxes are replayed twice (`python -m espace_deploy.outbox`):
the events really reach their consumers again, and nothing changes on their side.
"""
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import func, inspect, select, table, text

from espace_common.db import create_database_engine
from espace_common.events import SUBSCRIPTIONS
from espace_common.migrations import schema_is_current
from espace_common.rpc_client import RpcClient
from espace_deploy.backup import FILES_SETTINGS, database_setting, libpq
from espace_deploy.demo import (
    agent_credentials, ensure_admin_agent, load_billing_demo, load_canteen_demo, load_childcare_demo,
    load_demo_data, wait_for_projection,
)
from espace_deploy.outbox import status
from espace_deploy.suite import ROOT, SERVICES
from espace_deploy.testing import (
    PostgresDatabase, VirtualHost, computed_run, postgres_admin_url, postgres_available, start_suite,
)

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "Sauvegarde-Donges-44!"
REGIES = ("affaires_scolaires", "petite_enfance")
# No reminder round in the middle of the counts: its timer would write its own rows while the test compares.
QUIET = {"REMINDERS_ENABLED": "false"}


def one_page_pdf():
    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    return out.getvalue()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def token(url, username, password):
    answer = requests.post(f"{url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=30)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def command(module, *args, env):
    """Run an ops command as the runbook says, in a process of its own; (its output, its duration)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", module, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"{module} {args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout, time.monotonic() - started


def database_exists(name):
    engine = create_database_engine(postgres_admin_url())
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar())
    finally:
        engine.dispose()


def schema_only(url):
    """The database's schema as pg_dump prints it: what a migration would change."""
    uri, env = libpq(url)
    printed = subprocess.run(["pg_dump", "--schema-only", f"--dbname={uri}"], env=env, capture_output=True, text=True,
                             check=True).stdout
    # Recent pg_dump releases fence their output with \restrict <random key> ... \unrestrict <key>: not the schema.
    return "\n".join(line for line in printed.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def row_counts(urls):
    """{(service, table): rows} of every table of every database."""
    counts = {}
    for service, url in urls.items():
        engine = create_database_engine(url)
        try:
            with engine.connect() as connection:
                for name in inspect(connection).get_table_names():
                    counts[(service, name)] = connection.execute(
                        select(func.count()).select_from(table(name))).scalar()
        finally:
            engine.dispose()
    return counts


def files_of(folders):
    """{(setting, relative path): sha256} of every file in the folders of files."""
    return {(setting, str(path.relative_to(folder))): sha256(path.read_bytes())
            for setting, folder in folders.items() for path in sorted(folder.rglob("*")) if path.is_file()}


def invoices_seen(url, agent, parent):
    """Every invoice of both régies as the API shows it: {id: (detail, PDF hash)}, and the parent's list."""
    seen = {}
    for regie in REGIES:
        found = requests.get(f"{url}/api/v1/invoices/search?regie={regie}&limit=200", headers=agent, timeout=30)
        assert found.status_code == 200, found.text
        for summary in found.json()["invoices"]:
            detail = requests.get(f"{url}/api/v1/invoices/{summary['id']}", headers=agent, timeout=30)
            pdf = requests.get(f"{url}/api/v1/invoices/{summary['id']}/pdf", headers=agent, timeout=30)
            assert detail.status_code == 200 and pdf.status_code == 200, (detail.text, pdf.status_code)
            assert pdf.content.startswith(b"%PDF-")
            seen[summary["id"]] = (detail.json(), sha256(pdf.content))
    mine = requests.get(f"{url}/api/v1/invoices", headers=parent, timeout=30)
    assert mine.status_code == 200
    return seen, mine.json()["invoices"]


def wait_for_pdfs(url, agent, invoice_ids, timeout=120):
    """Billing draws the PDFs after the finalising transaction, in its own workers."""
    deadline = time.monotonic() + timeout
    for invoice_id in invoice_ids:
        while requests.get(f"{url}/api/v1/invoices/{invoice_id}/pdf", headers=agent, timeout=30).status_code != 200:
            assert time.monotonic() < deadline, f"the PDF of invoice {invoice_id} was never drawn"
            time.sleep(0.5)


def pay_by_card(suite, parent, agent, timeout=60):
    """The parent pays the balance of one of the family's invoices by card, in the Paybox sandbox (a process of the
    suite), which notifies the gateway: payment records it and tells billing."""
    mine = requests.get(f"{suite.url}/api/v1/invoices", headers=parent, timeout=30).json()["invoices"]
    invoice_id = next(i["id"] for i in mine if i["balance_cents"] > 0)
    started = requests.post(f"{suite.url}/api/v1/invoices/{invoice_id}/card-payments", headers=parent, timeout=30)
    assert started.status_code == 201, started.text
    form = started.json()
    page = requests.post(form["action_url"], data=[tuple(pair) for pair in form["fields"]], timeout=30)
    assert page.status_code == 200, page.text
    token = re.search(r'name="payment" value="([^"]+)"', page.text).group(1)
    back = requests.post(f"{suite.sandbox_url}/cgi/paiement", allow_redirects=False, timeout=30, data={
        "payment": token, "card_number": "1111 2222 3333 4444", "expiry": "12/30", "cvv": "123", "action": "pay",
        "notify_count": "1"})
    assert back.status_code == 303
    deadline = time.monotonic() + timeout
    while requests.get(f"{suite.url}/api/v1/invoices/{invoice_id}", headers=agent, timeout=30).json()["status"] != "paid":
        assert time.monotonic() < deadline, "billing never heard of the card payment"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def restored(tmp_path_factory):
    """The suite made, noted, dumped, destroyed, restored and started again; what was noted before and after."""
    if not postgres_available():
        pytest.skip("no PostgreSQL answers at TEST_POSTGRES_URL")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed (Debian: postgresql-client)")
    folder = tmp_path_factory.mktemp("backup-restore")
    var, backup = folder / "var", folder / "backup"
    databases = {name: PostgresDatabase() for name in SERVICES}
    urls = {name: database.url for name, database in databases.items()}
    folders = {setting: var / setting.lower().replace("_dir", "").replace("_", "-") for setting in FILES_SETTINGS}
    assert folders["BILLING_FILES_DIR"] == var / "billing-files"  # where start_suite points the services
    env = dict(os.environ, **{database_setting(s): url for s, url in urls.items()},
               **{setting: str(path) for setting, path in folders.items()})
    host = VirtualHost("backup")  # the broker is not part of the backup: the second start uses the same one
    began = datetime.now(timezone.utc)
    suite = start_suite(var, urls, amqp_uri=host.amqp_uri, **QUIET)
    result = {"urls": urls, "env": env, "host": host, "began": began, "folders": folders}
    try:
        rpc = RpcClient(host.amqp_uri, timeout=30, caller="backup-test")
        families = load_demo_data(rpc)
        ensure_admin_agent(rpc, environ={})
        wait_for_projection(rpc, families)
        deadline = time.monotonic() + 60
        while any(len(rpc.call("billing", "family_children", f["id"])) < len(f["children"]) for f in families):
            assert time.monotonic() < deadline, "billing did not learn the demo families"
            time.sleep(0.2)
        load_canteen_demo(rpc, families)
        load_childcare_demo(rpc, families)
        load_billing_demo(rpc, families)
        month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        for regie in REGIES:
            run = computed_run(rpc, rpc.call("billing", "start_invoicing_run", regie, month, "agent"))
            assert run["status"] == "draft", run
            rpc.call("billing", "finalize_run", run["id"], "agent")
        martin = families[0]
        tag = uuid.uuid4().hex[:6]
        key = rpc.call("identity", "issue_key", martin["representatives"][0]["id"])["key"]
        rpc.call("identity", "create_account", key, f"claire.{tag}", f"claire.{tag}@example.org", PASSWORD)
        result["parent_login"] = (f"claire.{tag}", PASSWORD)
        result["lea"] = next(c["id"] for c in martin["children"] if c["first_name"] == "Léa")
        rpc.close()

        agent = token(suite.url, *agent_credentials({}))
        parent = token(suite.url, *result["parent_login"])
        ids = [i["id"] for regie in REGIES for i in requests.get(
            f"{suite.url}/api/v1/invoices/search?regie={regie}&limit=200", headers=agent, timeout=30).json()["invoices"]]
        assert len(ids) >= 2, "the demo's month gave no invoices to back up"
        wait_for_pdfs(suite.url, agent, ids)
        paid = requests.post(f"{suite.url}/api/v1/invoices/{ids[0]}/payments",
                             json={"method": "cash", "amount_cents": 100}, headers=agent, timeout=30)
        assert paid.status_code == 201, paid.text
        day = (date.today() + timedelta(days=7)).isoformat()
        absence = requests.post(f"{suite.url}/api/v1/children/{result['lea']}/absences", headers=parent, timeout=30,
                                data={"from": day, "to": day, "reason": "illness"},
                                files={"document": ("certificat.pdf", one_page_pdf(), "application/pdf")})
        assert absence.status_code == 201 and absence.json()["has_document"], absence.text
        result["absence"] = absence.json()["id"]
        pay_by_card(suite, parent, agent)
        justification = requests.get(f"{suite.url}/api/v1/absences/{result['absence']}/document", headers=parent,
                                     timeout=30)
        assert justification.status_code == 200 and justification.content.startswith(b"%PDF-")
        result["before"] = {"invoices": invoices_seen(suite.url, agent, parent),
                            "justification": sha256(justification.content), "files": files_of(folders)}

        output, result["dump_seconds"] = command("espace_deploy.backup", "dump", str(backup), env=env)
        result["dump_output"] = output
    finally:
        suite.stop_all()

    for database in databases.values():
        database.drop()
    for path in folders.values():
        shutil.rmtree(path, ignore_errors=True)
    assert not any(database_exists(d.name) for d in databases.values()), "a database outlived its DROP"
    assert not any(path.exists() for path in folders.values())

    try:
        output, result["restore_seconds"] = command("espace_deploy.backup", "restore", str(backup), env=env)
        result["restore_output"] = output
        result["schema_restored"] = {name: schema_only(url) for name, url in urls.items()}
        suite = start_suite(var, urls, amqp_uri=host.amqp_uri, **QUIET)  # which runs every migration first, as the Jobs do
        result["schema_migrated"] = {name: schema_only(url) for name, url in urls.items()}
        result["suite"] = suite
        result["backup_bytes"] = sum(p.stat().st_size for p in backup.rglob("*") if p.is_file())
        yield result
        suite.stop_all()
    finally:
        for database in databases.values():
            database.drop()
        host.delete()


def test_every_invoice_file_and_justification_comes_back_and_the_suite_takes_new_writes(restored):
    suite, before = restored["suite"], restored["before"]
    agent = token(suite.url, *agent_credentials({}))
    parent = token(suite.url, *restored["parent_login"])  # the account itself came back
    invoices, mine = invoices_seen(suite.url, agent, parent)
    assert (invoices, mine) == before["invoices"]
    methods = {p["method"] for detail, _ in invoices.values() for p in detail["payments"]}
    assert {"cash", "card"} <= methods, methods  # the payments are among them
    justification = requests.get(f"{suite.url}/api/v1/absences/{restored['absence']}/document", headers=parent,
                                 timeout=30)
    assert justification.status_code == 200 and sha256(justification.content) == before["justification"]
    assert files_of(restored["folders"]) == before["files"]  # every PDF, paper batch and justification stored

    first, last = date.today() + timedelta(days=7), date.today() + timedelta(days=27)
    ask = {"children": [restored["lea"]], "from": first.isoformat(), "to": last.isoformat(),
           "weekdays": [1, 2, 4, 5], "action": "reserve"}
    reserved = requests.post(f"{suite.url}/api/v1/meal-reservations", json=ask, headers=parent, timeout=30)
    assert reserved.status_code == 200, reserved.text
    days = {r["date"] for r in reserved.json()["results"] if r["result"] == "reserved"}
    assert days, reserved.json()
    again = requests.post(f"{suite.url}/api/v1/meal-reservations", json=ask, headers=parent, timeout=30).json()
    assert {r["date"] for r in again["results"] if r["result"] == "unchanged"} >= days  # written, and kept
    print(f"\nbackup of {len(invoices)} invoices, {len(before['files'])} files: "
          f"{restored['backup_bytes']} bytes, dump {restored['dump_seconds']:.1f} s, "
          f"restore {restored['restore_seconds']:.1f} s\n{restored['dump_output']}{restored['restore_output']}")


def test_the_migrations_after_a_restore_change_nothing(restored):
    for service, url in restored["urls"].items():
        assert schema_is_current(ROOT / "services" / service / "alembic.ini", url)
        assert restored["schema_migrated"][service] == restored["schema_restored"][service], service


def queue_counts(host):
    """{queue: messages its consumers acknowledged} of every event queue of the vhost (the management API's count;
    its count of messages published to a queue forgets the publishers' closed channels, so it is not used)."""
    return {s.queue_name: ((host.queue(s.queue_name) or {}).get("message_stats") or {}).get("ack", 0)
            for s in SUBSCRIPTIONS}


def published_again_and_consumed(restored, before, expected, timeout=90):
    """Wait until every outbox is drained and each queue's consumers acknowledged their share again."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = {s: status(url)["pending"] for s, url in restored["urls"].items()}
        counts = queue_counts(restored["host"])
        short = {name: (counts[name], before[name], wanted) for name, wanted in expected.items()
                 if counts[name] - before[name] < wanted}
        if not any(waiting.values()) and not short:
            return counts
        assert time.monotonic() < deadline, f"after {timeout} s, still waiting: {waiting}, queues short: {short}"
        time.sleep(1)


def test_replaying_the_outboxes_twice_changes_nothing_on_the_consumers_side(restored):
    suite, env, urls = restored["suite"], restored["env"], restored["urls"]
    agent = token(suite.url, *agent_credentials({}))
    parent = token(suite.url, *restored["parent_login"])
    invoices = invoices_seen(suite.url, agent, parent)
    time.sleep(3)  # the relays settle what the previous test wrote
    # What each queue must receive again: one copy of every event of its source and type.
    events = {}
    for service, url in urls.items():
        engine = create_database_engine(url)
        with engine.connect() as connection:
            for event_type, count in connection.execute(text(
                    "SELECT event_type, count(*) FROM outbox WHERE occurred_at >= :since GROUP BY event_type"),
                    {"since": restored["began"].replace(tzinfo=None)}):
                events[(service, event_type)] = count
        engine.dispose()
    expected = {s.queue_name: events.get((s.source, s.event), 0) for s in SUBSCRIPTIONS}
    assert expected["evt-identity-family_registered--billing.on_family_registered"] >= 4  # the demo's families
    assert expected["evt-payment-succeeded--billing.on_payment_succeeded"] == 1  # the card payment
    counts = queue_counts(restored["host"])
    for attempt in (1, 2):
        rows = row_counts(urls)  # reading through the API records reads: counted after, not before
        output, seconds = command("espace_deploy.outbox", "replay", "--all", "--since", restored["began"].isoformat(),
                                  env=env)
        assert sum(events.values()) == sum(int(line.split(": ")[1].split()[0]) for line in output.splitlines())
        counts = published_again_and_consumed(restored, counts, expected)
        time.sleep(2)  # a handler that would write something has had the time to
        assert row_counts(urls) == rows, f"replay {attempt} changed the consumers' tables"
        assert invoices_seen(suite.url, agent, parent) == invoices
        print(f"\nreplay {attempt}: {sum(events.values())} events published and consumed again, nothing changed "
              f"({seconds:.1f} s for the command)\n{output}")
