"""What the pages share: French dates in Europe/Paris (espace_common.formatting, on Babel), rendering a form with
its error, local-run checks."""
from babel.dates import get_month_names
from flask import Blueprint, current_app, make_response, render_template

from espace_common import formatting

from ..errors import FormError  # noqa: F401  (the pages import it from here)
from ..responses import no_store  # noqa: F401  (the pages import it from here)
from ..schemas import max_length
from ..vocabularies import password_rules

bp = Blueprint("helpers", __name__)

PARIS = formatting.PARIS
# Babel's French month names, for the pages that still name a month by its number.
MONTHS = tuple(get_month_names("wide", locale=formatting.LOCALE)[number] for number in range(1, 13))


def local_run():
    """True only in `make run` and the tests' suites (LOCAL_RUN=true)."""
    value = current_app.config["ESPACE"].get("LOCAL_RUN")
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def _instant(value):
    return formatting.paris(value)


@bp.app_template_filter("date_fr")
def date_fr(value):
    """'14 mai 2019' from a date, an ISO date or an instant (shown in Europe/Paris)."""
    return formatting.date_long(value) if value else ""


@bp.app_template_filter("datetime_fr")
def datetime_fr(value):
    """'26 novembre 2026 à 12 h 18', in Europe/Paris."""
    return formatting.datetime_long(value) if value else ""


@bp.app_template_filter("number_fr")
def number_fr(value):
    """42.5 -> '42,5' (a decimal comma, as people read it)."""
    return formatting.number(value)


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


VOWELS = "aeiouyàâäéèêëîïôöùûüœæ"


def de_word(name):
    """«d'» before a vowel or a mute h (Inès, Hugo, avril, Yves), else «de » (Léa, Yann): the French elision.
    A y before a consonant sounds as a vowel (Yves); before a vowel it does not (Yann, Yasmine)."""
    word = (name or "").strip().lower()
    if not word:
        return "de "
    first, second = word[0], word[1:2]
    if first == "y":
        return "d'" if second and second not in VOWELS else "de "
    return "d'" if first in VOWELS or first == "h" else "de "


@bp.app_template_filter("de")
def de(name):
    """«d'Inès», «de Léa»: the name after «de», elided as French writes it."""
    return f"{de_word(name)}{(name or '').strip()}"


bp.add_app_template_filter(de_word, "de_word")


@bp.app_context_processor
def shared_values():
    # password_rules is a function: only the pages that show the rules ask identity for them.
    return {"password_rules": password_rules, "local_run": local_run(), "max_length": max_length}


# --- Forms ----------------------------------------------------------------------

def render_form(template, error=None, **context):
    """Render a form page, with the status and headers of its error when there is one."""
    response = make_response(render_template(template, error=error, **context))
    if error is not None:
        response.status_code = error.status
        response.headers.update(error.headers)
    return response
