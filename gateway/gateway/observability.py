"""The gateway's part of observability: each request's id, its metrics, and /metrics.

The request id is the caller's X-Request-Id when it is safe to log, else a new one; it is answered in
X-Request-Id, put on every log line of the request (and on gunicorn's access line) and sent with every RPC
call (espace_common.rpc_client reads it from the thread). Metrics are counted by Flask route (the url
rule, never the raw path: one series per route, not per family id) and status. Under gunicorn every
worker writes its counts in PROMETHEUS_MULTIPROC_DIR (see gunicorn_conf.py), and /metrics adds them up.
"""
import os
import time

from flask import Blueprint, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess

from espace_common.observability import (
    METRICS_TOKEN_ENV, REQUEST_ID_HEADER, accept_request_id, bearer_allowed, set_request_id,
)

from .responses import json_error, no_store

REQUESTS = Counter("espace_gateway_requests", "Requests the gateway answered, by method, Flask route and status.",
                   ["method", "route", "status"])
LATENCY = Histogram("espace_gateway_request_duration_seconds",
                    "Time the gateway took to answer, by method and Flask route.", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
# Any other method is counted as "other": a client must not be able to make series at will.
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "unmatched"  # no route: a 404 or 405 before any view
ROUTE_ENVIRON_KEY = "espace.route"  # read by the access log line (gunicorn_conf.JsonAccessLogger)

bp = Blueprint("observability", __name__)


def init_app(app):
    app.before_request(begin_request)
    app.after_request(finish_request)
    app.teardown_request(forget_request)
    app.register_blueprint(bp)


def begin_request():
    g.request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()
    set_request_id(g.request_id)


def finish_request(response):
    request_id = g.get("request_id")
    if request_id is None:  # a failure before begin_request ran: the answer still gets an id
        request_id = accept_request_id(None)
    response.headers[REQUEST_ID_HEADER] = request_id
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    request.environ[ROUTE_ENVIRON_KEY] = route
    method = request.method if request.method in METHODS else "other"
    REQUESTS.labels(method, route, str(response.status_code)).inc()
    started = g.get("request_started")
    if started is not None:
        LATENCY.labels(method, route).observe(time.perf_counter() - started)
    return response


def forget_request(_exc=None):
    set_request_id(None)  # the thread serves another request next


@bp.get("/metrics")
def metrics():
    """Prometheus' page: the counts of every gunicorn worker, behind METRICS_TOKEN when it is set."""
    token = current_app.config["ESPACE"].get("METRICS_TOKEN") or os.environ.get(METRICS_TOKEN_ENV)
    if not bearer_allowed(request.headers.get("Authorization"), token):
        return no_store(json_error(401, "unauthenticated", "Les métriques demandent un jeton (Authorization: Bearer)."))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:  # a single process (the tests' app, a debug server)
        registry = REGISTRY
    return no_store(Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST))
