"""What ops see of the suite: JSON log lines that carry the request id, and Prometheus metrics.

The request id is born at the gateway (or taken from a safe incoming X-Request-Id), travels with every
RPC call as nameko context data (the AMQP header `nameko.request_id`) and with every event through the
outbox (stored in the outbox row's payload, published as that same header), so that each log line a
request causes, in whatever process, names it. See docs/observability.md.

The gateway has no nameko (nor eventlet): only `Observability`, the services' dependency provider, needs
them, and it is made on first use (the module's __getattr__).
"""
import hmac
import json
import logging
import os
import re
import threading
import time
import uuid
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
# The key in nameko's context data; nameko sends it as the AMQP header "nameko.request_id".
REQUEST_ID_KEY = "request_id"
REQUEST_ID_AMQP_HEADER = f"nameko.{REQUEST_ID_KEY}"
# What an incoming id may look like: anything else (spaces, quotes, newlines, 10 kB) could forge log lines.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# The request id of the current thread: a gunicorn thread's request, or (eventlet patches threading)
# a nameko worker's green thread.
_current = threading.local()


def current_request_id():
    return getattr(_current, "request_id", None)


def set_request_id(request_id):
    _current.request_id = request_id


def accept_request_id(incoming):
    """The caller's id when it is safe to log and pass on, else a new one (uuid4 hex)."""
    if incoming and SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


# --- Logs ---------------------------------------------------------------------------------------------------

# Attributes every LogRecord has: what is not among them came from `extra=` and is a field of the line.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC), level, logger, message, request_id, then the extra fields."""

    def __init__(self, service=None, fmt=None, datefmt=None, style="%", validate=True, **kwargs):
        super().__init__(fmt, datefmt, style, validate, **kwargs)
        self.service = service

    def format(self, record):
        stamp = datetime.fromtimestamp(record.created, timezone.utc)
        line = {
            "timestamp": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.service:
            line["service"] = self.service
        line["request_id"] = getattr(record, REQUEST_ID_KEY, None) or current_request_id()
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on each record that passes the handler (None outside a request)."""

    def filter(self, record):
        if getattr(record, REQUEST_ID_KEY, None) is None:
            setattr(record, REQUEST_ID_KEY, current_request_id())
        return True


def json_handler(stream=None, service=None):
    """A stream handler writing JSON lines with the request id: for processes not configured by a file."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service=service))
    handler.addFilter(RequestIdFilter())
    return handler


# --- Metrics: shared pieces -----------------------------------------------------------------------------------

METRICS_TOKEN_ENV = "METRICS_TOKEN"


def bearer_allowed(authorization, token):
    """True when no token is required, or the Authorization header carries it (compared in constant time)."""
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


UNAUTHORISED_BODY = json.dumps({"code": "unauthenticated",
                                "message": "Les métriques demandent un jeton (Authorization: Bearer)."}).encode()
PRIVATE_HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]


