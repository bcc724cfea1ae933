"""Reminders (issue #12) with real processes: canteen, billing and TWO identity replicas on one database, a real
SMTP server counting what leaves. Each reminder leaves once, across a restart and whatever replica runs the task;
a week already reserved and a representative who did not opt in get nothing.

The services live on Wednesday 2 December 2026 at 10:30 in Donges (EF_CLOCK): next week's first deadline is
Thursday 3rd at 10:00, so the canteen reminder's window (24 hours before it) is open.
"""
import time
import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import insert, select

from espace_common.db import create_database_engine
from espace_deploy.testing import ServiceProcess, link_in, stop_processes, wait_until
from identity import domain_reminders, orm

INVOICE_SUBJECT = "Rappel : facture AS-2026-000042 à régler avant le 5 décembre 2026"

pytestmark = [pytest.mark.broker, pytest.mark.slow]

WEDNESDAY = "2026-12-02T10:30:00+01:00"
THURSDAY = "2026-12-03T08:30:00+01:00"  # the next morning: a new daily slot, still before the deadline
SUBJECT = "La semaine prochaine n'est pas réservée"
PASSWORD = "Brise-Marine-44!"
PAST_SCHOOL_DAYS = ["2026-11-16", "2026-11-17", "2026-11-19", "2026-11-20", "2026-11-23", "2026-11-24",
                    "2026-11-26", "2026-11-27", "2026-11-30", "2026-12-01"]


def family(last_name, *first_names, child):
    return {"representatives": [{"first_name": f, "last_name": last_name, "email": f"{f.lower()}@example.org"}
                                for f in first_names],
            "children": [{"first_name": child, "last_name": last_name, "birth_date": "2018-04-17"}]}


@pytest.fixture
def processes(vhost, database_factory, tmp_path, mail):
    """start(name, folder=..., database_url=..., **env): a service process of this test, stopped at its end."""
    started = []

    def start(name, wait=True, database_url=None, folder=None, migrate=True, **env):
        folder = folder or tmp_path
        folder.mkdir(exist_ok=True)
        process = ServiceProcess(name, vhost.amqp_uri, database_url or database_factory(name), folder)
        if migrate:
            process.migrate()
        process.start(wait=wait, SMTP_URL=mail.url, **env)
        started.append(process)
        return process

    yield start
    stop_processes(started)


def reminders_to(mail, address, subject=SUBJECT):
    return [m for m in mail.to(address) if m["Subject"] == subject]


def invoice(database_url, family_id, number, status):
    """An invoice written straight into billing's tables (invoicing runs are billing's own tests), due on the 5th."""
    from billing import orm as billing_orm
    run_id, invoice_id, now = str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(timezone.utc)
    paid = 4980 if status == "paid" else 0
    engine = create_database_engine(database_url)
    try:
        with engine.begin() as db:
            db.execute(insert(billing_orm.invoicing_runs).values(id=run_id, regie="affaires_scolaires", month="2026-11",
                                                                 status="final", done=1, total=1, started_at=now))
            db.execute(insert(billing_orm.invoices).values(
                id=invoice_id, run_id=run_id, family_id=family_id, regie="affaires_scolaires", period="2026-11",
                number=number, status=status, total_cents=4980, paid_cents=paid, credited_cents=0,
                balance_cents=4980 - paid, issued_on=date(2026, 11, 30), due_date=date(2026, 12, 5), created_at=now,
                finalized_at=now, direct_debit=False))
    finally:
        engine.dispose()
    return invoice_id


def canteen_runs(database_url):
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(
                select(orm.scheduled_runs).where(orm.scheduled_runs.c.task == domain_reminders.CANTEEN_TASK)
                .order_by(orm.scheduled_runs.c.slot))]
    finally:
        engine.dispose()


def confirmed_account(rpc, mail, rep, username):
    key = rpc.call("identity", "issue_key", rep["id"])["key"]
    email = f"{username}@perso.example.org"
    account = rpc.call("identity", "create_account", key, username, email, PASSWORD)["account"]
    token = link_in(mail.wait_for(email)[0], "confirmer-email").rsplit("/", 1)[1]
    rpc.call("identity", "confirm_email", token)
    return account["id"], email


