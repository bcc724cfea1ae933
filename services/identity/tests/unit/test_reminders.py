"""Reminders by e-mail (issue #12) on a migrated SQLite file with a fixed clock; canteen and billing are fakes.

Each reminder is one row of reminders_sent and one mail, written together, once per (account, kind, subject):
these tests run the task again, on another day, after a crash that left a claim, and with the facts changed.
"""
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet

from espace_common.clock import FixedClock
from espace_common.config import ConfigError, load_config
from espace_common.errors import InvalidInput, NotFound
from espace_common.launch import config_file
from espace_common.schedule import claim_run
from identity import domain_reminders, orm
from identity.domain_reminders import ReminderSettings
from identity.passwords import Passwords
from identity.policy import Policy
from identity.use_cases import accounts, families, keys, reminders

# Wednesday 2 December 2026, 10:30 in Donges: next week's first deadline (Monday 7th's) is Thursday 3rd at 10:00.
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)
FIRST_DEADLINE = "2026-12-03T10:00:00+01:00"
PASSWORD = "Brise-Marine-44!"
FAMILY = {
    "representatives": [
        {"first_name": "Claire", "last_name": "Martin", "email": "claire@example.org"},
        {"first_name": "Julien", "last_name": "Martin", "email": "julien@example.org"},
    ],
    "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}],
}
OTHER = {"representatives": [{"first_name": "Nadia", "last_name": "Benali", "email": "nadia@example.org"}],
         "children": [{"first_name": "Sami", "last_name": "Benali", "birth_date": "2019-02-01"}]}


class FakeCanteen:
    """What canteen answers: next week's first deadline and the children to remind (changed by the tests)."""

    def __init__(self):
        self.first_deadline = FIRST_DEADLINE
        self.children = []
        self.calls = []
        self.down = False

    def reminder_week(self, week):
        self.calls.append(("reminder_week", week))
        if self.down:
            raise reminders.SourceUnavailable("canteen does not answer")
        return {"week": week, "first_deadline": self.first_deadline}

    def children_to_remind(self, week, usual_weeks, usual_min_weeks):
        self.calls.append(("children_to_remind", week, usual_weeks, usual_min_weeks))
        if self.down:
            raise reminders.SourceUnavailable("canteen does not answer")
        return {"week": week, "children": list(self.children)}


class FakeBilling:
    def __init__(self):
        self.invoices = []
        self.calls = []

    def invoices_falling_due(self, first_day, last_day):
        self.calls.append((first_day, last_day))
        return [i for i in self.invoices if first_day <= i["due_date"] <= last_day]


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(scope="module")
def policy():
    return Policy.from_config(load_config(config_file("identity"),
                                          environ={"LETTER_SECRET": Fernet.generate_key().decode()}))


@pytest.fixture(scope="module")
def passwords():
    return Passwords(time_cost=1, memory_kib=8192)


@pytest.fixture(scope="module")
def settings():
    return ReminderSettings.from_config(load_config(config_file("identity"), environ={}))


def account(db, clock, policy, passwords, family, rep, username, email, confirm=True):
    key = keys.issue_key(db, clock, policy, family["representatives"][rep]["id"])["key"]
    me = accounts.create_account(db, clock, policy, passwords, key, username, email, PASSWORD)
    if confirm:
        mail = db.mails("confirmez")[-1]
        token = next(w for w in mail.body.split() if "/confirmer-email/" in w).rsplit("/", 1)[1]
        accounts.confirm_email(db, clock, token)
    return me["account"]["id"]


@pytest.fixture
def martins(db, clock, policy, passwords):
    """The Martins: Claire (confirmed address) and Julien (confirmed), each with an account; and Léa."""
    family = families.register_family(db, clock, FAMILY)
    claire = account(db, clock, policy, passwords, family, 0, "claire.martin", "claire.perso@example.org")
    julien = account(db, clock, policy, passwords, family, 1, "julien.martin", "julien.perso@example.org")
    return {"family": family, "claire": claire, "julien": julien, "lea": family["children"][0]}