def metrics_wsgi_app(registry, token=None):
    """prometheus_client's WSGI app on /metrics only, behind the bearer token when one is set."""
    inner = make_wsgi_app(registry)

    def app(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "application/json"), *PRIVATE_HEADERS])
            return [json.dumps({"code": "not_found", "message": "Seul /metrics est servi ici."}).encode()]
        if not bearer_allowed(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("401 Unauthorized", [("Content-Type", "application/json"),
                                                ("WWW-Authenticate", 'Bearer realm="metrics"'), *PRIVATE_HEADERS])
            return [UNAUTHORISED_BODY]

        def private_start_response(status, headers, exc_info=None):
            return start_response(status, [*headers, *PRIVATE_HEADERS], exc_info)
        return inner(environ, private_start_response)
    return app


# --- Metrics of a service -------------------------------------------------------------------------------------

QUEUE_CACHE_SECONDS = 5.0


class QueueDepths:
    """Messages waiting and consumers of the service's own queues, by passive declare, cached a few seconds."""

    def __init__(self, amqp_uri, queues):
        self.amqp_uri = amqp_uri
        self.queues = tuple(queues)
        self._connection = None
        self._read_at = None
        self._depths = {}
        self._lock = threading.Lock()

    def read(self):
        """{queue: (messages, consumers)}; a queue that does not exist (yet) is left out."""
        with self._lock:
            if self._read_at is None or time.monotonic() - self._read_at >= QUEUE_CACHE_SECONDS:
                kept = self._connection is not None
                self._depths = self._declare_all()
                if kept and self._connection is None:  # the kept connection had died meanwhile: once more
                    self._depths = self._declare_all()
                self._read_at = time.monotonic()
            return dict(self._depths)

    def _declare_all(self):
        from kombu import Connection
        from amqp.exceptions import NotFound

        from .amqp import BROKER_ERRORS
        depths = {}
        try:
            if self._connection is None:
                self._connection = Connection(self.amqp_uri, connect_timeout=2)
                self._connection.ensure_connection(max_retries=1, timeout=2)
            channel = self._connection.channel()
            for queue in self.queues:
                try:
                    _, messages, consumers = channel.queue_declare(queue=queue, passive=True)
                    depths[queue] = (messages, consumers)
                except NotFound:  # the broker closes the channel on an unknown queue
                    channel = self._connection.channel()
            channel.close()
        except BROKER_ERRORS as exc:
            log.warning("queue depths not read, the broker cannot be asked: %s: %s", exc.__class__.__name__, exc)
            self.close()
        return depths

    def close(self):
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # a broken connection may fail to close; it is dropped anyway
                pass


def invoicing_run_metrics(engine, tables):
    """billing: its invoicing runs by régie and outcome, and how long they took from start to drafts."""
    runs = tables.invoicing_runs
    counts = GaugeMetricFamily("espace_invoicing_runs", "Invoicing runs in billing's database by régie and outcome "
                               "(running, failing: running with an error awaiting its retry, draft, final).",
                               labels=["regie", "outcome"])
    from sqlalchemy import case, func, select
    with engine.connect() as connection:
        connection = connection.execution_options(sqlite_begin="DEFERRED")
        outcome = case((runs.c.status.in_(("draft", "final")), runs.c.status),
                       (runs.c.error.is_not(None), "failing"), else_="running")
        for regie, label, number in connection.execute(
                select(runs.c.regie, outcome, func.count()).group_by(runs.c.regie, outcome)):
            counts.add_metric([regie, label], number)
        finished = connection.execute(select(runs.c.regie, runs.c.started_at, runs.c.updated_at).where(
            runs.c.status.in_(("draft", "final")), runs.c.updated_at.is_not(None))).all()
    yield counts
    durations = HistogramMetricFamily(
        "espace_invoicing_run_duration_seconds",
        "From a run's start to its drafts being ready (retries included), over the computed runs in billing's "
        "database, by régie.", labels=["regie"])
    for regie in sorted({row.regie for row in finished}):
        seconds = [(row.updated_at - row.started_at).total_seconds() for row in finished if row.regie == regie]
        buckets = [(floatToGoString(bound), sum(1 for s in seconds if s <= bound)) for bound in RUN_BUCKETS]
        buckets.append(("+Inf", len(seconds)))
        durations.add_metric([regie], buckets, sum(seconds))
    yield durations


RUN_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


def payment_metrics(engine, tables):
    """payment: its card payments by outcome (the transaction's status) and their amount."""
    table = tables.card_transactions
    counts = GaugeMetricFamily("espace_payments", "Card payments in payment's database by outcome "
                               "(pending, paid, refused, cancelled, ...).", labels=["outcome"])
    amounts = GaugeMetricFamily("espace_payments_amount_cents", "Their amount, in cents, by outcome.",
                                labels=["outcome"])
    from sqlalchemy import func, select
    with engine.connect() as connection:
        connection = connection.execution_options(sqlite_begin="DEFERRED")
        for status, number, cents in connection.execute(
                select(table.c.status, func.count(), func.coalesce(func.sum(table.c.amount_cents), 0))
                .group_by(table.c.status)):
            counts.add_metric([status], number)
            amounts.add_metric([status], cents)
    yield counts
    yield amounts


# The facts a service's own database tells at scrape time, beyond the outbox every service has.
DATABASE_METRICS = {"billing": invoicing_run_metrics, "payment": payment_metrics}


class ScrapeTimeCollector:
    """Reads the outbox backlog, the queues and the service's own facts when Prometheus asks, never before."""

    def __init__(self, service, database=None, queues=None):
        self.service = service
        self.database = database  # the service's Database provider: its engine, tables and outbox relay
        self.queues = queues

    def describe(self):
        return []  # nothing is read at registration

    def collect(self):
        if self.database is not None:
            yield from self._outbox()
            extra = DATABASE_METRICS.get(self.service)
            if extra is not None:
                try:
                    yield from extra(self.database.engine, self.database.tables)
                except Exception as exc:  # a scrape reports what it can; the database check says why
                    log.warning("%s's metrics not read from its database: %s", self.service, exc)
        if self.queues is not None:
            messages = GaugeMetricFamily("espace_queue_messages", "Messages ready in the service's own queues "
                                         "(read by passive declare, cached a few seconds).",
                                         labels=["service", "queue"])
            consumers = GaugeMetricFamily("espace_queue_consumers", "Consumers of the service's own queues.",
                                          labels=["service", "queue"])
            for queue, (ready, listening) in sorted(self.queues.read().items()):
                messages.add_metric([self.service, queue], ready)
                consumers.add_metric([self.service, queue], listening)
            yield messages
            yield consumers

    def _outbox(self):
        from sqlalchemy import func, select
        outbox = self.database.tables.outbox
        try:
            with self.database.engine.connect() as connection:
                connection = connection.execution_options(sqlite_begin="DEFERRED")
                pending, oldest = connection.execute(select(func.count(), func.min(outbox.c.occurred_at)).where(
                    outbox.c.published_at.is_(None))).one()
        except Exception as exc:  # the database is down: health() says so; the gauges are left out
            log.warning("%s's outbox backlog not read: %s", self.service, exc)
            return
        yield _gauge("espace_outbox_pending", "Events committed in the service's outbox and not yet published.",
                     self.service, pending)
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=timezone.utc)
            age = max(0.0, (datetime.now(timezone.utc) - oldest).total_seconds())
        yield _gauge("espace_outbox_oldest_pending_seconds", "Age of the oldest unpublished event (0: none waits).",
                     self.service, age)


