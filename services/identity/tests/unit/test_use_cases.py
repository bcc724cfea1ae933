"""The identity use cases on a real SQLite unit of work in a temporary file, with a fixed clock; no broker.

Each test starts from a copy of a database migrated once for the module (the real Alembic migrations), and
reads what the use case left in it: rows, the mails queued in `mail_outbox`, the events in `outbox`.
"""
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from espace_common.clock import FixedClock
from espace_common.config import load_config
from espace_common.db import create_database_engine
from espace_common.errors import Conflict, Forbidden, InvalidInput, NotFound, Throttled, Unauthenticated
from espace_common.launch import alembic_ini, config_file
from espace_common.migrations import upgrade
from identity import domain, orm
from identity.passwords import Passwords
from identity.policy import Policy
from identity.use_cases import (
    accounts, agents, api_clients, contact, credentials, families, journal, keys, logins,
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
PASSWORD = "Brise-Marine-44!"
SCHOOL_ADDRESS = "192.0.2.10"  # the parents of a whole school behind one address
FAMILY = {
    "representatives": [
        {"first_name": "Claire", "last_name": "Martin", "email": "claire@example.org", "phone": "06 12 34 56 78",
         "address": {"line1": "12 rue de la Gare", "postal_code": "44480", "city": "Donges"}},
        {"first_name": "Julien", "last_name": "Martin", "email": "julien@example.org"},
    ],
    "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}],
}
MALFORMED_TOKENS = ["é", "jeton-\u00e9t\u00e9", "x" * 100_000, "\ud800", "a\x00b", "", None, 42, {"token": "x"}, ["x"]]


@pytest.fixture
def clock():
    return FixedClock(NOW)


def make_policy(**settings):
    environ = {"LETTER_SECRET": Fernet.generate_key().decode(), "LOGIN_MAX_FAILURES": "3",
               "KEY_MAX_FAILURES": "20", **settings}
    return Policy.from_config(load_config(config_file("identity"), environ=environ))


@pytest.fixture
def policy():
    return make_policy()


@pytest.fixture(scope="module")
def passwords():
    return Passwords(time_cost=1, memory_kib=8192)  # cheap argon2: the cost is not what these tests are about


def describe(subject_kind, subject, token_kind):
    return {"kind": subject_kind, "id": subject.id if subject_kind != "client" else subject.client_id,
            "token_kind": token_kind}


@pytest.fixture
def family(db, clock):
    return families.register_family(db, clock, FAMILY)


def new_account(db, clock, policy, passwords, family, rep=0, username="claire.martin",
                email="claire.perso@example.org", client_ip="10.0.0.1"):
    key = keys.issue_key(db, clock, policy, family["representatives"][rep]["id"])["key"]
    return accounts.create_account(db, clock, policy, passwords, key, username, email, PASSWORD, client_ip)


def link_token_of(mail, path):
    return next(word for word in mail.body.split() if f"/{path}/" in word).rsplit("/", 1)[1]


# --- Families ------------------------------------------------------------------------------------

def test_registering_a_family_records_its_event_and_is_idempotent_by_request_id(db, clock):
    first = families.register_family(db, clock, {**FAMILY, "request_id": "req-1"})
    assert families.register_family(db, clock, {**FAMILY, "request_id": "req-1"}) == first
    other = families.register_family(db, clock, FAMILY)
    assert (first["dossier"], other["dossier"]) == ("000001", "000002")
    with db.engine.connect() as connection:
        events = connection.execute(select(orm.outbox.c.event_type, orm.outbox.c.payload)).all()
    assert [e.event_type for e in events] == ["family_registered", "family_registered"]
    assert events[0].payload["data"]["children"] == first["children"]
    assert families.get_family(db, first["id"]) == first


def test_the_same_registration_raced_by_another_replica_gives_back_the_family_it_registered(db, clock, monkeypatch):
    """Two gateways send the same request to two identity replicas at once: the one that commits second hits the
    unique request_id, and answers with the first one's family instead of a server error."""
    won = families.register_family(db, clock, {**FAMILY, "request_id": "raced-1"})
    looked = []
    real = families.store.family_by_request

    def not_committed_yet(uow, request_id):  # the first look of the loser ran before the winner's commit
        looked.append(request_id)
        return None if len(looked) == 1 else real(uow, request_id)
    monkeypatch.setattr(families.store, "family_by_request", not_committed_yet)
    lost = families.register_family(db, clock, {**FAMILY, "request_id": "raced-1"})
    assert lost == won and len(looked) == 2
    assert db.count(orm.families) == 1
    assert db.count(orm.outbox, orm.outbox.c.event_type == "family_registered") == 1


@pytest.mark.parametrize("change, code", [
    ({"first_name": "C" * 101}, "invalid_name"),
    ({"last_name": "M" * 100_000}, "invalid_name"),
    ({"email": "c" * 250 + "@example.org"}, "invalid_email"),
    ({"phone": "0" * 100_000}, "invalid_phone"),
    ({"caf_number": "1" * 21}, "invalid_caf_number"),
    ({"address": {"line1": "rue " * 51, "postal_code": "44480", "city": "Donges"}}, "invalid_address"),
    ({"address": {"line1": "1 rue", "line2": "b" * 201, "postal_code": "44480", "city": "Donges"}}, "invalid_address"),
    ({"address": {"line1": "1 rue", "postal_code": "44480", "city": "D" * 101}}, "invalid_address"),
])
def test_an_over_long_field_is_refused_with_its_code_and_nothing_is_stored(db, clock, change, code):
    rep = {**FAMILY["representatives"][0], **change}
    with pytest.raises(InvalidInput) as error:
        families.register_family(db, clock, {**FAMILY, "representatives": [rep]})
    assert error.value.code == code and "caractères" in error.value.message
    assert len(error.value.message) < 300  # the refusal does not echo 100,000 characters back
    assert db.count(orm.families) == 0


def test_the_longest_accepted_values_are_stored_whole(db, clock):
    rep = {**FAMILY["representatives"][0], "first_name": "C" * 100,
           "address": {"line1": "r" * 200, "line2": "b" * 200, "postal_code": "44480", "city": "D" * 100}}
    child = {**FAMILY["children"][0], "last_name": "M" * 100}
    registered = families.register_family(db, clock, {"representatives": [rep], "children": [child]})
    assert registered["representatives"][0]["address"]["line1"] == "r" * 200
    assert registered["children"][0]["last_name"] == "M" * 100


def test_an_over_long_child_name_or_request_id_is_refused(db, clock):
    with pytest.raises(InvalidInput) as error:
        families.register_family(db, clock, {**FAMILY, "children": [{**FAMILY["children"][0], "first_name": "L" * 101}]})
    assert error.value.code == "invalid_name"
    with pytest.raises(InvalidInput) as error:
        families.register_family(db, clock, {**FAMILY, "request_id": "r" * 81})
    assert error.value.code == "invalid_request_id"
    assert db.count(orm.families) == 0


def test_agents_find_families_and_a_query_is_neither_too_short_nor_a_page_long(db, clock, family):
    found = families.find_families(db, "  martin ")
    assert [f["id"] for f in found] == [family["id"]]
    assert found[0]["representatives"][0] | {"has_account": False, "key": None} == found[0]["representatives"][0]
    for query, code in [("m", "query_too_short"), (None, "query_too_short"), ("m" * 101, "query_too_long")]:
        with pytest.raises(InvalidInput) as error:
            families.find_families(db, query)
        assert error.value.code == code


SEARCHED = {
    "representatives": [{"first_name": "Hélène", "last_name": "Le Bihan-Éon", "email": "H.Lebihan@Exemple.fr",
                         "phone": "02 40 45 12 34"}],
    "children": [{"first_name": "Noé", "last_name": "Le Bihan", "birth_date": "2019-02-03"}],
}


@pytest.mark.parametrize("query", [
    "helene", "HÉLÈNE", "hel", "bihan", "le bihan", "eon", "noe", "h.lebihan@exemple.fr", "lebihan", "exemple.fr",
    "0240451234", "02 40 45 12 34", "02.40.45", "+33 2 40 45 12 34", "+33240451234", "0033 2 40 45 12 34",
])
def test_the_search_ignores_case_and_accents_and_finds_children_emails_and_phones_in_any_format(
        db, clock, family, query):
    searched = families.register_family(db, clock, SEARCHED)
    assert [f["id"] for f in families.find_families(db, query)] == [searched["id"]], query


def test_the_search_finds_a_dossier_with_or_without_its_zeros_and_every_word_must_match(db, clock, family):
    other = families.register_family(db, clock, SEARCHED)
    assert [f["dossier"] for f in families.find_families(db, other["dossier"])] == [other["dossier"]]
    assert [f["id"] for f in families.find_families(db, other["dossier"].lstrip("0"))] == [other["id"]]
    assert families.find_families(db, "claire bihan") == []
    assert [f["id"] for f in families.find_families(db, "martin lea")] == [family["id"]]
    assert families.find_families(db, "%_%") == [] and families.find_families(db, "06 99") == []


def test_a_new_phone_or_email_is_found_and_the_old_one_no_longer(db, clock, policy, passwords, family):
    account = new_account(db, clock, policy, passwords, family)
    contact.change_contact(db, clock, policy, account["account"]["id"], {"phone": "+33 7 11 22 33 44"})
    assert [f["id"] for f in families.find_families(db, "07 11 22")] == [family["id"]]
    assert families.find_families(db, "06 12 34") == []
    assert [f["id"] for f in families.find_families(db, "claire.perso")] == [family["id"]]


def test_the_family_file_gives_its_addresses_and_the_mails_identity_sent_them(db, clock, policy, passwords, family):
    assert "mails" not in families.family_for_agent(db, family["id"])
    new_account(db, clock, policy, passwords, family)  # a confirmation link goes to claire.perso@example.org
    file = families.family_for_agent(db, family["id"], with_mails=True)
    assert sorted(file["emails"]) == ["claire.perso@example.org", "julien@example.org"]
    assert [m["recipient"] for m in file["mails"]] == ["claire.perso@example.org"]
    assert set(file["mails"][0]) == {"recipient", "subject", "created_at", "sent_at"}
    other = families.register_family(db, clock, SEARCHED)
    assert families.family_for_agent(db, other["id"], with_mails=True)["mails"] == []


def test_the_search_reads_the_index_of_terms_not_every_family(db, clock, family):
    """The plan of the query: the terms' primary key answers the prefix (no scan of the table)."""
    from identity import store
    words = domain.search_words("Hélène")
    assert words == ["helene"]
    with db.engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT family_id FROM family_search_terms WHERE term >= ? AND term < ?",
            ("helene", store._after_prefix("helene"))).all()
    assert any("USING" in row[-1] and "INDEX" in row[-1] for row in plan), plan


