"""Keys, accounts, logins, resets and contact changes over the real broker, with a real SMTP server."""
import base64
import time

import pytest

from espace_common.rpc_client import RemoteError
from espace_deploy.testing import link_in

pytestmark = pytest.mark.broker

PASSWORD = "Brise-Marine-44!"
FAMILY = {
    "representatives": [
        {"first_name": "Claire", "last_name": "Martin", "email": "claire@example.org",
         "address": {"line1": "12 rue de la Gare", "postal_code": "44480", "city": "Donges"}},
        {"first_name": "Julien", "last_name": "Martin", "email": "julien@example.org"},
    ],
    "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}],
}


@pytest.fixture
def identity(start_service, rpc, mail):
    start_service("identity", SMTP_URL=mail.url, RESET_LINK_MINUTES="0.04", LOGIN_MAX_FAILURES="3")
    family = rpc.call("identity", "register_family", FAMILY)
    return family


def refused(rpc, code, *call, **kwargs):
    with pytest.raises(RemoteError) as error:
        rpc.call("identity", *call, **kwargs)
    assert error.value.code == code, error.value.message
    return error.value


def create(rpc, family, username="claire.martin", rep=0, email="claire.perso@example.org"):
    key = rpc.call("identity", "issue_key", family["representatives"][rep]["id"])["key"]
    return rpc.call("identity", "create_account", key, username, email, PASSWORD, "10.0.0.1")


def test_a_key_creates_one_account_once(identity, rpc, mail):
    rep_id = identity["representatives"][0]["id"]
    issued = rpc.call("identity", "issue_key", rep_id)
    me = rpc.call("identity", "create_account", issued["key"].lower(), "claire.martin", "claire.perso@example.org",
                  PASSWORD, "10.0.0.1")
    assert me["account"]["email_confirmed"] is False and me["family"]["id"] == identity["id"]
    refused(rpc, "key_used", "create_account", issued["key"], "other.name", "c@example.org", PASSWORD)
    login = rpc.call("identity", "login", "CLAIRE.MARTIN", PASSWORD, "10.0.0.1")
    assert login["principal"]["kind"] == "parent" and login["principal"]["family_id"] == identity["id"]
    assert rpc.call("identity", "resolve_token", login["token"])["id"] == me["account"]["id"]

    confirmation = mail.wait_for("claire.perso@example.org")[0]
    assert "claire.martin" in confirmation.get_content() or "claire.martin" in str(confirmation)
    token = link_in(confirmation, "confirmer-email").rsplit("/", 1)[1]
    assert rpc.call("identity", "confirm_email", token) == {"email": "claire.perso@example.org"}
    assert rpc.call("identity", "me", me["account"]["id"])["account"]["email_confirmed"] is True
    refused(rpc, "link_expired", "confirm_email", token)


def test_reissuing_revokes_the_previous_key_and_its_letter_stays_printable(identity, rpc):
    rep_id = identity["representatives"][1]["id"]
    first = rpc.call("identity", "issue_key", rep_id)
    second = rpc.call("identity", "issue_key", rep_id)
    refused(rpc, "key_revoked", "create_account", first["key"], "julien", "j@example.org", PASSWORD)
    for _ in range(2):
        letter = base64.b64decode(rpc.call("identity", "key_letter", rep_id)["pdf_base64"])
        assert letter.startswith(b"%PDF")
    rpc.call("identity", "create_account", second["key"], "julien", "j@example.org", PASSWORD)
    refused(rpc, "letter_unavailable", "key_letter", rep_id)


def test_mistyped_and_expired_keys(start_service, rpc, mail):
    start_service("identity", SMTP_URL=mail.url, KEY_VALIDITY_DAYS="0.00002")  # under two seconds
    family = rpc.call("identity", "register_family", FAMILY)
    key = rpc.call("identity", "issue_key", family["representatives"][0]["id"])["key"]
    refused(rpc, "invalid_key", "create_account", key[:-1] + ("Z" if key[-1] != "Z" else "Y"), "claire", "c@example.org",
            PASSWORD)
    refused(rpc, "invalid_key", "create_account", "pas une clé", "claire", "c@example.org", PASSWORD)
    time.sleep(2)
    refused(rpc, "key_expired", "create_account", key, "claire", "c@example.org", PASSWORD)