def lea_unreserved(martins):
    return {"family_id": martins["family"]["id"], "child_id": martins["lea"]["id"], "first_name": "Léa",
            "days": ["2026-12-07", "2026-12-08", "2026-12-10", "2026-12-11"], "deadline": FIRST_DEADLINE}


def run(db, clock, settings, canteen, billing=None):
    return reminders.run_reminders(db, clock, settings, canteen, billing or FakeBilling())


# --- The parent's choice ----------------------------------------------------------------------------------------

def test_reminders_are_off_until_the_parent_opts_in_and_each_choice_is_kept(db, clock, martins):
    assert reminders.preferences(db, martins["claire"]) == {
        "canteen_deadline": False, "invoice_due": False, "changed_at": None,
        "email": "claire.perso@example.org", "email_confirmed": True}
    saved = reminders.set_preferences(db, clock, martins["claire"], True, False)
    assert saved["canteen_deadline"] is True and saved["invoice_due"] is False
    assert saved["changed_at"] == NOW.isoformat()
    clock.advance(minutes=5)
    assert reminders.set_preferences(db, clock, martins["claire"], False, True)["invoice_due"] is True
    assert reminders.preferences(db, martins["claire"])["canteen_deadline"] is False
    assert reminders.preferences(db, martins["julien"])["invoice_due"] is False  # per representative


@pytest.mark.parametrize("value", ["true", 1, None, "oui", [True]])
def test_a_choice_that_is_no_boolean_is_refused(db, clock, martins, value):
    with pytest.raises(InvalidInput):
        reminders.set_preferences(db, clock, martins["claire"], value, False)
    assert reminders.preferences(db, martins["claire"])["changed_at"] is None


def test_an_unknown_account_has_no_preferences(db, clock):
    with pytest.raises(NotFound):
        reminders.preferences(db, "no-such-account")
    with pytest.raises(NotFound):
        reminders.set_preferences(db, clock, "x" * 100_000, True, True)


# --- «La semaine prochaine n'est pas réservée» --------------------------------------------------------------------

def test_an_opted_in_parent_is_reminded_once_and_the_other_representative_who_did_not_opt_in_is_not(
        db, clock, settings, martins):
    reminders.set_preferences(db, clock, martins["claire"], True, False)
    canteen = FakeCanteen()
    canteen.children = [lea_unreserved(martins)]
    done = run(db, clock, settings, canteen)
    assert done["canteen_deadline"] == {"week": "2026-12-07", "families": 1, "sent": 1}
    [mail] = db.mails("semaine prochaine")
    assert mail.recipient == "claire.perso@example.org" and mail.subject == "La semaine prochaine n'est pas réservée"
    assert "Bonjour Claire" in mail.body and "lundi 7 décembre 2026" in mail.body and "Léa" in mail.body
    assert "3 décembre 2026 à 10 h 00" in mail.body and "/mon-espace/rappels" in mail.body
    assert canteen.calls[-1] == ("children_to_remind", "2026-12-07", 4, 2)

    # The same slot again, then the next morning's slot (still before the deadline): nothing more.
    assert run(db, clock, settings, canteen)["canteen_deadline"] is None
    clock.advance(hours=22)  # Thursday 08:30
    assert run(db, clock, settings, canteen)["canteen_deadline"] == {"week": "2026-12-07", "families": 1, "sent": 0}
    assert len(db.mails("semaine prochaine")) == 1
    assert db.count(orm.reminders_sent) == 1


def test_no_reminder_for_a_family_that_opted_out_or_an_address_not_confirmed(db, clock, settings, policy, passwords,
                                                                              martins):
    reminders.set_preferences(db, clock, martins["claire"], True, True)
    reminders.set_preferences(db, clock, martins["claire"], False, True)  # changed her mind
    other = families.register_family(db, clock, OTHER)
    nadia = account(db, clock, policy, passwords, other, 0, "nadia.benali", "nadia.perso@example.org", confirm=False)
    reminders.set_preferences(db, clock, nadia, True, True)
    canteen = FakeCanteen()
    canteen.children = [lea_unreserved(martins), {**lea_unreserved(martins), "family_id": other["id"],
                                                  "child_id": other["children"][0]["id"], "first_name": "Sami"}]
    assert run(db, clock, settings, canteen)["canteen_deadline"]["sent"] == 0
    assert db.mails("semaine prochaine") == [] and db.count(orm.reminders_sent) == 0