def test_the_migration_fills_the_terms_of_families_registered_before_it(tmp_path, identity_database):
    """Families registered before revision 0004 are found after it (the backfill)."""
    from alembic import command
    from espace_common.migrations import alembic_config
    path = tmp_path / "identity.sqlite"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(alembic_ini("identity"), url), "0003")
    engine = create_database_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO families (id, dossier, created_at, search_folded) "
                                   "VALUES ('f-1', '000007', '2026-01-01 00:00:00', '')")
        connection.exec_driver_sql("INSERT INTO representatives (id, family_id, position, first_name, last_name, "
                                   "email, phone, address_line1, address_line2, postal_code, city, caf_number) VALUES "
                                   "('r-1', 'f-1', 0, 'Élodie', 'Guérin', 'elo@example.org', '0612345678', '', '', "
                                   "'', '', '')")
    engine.dispose()
    upgrade(alembic_ini("identity"), url)
    database = identity_database(url, FixedClock(NOW))
    for query in ("elodie", "GUERIN", "7", "06 12 34 56 78"):
        assert [f["id"] for f in families.find_families(database, query)] == ["f-1"], query
    database.engine.dispose()


# --- The agents' journal ---------------------------------------------------------------------------

def action(agent_id, number, family_id=None, at=None, name="agent.issue_key"):
    return {"id": f"00000000-0000-4000-8000-{number:012d}", "agent_id": agent_id, "action": name,
            "method": "POST", "path": "/agents/familles/x", "family_id": family_id,
            "at": (at or NOW).isoformat()}