def _gauge(name, documentation, service, value):
    family = GaugeMetricFamily(name, documentation, labels=["service"])
    family.add_metric([service], value)
    return family


class ServiceMetrics:
    """A service's registry: its workers' latencies and outcomes, plus what is read at scrape time."""

    def __init__(self, service, registry=None):
        from prometheus_client import GCCollector, PlatformCollector, ProcessCollector
        self.service = service
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.rpc_duration = Histogram(
            "espace_rpc_duration_seconds", "Time a service took to handle an RPC call, from its worker's set-up to "
            "its result (reply sent), by method and outcome (ok, refused: a domain error, error).",
            ["service", "method", "outcome"], registry=self.registry)
        self.events_handled = Counter(
            "espace_events_handled", "Events a service's handlers ran on, by source, event type, handler and "
            "outcome (ok, error).", ["service", "source", "event", "handler", "outcome"], registry=self.registry)
        self.event_duration = Histogram(
            "espace_event_handler_duration_seconds", "Time an event handler took, by handler.",
            ["service", "handler"], registry=self.registry)

    def observe_rpc(self, method, seconds, exc_info):
        self.rpc_duration.labels(self.service, method, outcome_of(exc_info)).observe(seconds)

    def observe_event(self, source, event, handler, seconds, exc_info):
        outcome = "ok" if exc_info is None else "error"
        self.events_handled.labels(self.service, source, event, handler, outcome).inc()
        self.event_duration.labels(self.service, handler).observe(seconds)


def outcome_of(exc_info):
    """ok, refused (a domain error: the caller asked for something the rules refuse) or error."""
    if exc_info is None:
        return "ok"
    from .errors import DOMAIN_ERRORS
    return "refused" if exc_info[0].__name__ in DOMAIN_ERRORS else "error"


# One line per worker, as the gateway's access log has one per request; the probes' calls only at DEBUG
# (each gateway worker asks every service's health() every second).
worker_log = logging.getLogger("espace.worker")
QUIET_METHODS = {"health", "ping"}