def test_no_reminder_for_a_week_already_reserved(db, clock, settings, martins):
    """Canteen leaves out a child whose week has a meal: the family is not written to."""
    reminders.set_preferences(db, clock, martins["claire"], True, False)
    canteen = FakeCanteen()  # no child to remind: Léa's week is reserved
    assert run(db, clock, settings, canteen)["canteen_deadline"] == {"week": "2026-12-07", "families": 0, "sent": 0}
    assert db.mails("semaine prochaine") == []


def test_a_parent_who_opts_out_between_the_facts_and_the_mail_gets_nothing(db, clock, settings, martins):
    """The choice is read again in the transaction of the mail."""
    reminders.set_preferences(db, clock, martins["claire"], True, False)
    canteen = FakeCanteen()
    canteen.children = [lea_unreserved(martins)]
    original = canteen.children_to_remind

    def opting_out_meanwhile(*args):
        answer = original(*args)
        reminders.set_preferences(db, clock, martins["claire"], False, False)
        return answer

    canteen.children_to_remind = opting_out_meanwhile
    assert run(db, clock, settings, canteen)["canteen_deadline"]["sent"] == 0
    assert db.mails("semaine prochaine") == []


@pytest.mark.parametrize("hours, deadline", [
    (0, "2026-12-04T10:00:00+01:00"),  # more than a day before the first deadline still ahead: too early
    (0, None),                          # no school day next week (holidays), or every deadline passed
    (21, FIRST_DEADLINE),               # Thursday 07:30 in Donges: within the window, but before the earliest hour
])
def test_nothing_is_claimed_or_sent_outside_the_window(db, clock, settings, martins, hours, deadline):
    reminders.set_preferences(db, clock, martins["claire"], True, False)
    clock.advance(hours=hours)
    canteen = FakeCanteen()
    canteen.first_deadline, canteen.children = deadline, [lea_unreserved(martins)]
    assert run(db, clock, settings, canteen)["canteen_deadline"] is None
    assert db.count(orm.scheduled_runs, orm.scheduled_runs.c.task == domain_reminders.CANTEEN_TASK) == 0
    assert db.mails("semaine prochaine") == []
    assert ("children_to_remind", "2026-12-07", 4, 2) not in canteen.calls


def test_a_run_taken_over_after_a_crash_sends_only_what_the_first_did_not(db, clock, settings, martins):
    reminders.set_preferences(db, clock, martins["claire"], True, False)
    reminders.set_preferences(db, clock, martins["julien"], True, False)
    canteen = FakeCanteen()
    canteen.children = [lea_unreserved(martins)]
    # A replica claimed today's slot, sent Claire's reminder, and died before Julien's.
    slot = domain_reminders.canteen_slot(datetime(2026, 12, 7).date(), datetime(2026, 12, 2).date())
    with db.unit_of_work() as uow:
        assert claim_run(uow, orm.scheduled_runs, domain_reminders.CANTEEN_TASK, slot, NOW, owner="dead:1")
        uow.commit()
    reminders._send_each(db, clock, "canteen_deadline", {martins["family"]["id"]: [lea_unreserved(martins)]},
                         lambda _f, a: ("2026-12-07", "Léa", ("La semaine prochaine n'est pas réservée", "…")))
    with db.unit_of_work() as uow:  # (undo Julien's, as if the crash came before it)
        uow.execute(orm.reminders_sent.delete().where(orm.reminders_sent.c.account_id == martins["julien"]))
        uow.execute(orm.mail_outbox.delete().where(orm.mail_outbox.c.recipient == "julien.perso@example.org"))
        uow.commit()
    assert run(db, clock, settings, canteen)["canteen_deadline"] is None  # the claim is alive: another runs it
    clock.advance(minutes=16)  # the dead replica's lease has lapsed
    assert run(db, clock, settings, canteen)["canteen_deadline"]["sent"] == 1
    assert sorted(m.recipient for m in db.mails("semaine prochaine")) == ["claire.perso@example.org",
                                                                          "julien.perso@example.org"]