def test_an_agents_action_is_recorded_once_by_its_id_and_read_by_family_agent_and_dates(
        db, clock, passwords, family):
    guichet = agents.ensure_agent(db, clock, passwords, "Guichet-Écoles", "Un-mot-de-passe-2026!",
                                  ["affaires_scolaires"])
    creche = agents.ensure_agent(db, clock, passwords, "creche", "Un-mot-de-passe-2026!", ["petite_enfance"])
    first = action(guichet["id"], 1, family["id"], NOW - timedelta(days=2))
    assert journal.record_agent_action(db, clock, first) == {"id": first["id"], "recorded": True}
    assert journal.record_agent_action(db, clock, first) == {"id": first["id"], "recorded": False}  # the retry
    journal.record_agent_action(db, clock, action(creche["id"], 2, None, NOW - timedelta(hours=1),
                                                  "childcare_agent.close_day"))
    assert db.count(orm.agent_actions) == 2
    page = journal.agent_journal(db, {})
    assert page["total"] == 2 and page["pages"] == 1 and page["page"] == 1
    assert [i["action"] for i in page["items"]] == ["childcare_agent.close_day", "agent.issue_key"]  # newest first
    assert page["items"][1] | {"agent": "Guichet-Écoles", "dossier": family["dossier"],
                               "family_id": family["id"]} == page["items"][1]
    assert [i["id"] for i in journal.agent_journal(db, {"family_id": family["id"]})["items"]] == [first["id"]]
    for dossier in (family["dossier"], family["dossier"].lstrip("0")):
        assert [i["id"] for i in journal.agent_journal(db, {"dossier": dossier})["items"]] == [first["id"]]
    assert [i["agent"] for i in journal.agent_journal(db, {"agent": "guichet-ecoles"})["items"]] == ["Guichet-Écoles"]
    assert journal.agent_journal(db, {"agent": "personne"})["items"] == []
    since = (NOW - timedelta(days=1)).isoformat()
    assert [i["agent"] for i in journal.agent_journal(db, {"from": since})["items"]] == ["creche"]
    assert [i["agent"] for i in journal.agent_journal(db, {"to": since})["items"]] == ["Guichet-Écoles"]


