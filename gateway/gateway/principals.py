"""Who holds a token, remembered for a few seconds, and forgotten the moment identity revokes it.

Asking identity on every request costs a round trip per request. Each gateway
process (each gunicorn worker) therefore keeps the principals identity resolved
recently, by token digest, and trusts an entry:

- for PRINCIPAL_CACHE_SECONDS at most (30 by default; 0 turns the cache off),
  and never past the instant identity gave as `valid_until` (the token's
  absolute expiry, or its idle expiry if it is not used again);
- only while the process hears identity's revocations: a RevocationListener
  thread keeps a broker connection of its own, bound to the broadcast
  `identity.credentials_revoked`, and evicts what each one names. When that
  connection drops, the cache is emptied and bypassed (every request asks
  identity again) until the listener is back, since revocations sent meanwhile
  are lost for this process.

A resolution that was in flight when a revocation arrived is not cached (the
cache's generation moved on meanwhile), so a revoked token cannot slip back in.
"""
import hashlib
import logging
import os
import socket
import threading
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from kombu import Connection, Consumer, Queue

from espace_common.amqp import event_exchange
from espace_common.clock import SystemClock
from espace_common.config import ConfigError
from espace_common.events import CREDENTIALS_REVOKED

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 30
DEFAULT_MAX_ENTRIES = 10_000
HEARTBEAT_SECONDS = 10
# A revoking call answers once this process heard the revocation, or after this long at most.
ECHO_TIMEOUT_SECONDS = 1.0
RECENT_REVOCATIONS = 1000


def token_digest(token):
    """The digest identity stores and names in its revocations (SHA-256, hexadecimal)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class _Entry:
    principal: dict
    until: datetime
    subject: tuple


class PrincipalCache:
    """Principals by token digest: bounded (least recently used goes first), short-lived, evictable.

    Thread-safe; the clock gives aware UTC instants (espace_common.clock).
    """

    def __init__(self, ttl_seconds=DEFAULT_TTL_SECONDS, max_entries=DEFAULT_MAX_ENTRIES, clock=None):
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_entries = max_entries
        self.clock = clock or SystemClock()
        self._entries = OrderedDict()
        self._by_subject = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._generation = 0
        self._heard = deque(maxlen=RECENT_REVOCATIONS)  # (generation, digest, subject) of recent revocations
        # Nothing is trusted until a listener says it hears the revocations.
        self._listening = False

    @property
    def enabled(self):
        return self.ttl > timedelta(0) and self.max_entries > 0

    @property
    def trusted(self):
        """True while entries may be used: enabled, and the revocations are heard."""
        return self.enabled and self._listening

    def __len__(self):
        return len(self._entries)

    def ticket(self):
        """Take one before asking identity; put() refuses the answer if anything was revoked meanwhile."""
        return self._generation

    def get(self, digest):
        """The principal cached for this token digest, or None (then ask identity)."""
        if not self.trusted:
            return None
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if self.clock.now() >= entry.until:
                self._remove(digest)
                return None
            self._entries.move_to_end(digest)
            return dict(entry.principal)  # a request may not change what the next one sees

    def put(self, digest, principal, ticket):
        """Remember what identity answered, unless a revocation (or deafness) came since `ticket`."""
        if not self.trusted:
            return False
        until = self.clock.now() + self.ttl
        valid_until = principal.get("valid_until")
        if valid_until:
            until = min(until, datetime.fromisoformat(valid_until))
        subject = (principal["kind"], principal["id"])
        with self._lock:
            if ticket != self._generation or not self._listening or until <= self.clock.now():
                return False
            self._remove(digest)
            self._entries[digest] = _Entry(principal, until, subject)
            self._by_subject.setdefault(subject, set()).add(digest)
            while len(self._entries) > self.max_entries:
                self._remove(next(iter(self._entries)))
        return True

    def evict_token(self, digest):
        with self._lock:
            self._generation += 1
            self._remove(digest)
            self._heard.append((self._generation, digest, None))
            self._changed.notify_all()

    def evict_subject(self, kind, subject_id):
        with self._lock:
            self._generation += 1
            for digest in list(self._by_subject.get((kind, subject_id), ())):
                self._remove(digest)
            self._heard.append((self._generation, None, (kind, subject_id)))
            self._changed.notify_all()

    def holds_subject(self, kind, subject_id, except_digest=None):
        """True when a token of this subject, other than except_digest, is cached here."""
        with self._lock:
            return bool(self._by_subject.get((kind, subject_id), set()) - {except_digest})

    def wait_heard(self, since, digest=None, subject=None, timeout=ECHO_TIMEOUT_SECONDS):
        """Wait until a revocation of this token or subject was heard after ticket `since`; False if it was
        not within `timeout` (or the cache went deaf, which empties it anyway)."""
        def heard():
            return not self._listening or any(
                generation > since and ((digest and heard_digest == digest) or (subject and heard_subject == subject))
                for generation, heard_digest, heard_subject in self._heard)
        with self._lock:
            return self._changed.wait_for(heard, timeout) and self._listening

    def revoked(self, data):
        """Apply one credentials_revoked event: a token by digest, or every token of a subject."""
        if data.get("token_digest"):
            self.evict_token(data["token_digest"])
        if data.get("subject_kind") and data.get("subject_id"):
            self.evict_subject(data["subject_kind"], data["subject_id"])

    def deafened(self):
        """The revocations are not heard any more: trust nothing, forget everything."""
        with self._lock:
            self._listening = False
            self._generation += 1
            self._entries.clear()
            self._by_subject.clear()
            self._changed.notify_all()

    def listening(self):
        """The revocations are heard again: start from empty (some may have been missed meanwhile)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._by_subject.clear()
            self._listening = True

    def _remove(self, digest):
        entry = self._entries.pop(digest, None)
        if entry is not None:
            digests = self._by_subject.get(entry.subject)
            if digests is not None:
                digests.discard(digest)
                if not digests:
                    del self._by_subject[entry.subject]


