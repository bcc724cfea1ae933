"""The one place where errors become HTTP answers: JSON under /api, French pages elsewhere, and on a form
a French message beside the field it is about.

A refusal is a service's domain error (RemoteError whose kind is a DomainError's) or one the gateway raises
itself (a DomainError): both get their status from STATUS_BY_KIND and, on a form, their field from
FIELD_OF_CODE. Anything else is a bug or an outage and is never shown as a form error.
"""
import logging
from dataclasses import dataclass, field

from flask import make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from espace_common.errors import DomainError
from espace_common.rpc_client import RemoteError, ServiceUnavailable

from .responses import json_error

log = logging.getLogger(__name__)

STATUS_BY_KIND = {
    "InvalidInput": 400,
    "Unauthenticated": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "Conflict": 409,
    "Throttled": 429,
}

# Which form field each refusal's code is about (identity's and canteen's codes), so that it is marked invalid.
FIELD_OF_CODE = {
    # identity
    "invalid_key": "key", "key_used": "key", "key_revoked": "key", "key_expired": "key",
    "invalid_username": "username", "username_taken": "username",
    "invalid_email": "email",
    "weak_password": "password", "password_mismatch": "password",
    "wrong_password": "current_password",
    "invalid_phone": "phone",
    "invalid_address": "address",
    "query_too_short": "q", "query_too_long": "q",
    "invalid_caf_number": "caf_number",
    "login_required": "login",
    # canteen
    "invalid_document": "document", "document_too_large": "document",
    "invalid_reason": "reason", "invalid_range": "to", "range_too_long": "to", "invalid_date": "from",
    "invalid_children": "children", "invalid_weekdays": "weekdays", "invalid_action": "action",
    "invalid_calendar": "ics", "invalid_menu": "menu", "invalid_news": "title", "invalid_school": "name",
    "invalid_school_year": "school_year", "invalid_class": "placement",
    "absence_too_old": "from", "absence_too_far": "to", "absence_overlaps": "from",
    # billing: direct debit
    "invalid_iban": "iban", "iban_outside_sepa": "iban", "invalid_holder": "holder", "mandate_not_accepted": "accepted",
    "mandate_exists": "iban",
    # the document wallet (issue #12)
    "invalid_kind": "kind", "invalid_valid_until": "valid_until", "invalid_decision": "decision",
}

SERVICE_NAMES_FR = {
    "identity": "des comptes",
    "canteen": "de la restauration scolaire",
    "childcare": "du multi-accueil",
    "billing": "de facturation",
    "payment": "de paiement",
    "broker": "de messagerie interne",
}

UNEXPECTED = "Une erreur inattendue est survenue. Réessayez plus tard."


def status_of(exc):
    """The HTTP status of a refusal, or None when `exc` is not one."""
    if isinstance(exc, RemoteError):
        return STATUS_BY_KIND.get(exc.exc_type) if exc.is_domain_error else None
    if isinstance(exc, DomainError):
        return STATUS_BY_KIND.get(type(exc).__name__, 400)
    return None


def headers_of(exc, status):
    """A throttled refusal says when to try again."""
    if status != 429:
        return {}
    seconds = exc.extra[0] if isinstance(exc, RemoteError) and exc.extra else getattr(exc, "retry_after", None)
    return {"Retry-After": str(seconds)} if seconds is not None else {}


@dataclass
class FormError:
    """A French message shown above the form, the field it is about, and the HTTP status of the page.

    The field is the one named by `about` (a schema check knows it) or else the one of the code.
    """

    message: str
    code: str = "invalid_input"
    status: int = 400
    headers: dict = field(default_factory=dict)
    about: str | None = None

    @property
    def field(self):
        return self.about or FIELD_OF_CODE.get(self.code)


def refusal(exc):
    """A refusal as a FormError shown beside the form; anything else (a bug, an outage) is raised again."""
    status = status_of(exc)
    if status is None:
        raise exc
    return FormError(exc.message, exc.code, status, headers_of(exc, status))


def wants_json():
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status, code, message, headers=None):
    if wants_json():
        return json_error(status, code, message, headers)
    response = make_response(render_template("error.html", status=status, message=message))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def register_error_handlers(app):
    @app.errorhandler(RemoteError)
    @app.errorhandler(DomainError)
    def refused(exc):
        status = status_of(exc)
        if status is None:
            log.error("unexpected error from %s: %s: %s", exc.service, exc.exc_type, exc.message)
            return error_response(500, "internal_error", UNEXPECTED)
        return error_response(status, exc.code, exc.message, headers_of(exc, status))

    @app.errorhandler(ServiceUnavailable)
    def service_unavailable(exc):
        name = SERVICE_NAMES_FR.get(exc.service, exc.service)
        return error_response(
            503, "service_unavailable",
            f"Le service {name} ne répond pas pour le moment. Réessayez dans quelques instants.",
            {"Retry-After": "5"},
        )

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return error_response(400, "csrf_failed", "Le formulaire a expiré ou n'est pas valide. Rechargez la page et recommencez.")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        messages = {
            400: "La demande est invalide.",
            403: "Vous n'avez pas accès à cette page.",
            404: "Cette page n'existe pas.",
            405: "Cette méthode n'est pas permise ici.",
            413: "Le fichier envoyé est trop volumineux.",
        }
        code = (exc.name or "error").lower().replace(" ", "_")
        # The exception's own headers say what the status means: a 405's Allow, for one.
        headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
        return error_response(exc.code, code, messages.get(exc.code, exc.description or exc.name), headers)