def test_the_journal_is_paginated_by_fifty(db, clock, passwords):
    agent = agents.ensure_agent(db, clock, passwords, "guichet", "Un-mot-de-passe-2026!", ["admin"])
    for number in range(domain.JOURNAL_PAGE + 3):
        journal.record_agent_action(db, clock, action(agent["id"], number, at=NOW - timedelta(minutes=number)))
    first, second = journal.agent_journal(db, {"page": 1}), journal.agent_journal(db, {"page": 2})
    assert (first["pages"], first["total"], len(first["items"]), len(second["items"])) == (2, 53, 50, 3)
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    assert journal.agent_journal(db, {"page": 3})["items"] == []


@pytest.mark.parametrize("change", [
    {"id": "pas-un-uuid"}, {"id": None}, {"agent_id": ""}, {"agent_id": "a" * 37}, {"action": "x" * 100},
    {"action": "DROP TABLE"}, {"method": "GET"}, {"path": "x" * 400}, {"path": "pas/un/chemin"},
    {"family_id": "f" * 37}, {"family_id": 42}, {"at": "hier"}, {"at": "2026-11-26T09:00:00"},
    {"at": (NOW + timedelta(hours=1)).isoformat()},
])
def test_a_malformed_action_is_refused_and_nothing_is_recorded(db, clock, passwords, change):
    agent = agents.ensure_agent(db, clock, passwords, "guichet", "Un-mot-de-passe-2026!", ["admin"])
    with pytest.raises(InvalidInput):
        journal.record_agent_action(db, clock, {**action(agent["id"], 1), **change})
    assert db.count(orm.agent_actions) == 0


def test_an_unknown_agent_records_nothing_and_bad_filters_are_refused(db, clock):
    with pytest.raises(NotFound):
        journal.record_agent_action(db, clock, action("inconnu", 1))
    for filters in ({"page": 0}, {"page": "2"}, {"page": True}, {"from": "demain"}, {"to": "2026-11-26"},
                    {"agent": "x" * 81}, {"family_id": ["x"]}):
        with pytest.raises(InvalidInput):
            journal.agent_journal(db, filters)


# --- Keys and accounts ---------------------------------------------------------------------------

def test_a_key_creates_one_account_once_and_its_letter_is_gone(db, clock, policy, passwords, family):
    rep_id = family["representatives"][0]["id"]
    key = keys.issue_key(db, clock, policy, rep_id)["key"]
    assert keys.key_letter(db, clock, policy, rep_id)["pdf_base64"]
    me = accounts.create_account(db, clock, policy, passwords, key.lower(), "claire.martin",
                                 "claire.perso@example.org", PASSWORD, "10.0.0.1")
    assert me["family"]["id"] == family["id"] and me["account"]["email_confirmed"] is False
    with pytest.raises(Conflict) as error:
        accounts.create_account(db, clock, policy, passwords, key, "autre.nom", "a@example.org", PASSWORD)
    assert error.value.code == "key_used"
    with pytest.raises(NotFound):
        keys.key_letter(db, clock, policy, rep_id)
    with pytest.raises(Conflict) as error:
        keys.issue_key(db, clock, policy, rep_id)
    assert error.value.code == "account_exists"

    token = link_token_of(db.mails_to("claire.perso@example.org")[0], "confirmer-email")
    assert accounts.confirm_email(db, clock, token) == {"email": "claire.perso@example.org"}
    assert accounts.me(db, clock, me["account"]["id"])["account"]["email_confirmed"] is True


