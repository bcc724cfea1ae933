"""Session use cases on a real SQLite unit of work and a fixed clock, without the broker."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from espace_common.clock import FixedClock
from espace_common.config import load_config
from espace_common.db import UnitOfWork, create_database_engine
from espace_common.errors import NotFound, Unauthenticated
from espace_common.launch import config_file
from identity import domain, orm, store
from identity.passwords import Passwords
from identity.policy import Policy
from identity.use_cases import sessions

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
LETTER_SECRET = "dGVzdC1vbmx5LWxldHRlci1zZWNyZXQtMzItYnl0ZXM="


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def unit_of_work(tmp_path, clock):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'identity.sqlite'}")
    orm.metadata.create_all(engine)

    def make(read_only=False):
        return UnitOfWork(engine, outbox=orm.outbox, processed=orm.processed_events, mail_outbox=orm.mail_outbox,
                          clock=clock, read_only=read_only)
    make.engine = engine
    yield make
    engine.dispose()


@pytest.fixture
def policy():
    return Policy.from_config(load_config(config_file("identity"), environ={"LETTER_SECRET": LETTER_SECRET}))


def agent_token(unit_of_work, clock, kind="web", token="jeton-agent"):
    with unit_of_work() as uow:
        agent_id = store.save_agent(uow, "agent.scolaire", "hash", ["affaires_scolaires"], clock.now())
        store.add_auth_token(uow, domain.token_digest(token), kind, "agent", agent_id, clock.now(), "")
        uow.commit()
    return agent_id, token


def revocations(unit_of_work):
    with unit_of_work.engine.connect() as db:
        return [row.payload["data"] for row in db.execute(
            select(orm.outbox).where(orm.outbox.c.event_type == "credentials_revoked").order_by(orm.outbox.c.position))]


def test_a_resolution_is_valid_until_the_idle_expiry_when_it_comes_first(unit_of_work, clock, policy):
    _, token = agent_token(unit_of_work, clock)
    clock.advance(minutes=5)
    principal = sessions.resolve_token(unit_of_work, clock, policy, token)
    # Used now (last use written, as it was more than a minute old): idle expiry in 30 minutes.
    assert principal["valid_until"] == (clock.now() + timedelta(minutes=30)).isoformat()
    assert principal["token_kind"] == "web" and principal["roles"] == ["affaires_scolaires"]
    clock.advance(seconds=30)
    # Last use not written again within the minute: the bound does not move with it.
    assert sessions.resolve_token(unit_of_work, clock, policy, token)["valid_until"] == principal["valid_until"]


def test_a_resolution_is_never_valid_past_the_absolute_expiry(unit_of_work, clock, policy):
    _, token = agent_token(unit_of_work, clock)
    for _ in range(71):  # used every ten minutes for 11 h 50
        clock.advance(minutes=10)
        sessions.resolve_token(unit_of_work, clock, policy, token)
    clock.advance(minutes=5)
    principal = sessions.resolve_token(unit_of_work, clock, policy, token)
    assert principal["valid_until"] == (NOW + timedelta(hours=12)).isoformat()


def test_a_logout_revokes_once_and_records_its_event(unit_of_work, clock, policy):
    _, token = agent_token(unit_of_work, clock)
    sessions.logout(unit_of_work, clock, token)
    sessions.logout(unit_of_work, clock, token)
    with pytest.raises(Unauthenticated):
        sessions.resolve_token(unit_of_work, clock, policy, token)
    assert revocations(unit_of_work) == [
        {"subject_kind": None, "subject_id": None, "token_digest": domain.token_digest(token)}]


def test_an_agent_reset_revokes_its_tokens_in_the_same_transaction(unit_of_work, clock, policy):
    agent_id, token = agent_token(unit_of_work, clock)
    with unit_of_work() as uow:
        store.save_agent(uow, "agent.scolaire", "other-hash", ["petite_enfance"], clock.now())
        # Not committed: neither the revocation nor its event happened.
    assert sessions.resolve_token(unit_of_work, clock, policy, token)["roles"] == ["affaires_scolaires"]
    assert revocations(unit_of_work) == []
    with unit_of_work() as uow:
        store.save_agent(uow, "agent.scolaire", "other-hash", ["petite_enfance"], clock.now())
        uow.commit()
    with pytest.raises(Unauthenticated):
        sessions.resolve_token(unit_of_work, clock, policy, token)
    assert revocations(unit_of_work) == [{"subject_kind": "agent", "subject_id": agent_id, "token_digest": None}]


def test_rotating_a_client_secret_revokes_its_tokens(unit_of_work, clock, policy):
    passwords = Passwords(1, 8192)
    with unit_of_work() as uow:
        store.add_api_client(uow, "client-cuisine", "Cuisine", passwords.hash("ancien"), ["kitchen"], clock.now())
        store.add_auth_token(uow, domain.token_digest("jeton-client"), "api", "client", "client-cuisine",
                             clock.now(), "")
        uow.commit()
    sessions.rotate_api_client_secret(unit_of_work, clock, passwords, "client-cuisine", "nouveau")
    with pytest.raises(Unauthenticated):
        sessions.resolve_token(unit_of_work, clock, policy, "jeton-client")
    with unit_of_work(read_only=True) as uow:
        assert passwords.verify(store.api_client(uow, "client-cuisine").secret_hash, "nouveau")[0]
    assert revocations(unit_of_work) == [
        {"subject_kind": "client", "subject_id": "client-cuisine", "token_digest": None}]
    with pytest.raises(NotFound):
        sessions.rotate_api_client_secret(unit_of_work, clock, passwords, "client-personne", "x")