class MetricsServer:
    """/metrics of a service on its own port, served by a green WSGI server (services run under eventlet)."""

    def __init__(self, registry, host, port, token=None):
        self.app = metrics_wsgi_app(registry, token)
        self.host = host
        self.port = port
        self._socket = None
        self._thread = None

    def start(self):
        import eventlet
        import eventlet.wsgi
        self._socket = eventlet.listen((self.host, self.port))
        self.port = self._socket.getsockname()[1]
        self._thread = eventlet.spawn(eventlet.wsgi.server, self._socket, self.app, log_output=False,
                                      socket_timeout=10)

    def stop(self):
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _observability_provider():
    """The services' dependency provider, made when a service first imports it (nameko is there then)."""
    from nameko.extensions import DependencyProvider

    class Observability(DependencyProvider):
        """A service's request id in its log lines, the latency and outcome of its workers, and its /metrics.

        Each worker's request id comes from nameko's context data (the caller's RPC header, or the event's
        header set by the outbox relay); it is this green thread's current id from set-up to tear-down, so the
        log filter, the RPC client and the unit of work's outbox see it. /metrics listens only when METRICS_PORT
        is set (Kubernetes sets it; locally, replicas on one host would clash).
        """

        def setup(self):
            from nameko.events import EventHandler
            from nameko.rpc import Rpc

            from .events import SUBSCRIPTIONS
            from .nameko_support import Database
            self._rpc_type, self._event_type = Rpc, EventHandler
            service = self.container.service_name
            self.metrics = ServiceMetrics(service)
            self._started = {}
            database = next((d for d in self.container.dependencies if isinstance(d, Database)), None)
            queues = [f"rpc-{service}"] + [s.queue_name for s in SUBSCRIPTIONS if s.service == service]
            self.queue_depths = QueueDepths(self.container.config["AMQP_URI"], queues)
            self.metrics.registry.register(ScrapeTimeCollector(service, database, self.queue_depths))
            self.server = None
            port = os.environ.get("METRICS_PORT")
            if port:
                self.server = MetricsServer(self.metrics.registry, os.environ.get("METRICS_HOST", "0.0.0.0"), int(port),
                                            os.environ.get(METRICS_TOKEN_ENV))

        def start(self):
            if self.server is not None:
                try:
                    self.server.start()
                except OSError as exc:  # a port taken on a developer's machine: the service itself still serves
                    log.error("metrics not served: cannot listen on %s:%s (%s)", self.server.host, self.server.port,
                              exc.strerror or exc)
                    self.server = None
                    return
                log.info("metrics served on %s:%s/metrics", self.server.host, self.server.port)

        def stop(self):
            if self.server is not None:
                self.server.stop()
            self.queue_depths.close()

        def kill(self):
            self.stop()

        def get_dependency(self, worker_ctx):
            return None  # nothing for the worker itself: everything happens around it

        def worker_setup(self, worker_ctx):
            set_request_id(worker_ctx.data.get(REQUEST_ID_KEY))
            self._started[worker_ctx.call_id] = time.perf_counter()

        def worker_result(self, worker_ctx, result=None, exc_info=None):
            started = self._started.pop(worker_ctx.call_id, None)
            if started is None:
                return
            seconds = time.perf_counter() - started
            entrypoint = worker_ctx.entrypoint
            fields = {"entrypoint": entrypoint.method_name, "outcome": outcome_of(exc_info),
                      "duration_ms": round(seconds * 1000, 1)}
            if isinstance(entrypoint, self._rpc_type):
                self.metrics.observe_rpc(entrypoint.method_name, seconds, exc_info)
                level = logging.DEBUG if entrypoint.method_name in QUIET_METHODS else logging.INFO
                worker_log.log(level, "rpc %s.%s %s", self.container.service_name, entrypoint.method_name,
                               fields["outcome"], extra={"kind": "rpc", **fields})
            elif isinstance(entrypoint, self._event_type):
                self.metrics.observe_event(entrypoint.source_service, entrypoint.event_type, entrypoint.method_name,
                                           seconds, exc_info)
                worker_log.info("event %s.%s handled by %s %s", entrypoint.source_service, entrypoint.event_type,
                                entrypoint.method_name, fields["outcome"],
                                extra={"kind": "event", "event": f"{entrypoint.source_service}.{entrypoint.event_type}",
                                       **fields})
            else:  # timers: every few seconds, at DEBUG
                worker_log.debug("timer %s %s", entrypoint.method_name, fields["outcome"],
                                 extra={"kind": "timer", **fields})

        def worker_teardown(self, worker_ctx):
            self._started.pop(worker_ctx.call_id, None)
            set_request_id(None)

    Observability.__qualname__ = "Observability"
    return Observability


def __getattr__(name):
    if name == "Observability":
        provider = globals()["Observability"] = _observability_provider()
        return provider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