def test_a_lapsed_key_is_refused_and_its_letter_purged(db, clock, policy, passwords, family):
    rep_id = family["representatives"][1]["id"]
    key = keys.issue_key(db, clock, policy, rep_id)["key"]
    clock.advance(days=91)
    with pytest.raises(Conflict) as error:
        accounts.create_account(db, clock, policy, passwords, key, "julien", "j@example.org", PASSWORD)
    assert error.value.code == "key_expired"
    assert keys.purge_lapsed_letters(db, clock) == 1


def test_a_valid_key_still_creates_its_account_after_a_flood_of_wrong_keys_from_the_same_address(
        db, clock, policy, passwords, family):
    """Regression: after 20 wrong keys from a school's address, a parent's valid key from it was refused."""
    key = keys.issue_key(db, clock, policy, family["representatives"][0]["id"])["key"]
    refusals = []
    for attempt in range(25):
        wrong = domain.generate_key(lambda alphabet: alphabet[attempt % len(alphabet)])
        with pytest.raises((InvalidInput, Throttled)) as error:
            accounts.create_account(db, clock, policy, passwords, wrong, "intrus", "i@example.org", PASSWORD,
                                    SCHOOL_ADDRESS)
        refusals.append(error.value.code)
    # The flood is told to back off once the address passed KEY_MAX_FAILURES (20 here)...
    assert refusals[:20] == ["invalid_key"] * 20 and set(refusals[20:]) == {"too_many_attempts"}
    # ...and a parent with a real key behind the same address is not locked out.
    me = accounts.create_account(db, clock, policy, passwords, key, "claire.martin", "claire.perso@example.org",
                                 PASSWORD, SCHOOL_ADDRESS)
    assert me["family"]["id"] == family["id"]


def test_wrong_keys_from_one_address_do_not_throttle_another(db, clock, policy, passwords, family):
    for _ in range(20):
        with pytest.raises(InvalidInput):
            accounts.create_account(db, clock, policy, passwords, "pas une clé", "intrus", "i@example.org", PASSWORD,
                                    SCHOOL_ADDRESS)
    with pytest.raises(InvalidInput) as error:
        accounts.create_account(db, clock, policy, passwords, "pas une clé", "claire", "c@example.org", PASSWORD,
                                "10.0.0.1")
    assert error.value.code == "invalid_key"


# --- Logging in ------------------------------------------------------------------------------------

def test_the_login_lock_is_per_identifier_and_the_address_limit_is_loose(db, clock, policy, passwords, family):
    new_account(db, clock, policy, passwords, family)
    new_account(db, clock, policy, passwords, family, rep=1, username="julien.martin", email="julien.p@example.org")
    for _ in range(3):  # LOGIN_MAX_FAILURES is 3 here
        with pytest.raises(Unauthenticated):
            logins.login(db, clock, policy, passwords, describe, "claire.martin", "mauvais", SCHOOL_ADDRESS)
    with pytest.raises(Throttled) as locked:
        logins.login(db, clock, policy, passwords, describe, "CLAIRE.MARTIN", PASSWORD, SCHOOL_ADDRESS)
    assert locked.value.retry_after == 15 * 60
    # Another parent behind the same address logs in: the address counts 3 of its 200.
    result = logins.login(db, clock, policy, passwords, describe, "julien.martin", PASSWORD, SCHOOL_ADDRESS)
    assert result["principal"]["kind"] == "parent" and result["token_type"] == "Bearer"
    clock.advance(minutes=15)
    assert logins.login(db, clock, policy, passwords, describe, "claire.martin", PASSWORD, SCHOOL_ADDRESS)["token"]


