"""Liveness and readiness of the gateway and the suite."""
from flask import Blueprint, current_app, jsonify

from .services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """The broker answers and every service answered health() at its last probe."""
    monitor = services().monitor
    expected = current_app.config["ESPACE"]["SERVICES"]
    snapshot = monitor.snapshot() if monitor else {}
    report = {}
    for name in expected:
        state = snapshot.get(name, {})
        report[name] = {"healthy": state.get("up") is True, "latency_ms": state.get("latency_ms"),
                        "detail": state.get("detail")}
    broker = bool(monitor and monitor.broker_reachable)
    ready = broker and all(entry["healthy"] for entry in report.values())
    body = {"status": "ready" if ready else "not_ready", "broker": {"reachable": broker}, "services": report}
    return jsonify(body), 200 if ready else 503
