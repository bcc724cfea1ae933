"""The one place where errors become HTTP answers: JSON under /api, French pages elsewhere."""
import logging

from flask import jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from espace_common.errors import DomainError
from espace_common.rpc_client import RemoteError, ServiceUnavailable

log = logging.getLogger(__name__)

STATUS_BY_KIND = {
    "InvalidInput": 400,
    "Unauthenticated": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "Conflict": 409,
    "Throttled": 429,
}

SERVICE_NAMES_FR = {
    "identity": "des comptes",
    "canteen": "de la restauration scolaire",
    "childcare": "du multi-accueil",
    "billing": "de facturation",
    "payment": "de paiement",
    "broker": "de messagerie interne",
}


def wants_json():
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status, code, message, headers=None):
    if wants_json():
        response = jsonify({"code": code, "message": message})
    else:
        response = make_response(render_template("error.html", status=status, message=message))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app):
    @app.errorhandler(RemoteError)
    def remote_error(exc):
        status = STATUS_BY_KIND.get(exc.exc_type)
        if status is None:
            log.error("unexpected error from %s: %s: %s", exc.service, exc.exc_type, exc.message)
            return error_response(500, "internal_error", "Une erreur inattendue est survenue. Réessayez plus tard.")
        headers = {"Retry-After": str(exc.extra[0])} if status == 429 and exc.extra else None
        return error_response(status, exc.code, exc.message, headers)

    @app.errorhandler(DomainError)
    def local_domain_error(exc):
        status = STATUS_BY_KIND.get(type(exc).__name__, 400)
        headers = {"Retry-After": str(exc.retry_after)} if status == 429 else None
        return error_response(status, exc.code, exc.message, headers)

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
        return error_response(exc.code, code, messages.get(exc.code, exc.description or exc.name))