def test_me_tells_the_last_two_logins_for_the_dashboard(db, clock, policy, passwords, family):
    account_id = new_account(db, clock, policy, passwords, family)["account"]["id"]
    assert accounts.me(db, clock, account_id)["account"]["last_logins"] == []
    logins.login(db, clock, policy, passwords, describe, "claire.martin", PASSWORD, "10.0.0.7")
    clock.advance(hours=30)
    with pytest.raises(Unauthenticated):
        logins.login(db, clock, policy, passwords, describe, "claire.martin", "mauvais", "10.0.0.9")
    logins.login(db, clock, policy, passwords, describe, "claire.martin", PASSWORD, "10.0.0.8")
    latest, previous = accounts.me(db, clock, account_id)["account"]["last_logins"]
    assert latest["client_ip"] == "10.0.0.8" and previous["client_ip"] == "10.0.0.7"
    assert datetime.fromisoformat(latest["at"]) - datetime.fromisoformat(previous["at"]) == timedelta(hours=30)


def test_an_over_long_identifier_is_a_failed_login_and_stores_no_long_text(db, clock, policy, passwords):
    with pytest.raises(Unauthenticated):
        logins.login(db, clock, policy, passwords, describe, "é" * 100_000, "x" * 1000, "10.0.0.1")
    with pytest.raises(Unauthenticated):
        logins.client_login(db, clock, policy, passwords, describe, "c" * 100_000, "secret", "10.0.0.1")
    with db.engine.connect() as connection:
        subjects = connection.execute(select(orm.throttles.c.subject)).scalars().all()
    assert subjects and max(len(s) for s in subjects) <= 110


def test_agents_and_api_clients_log_in(db, clock, policy, passwords):
    agent = agents.ensure_agent(db, clock, passwords, "Agent.Scolaire", "Un-mot-de-passe-2026", ["affaires_scolaires"])
    assert logins.login(db, clock, policy, passwords, describe, "agent.scolaire", "Un-mot-de-passe-2026",
                        kind="api")["principal"] == {"kind": "agent", "id": agent["id"], "token_kind": "api"}
    client = api_clients.create_api_client(db, clock, passwords, " Cuisine centrale ", ["kitchen", "kitchen"])
    assert client["name"] == "Cuisine centrale" and client["scopes"] == ["kitchen"]
    logged = logins.client_login(db, clock, policy, passwords, describe, client["client_id"], client["client_secret"])
    assert logged["principal"]["id"] == client["client_id"]


@pytest.mark.parametrize("call, code", [
    (lambda db, clock, passwords: agents.ensure_agent(db, clock, passwords, "a" * 81, "Mot-de-passe-2026", ["admin"]),
     "invalid_agent"),
    (lambda db, clock, passwords: agents.ensure_agent(db, clock, passwords, "agent", "Mot-de-passe-2026", "admin"),
     "invalid_roles"),
    (lambda db, clock, passwords: agents.ensure_agent(db, clock, passwords, "agent", "Mot-de-passe-2026",
                                                      [{"role": "admin"}]), "invalid_roles"),
    (lambda db, clock, passwords: api_clients.create_api_client(db, clock, passwords, "n" * 101, ["kitchen"]),
     "invalid_name"),
    (lambda db, clock, passwords: api_clients.create_api_client(db, clock, passwords, "Cuisine", []), "invalid_scopes"),
])
def test_agents_and_api_clients_are_refused_bad_values(db, clock, passwords, call, code):
    with pytest.raises(InvalidInput) as error:
        call(db, clock, passwords)
    assert error.value.code == code
    assert db.count(orm.agents) == 0 and db.count(orm.api_clients) == 0


# --- Passwords ---------------------------------------------------------------------------------------

def test_changing_the_password_needs_the_current_one_and_mails_the_parent(db, clock, policy, passwords, family):
    account_id = new_account(db, clock, policy, passwords, family)["account"]["id"]
    with pytest.raises(Forbidden):
        credentials.change_password(db, clock, passwords, account_id, "mauvais", "Nouveau-Mot-2026!")
    credentials.change_password(db, clock, passwords, account_id, PASSWORD, "Nouveau-Mot-2026!")
    assert db.mails_to("claire.perso@example.org")[-1].subject == "Votre mot de passe a été modifié"
    assert logins.login(db, clock, policy, passwords, describe, "claire.martin", "Nouveau-Mot-2026!")["token"]


