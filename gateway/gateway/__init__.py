"""The gateway: the parents' and agents' web UI and the JSON API, in front of the services."""
import logging
from datetime import timedelta

from flask import Flask, g, request, session
from flask_wtf.csrf import CSRFProtect

from espace_common.clock import SystemClock

from .errors import register_error_handlers
from .principals import RevocationEcho, principals_from_settings
from .rpc import ClientPool, ServiceMonitor, Services
from .settings import load_settings

csrf = CSRFProtect()


def create_app(overrides=None, services=None):
    """Build the app; tests pass their own `services` to run without a broker."""
    settings = load_settings(overrides)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings["SECRET_KEY"],
        # Rotation: cookies signed by a previous key stay valid while it is listed here (docs/ops.md).
        SECRET_KEY_FALLBACKS=settings["SECRET_KEY_FALLBACKS"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.get("LOCAL_RUN"),
        MAX_CONTENT_LENGTH=6 * 1024 * 1024,
        # Identity enforces idle and absolute expiry; the cookie only needs to outlive them.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        JSON_SORT_KEYS=False,
        ESPACE=settings,
    )
    app.json.ensure_ascii = False
    # Issue #13: the request id, the requests' metrics and /metrics; first, so that every other hook's
    # log lines name the request.
    from . import observability
    observability.init_app(app)
    real_broker = services is None
    if real_broker:
        monitor = ServiceMonitor(settings["AMQP_URI"], settings["SERVICES"],
                                 settings["MONITOR_INTERVAL"], settings["PROBE_TIMEOUT"])
        monitor.start()
        services = Services(ClientPool(settings["AMQP_URI"], settings["RPC_TIMEOUT"]), monitor)
    # (cache, listener): the listener, hence any trust in the cache, only against a real broker.
    app.extensions["principals"] = principals_from_settings(settings, listen=real_broker)
    app.extensions["services"] = RevocationEcho(services, app.extensions["principals"][0])
    app.extensions["clock"] = SystemClock()  # "today" of the pages; tests put a FixedClock here
    csrf.init_app(app)
    register_error_handlers(app)

    from . import api, health, web
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    app.register_blueprint(web.public.bp)
    app.register_blueprint(web.auth.bp)
    app.register_blueprint(web.agent.bp)
    app.register_blueprint(web.helpers.bp)
    app.register_blueprint(web.account.bp)
    app.register_blueprint(web.myspace.bp)
    app.register_blueprint(web.devmail.bp)
    app.register_blueprint(web.canteen_common.bp)
    app.register_blueprint(web.canteen.bp)
    app.register_blueprint(web.canteen_agent.bp)
    app.register_blueprint(web.childcare.bp)
    app.register_blueprint(web.childcare_agent.bp)
    app.register_blueprint(web.direct_debit.bp)
    app.register_blueprint(web.direct_debit_agent.bp)
    app.register_blueprint(web.billing.bp)
    app.register_blueprint(web.billing_agent.bp)
    app.register_blueprint(web.billing_documents.bp)
    app.register_blueprint(web.card_payment.bp)  # the return page from Paybox (issue #10)
    app.register_blueprint(web.health_records.bp)  # the health record (issue #12)
    app.register_blueprint(web.personal_data.bp)  # the family's data in its hands (issue #12)
    app.register_blueprint(web.reminders.bp)  # issue #12: Mon espace › Rappels par courriel
    app.register_blueprint(web.trail.bp)  # the family's trail (issue #12)
    app.register_blueprint(web.wallet.bp)  # the document wallet (issue #12)
    # Messages to the service (issue #12): a parent's «Messages» pages and the agents' inbox.
    app.register_blueprint(web.messages.bp)
    app.register_blueprint(web.messages.agent_bp)
    app.after_request(add_security_headers)
    logging.basicConfig(level=logging.INFO)
    return app


def add_security_headers(response):
    """Every asset is self-hosted and no page has inline script, so the policy can be strict.

    An answer made for someone (a logged-in person, a token's holder) is never kept by a cache, be it the
    browser's back button on a shared computer or a proxy; public pages and assets may be. Outside local
    runs the site is HTTPS only, and browsers are told so (HSTS).
    """
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if made_for_someone() and "no-store" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "no-store"
    from .web.helpers import local_run
    if not local_run():
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def made_for_someone():
    """The request came with credentials (a session, a bearer token) or was answered for a principal."""
    if request.endpoint == "static":
        return False
    return g.get("principal") is not None or "Authorization" in request.headers or "token" in session