class RevocationListener:
    """One thread per process that feeds identity's revocations to a PrincipalCache.

    It has its own connection (heartbeats on) and an exclusive, auto-deleted queue
    bound to identity's event exchange; any failure makes the cache deaf until the
    listener has reconnected and bound its queue again.
    """

    def __init__(self, amqp_uri, cache, retry_seconds=1.0):
        self.amqp_uri = amqp_uri
        self.cache = cache
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread = None
        self._pid = None
        self._start_lock = threading.Lock()
        self.last_error = None

    def ensure_started(self):
        """Start the thread in this process, once; a forked child (a gunicorn worker) starts its own."""
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self.cache.deafened()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="revocation-listener", daemon=True)
            self._thread.start()
            self._pid = os.getpid()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _queue(self):
        name = f"gateway-revocations.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        return Queue(name, exchange=event_exchange("identity"), routing_key=CREDENTIALS_REVOKED,
                     durable=False, exclusive=True, auto_delete=True)

    def _on_message(self, body, message):
        try:
            self.cache.revoked(body.get("data") or {})
        except Exception:  # a malformed event must not kill the listener; forget everything to be safe
            log.exception("unreadable revocation %r: the cache is emptied", body)
            self.cache.listening()

    def _run(self):
        while not self._stop.is_set():
            try:
                with Connection(self.amqp_uri, heartbeat=HEARTBEAT_SECONDS, connect_timeout=5, transport_options={
                        "client_properties": {"connection_name": f"gateway revocations (pid {os.getpid()})"}},
                        ) as connection:
                    connection.ensure_connection(max_retries=1)
                    with Consumer(connection.channel(), queues=[self._queue()], callbacks=[self._on_message],
                                  accept=["json"], no_ack=True):
                        # The queue is bound: from here on no revocation is missed.
                        self.cache.listening()
                        if self.last_error:
                            log.warning("revocations heard again; the principal cache starts empty")
                        self.last_error = None
                        while not self._stop.is_set():
                            try:
                                connection.drain_events(timeout=1)
                            except socket.timeout:
                                connection.heartbeat_check()
            except Exception as exc:  # any failure: deaf until reconnected
                self.cache.deafened()
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                log.warning("revocations not heard (%s): every request asks identity until reconnected",
                            self.last_error)
                self._stop.wait(self.retry_seconds)
        self.cache.deafened()


class RevocationEcho:
    """The services, seen through a process that caches principals: a call that revokes answers once this
    process has heard the revocation (a second at most).

    The other processes hear the same broadcast at the same moment, so a client that logs out and
    tries its token again, on any gateway process, is refused. Every other call passes straight through.
    """

    def __init__(self, services, cache, timeout=ECHO_TIMEOUT_SECONDS):
        self._services = services
        self._cache = cache
        self._timeout = timeout

    def __getattr__(self, name):  # monitor, pool... as the wrapped services have them
        return getattr(self._services, name)

    def call(self, service, method, *args, **kwargs):
        if service != "identity" or method not in ("logout", "change_password") or not self._cache.trusted:
            return self._services.call(service, method, *args, **kwargs)
        ticket = self._cache.ticket()
        if method == "change_password":
            # The other tokens of the account end; only those cached somewhere matter, and if one is cached
            # here identity revokes it and tells us (the kept token is the one making this call).
            account_id = args[0] if args else kwargs.get("account_id")
            keep = kwargs.get("keep_token", args[4] if len(args) > 4 else None)
            expect_echo = self._cache.holds_subject("parent", account_id, token_digest(keep) if keep else None)
            result = self._services.call(service, method, *args, **kwargs)
            if expect_echo:
                self._cache.wait_heard(ticket, subject=("parent", account_id), timeout=self._timeout)
            return result
        token = args[0] if args else kwargs.get("token")
        result = self._services.call(service, method, *args, **kwargs)
        if result is True and token:  # identity answers True when it revoked a live token
            self._cache.wait_heard(ticket, digest=token_digest(token), timeout=self._timeout)
        return result


def _number(settings, name, default):
    value = settings.get(name, default)
    try:
        value = float(default if value in (None, "") else value)
    except (TypeError, ValueError):
        raise ConfigError(name, "must be a number.") from None
    if value < 0:
        raise ConfigError(name, "must not be negative.")
    return value


def principals_from_settings(settings, listen, clock=None):
    """The cache and, when `listen` (a real broker), the listener that keeps it honest."""
    cache = PrincipalCache(_number(settings, "PRINCIPAL_CACHE_SECONDS", DEFAULT_TTL_SECONDS),
                           int(_number(settings, "PRINCIPAL_CACHE_SIZE", DEFAULT_MAX_ENTRIES)), clock)
    listener = None
    if listen and cache.enabled:
        listener = RevocationListener(settings["AMQP_URI"], cache,
                                      _number(settings, "REVOCATION_RETRY_SECONDS", 1))
    return cache, listener