def test_a_reset_link_sets_the_password_once(db, clock, policy, passwords, family):
    new_account(db, clock, policy, passwords, family)
    assert credentials.request_password_reset(db, clock, policy, "claire.perso@example.org", "10.0.0.1") is None
    token = link_token_of(db.mails_to("claire.perso@example.org")[-1], "mot-de-passe-oublie")
    assert credentials.check_reset_token(db, clock, token) == {"valid": True}
    credentials.confirm_password_reset(db, clock, passwords, token, "Nouveau-Mot-2026!", "10.0.0.1")
    with pytest.raises(Conflict):
        credentials.confirm_password_reset(db, clock, passwords, token, "Encore-Un-2026!!")
    assert logins.login(db, clock, policy, passwords, describe, "claire.martin", "Nouveau-Mot-2026!")["token"]


def test_an_account_gets_at_most_a_few_reset_mails_an_hour_and_the_answer_stays_the_same(
        db, clock, policy, passwords, family):
    """Regression: 60 reset requests for one account from one address sent it 50 mails."""
    new_account(db, clock, policy, passwords, family)
    before = len(db.mails_to("claire.perso@example.org"))
    answers = []
    for attempt in range(60):
        clock.advance(seconds=10)
        try:
            answers.append(credentials.request_password_reset(db, clock, policy, "claire.martin",
                                                              SCHOOL_ADDRESS if attempt % 2 else f"10.0.1.{attempt}"))
        except Throttled:  # the address's flood limit (RESET_MAX_REQUESTS), the same whatever the account
            answers.append("throttled")
    assert set(answers) <= {None, "throttled"} and answers[:5] == [None] * 5
    resets = db.mails_to("claire.perso@example.org")[before:]
    assert len(resets) == 3  # RESET_MAILS_PER_HOUR, whichever addresses asked
    # The last link mailed still works; an hour after the first one, the account may get a mail again.
    assert credentials.check_reset_token(db, clock, link_token_of(resets[-1], "mot-de-passe-oublie"))
    clock.advance(hours=1)
    credentials.request_password_reset(db, clock, policy, "claire.perso@example.org", "10.0.2.1")
    assert len(db.mails_to("claire.perso@example.org")) == before + 4


def test_a_reset_request_for_nobody_or_for_a_page_of_text_answers_the_same(db, clock, policy):
    for login in ["personne", "personne@example.org", "x" * 100_000, None, ""]:
        assert credentials.request_password_reset(db, clock, policy, login, "10.0.0.1") is None
    assert db.count(orm.mail_outbox) == 0


@pytest.mark.parametrize("token", MALFORMED_TOKENS, ids=repr)
def test_a_malformed_token_is_an_invalid_link_in_every_use_case_that_takes_one(db, clock, passwords, token):
    """Regression: a non-ASCII token raised UnicodeEncodeError (a 500 through the gateway)."""
    for call in (lambda: accounts.confirm_email(db, clock, token),
                 lambda: credentials.check_reset_token(db, clock, token),
                 lambda: credentials.confirm_password_reset(db, clock, passwords, token, "Nouveau-Mot-2026!")):
        with pytest.raises(NotFound) as error:
            call()
        assert error.value.code == "link_invalid"


# --- Contact details -------------------------------------------------------------------------------

def test_a_new_email_waits_for_its_link_and_the_current_address_hears_of_it(db, clock, policy, passwords, family):
    account_id = new_account(db, clock, policy, passwords, family)["account"]["id"]
    result = contact.change_contact(db, clock, policy, account_id,
                                    {"phone": "07 11 22 33 44", "email": "nouvelle@example.org"})
    assert result["pending_email"] == "nouvelle@example.org" and result["account"]["email"] == "claire.perso@example.org"
    assert result["family"]["representatives"][0]["phone"] == "0711223344"
    assert [m.subject for m in db.mails_to("nouvelle@example.org")] == ["Confirmez votre nouvelle adresse e-mail"]
    assert db.mails_to("claire.perso@example.org")[-1].subject == "Changement de votre adresse e-mail"
    token = link_token_of(db.mails_to("nouvelle@example.org")[0], "confirmer-email")
    accounts.confirm_email(db, clock, token)
    assert accounts.me(db, clock, account_id)["account"]["email"] == "nouvelle@example.org"
    assert [e["kind"] for e in contact.recent_events(db, account_id, "5")][:2] == ["email_confirmed", "contact_changed"]