def test_weak_password_and_taken_identifier_create_nothing(identity, rpc):
    key = rpc.call("identity", "issue_key", identity["representatives"][0]["id"])["key"]
    refused(rpc, "weak_password", "create_account", key, "claire.martin", "c@example.org", "azerty")
    rpc.call("identity", "ensure_agent", "Claire.Martin", PASSWORD, ["admin"])
    refused(rpc, "username_taken", "create_account", key, "claire.MARTIN", "c@example.org", PASSWORD)
    # The key was not consumed by the refusals.
    assert rpc.call("identity", "create_account", key, "claire2", "c@example.org", PASSWORD)


def test_password_reset_by_email_once_and_within_its_validity(identity, rpc, mail):
    me = create(rpc, identity)
    session = rpc.call("identity", "login", "claire.martin", PASSWORD)
    assert rpc.call("identity", "request_password_reset", "claire.perso@example.org") is None
    assert rpc.call("identity", "request_password_reset", "nobody@example.org") is None
    reset_mail = mail.wait_for("claire.perso@example.org", count=2)[-1]
    body = reset_mail.get_body(preferencelist=("plain",)).get_content()
    assert "claire.martin" in body and PASSWORD not in body
    token = link_in(reset_mail, "mot-de-passe-oublie").rsplit("/", 1)[1]
    rpc.call("identity", "confirm_password_reset", token, "Nouveau-Port-2027!")
    refused(rpc, "link_expired", "confirm_password_reset", token, "Encore-Autre-2028!")
    refused(rpc, "session_expired", "resolve_token", session["token"])  # every session ended
    assert rpc.call("identity", "login", "claire.martin", "Nouveau-Port-2027!")["principal"]["id"] == me["account"]["id"]

    rpc.call("identity", "request_password_reset", "claire.martin")
    late = link_in(mail.wait_for("claire.perso@example.org", count=3)[-1], "mot-de-passe-oublie").rsplit("/", 1)[1]
    time.sleep(2.6)  # RESET_LINK_MINUTES is 0.04 here: the link lapsed
    refused(rpc, "link_expired", "confirm_password_reset", late, "Encore-Autre-2028!")


def test_login_is_throttled_after_repeated_failures_whether_or_not_the_identifier_exists(identity, rpc):
    create(rpc, identity)
    for username in ("claire.martin", "personne"):
        for _ in range(3):
            refused(rpc, "bad_credentials", "login", username, "mauvais", "10.0.0.9")
        error = refused(rpc, "too_many_attempts", "login", username, PASSWORD, "10.0.0.9")
        assert error.extra and int(error.extra[0]) > 0
    # The identifier is locked whatever the address it is tried from.
    refused(rpc, "too_many_attempts", "login", "claire.martin", PASSWORD, "10.0.0.10")


def test_change_password_needs_the_current_one_and_ends_other_sessions(identity, rpc, mail):
    me = create(rpc, identity)
    kept = rpc.call("identity", "login", "claire.martin", PASSWORD)
    other = rpc.call("identity", "login", "claire.martin", PASSWORD)
    refused(rpc, "wrong_password", "change_password", me["account"]["id"], "mauvais", "Nouveau-Port-2027!")
    refused(rpc, "weak_password", "change_password", me["account"]["id"], PASSWORD, "faible")
    rpc.call("identity", "change_password", me["account"]["id"], PASSWORD, "Nouveau-Port-2027!", "", kept["token"])
    assert rpc.call("identity", "resolve_token", kept["token"])["id"] == me["account"]["id"]
    refused(rpc, "session_expired", "resolve_token", other["token"])
    assert any("modifié" in str(m["Subject"]) for m in mail.wait_for("claire.perso@example.org", count=2))


def test_contact_change_confirms_the_new_email_and_tells_the_old_one(identity, rpc, mail):
    me = create(rpc, identity)
    changed = rpc.call("identity", "change_contact", me["account"]["id"],
                       {"phone": "07 11 22 33 44", "email": "claire.nouvelle@example.org"})
    assert changed["pending_email"] == "claire.nouvelle@example.org"
    assert changed["account"]["email"] == "claire.perso@example.org"
    assert changed["family"]["representatives"][0]["phone"] == "0711223344"
    notice = mail.wait_for("claire.perso@example.org", count=2)[-1]
    assert "claire.nouvelle@example.org" in notice.get_body(preferencelist=("plain",)).get_content()
    token = link_in(mail.wait_for("claire.nouvelle@example.org")[0], "confirmer-email").rsplit("/", 1)[1]
    rpc.call("identity", "confirm_email", token)
    account = rpc.call("identity", "me", me["account"]["id"])["account"]
    assert (account["email"], account["email_confirmed"]) == ("claire.nouvelle@example.org", True)
    refused(rpc, "invalid_phone", "change_contact", me["account"]["id"], {"phone": "123"})
    kinds = [e["kind"] for e in rpc.call("identity", "recent_events", me["account"]["id"])]
    assert kinds[:2] == ["email_confirmed", "contact_changed"] and "account_created" in kinds