def test_a_reminder_leaves_once_with_two_replicas_and_across_a_restart(processes, rpc, mail, tmp_path):
    canteen = processes("canteen", wait=False, EF_CLOCK=WEDNESDAY)
    billing = processes("billing", wait=False, EF_CLOCK=WEDNESDAY)
    # Identity for the set-up only: its reminders' timer would not fire before an hour.
    setup = processes("identity", EF_CLOCK=WEDNESDAY, REMINDER_TIMER_SECONDS="3600")
    canteen.wait_healthy()
    billing.wait_healthy()

    martin = rpc.call("identity", "register_family", family("Martin", "Claire", "Julien", child="Léa"))
    bernard = rpc.call("identity", "register_family", family("Bernard", "Nadia", child="Tom"))
    durand = rpc.call("identity", "register_family", family("Durand", "Sophie", child="Zoé"))
    children = {f["id"]: f["children"][0]["id"] for f in (martin, bernard, durand)}
    assert wait_until(lambda: all(rpc.call("canteen", "family_children", f) for f in children))
    school = rpc.call("canteen", "add_school", "École Jules Verne", "public", "1 rue des Écoles")["id"]
    for child in children.values():  # each ate the last three weeks: each usually eats
        rpc.call("canteen", "enrol", child, school, "2026-2027")
        rpc.call("canteen", "regularise_reservations", child, PAST_SCHOOL_DAYS)
    rpc.call("canteen", "change_meal", bernard["id"], children[bernard["id"]], "2026-12-08", "reserve")

    claire, claire_email = confirmed_account(rpc, mail, martin["representatives"][0], "claire.martin")
    julien, julien_email = confirmed_account(rpc, mail, martin["representatives"][1], "julien.martin")
    nadia, nadia_email = confirmed_account(rpc, mail, bernard["representatives"][0], "nadia.bernard")
    sophie, sophie_email = confirmed_account(rpc, mail, durand["representatives"][0], "sophie.durand")
    for account in (claire, nadia):  # Julien and Sophie did not opt in
        rpc.call("identity", "set_reminder_preferences", account, True, True)
    rpc.call("identity", "set_reminder_preferences", sophie, False, True)
    invoice_id = invoice(billing.database_url, martin["id"], "AS-2026-000042", "issued")
    invoice(billing.database_url, bernard["id"], "AS-2026-000043", "paid")  # Nadia paid hers: no reminder
    setup.stop()

    # Two replicas of identity on the same database, each firing its timer every second.
    first = processes("identity", wait=False, database_url=setup.database_url, migrate=False,
                      folder=tmp_path / "replica-1", EF_CLOCK=WEDNESDAY, REMINDER_TIMER_SECONDS="1")
    second = processes("identity", wait=False, database_url=setup.database_url, migrate=False,
                       folder=tmp_path / "replica-2", EF_CLOCK=WEDNESDAY, REMINDER_TIMER_SECONDS="1")
    first.wait_healthy()
    second.wait_healthy()
    mail.wait_for(claire_email, count=3, timeout=30)  # the confirmation, then both reminders
    [reminder] = reminders_to(mail, claire_email)
    body = reminder.get_body(preferencelist=("plain",)).get_content()
    assert "Léa" in body and "lundi 7 décembre 2026" in body and "3 décembre 2026 à 10 h 00" in body
    time.sleep(4)  # a few more ticks of both replicas
    assert [len(reminders_to(mail, a)) for a in (claire_email, julien_email, nadia_email, sophie_email)] == [1, 0, 0, 0]
    # The invoice reminder: Claire's family's unpaid invoice, due within five days; Nadia's is paid.
    [due] = reminders_to(mail, claire_email, INVOICE_SUBJECT)
    assert f"/mon-compte/factures/{invoice_id}" in due.get_body(preferencelist=("plain",)).get_content()
    assert [len(reminders_to(mail, a, INVOICE_SUBJECT)) for a in (julien_email, nadia_email, sophie_email)] == [0, 0, 0]
    [wednesday] = canteen_runs(setup.database_url)
    assert wednesday["finished_at"] is not None and wednesday["outcome"]["sent"] == 1
    stop_processes([first, second])

    # Restarted the next morning: a new slot runs, finds the reminder already sent, and sends nothing.
    processes("identity", database_url=setup.database_url, migrate=False, folder=tmp_path / "restarted",
              EF_CLOCK=THURSDAY, REMINDER_TIMER_SECONDS="1")
    assert wait_until(lambda: len(canteen_runs(setup.database_url)) == 2
                      and canteen_runs(setup.database_url)[1]["finished_at"] is not None)
    thursday = canteen_runs(setup.database_url)[1]
    assert thursday["slot"] == "2026-12-07@2026-12-03" and thursday["outcome"] == {
        "week": "2026-12-07", "families": 2, "sent": 0}
    time.sleep(2)
    assert len(reminders_to(mail, claire_email)) == 1
    assert len(reminders_to(mail, claire_email, INVOICE_SUBJECT)) == 1  # Thursday's slot found it sent
