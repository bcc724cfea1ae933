"""The family's data in its hands (issue #12), identity's side, on a migrated SQLite file with a fixed clock: the
export holds the family's data and no secret; the daily purge removes what is older than its period, keeps the
younger, logs what it did, and runs once per day however many replicas try."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet

from espace_common.clock import FixedClock
from espace_common.config import ConfigError, load_config
from espace_common.errors import NotFound, Unauthenticated
from espace_common.launch import config_file
from identity import orm
from identity.domain_gdpr import KINDS, retention_from_config
from identity.passwords import Passwords
from identity.policy import Policy
from identity.use_cases import accounts, agents, export, families, journal, keys, logins, retention

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
PASSWORD = "Brise-Marine-44!"


def family_payload(name):
    return {"representatives": [{"first_name": "Claire", "last_name": name, "email": f"{name.lower()}@example.org",
                                 "phone": "06 12 34 56 78"}],
            "children": [{"first_name": "Léa", "last_name": name, "birth_date": "2018-04-17"}]}


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def config():
    return load_config(config_file("identity"), environ={"LETTER_SECRET": Fernet.generate_key().decode()})


@pytest.fixture
def policy(config):
    return Policy.from_config(config)


@pytest.fixture(scope="module")
def passwords():
    return Passwords(time_cost=1, memory_kib=8192)


def describe(subject_kind, subject, token_kind):
    return {"kind": subject_kind, "id": subject.id, "token_kind": token_kind}


def parent(db, clock, policy, passwords, name):
    family = families.register_family(db, clock, family_payload(name))
    key = keys.issue_key(db, clock, policy, family["representatives"][0]["id"])["key"]
    account = accounts.create_account(db, clock, policy, passwords, key, name.lower(), f"{name.lower()}.perso@example.org",
                                      PASSWORD, "10.0.0.1")
    session = logins.login(db, clock, policy, passwords, describe, name.lower(), PASSWORD, "10.0.0.1")
    return family, account, session


def agent_action(db, clock, agent, family_id):
    return journal.record_agent_action(db, clock, {
        "id": str(uuid.uuid4()), "agent_id": agent["id"], "action": "agent.issue_key", "method": "POST",
        "path": f"/agents/familles/{family_id}", "family_id": family_id, "at": clock.now().isoformat()})


# --- The export ----------------------------------------------------------------------------------------------------

def test_the_export_holds_the_familys_data_and_not_anothers_nor_any_secret(db, clock, policy, passwords):
    family, account, session = parent(db, clock, policy, passwords, "Martin")
    other, _, _ = parent(db, clock, policy, passwords, "Durand")
    admin = agents.ensure_agent(db, clock, passwords, "guichet", "Guichet-Donges-2026!", ["admin"])
    agent_action(db, clock, admin, family["id"])
    answer = export.family_export(db, family["id"])
    text = json.dumps(answer, ensure_ascii=False)
    assert answer["family"]["dossier"] == family["dossier"]
    assert [r["last_name"] for r in answer["representatives"]] == ["Martin"]
    assert [c["first_name"] for c in answer["children"]] == ["Léa"]
    assert [a["username"] for a in answer["accounts"]] == ["martin"]
    assert {"account_created", "login_ok"} <= {e["kind"] for e in answer["account_events"]}
    assert answer["sessions"] and answer["sessions"][0]["client_ip"] == "10.0.0.1"
    assert answer["activation_keys"][0]["used_at"]
    assert [e["action"] for e in answer["agent_journal"]] == ["agent.issue_key"]
    assert "Durand" not in text and other["id"] not in text
    # No secret: the password hash, the session token and its digest, the key's digest and letter.
    hashes = [r.password_hash for r in db.rows(orm.accounts)]
    digests = [r.digest for r in db.rows(orm.auth_tokens)] + [r.key_digest for r in db.rows(orm.activation_keys)]
    for secret in hashes + digests + [session["token"]]:
        assert secret not in text
    assert "password" not in text and "digest" not in text and "letter" not in text


def test_another_or_a_junk_family_is_not_found(db):
    for junk in (str(uuid.uuid4()), "x" * 100_000, None, 42):
        with pytest.raises(NotFound):
            export.family_export(db, junk)


# --- The retention purge -------------------------------------------------------------------------------------------

def test_the_purge_removes_what_is_older_than_its_period_keeps_the_younger_and_logs_it(db, clock, policy, passwords,
                                                                                       config):
    family, account, _ = parent(db, clock, policy, passwords, "Martin")
    admin = agents.ensure_agent(db, clock, passwords, "guichet", "Guichet-Donges-2026!", ["admin"])
    agent_action(db, clock, admin, family["id"])
    clock.advance(days=200)
    agent_action(db, clock, admin, family["id"])          # younger than a year when the purge runs
    with pytest.raises(Unauthenticated):                  # a failure, 200 days old when the purge runs
        logins.login(db, clock, policy, passwords, describe, "martin", "wrong", "10.0.0.2")
    clock.advance(days=200)                               # now 400 days after the first events
    outcome = retention.purge(db, clock, config)
    assert outcome["counts"]["agent_journal"] == 1 and db.count(orm.agent_actions) == 1
    kinds = [e.kind for e in db.rows(orm.audit_events)]
    assert "account_created" not in kinds                 # older than a year
    assert kinds.count("login_ok") == 1                   # the last login stays: when the account last served
    assert "login_failed" in kinds                        # younger than a year
    assert outcome["counts"]["audit_events"] >= 1
    assert outcome["counts"]["closed_accounts"] == 0 and db.count(orm.accounts) == 1
    log = {r.kind: r for r in db.rows(orm.purge_log)}
    assert set(log) == {kind.code for kind in KINDS}
    assert {"audit_events", "closed_accounts", "health_records", "wallet_documents", "closed_conversations",
            "reminders_sent"} <= set(log)
    assert log["agent_journal"].count == 1
    assert log["agent_journal"].cutoff == (NOW + timedelta(days=400 - 365)).isoformat()
    run = db.rows(orm.scheduled_runs)[0]
    assert run.finished_at is not None and run.outcome["counts"]["agent_journal"] == 1


def test_two_claims_of_the_same_day_make_one_run_and_the_next_day_purges_nothing_more(db, clock, policy, passwords,
                                                                                      config):
    family, _, _ = parent(db, clock, policy, passwords, "Martin")
    clock.advance(days=400)
    first = retention.purge(db, clock, config)
    assert first is not None and sum(first["counts"].values()) > 0
    assert retention.purge(db, clock, config) is None     # a second replica, the same day: nothing
    assert db.count(orm.scheduled_runs) == 1 and db.count(orm.purge_log) == len(KINDS)
    clock.advance(days=1)
    second = retention.purge(db, clock, config)
    assert second is not None and sum(second["counts"].values()) == 0
    assert db.count(orm.purge_log) == 2 * len(KINDS)      # each kind logged, with zero: the purge ran
    report = retention.personal_data(db, config)
    assert [run["slot"] for run in report["runs"]] == [(NOW + timedelta(days=401)).date().isoformat(),
                                                       (NOW + timedelta(days=400)).date().isoformat()]
    assert {r["kind"] for r in report["retention"]} >= {"audit_events", "closed_accounts"}


def test_an_account_unused_for_three_years_is_closed_and_the_family_stays(db, clock, policy, passwords, config):
    family, _, _ = parent(db, clock, policy, passwords, "Martin")
    clock.advance(days=500)
    fresh, _, _ = parent(db, clock, policy, passwords, "Durand")
    clock.advance(days=1095 - 500 + 1)
    outcome = retention.purge(db, clock, config)
    assert outcome["counts"]["closed_accounts"] == 1
    assert [a.username for a in db.rows(orm.accounts)] == ["durand"]
    assert db.count(orm.audit_events, orm.audit_events.c.account_id == db.rows(orm.accounts)[0].id) > 0
    left = export.family_export(db, family["id"])
    assert left["accounts"] == [] and left["representatives"][0]["last_name"] == "Martin"
    assert fresh["id"] != family["id"]


def test_a_lapsed_key_goes_a_year_after_it_expired(db, clock, policy, config):
    family = families.register_family(db, clock, family_payload("Martin"))
    keys.issue_key(db, clock, policy, family["representatives"][0]["id"])
    clock.advance(days=90 + 366)
    outcome = retention.purge(db, clock, config)
    assert outcome["counts"]["lapsed_keys"] == 1 and db.count(orm.activation_keys) == 0


def test_a_retention_that_is_not_a_number_of_days_stops_the_start():
    for value in ("un an", "0", "-5", "99999999"):
        with pytest.raises(ConfigError):
            retention_from_config({"RETENTION_AUDIT_DAYS": value})


def test_another_features_sections_and_purges_are_added_by_appending_to_the_lists(db, clock, policy, passwords,
                                                                                  config, monkeypatch):
    """How reminders, health records, the wallet and messages join at merge: export_family and purge_expired."""
    family, _, _ = parent(db, clock, policy, passwords, "Martin")

    def export_family(uow, family_id):
        return {"health_records": [{"child": "Léa", "allergies": "arachide"}]}

    def purge_expired(uow, now, retention):
        return {"health_records": 3}

    monkeypatch.setattr(export, "EXTRA_SECTIONS", [export_family])
    monkeypatch.setattr(retention, "PURGES", retention.PURGES + [purge_expired])
    assert export.family_export(db, family["id"])["health_records"][0]["allergies"] == "arachide"
    assert retention.purge(db, clock, config)["counts"]["health_records"] == 3
    assert db.count(orm.purge_log, orm.purge_log.c.kind == "health_records") == 1


def test_an_unused_account_that_chose_reminders_is_closed_with_its_choices_and_reminders(db, clock, policy,
                                                                                       passwords, config):
    from identity.use_cases import reminders
    family, account, _ = parent(db, clock, policy, passwords, "Martin")
    reminders.set_preferences(db, clock, account["account"]["id"], True, True)
    clock.advance(days=1096)
    outcome = retention.purge(db, clock, config)
    assert outcome["failed"] == [] and outcome["counts"]["closed_accounts"] == 1
    assert db.count(orm.accounts) == 0 and db.count(orm.reminder_preferences) == 0


def test_a_conversation_closed_longer_than_its_period_goes_with_its_attachments_file(db, clock, policy, passwords,
                                                                                     tmp_path):
    import base64
    import io

    from pypdf import PdfWriter

    from identity.use_cases import messages
    files_dir = tmp_path / "identity-files"
    config = load_config(config_file("identity"), environ={"LETTER_SECRET": Fernet.generate_key().decode(),
                                                           "IDENTITY_FILES_DIR": str(files_dir)})
    family, account, _ = parent(db, clock, policy, passwords, "Martin")
    agent = agents.ensure_agent(db, clock, passwords, "scolaire", "Scolaire-Donges-2026!", ["affaires_scolaires"])
    writer, pdf = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(pdf)
    settings = messages.MessageSettings.from_config(config)
    started = messages.start_conversation(
        db.unit_of_work, clock, settings, messages.files_from_config(config), account["account"]["id"],
        {"service": "affaires_scolaires", "subject": "Facture", "body": "Bonjour"},
        {"name": "facture.pdf", "content_base64": base64.b64encode(pdf.getvalue()).decode()})
    messages.close(db.unit_of_work, clock, settings, agent["id"], started["id"])
    stored = list((files_dir / "messages").iterdir())
    assert len(stored) == 1
    clock.advance(days=366)
    outcome = retention.purge(db, clock, config)
    assert outcome["failed"] == [] and outcome["counts"]["closed_conversations"] == 1
    assert db.count(orm.conversations) == 0 and not stored[0].exists()