def test_the_same_unconfirmed_address_gets_a_fresh_link_and_a_confirmed_one_none(db, clock, policy, passwords, family):
    account_id = new_account(db, clock, policy, passwords, family)["account"]["id"]
    first = link_token_of(db.mails_to("claire.perso@example.org")[0], "confirmer-email")
    contact.change_contact(db, clock, policy, account_id, {"email": "Claire.Perso@example.org"})
    mails = db.mails_to("claire.perso@example.org")
    assert len(mails) == 2 and mails[1].subject == "Confirmez votre nouvelle adresse e-mail"
    with pytest.raises(Conflict):  # the first link was replaced
        accounts.confirm_email(db, clock, first)
    accounts.confirm_email(db, clock, link_token_of(mails[1], "confirmer-email"))
    contact.change_contact(db, clock, policy, account_id, {"email": "claire.perso@example.org"})
    assert len(db.mails_to("claire.perso@example.org")) == 2


@pytest.mark.parametrize("changes, code", [
    ({"phone": "0" * 100_000}, "invalid_phone"),
    ({"email": "c" * 100_000 + "@example.org"}, "invalid_email"),
    ({"address": {"line1": "r" * 100_000, "postal_code": "44480", "city": "Donges"}}, "invalid_address"),
    ({"address": {"line1": "1 rue", "postal_code": "44480", "city": "Donges", "line2": "b" * 201}}, "invalid_address"),
    ({"address": {"line1": "1 rue", "postal_code": "44480", "city": "D" * 101}}, "invalid_address"),
])
def test_over_long_contact_details_are_refused_and_nothing_changes(db, clock, policy, passwords, family, changes, code):
    account_id = new_account(db, clock, policy, passwords, family)["account"]["id"]
    with pytest.raises(InvalidInput) as error:
        contact.change_contact(db, clock, policy, account_id, {"phone": "07 11 22 33 44", **changes})
    assert error.value.code == code and len(error.value.message) < 300
    assert accounts.me(db, clock, account_id)["family"]["representatives"][0]["phone"] == "0612345678"


def test_a_bad_audit_limit_is_invalid_input(db):
    with pytest.raises(InvalidInput) as error:
        contact.recent_events(db, "nobody", "beaucoup")
    assert error.value.code == "invalid_limit"


# --- Vocabulary ------------------------------------------------------------------------------------

def test_the_vocabulary_names_the_roles_and_says_the_limits_identity_enforces():
    vocabulary = domain.vocabulary()
    assert vocabulary["agent_roles"] == {"affaires_scolaires": "Affaires scolaires", "petite_enfance": "Petite enfance",
                                         "admin": "Administration"}
    assert set(vocabulary["api_scopes"]) == {"kitchen", "accounting", "childcare_relay", "families:read"}
    assert vocabulary["max_length"]["first_name"] == 100 and vocabulary["max_length"]["address_line"] == 200
    assert vocabulary["password"]["min_length"] == 12 and "au moins 12 caractères ;" in vocabulary["password"]["rules"]
    for role in vocabulary["agent_roles"]:
        assert domain.validate_roles([role]) == (role,)
    with pytest.raises(InvalidInput):
        domain.check_password("Aa1!" * 70, "x")  # longer than max_length.password


# --- Billing contacts ------------------------------------------------------------------------------------

def test_billing_contacts_name_the_first_representative_and_only_confirmed_emails(db, clock, policy, passwords, family):
    account_id = new_account(db, clock, policy, passwords, family)["account"]["id"]
    other = families.register_family(db, clock, {"representatives": [{"first_name": "Yves", "last_name": "Le Goff"}],
                                                 "children": []})
    answer = families.billing_contacts(db, [family["id"], other["id"], "inconnue"])
    assert set(answer) == {family["id"], other["id"]}
    claire = answer[family["id"]]
    assert claire["dossier"] == family["dossier"]
    assert claire["payer"]["first_name"] == "Claire" and claire["payer"]["address"] == {
        "line1": "12 rue de la Gare", "line2": "", "postal_code": "44480", "city": "Donges"}
    assert claire["emails"] == []  # the account's address is not confirmed yet
    accounts.confirm_email(db, clock, link_token_of(db.mails_to("claire.perso@example.org")[0], "confirmer-email"))
    assert families.billing_contacts(db, [family["id"]])[family["id"]]["emails"] == ["claire.perso@example.org"]
    assert answer[other["id"]]["emails"] == [] and account_id
    for bad in ("une-famille", ["x" * 37], list(map(str, range(1001)))):
        with pytest.raises(InvalidInput):
            families.billing_contacts(db, bad)
