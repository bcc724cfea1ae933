"""The gateway's cache of principals: short-lived, bounded, evicted by revocations, unused while deaf.

A fixed clock and no broker: the listener's part is played by calling listening()
and deafened() as the real one does when its connection comes and goes.
"""
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from espace_common.clock import FixedClock
from espace_common.config import ConfigError
from gateway import create_app
from gateway.principals import PrincipalCache, RevocationEcho, principals_from_settings, token_digest

from .conftest import remote

pytestmark = pytest.mark.timing  # waits of a fraction of a second: run alone, after the parallel part

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
TOKEN = "jeton-de-claire"


def principal(kind="parent", subject_id="p-1", valid_for=timedelta(minutes=30), token_kind="api", now=NOW):
    return {"kind": kind, "id": subject_id, "username": "claire", "family_id": "f-1", "roles": [], "scopes": [],
            "token_kind": token_kind, "valid_until": (now + valid_for).isoformat()}


def live_principal(**kwargs):
    """For the app, whose cache runs on the wall clock."""
    return principal(now=datetime.now(timezone.utc), **kwargs)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def cache(clock):
    cache = PrincipalCache(ttl_seconds=30, max_entries=3, clock=clock)
    cache.listening()
    return cache


def test_an_entry_lasts_the_ttl_and_no_longer(cache, clock):
    assert cache.put("d1", principal(), cache.ticket())
    clock.advance(seconds=29)
    assert cache.get("d1")["id"] == "p-1"
    clock.advance(seconds=1)
    assert cache.get("d1") is None


def test_an_entry_never_outlives_what_identity_said_the_token_is_valid_until(cache, clock):
    cache.put("d1", principal(valid_for=timedelta(seconds=5)), cache.ticket())
    clock.advance(seconds=4)
    assert cache.get("d1") is not None
    clock.advance(seconds=1)
    assert cache.get("d1") is None
    # Already past its validity: not kept at all.
    assert not cache.put("d2", principal(valid_for=timedelta(0)), cache.ticket())


def test_a_revocation_evicts_one_token_by_digest(cache):
    cache.put("d1", principal(), cache.ticket())
    cache.put("d2", principal(), cache.ticket())
    cache.revoked({"subject_kind": None, "subject_id": None, "token_digest": "d1"})
    assert cache.get("d1") is None and cache.get("d2") is not None


def test_a_revocation_of_a_subject_evicts_all_its_tokens_and_only_them(cache):
    cache.put("d1", principal(subject_id="p-1"), cache.ticket())
    cache.put("d2", principal(subject_id="p-1", token_kind="web"), cache.ticket())
    cache.put("d3", principal(kind="agent", subject_id="p-1"), cache.ticket())
    cache.revoked({"subject_kind": "parent", "subject_id": "p-1", "token_digest": None})
    assert cache.get("d1") is None and cache.get("d2") is None
    assert cache.get("d3")["kind"] == "agent"  # same id, another kind of subject


def test_an_answer_in_flight_during_a_revocation_is_not_cached(cache):
    ticket = cache.ticket()  # the request asks identity...
    cache.revoked({"token_digest": "d1"})  # ...identity revokes, the event arrives first...
    assert not cache.put("d1", principal(), ticket)  # ...and the older answer is dropped
    assert cache.get("d1") is None


def test_the_least_recently_used_entry_goes_first_when_full(cache):
    for digest in ("d1", "d2", "d3"):
        cache.put(digest, principal(subject_id=digest), cache.ticket())
    cache.get("d1")
    cache.put("d4", principal(subject_id="d4"), cache.ticket())
    assert len(cache) == 3 and cache.get("d2") is None and cache.get("d1") is not None
    cache.revoked({"subject_kind": "parent", "subject_id": "d2"})  # its subject index went with it
    assert cache.get("d4") is not None


def test_nothing_is_trusted_before_the_listener_hears_nor_while_it_is_deaf(clock):
    cache = PrincipalCache(ttl_seconds=30, clock=clock)
    assert not cache.put("d1", principal(), cache.ticket())  # not listening yet
    cache.listening()
    cache.put("d1", principal(), cache.ticket())
    ticket = cache.ticket()
    cache.deafened()
    assert cache.get("d1") is None and not cache.put("d1", principal(), ticket)
    assert not cache.put("d1", principal(), cache.ticket())
    cache.listening()
    # Back, but empty: revocations sent while deaf were missed.
    assert cache.get("d1") is None and len(cache) == 0
    assert not cache.put("d1", principal(), ticket)  # an answer older than the reconnection
    assert cache.put("d1", principal(), cache.ticket())


def test_a_ttl_of_zero_turns_the_cache_off(clock):
    cache = PrincipalCache(ttl_seconds=0, clock=clock)
    cache.listening()
    assert not cache.trusted and not cache.put("d1", principal(), cache.ticket())


def test_settings_are_numbers_and_no_listener_without_a_broker():
    cache, listener = principals_from_settings({"PRINCIPAL_CACHE_SECONDS": "12", "AMQP_URI": "amqp://x"}, listen=False)
    assert cache.ttl == timedelta(seconds=12) and listener is None
    _, listener = principals_from_settings({"PRINCIPAL_CACHE_SECONDS": "0", "AMQP_URI": "amqp://x"}, listen=True)
    assert listener is None  # nothing to keep honest
    _, listener = principals_from_settings({"AMQP_URI": "amqp://x"}, listen=True)
    assert listener is not None and listener.retry_seconds == 1
    with pytest.raises(ConfigError, match="PRINCIPAL_CACHE_SECONDS"):
        principals_from_settings({"PRINCIPAL_CACHE_SECONDS": "trente"}, listen=False)