def test_a_canteen_that_does_not_answer_leaves_the_slot_for_the_next_run(db, clock, settings, martins):
    reminders.set_preferences(db, clock, martins["claire"], True, False)
    canteen = FakeCanteen()
    canteen.children, canteen.down = [lea_unreserved(martins)], True
    assert "error" in run(db, clock, settings, canteen)["canteen_deadline"]
    canteen.down = False
    clock.advance(minutes=5)
    assert run(db, clock, settings, canteen)["canteen_deadline"]["sent"] == 1


def test_disabled_reminders_send_nothing(db, clock, martins):
    reminders.set_preferences(db, clock, martins["claire"], True, True)
    off = ReminderSettings.from_config(load_config(config_file("identity"), environ={"REMINDERS_ENABLED": "false"}))
    canteen = FakeCanteen()
    canteen.children = [lea_unreserved(martins)]
    assert run(db, clock, off, canteen) == {"canteen_deadline": None, "invoice_due": None}
    assert canteen.calls == []


# --- Before an invoice's due date ----------------------------------------------------------------------------------

def invoice(martins, number="AS-2026-000123", due="2026-12-05", balance=4980, invoice_id="inv-1"):
    return {"invoice_id": invoice_id, "family_id": martins["family"]["id"], "regie": "affaires_scolaires",
            "number": number, "period": "2026-11", "due_date": due, "balance_cents": balance}


def test_the_invoice_reminder_goes_once_per_invoice_to_who_asked(db, clock, settings, martins):
    reminders.set_preferences(db, clock, martins["claire"], False, True)
    billing = FakeBilling()
    billing.invoices = [invoice(martins), invoice(martins, "AS-2026-000200", "2026-12-20", invoice_id="inv-2")]
    done = run(db, clock, settings, FakeCanteen(), billing)
    assert done["invoice_due"] == {"from": "2026-12-02", "to": "2026-12-07", "invoices": 1, "sent": 1}
    [mail] = db.mails("Rappel : facture")
    assert mail.recipient == "claire.perso@example.org"
    assert mail.subject == "Rappel : facture AS-2026-000123 à régler avant le 5 décembre 2026"
    assert "49,80" in mail.body and "/mon-compte/factures/inv-1" in mail.body and "novembre 2026" in mail.body
    assert run(db, clock, settings, FakeCanteen(), billing)["invoice_due"] is None  # today's slot is done
    clock.advance(days=1)
    assert run(db, clock, settings, FakeCanteen(), billing)["invoice_due"]["sent"] == 0  # the same invoice
    assert len(db.mails("Rappel : facture")) == 1


def test_an_invoice_paid_meanwhile_is_not_reminded(db, clock, settings, martins):
    """Billing no longer lists a paid invoice: the next day's run sends nothing for it."""
    reminders.set_preferences(db, clock, martins["claire"], False, True)
    billing = FakeBilling()
    billing.invoices = [invoice(martins, due="2026-12-09")]  # not yet within 5 days
    assert run(db, clock, settings, FakeCanteen(), billing)["invoice_due"]["sent"] == 0
    billing.invoices = []  # paid on the 3rd
    clock.advance(days=2)
    assert run(db, clock, settings, FakeCanteen(), billing)["invoice_due"]["invoices"] == 0
    assert db.mails("Rappel : facture") == []


# --- What the agents and the export see ----------------------------------------------------------------------------

