"""The JSON API under /api/v1, described by openapi.yaml.

One blueprint, one module per area. Every JSON request body is checked against
the schema openapi.yaml declares for its route before the view runs (see
`validation`), so the document and the checks cannot drift apart.
"""
import time

from flask import Blueprint, abort, current_app, jsonify

from ..schemas import openapi_document
from ..services import services

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API."""
    return jsonify(openapi_document())


@bp.get("/services/<name>/ping")
def ping(name):
    """Exactly one RPC round trip to the service: the floor benchmarks compare against."""
    if name not in current_app.config["ESPACE"]["SERVICES"]:
        abort(404)
    started = time.perf_counter()
    services().call(name, "ping")
    return jsonify({"service": name, "round_trip_ms": round((time.perf_counter() - started) * 1000, 2)})


from . import billing, billing_debits, billing_documents, canteen, childcare, identity, payment, validation  # noqa: E402,F401  (they add their routes and hooks to bp)
from . import health_records  # noqa: E402,F401  (health record, issue #12)
from . import personal_data  # noqa: E402,F401  (the family's data in its hands, issue #12)
from . import reminders  # noqa: E402,F401  (issue #12: reminders by e-mail)
from . import trail  # noqa: E402,F401  (the family's trail, issue #12)
from . import wallet  # noqa: E402,F401  (the document wallet, issue #12)
from . import messages  # noqa: E402,F401  (messages to the service, issue #12)