def test_the_digest_is_the_one_identity_names():
    import hashlib
    assert token_digest(TOKEN) == hashlib.sha256(TOKEN.encode("ascii")).hexdigest()
    assert len(token_digest("é")) == 64  # a malformed token is just another digest


# --- Through the app: one round trip per token while listening, every request while deaf --------------

@pytest.fixture
def listening_app(services):
    app = create_app({"LOCAL_RUN": True, "SECRET_KEY": "test", "TESTING": True}, services=services)
    cache, _ = app.extensions["principals"]
    cache.listening()
    return app


def resolutions(services):
    return sum(1 for call in services.calls if call[1] == "resolve_token")


def test_a_listening_gateway_asks_identity_once_per_token(listening_app, services):
    services.answers[("identity", "me")] = {"account": {}}
    services.answers[("identity", "resolve_token")] = live_principal()
    client = listening_app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert resolutions(services) == 1


def test_a_deaf_gateway_asks_identity_every_request(listening_app, services):
    services.answers[("identity", "me")] = {"account": {}}
    services.answers[("identity", "resolve_token")] = live_principal()
    client = listening_app.test_client()
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"})
    listening_app.extensions["principals"][0].deafened()
    services.answers[("identity", "resolve_token")] = remote("Unauthenticated", "session_expired", "Expirée.")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
    assert resolutions(services) == 3


def test_a_cached_token_is_still_refused_on_the_wrong_side(listening_app, services):
    """A bearer token is not a web session, nor the reverse, whether cached or not."""
    services.answers[("identity", "me")] = {"account": {}}
    services.answers[("identity", "resolve_token")] = live_principal(token_kind="web")
    client = listening_app.test_client()
    for _ in range(2):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401


def test_a_revoked_token_is_asked_again(listening_app, services):
    services.answers[("identity", "me")] = {"account": {}}
    services.answers[("identity", "resolve_token")] = live_principal()
    client = listening_app.test_client()
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"})
    listening_app.extensions["principals"][0].revoked({"token_digest": token_digest(TOKEN)})
    services.answers[("identity", "resolve_token")] = remote("Unauthenticated", "session_expired", "Expirée.")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401



def test_a_token_logged_out_through_the_api_is_refused_at_once_by_the_same_process(listening_app, services):
    """No wait for identity's revocation event: the process that logged the token out forgets it itself."""
    services.answers[("identity", "me")] = {"account": {}}
    services.answers[("identity", "resolve_token")] = live_principal()
    services.answers[("identity", "logout")] = {"logged_out": True}
    client = listening_app.test_client()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.delete("/api/v1/auth/token", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 204
    services.answers[("identity", "resolve_token")] = remote("Unauthenticated", "session_expired", "Expirée.")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401

# --- A revoking call answers once this process heard its revocation -----------------------------------

class EchoingIdentity:
    """Identity and its broadcast in one: revokes in the cache, as the listener would, when told to."""

    def __init__(self, cache, echo=True):
        self.cache = cache
        self.echo = echo
        self.monitor = "the monitor"

    def call(self, service, method, *args, **kwargs):
        if method == "logout":
            if self.echo:
                threading.Timer(0.05, self.cache.revoked, [{"token_digest": token_digest(args[0])}]).start()
            return True
        if method == "change_password":
            if self.echo:
                threading.Timer(0.05, self.cache.revoked, [{"subject_kind": "parent", "subject_id": args[0]}]).start()
            return None
        return "pong"


def test_a_logout_answers_once_this_process_heard_it(cache, clock):
    cache.put(token_digest(TOKEN), principal(), cache.ticket())
    echo = RevocationEcho(EchoingIdentity(cache), cache)
    assert echo.call("identity", "logout", TOKEN) is True
    assert cache.get(token_digest(TOKEN)) is None  # already evicted when the call returns
    assert echo.monitor == "the monitor"


def test_a_lost_echo_delays_a_logout_by_the_timeout_only(cache):
    echo = RevocationEcho(EchoingIdentity(cache, echo=False), cache, timeout=0.2)
    started = time.monotonic()
    assert echo.call("identity", "logout", TOKEN) is True
    assert 0.2 <= time.monotonic() - started < 1


def test_a_password_change_waits_only_when_another_token_of_the_account_is_cached_here(cache):
    identity = EchoingIdentity(cache, echo=False)
    echo = RevocationEcho(identity, cache, timeout=0.5)
    cache.put(token_digest("kept"), principal(subject_id="p-1"), cache.ticket())
    started = time.monotonic()
    echo.call("identity", "change_password", "p-1", "old", "new", "", "kept")
    assert time.monotonic() - started < 0.2  # only the kept token is cached: no revocation to wait for
    cache.put(token_digest("other"), principal(subject_id="p-1"), cache.ticket())
    identity.echo = True
    echo.call("identity", "change_password", "p-1", "old", "new", "", keep_token="kept")
    assert cache.get(token_digest("other")) is None


def test_a_deaf_process_does_not_wait_for_an_echo(cache):
    cache.deafened()
    echo = RevocationEcho(EchoingIdentity(cache, echo=False), cache, timeout=5)
    started = time.monotonic()
    echo.call("identity", "logout", TOKEN)
    assert time.monotonic() - started < 0.5


class DownMonitor:
    def is_down(self, service):
        return service == "identity"


def test_nothing_cached_is_trusted_while_identity_is_seen_down(listening_app, services):
    """identity degraded may mean its revocations are not published: ask it (and get 503) as before."""
    services.answers[("identity", "me")] = {"account": {}}
    services.answers[("identity", "resolve_token")] = live_principal()
    client = listening_app.test_client()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    services.monitor = DownMonitor()
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resolutions(services) == 2
