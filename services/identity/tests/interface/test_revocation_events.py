"""Every revocation of a token is told to the gateways (identity.credentials_revoked), after commit,
and resolve_token says until when at most its answer may be trusted."""
import hashlib
import time
from datetime import datetime, timedelta, timezone

import pytest
from kombu import Connection, Queue

from espace_common.amqp import event_exchange
from espace_common.events import CREDENTIALS_REVOKED
from espace_common.rpc_client import RemoteError

pytestmark = pytest.mark.broker

PASSWORD = "Brise-Marine-44!"
FAMILY = {"representatives": [{"first_name": "Claire", "last_name": "Martin"}],
          "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}]}


class Revocations:
    """A listener like the gateway's: an exclusive queue bound to identity's revocations."""

    def __init__(self, amqp_uri):
        self.connection = Connection(amqp_uri)
        self.queue = Queue("test-revocations", exchange=event_exchange("identity"), routing_key=CREDENTIALS_REVOKED,
                           exclusive=True, auto_delete=True)(self.connection.channel())
        self.queue.declare()

    def next(self, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.queue.get(no_ack=True)
            if message is not None:
                return message.payload["data"]
            time.sleep(0.02)
        return None

    def close(self):
        self.connection.release()


@pytest.fixture
def revocations(start_service, vhost):
    start_service("identity", PASSWORD_TIME_COST="1", PASSWORD_MEMORY_KIB="8192")
    listener = Revocations(vhost.amqp_uri)
    yield listener
    listener.close()


def digest(token):
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def refused(rpc, code, *call):
    with pytest.raises(RemoteError) as error:
        rpc.call("identity", *call)
    assert error.value.code == code, error.value.message


def parent_account(rpc):
    family = rpc.call("identity", "register_family", FAMILY)
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    return rpc.call("identity", "create_account", key, "claire.martin", "claire@example.org", PASSWORD)["account"]


def test_a_logout_names_the_token_by_its_digest_once(revocations, rpc):
    parent_account(rpc)
    token = rpc.call("identity", "login", "claire.martin", PASSWORD, "", "api")["token"]
    rpc.call("identity", "logout", token)
    assert revocations.next() == {"subject_kind": None, "subject_id": None, "token_digest": digest(token)}
    rpc.call("identity", "logout", token)  # nothing left to revoke: nothing to tell
    rpc.call("identity", "logout", "not-a-token")
    assert revocations.next(timeout=1) is None


def test_a_password_change_names_the_account(revocations, rpc):
    account = parent_account(rpc)
    kept = rpc.call("identity", "login", "claire.martin", PASSWORD)["token"]
    rpc.call("identity", "login", "claire.martin", PASSWORD)
    rpc.call("identity", "change_password", account["id"], PASSWORD, "Nouveau-Mot-2026!", "", kept)
    assert revocations.next() == {"subject_kind": "parent", "subject_id": account["id"], "token_digest": None}


def test_an_agent_whose_password_and_roles_are_reset_loses_its_sessions(revocations, rpc):
    agent = rpc.call("identity", "ensure_agent", "agent.scolaire", PASSWORD, ["affaires_scolaires"])
    token = rpc.call("identity", "login", "agent.scolaire", PASSWORD)["token"]
    rpc.call("identity", "ensure_agent", "agent.scolaire", PASSWORD, ["petite_enfance"])
    assert revocations.next() == {"subject_kind": "agent", "subject_id": agent["id"], "token_digest": None}
    refused(rpc, "session_expired", "resolve_token", token)
    token = rpc.call("identity", "login", "agent.scolaire", PASSWORD)["token"]
    assert rpc.call("identity", "resolve_token", token)["roles"] == ["petite_enfance"]


def test_a_new_client_secret_ends_the_old_one_and_its_tokens(revocations, rpc):
    client = rpc.call("identity", "create_api_client", "Cuisine centrale", ["kitchen"])
    token = rpc.call("identity", "client_login", client["client_id"], client["client_secret"])["token"]
    rotated = rpc.call("identity", "rotate_api_client_secret", client["client_id"])
    assert rotated["client_id"] == client["client_id"] and rotated["client_secret"] != client["client_secret"]
    assert revocations.next() == {"subject_kind": "client", "subject_id": client["client_id"], "token_digest": None}
    refused(rpc, "session_expired", "resolve_token", token)
    refused(rpc, "invalid_client", "client_login", client["client_id"], client["client_secret"])
    assert rpc.call("identity", "client_login", client["client_id"], rotated["client_secret"])["token"]
    refused(rpc, "client_not_found", "rotate_api_client_secret", "client-nobody")


def test_a_resolution_is_valid_until_the_token_expires_at_most(revocations, rpc):
    parent_account(rpc)
    before = datetime.now(timezone.utc)
    token = rpc.call("identity", "login", "claire.martin", PASSWORD, "", "api")["token"]
    valid_until = datetime.fromisoformat(rpc.call("identity", "resolve_token", token)["valid_until"])
    # An API token lives 15 minutes from its creation, used or not.
    assert before + timedelta(minutes=15) <= valid_until <= datetime.now(timezone.utc) + timedelta(minutes=15)