def test_the_family_file_and_the_export_tell_the_choices_and_the_reminders_sent(db, clock, settings, martins):
    reminders.set_preferences(db, clock, martins["claire"], True, True)
    canteen = FakeCanteen()
    canteen.children = [lea_unreserved(martins)]
    run(db, clock, settings, canteen)
    file = families.family_for_agent(db, martins["family"]["id"], with_mails=True)["reminders"]
    claire, julien = file["accounts"]
    assert (claire["username"], claire["canteen_deadline"], claire["invoice_due"]) == ("claire.martin", True, True)
    assert (julien["canteen_deadline"], julien["invoice_due"], julien["changed_at"]) == (False, False, None)
    [sent] = file["sent"]
    assert sent["kind"] == "canteen_deadline" and sent["subject"] == "2026-12-07" and sent["detail"] == "Léa"
    assert sent["recipient"] == "claire.perso@example.org" and sent["sent_at"] == NOW.isoformat()
    with db.unit_of_work(read_only=True) as uow:
        exported = reminders.export_family(uow, martins["family"]["id"])
    assert [p["username"] for p in exported["preferences"]] == ["claire.martin", "julien.martin"]
    assert exported["sent"] == file["sent"]
    with db.unit_of_work(read_only=True) as uow:
        assert reminders.export_family(uow, "another-family") == {"preferences": [], "sent": []}


def test_the_purge_hooks_forget_old_reminders_and_a_whole_family(db, clock, settings, martins):
    reminders.set_preferences(db, clock, martins["claire"], True, True)
    canteen, billing = FakeCanteen(), FakeBilling()
    canteen.children, billing.invoices = [lea_unreserved(martins)], [invoice(martins)]
    run(db, clock, settings, canteen, billing)
    file = families.family_for_agent(db, martins["family"]["id"], with_mails=True)["reminders"]
    assert sorted(s["detail"] for s in file["sent"]) == ["Facture AS-2026-000123, échéance le 05/12/2026", "Léa"]
    with db.unit_of_work() as uow:
        assert reminders.purge_sent_before(uow, NOW) == 0
        assert reminders.purge_sent_before(uow, NOW + timedelta(seconds=1)) == 2
        uow.commit()
    assert db.count(orm.reminders_sent) == 0
    assert reminders.preferences(db, martins["claire"])["canteen_deadline"] is True  # the choice stays
    with db.unit_of_work() as uow:
        assert reminders.erase_family(uow, martins["family"]["id"]) == 1
        uow.commit()
    assert db.count(orm.reminder_preferences) == 0


# --- Settings -------------------------------------------------------------------------------------------------------

def test_the_settings_have_defaults_and_refuse_nonsense():
    settings = ReminderSettings.from_config(load_config(config_file("identity"), environ={}))
    assert (settings.timer_seconds, settings.earliest_hour, settings.canteen_hours_before, settings.usual_weeks,
            settings.usual_min_weeks, settings.invoice_days_before) == (300, 8, 24, 4, 2, 5)
    for environ in ({"REMINDER_USUAL_MIN_WEEKS": "5"}, {"REMINDER_TIMER_SECONDS": "0"}, {"REMINDER_EARLIEST_HOUR": "25"},
                    {"REMINDER_INVOICE_DAYS_BEFORE": "cinq"}, {"REMINDERS_ENABLED": "peut-être"},
                    {"TOWN_TIMEZONE": "Mars/Olympus"}):
        with pytest.raises(ConfigError):
            ReminderSettings.from_config(load_config(config_file("identity"), environ=environ))


def test_next_week_and_the_window():
    settings = ReminderSettings()
    assert domain_reminders.next_week(datetime(2026, 12, 2).date()).isoformat() == "2026-12-07"
    assert domain_reminders.next_week(datetime(2026, 12, 6).date()).isoformat() == "2026-12-07"  # a Sunday
    assert domain_reminders.next_week(datetime(2026, 12, 7).date()).isoformat() == "2026-12-14"
    deadline = datetime.fromisoformat(FIRST_DEADLINE)
    assert domain_reminders.canteen_window_open(deadline - timedelta(hours=24), FIRST_DEADLINE, settings)
    assert not domain_reminders.canteen_window_open(deadline - timedelta(hours=24, seconds=1), FIRST_DEADLINE,
                                                    settings)
    assert not domain_reminders.canteen_window_open(deadline, FIRST_DEADLINE, settings)
