"""What the pages share: French dates in Europe/Paris, form errors from the services, local-run checks."""
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, make_response, render_template

from ..errors import STATUS_BY_KIND
from ..vocabularies import password_rules

bp = Blueprint("helpers", __name__)

PARIS = ZoneInfo("Europe/Paris")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")

def local_run():
    """True only in `make run` and the tests' suites (LOCAL_RUN=true)."""
    value = current_app.config["ESPACE"].get("LOCAL_RUN")
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def _instant(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # instants travel in UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(PARIS)


@bp.app_template_filter("date_fr")
def date_fr(value):
    """'14 mai 2019' from a date, an ISO date or an instant (shown in Europe/Paris)."""
    if not value:
        return ""
    if isinstance(value, str) and len(value) == 10:
        value = date.fromisoformat(value)
    elif not isinstance(value, date) or isinstance(value, datetime):
        value = _instant(value)
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


@bp.app_template_filter("datetime_fr")
def datetime_fr(value):
    """'26 novembre 2026 à 12 h 18', in Europe/Paris."""
    if not value:
        return ""
    moment = _instant(value)
    return f"{date_fr(moment.date())} à {moment.hour} h {moment.minute:02d}"


@bp.app_template_filter("iso_paris")
def iso_paris(value):
    """The machine-readable form for <time datetime>, with the Paris offset."""
    return _instant(value).isoformat(timespec="minutes") if value else ""


@bp.app_template_filter("phone_fr")
def phone_fr(value):
    """'06 12 34 56 78' from the ten digits identity keeps."""
    digits = value or ""
    if len(digits) == 10 and digits.isdigit():
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))
    return digits


@bp.app_context_processor
def shared_values():
    # A function: only the pages that show the rules ask identity for them.
    return {"password_rules": password_rules, "local_run": local_run()}


# --- Forms ----------------------------------------------------------------------

# Which field each service error is about, so that the field is marked invalid.
FIELD_OF_CODE = {
    "invalid_key": "key", "key_used": "key", "key_revoked": "key", "key_expired": "key",
    "invalid_username": "username", "username_taken": "username",
    "invalid_email": "email",
    "weak_password": "password", "password_mismatch": "password",
    "wrong_password": "current_password",
    "invalid_phone": "phone",
    "invalid_address": "address",
    "query_too_short": "q",
    "login_required": "login",
}


@dataclass
class FormError:
    """A French message shown above the form, the field it is about, and the HTTP status of the page."""

    message: str
    code: str = "invalid_input"
    status: int = 400
    headers: dict = field(default_factory=dict)

    @property
    def field(self):
        return FIELD_OF_CODE.get(self.code)


def form_error(exc):
    """A service's refusal (RemoteError with is_domain_error) as a FormError; anything else is re-raised."""
    if not exc.is_domain_error:
        raise exc
    status = STATUS_BY_KIND.get(exc.exc_type, 400)
    headers = {"Retry-After": str(exc.extra[0])} if status == 429 and exc.extra else {}
    return FormError(exc.message, exc.code, status, headers)


def render_form(template, error=None, **context):
    """Render a form page, with the status and headers of its error when there is one."""
    response = make_response(render_template(template, error=error, **context))
    if error is not None:
        response.status_code = error.status
        response.headers.update(error.headers)
    return response


def no_store(response):
    """Pages that show a secret (a key, a reset link's form) are never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response
