import math
import secrets
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from espace_common.errors import Conflict, InvalidInput
from identity import domain

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)


def test_a_key_has_at_least_60_bits_and_no_ambiguous_symbol():
    assert domain.KEY_LENGTH * math.log2(len(domain.KEY_ALPHABET)) >= 60
    assert not set("0O1IL") & set(domain.KEY_ALPHABET)
    key = domain.generate_key(secrets.choice)
    groups = key.split("-")
    assert len(groups) == 4 and all(len(g) == 4 for g in groups)


def test_typing_variants_of_a_key_are_the_same_key():
    key = domain.generate_key(secrets.choice)
    assert domain.normalise_key(key.lower().replace("-", " ")) == key.replace("-", "")
    assert domain.key_digest(domain.normalise_key(key)) == domain.key_digest(domain.normalise_key(f"  {key} "))


@pytest.mark.parametrize("typed", ["", "ABCD-EFGH", "ABCD-EFGH-JKMN-PQR0", "ABCD-EFGH-JKMN-PQRSX"])
def test_what_cannot_be_a_key_is_recognised_before_any_lookup(typed):
    assert domain.normalise_key(typed) is None


def key_row(**state):
    base = {"used_at": None, "revoked_at": None, "expires_at": NOW + timedelta(days=1)}
    base.update(state)
    return SimpleNamespace(**base)


@pytest.mark.parametrize("state, code", [
    ({"used_at": NOW}, "key_used"), ({"revoked_at": NOW}, "key_revoked"), ({"expires_at": NOW}, "key_expired")])
def test_why_a_key_is_refused(state, code):
    refusal = domain.key_refusal(key_row(**state), NOW)
    assert isinstance(refusal, Conflict) and refusal.code == code


def test_a_key_works_until_its_expiry():
    assert domain.key_refusal(key_row(expires_at=NOW + timedelta(seconds=1)), NOW) is None


@pytest.mark.parametrize("password", [
    "Court1!", "toutenminuscule1!", "TOUTENMAJUSCULE1!", "SansChiffre!!!!", "SansSpecial1234", "Azerty123456!",
    "Motdepasse2026!", "Donges-2026!!", "claire.martin-Mdp1"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(InvalidInput) as error:
        domain.check_password(password, "claire.martin")
    assert error.value.code == "weak_password"


def test_a_strong_password_passes():
    assert domain.check_password("Brise-Marine-44!", "claire.martin") == "Brise-Marine-44!"


def test_the_message_says_what_is_missing():
    with pytest.raises(InvalidInput) as error:
        domain.check_password("abc", "x")
    assert "12 caractères" in error.value.message and "majuscule" in error.value.message


@pytest.mark.parametrize("username", ["ab", "a" * 41, "claire martin", "élodie", "-claire"])
def test_bad_identifiers(username):
    with pytest.raises(InvalidInput):
        domain.check_username(username)


def test_throttle_locks_after_the_limit_and_forgets_after_the_window():
    policy = domain.ThrottlePolicy(max_failures=3, window=timedelta(minutes=15), lock=timedelta(minutes=15))
    state = domain.ThrottleState()
    for _ in range(2):
        state = domain.count_attempt(state, policy, NOW)
    assert domain.retry_after(state, NOW) == 0
    state = domain.count_attempt(state, policy, NOW)
    assert domain.retry_after(state, NOW) == 15 * 60
    assert domain.retry_after(state, NOW + timedelta(minutes=15)) == 0
    later = domain.count_attempt(state, policy, NOW + timedelta(minutes=16))
    assert later.failures == 1


def test_token_expiry_idle_and_absolute():
    policy = domain.TokenPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    created = NOW
    assert not domain.token_expired(created, NOW + timedelta(minutes=29), NOW + timedelta(minutes=58), policy)
    assert domain.token_expired(created, NOW, NOW + timedelta(minutes=30), policy)
    assert domain.token_expired(created, NOW + timedelta(hours=11, minutes=59), NOW + timedelta(hours=12), policy)


def test_contact_changes():
    values, email = domain.parse_contact_changes({"phone": "07 11 22 33 44", "email": "nouvelle@example.org"})
    assert values == {"phone": "0711223344"} and email == "nouvelle@example.org"
    with pytest.raises(InvalidInput):
        domain.parse_contact_changes({"iban": "FR76"})
    with pytest.raises(InvalidInput):
        domain.parse_contact_changes({})


@pytest.mark.parametrize("token", ["é", "\ud800", "x" * 100_000, "a\nb", "", None, 42, b"bytes", {"t": 1}], ids=repr)
def test_any_value_has_a_token_digest_and_a_malformed_one_matches_no_token_handed_out(token):
    """Regression: token_digest("é") raised UnicodeEncodeError, a 500 on every route that takes a token."""
    digest = domain.token_digest(token)
    assert len(digest) == 64 and not domain.well_formed_token(token)
    assert digest != domain.token_digest(domain.new_secret_token())


def test_a_token_handed_out_is_well_formed_and_keeps_its_digest():
    token = domain.new_secret_token()
    assert domain.well_formed_token(token) and domain.token_digest(token) == domain.token_digest(str(token))
