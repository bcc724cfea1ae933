"""The JSON log lines, the request id's rules, the metrics page's guard and the facts read from a database."""
import io
import json
import logging
import logging.config
import threading
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import insert

from espace_common import observability
from espace_common.db import UnitOfWork, create_database_engine, messaging_tables, new_metadata
from espace_common.events import Event
from espace_common.nameko_support import Tables
from espace_common.observability import (
    JsonFormatter, RequestIdFilter, ScrapeTimeCollector, accept_request_id, bearer_allowed, current_request_id,
    json_handler, metrics_wsgi_app, set_request_id,
)


@pytest.fixture
def logger():
    stream = io.StringIO()
    log = logging.getLogger(f"test.observability.{id(stream)}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    log.addHandler(json_handler(stream, service="canteen"))
    log.stream = stream
    yield log
    set_request_id(None)


def lines(log):
    return [json.loads(line) for line in log.stream.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_the_fields_ops_read(logger):
    set_request_id("req-42")
    logger.warning("réservation de %s refusée\nligne suivante", "Zoé", extra={"status": 409, "duration_ms": 1.5})
    assert len(logger.stream.getvalue().splitlines()) == 1
    [line] = lines(logger)
    assert line["message"] == "réservation de Zoé refusée\nligne suivante"
    assert line["level"] == "WARNING" and line["logger"] == logger.name and line["service"] == "canteen"
    assert line["request_id"] == "req-42" and line["status"] == 409 and line["duration_ms"] == 1.5
    stamp = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    assert abs(stamp - datetime.now(timezone.utc)) < timedelta(seconds=5) and line["timestamp"].endswith("Z")
    assert "é" in logger.stream.getvalue()  # UTF-8 as it is, not \u escapes


def test_outside_a_request_the_request_id_is_null(logger):
    logger.info("relay drained")
    assert lines(logger)[0]["request_id"] is None


def test_an_exception_stays_in_its_line(logger):
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    [line] = lines(logger)
    assert line["level"] == "ERROR" and "ValueError: boom" in line["exception"] and "Traceback" in line["exception"]


def test_a_value_json_cannot_write_is_written_as_text(logger):
    logger.info("at", extra={"when": datetime(2026, 12, 3, tzinfo=timezone.utc), "what": {1, 2} and object()})
    [line] = lines(logger)
    assert line["when"].startswith("2026-12-03") and line["what"].startswith("<object")


def test_each_thread_has_its_own_request_id():
    set_request_id("main")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(current_request_id()))
    thread.start()
    thread.join()
    assert seen == [None] and current_request_id() == "main"
    set_request_id(None)


def test_the_filter_keeps_an_id_given_with_the_record():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    record.request_id = "given"
    set_request_id("current")
    assert RequestIdFilter().filter(record) and record.request_id == "given"
    set_request_id(None)


def test_the_formatter_is_built_by_dict_config_as_the_services_configure_it():
    stream = io.StringIO()
    logging.config.dictConfig({
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": "espace_common.observability.JsonFormatter", "service": "billing"}},
        "filters": {"request_id": {"()": "espace_common.observability.RequestIdFilter"}},
        "handlers": {"mem": {"class": "logging.StreamHandler", "stream": stream, "formatter": "json",
                             "filters": ["request_id"]}},
        "loggers": {"test.dictconfig": {"handlers": ["mem"], "level": "INFO", "propagate": False}},
    })
    logging.getLogger("test.dictconfig").info("hello")
    assert json.loads(stream.getvalue())["service"] == "billing"


@pytest.mark.parametrize("given", ["abc", "A.b_c-9", "x" * 64, "0f" * 16])
def test_a_safe_request_id_is_kept(given):
    assert accept_request_id(given) == given


@pytest.mark.parametrize("given", [None, "", "x" * 65, "deux mots", "a\nb", 'quo"te', "é", "a/b", "a;b"])
def test_an_unsafe_or_missing_request_id_is_replaced(given):
    made = accept_request_id(given)
    assert made != given and len(made) == 32 and int(made, 16) >= 0


@pytest.mark.parametrize("header, allowed", [
    (None, False), ("", False), ("Bearer wrong", False), ("Basic s3cret", False), ("Bearer s3cret", True),
    ("bearer s3cret", True), ("Bearer s3cret-and-more", False),
])
def test_the_metrics_token(header, allowed):
    assert bearer_allowed(header, "s3cret") is allowed
    assert bearer_allowed(header, None) and bearer_allowed(header, "")


def call(app, path="/metrics", authorization=None):
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
    if authorization:
        environ["HTTP_AUTHORIZATION"] = authorization
    answer["body"] = b"".join(app(environ, start_response))
    return answer


def test_the_metrics_page_wants_the_token_when_one_is_set():
    registry = CollectorRegistry()
    app = metrics_wsgi_app(registry, "s3cret")
    refused = call(app)
    assert refused["status"].startswith("401") and json.loads(refused["body"])["code"] == "unauthenticated"
    assert refused["headers"]["Cache-Control"] == "no-store"
    served = call(app, authorization="Bearer s3cret")
    assert served["status"].startswith("200") and served["headers"]["Cache-Control"] == "no-store"
    assert call(app, "/other", "Bearer s3cret")["status"].startswith("404")
    assert call(metrics_wsgi_app(registry))["status"].startswith("200")


# --- What a service's database tells at scrape time ------------------------------------------------------------

@pytest.fixture
def messaging_database(tmp_path):
    metadata = new_metadata()
    messaging_tables(metadata)
    engine = create_database_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    metadata.create_all(engine)
    yield engine, Tables(metadata)
    engine.dispose()


class FakeDatabase:
    def __init__(self, engine, tables):
        self.engine, self.tables = engine, tables


def scrape(collector):
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def record(engine, tables, event, request_id=None):
    """Commit one event in the outbox, within a request of that id (None: outside any request)."""
    set_request_id(request_id)
    try:
        with UnitOfWork(engine, outbox=tables.outbox) as uow:
            uow.record(event)
            uow.commit()
    finally:
        set_request_id(None)


def test_an_event_recorded_in_a_request_keeps_its_id_in_the_outbox(messaging_database):
    engine, tables = messaging_database
    record(engine, tables, Event("canteen", "meal_reserved", {"day": "2026-12-07"}), "req-outbox")
    record(engine, tables, Event("canteen", "meal_reserved", {"day": "2026-12-08"}))
    with engine.connect() as connection:
        payloads = [row.payload for row in connection.execute(tables.outbox.select().order_by("position"))]
    assert payloads[0]["request_id"] == "req-outbox" and "request_id" not in payloads[1]
    text = scrape(ScrapeTimeCollector("canteen", FakeDatabase(engine, tables)))
    assert 'espace_outbox_pending{service="canteen"} 2.0' in text
    age = float(text.split('espace_outbox_oldest_pending_seconds{service="canteen"} ')[1].split()[0])
    assert 0 <= age < 60


def test_the_outbox_backlog_counts_only_unpublished_events(messaging_database):
    engine, tables = messaging_database
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        connection.execute(insert(tables.outbox), [
            {"event_id": f"e{n}", "event_type": "t", "payload": {}, "occurred_at": now - timedelta(minutes=n),
             "published_at": now if n % 2 else None} for n in range(5)])
    text = scrape(ScrapeTimeCollector("canteen", FakeDatabase(engine, tables)))
    assert 'espace_outbox_pending{service="canteen"} 3.0' in text
    age = float(text.split('espace_outbox_oldest_pending_seconds{service="canteen"} ')[1].split()[0])
    assert 239 < age < 300  # the oldest unpublished one is 4 minutes old


def migrated(service, tmp_path):
    from espace_deploy.testing import migrated_sqlite
    from importlib import import_module
    path = migrated_sqlite(service, tmp_path)
    metadata = import_module(f"{service}.orm").metadata
    return create_database_engine(f"sqlite:///{path}"), Tables(metadata)


def test_billing_tells_its_invoicing_runs_by_outcome_and_their_duration(tmp_path):
    engine, tables = migrated("billing", tmp_path)
    start = datetime(2026, 12, 1, 8, tzinfo=timezone.utc)
    rows = [("r1", "affaires_scolaires", "2026-10", "final", None, 40), ("r2", "affaires_scolaires", "2026-11", "draft",
            None, 200), ("r3", "petite_enfance", "2026-11", "running", "le multi-accueil ne répond pas", None),
            ("r4", "petite_enfance", "2026-10", "running", None, None)]
    with engine.begin() as connection:
        for run_id, regie, month, status, error, seconds in rows:
            connection.execute(insert(tables.invoicing_runs).values(
                id=run_id, regie=regie, month=month, status=status, started_at=start, error=error, done=0, total=0,
                attempts=0, updated_at=start + timedelta(seconds=seconds) if seconds else None))
    text = scrape(ScrapeTimeCollector("billing", FakeDatabase(engine, tables)))
    for regie, outcome in [("affaires_scolaires", "final"), ("affaires_scolaires", "draft"),
                           ("petite_enfance", "failing"), ("petite_enfance", "running")]:
        assert f'espace_invoicing_runs{{outcome="{outcome}",regie="{regie}"}} 1.0' in text
    assert 'espace_invoicing_run_duration_seconds_count{regie="affaires_scolaires"} 2.0' in text
    assert 'espace_invoicing_run_duration_seconds_sum{regie="affaires_scolaires"} 240.0' in text
    assert 'espace_invoicing_run_duration_seconds_bucket{le="60.0",regie="affaires_scolaires"} 1.0' in text
    assert 'espace_outbox_pending{service="billing"} 0.0' in text
    engine.dispose()


def test_payment_tells_its_card_payments_by_outcome(tmp_path):
    engine, tables = migrated("payment", tmp_path)
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        for n, (status, cents) in enumerate([("paid", 4150), ("paid", 1000), ("refused", 700), ("pending", 300)]):
            connection.execute(insert(tables.card_transactions).values(
                id=f"t{n}", reference=f"ref{n}", invoice_id="i", family_id="f", amount_cents=cents,
                payer_email="a@example.fr", server_url="https://x", status=status, created_at=now))
    text = scrape(ScrapeTimeCollector("payment", FakeDatabase(engine, tables)))
    assert 'espace_payments{outcome="paid"} 2.0' in text and 'espace_payments{outcome="refused"} 1.0' in text
    assert 'espace_payments_amount_cents{outcome="paid"} 5150.0' in text
    engine.dispose()


def test_a_database_that_fails_leaves_its_gauges_out_and_the_scrape_answers(messaging_database):
    engine, tables = messaging_database
    engine.dispose()
    from sqlalchemy import create_engine
    broken = FakeDatabase(create_engine("sqlite:////proc/nonexistent/x.sqlite"), tables)
    text = scrape(ScrapeTimeCollector("canteen", broken))
    assert "espace_outbox_pending{" not in text


def test_worker_outcomes():
    from espace_common.errors import InvalidInput
    assert observability.outcome_of(None) == "ok"
    assert observability.outcome_of((InvalidInput, InvalidInput("x", "y"), None)) == "refused"
    assert observability.outcome_of((KeyError, KeyError("x"), None)) == "error"


@pytest.mark.broker
def test_the_relay_publishes_the_request_id_as_the_events_header_not_in_its_body(messaging_database, vhost):
    from kombu import Connection

    from espace_common.clock import SystemClock
    from espace_common.nameko_support import OutboxRelay
    engine, tables = messaging_database
    record(engine, tables, Event("identity", "family_registered", {"family_id": "f1"}), "req-relayed")
    relay = OutboxRelay(engine, tables, "identity", vhost.amqp_uri, SystemClock())
    try:
        assert relay.drain() is False
    finally:
        relay.reset()
    with Connection(vhost.amqp_uri) as connection:
        message = connection.channel().basic_get("evt-identity-family_registered--canteen.on_family_registered",
                                                 no_ack=True)
    assert message is not None
    assert message.headers["nameko.request_id"] == "req-relayed"
    body = json.loads(message.body)
    assert body["data"] == {"family_id": "f1"} and "request_id" not in body