def test_a_parent_only_reads_their_own_family(identity, rpc):
    me = create(rpc, identity)
    other = rpc.call("identity", "register_family", dict(FAMILY, request_id="other-family"))
    assert rpc.call("identity", "get_family", identity["id"], me["account"]["id"])["id"] == identity["id"]
    refused(rpc, "family_not_found", "get_family", other["id"], me["account"]["id"])


def test_api_clients_get_scoped_tokens(identity, rpc):
    created = rpc.call("identity", "create_api_client", "Cuisine centrale", ["kitchen"])
    token = rpc.call("identity", "client_login", created["client_id"], created["client_secret"])
    principal = rpc.call("identity", "resolve_token", token["token"])
    assert (principal["kind"], principal["scopes"]) == ("client", ["kitchen"])
    refused(rpc, "invalid_client", "client_login", created["client_id"], "wrong")
    refused(rpc, "invalid_scopes", "create_api_client", "X", ["everything"])


def test_agents_find_families_whatever_the_case_and_accents(identity, rpc):
    family = rpc.call("identity", "register_family", {
        "representatives": [{"first_name": "Émilie", "last_name": "Étienne"}],
        "children": [{"first_name": "Zoé", "last_name": "Étienne", "birth_date": "2019-01-01"}]})
    for query in ("Étienne", "étienne", "ETIENNE", "emilie", "zoe", family["dossier"]):
        assert [f["id"] for f in rpc.call("identity", "find_families", query)] == [family["id"]], query
    assert rpc.call("identity", "find_families", "%%") == []


def test_an_unconfirmed_address_can_get_a_fresh_link_and_a_pending_one_shows(identity, rpc, mail):
    me = create(rpc, identity)
    rpc.call("identity", "change_contact", me["account"]["id"], {"email": "claire.perso@example.org"})
    fresh = link_in(mail.wait_for("claire.perso@example.org", count=2)[-1], "confirmer-email").rsplit("/", 1)[1]
    rpc.call("identity", "confirm_email", fresh)
    rpc.call("identity", "change_contact", me["account"]["id"], {"email": "autre@example.org"})
    assert rpc.call("identity", "me", me["account"]["id"])["account"]["pending_email"] == "autre@example.org"


def test_sessions_end_after_their_idle_time_and_logout_revokes(start_service, rpc, mail):
    start_service("identity", SMTP_URL=mail.url, WEB_SESSION_IDLE_MINUTES="0.03")  # under two seconds
    family = rpc.call("identity", "register_family", FAMILY)
    create(rpc, family)
    idle = rpc.call("identity", "login", "claire.martin", PASSWORD)
    assert rpc.call("identity", "resolve_token", idle["token"])["kind"] == "parent"
    time.sleep(2.2)
    refused(rpc, "session_expired", "resolve_token", idle["token"])
    active = rpc.call("identity", "login", "claire.martin", PASSWORD)
    rpc.call("identity", "logout", active["token"])
    refused(rpc, "session_expired", "resolve_token", active["token"])


def test_over_long_fields_are_refused_over_rpc_and_the_vocabulary_says_the_limits(identity, rpc):
    """Regression: a 100,000-character field was stored (the web forms pass text through as typed)."""
    huge = "x" * 100_000
    rep = FAMILY["representatives"][0]
    refused(rpc, "invalid_name", "register_family", {**FAMILY, "representatives": [{**rep, "last_name": huge}]})
    me = create(rpc, identity)
    refused(rpc, "invalid_address", "change_contact", me["account"]["id"],
            {"address": {"line1": huge, "postal_code": "44480", "city": "Donges"}})
    refused(rpc, "link_invalid", "confirm_email", "é")
    assert rpc.call("identity", "me", me["account"]["id"])["family"]["representatives"][0]["address"]["line1"] == \
        "12 rue de la Gare"
    limits = rpc.call("identity", "vocabulary")["max_length"]
    assert (limits["last_name"], limits["address_line"]) == (100, 200)
