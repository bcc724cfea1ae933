"""What the canteen pages of parents and agents share: the service's vocabulary, today, dates, weeks and months,
Markdown."""
import base64
import re
from dataclasses import dataclass
from datetime import date, timedelta

import markdown
import nh3
from babel.dates import get_day_names, get_month_names
from flask import Blueprint, current_app, make_response
from markupsafe import Markup

from espace_common import formatting
from espace_common.errors import InvalidInput

from .. import errors, vocabularies
from ..services import services
from .helpers import PARIS, FormError

bp = Blueprint("canteen_common", __name__)

# Babel's French names (Monday first), for the pages that name a day or a month by its number.
WEEKDAYS = tuple(get_day_names("wide", locale=formatting.LOCALE)[i] for i in range(7))
WEEKDAYS_SHORT = tuple(get_day_names("abbreviated", locale=formatting.LOCALE)[i] for i in range(7))
MONTHS = tuple(get_month_names("wide", locale=formatting.LOCALE)[i] for i in range(1, 13))
MONTHS_SHORT = tuple(get_month_names("abbreviated", locale=formatting.LOCALE)[i] for i in range(1, 13))


def canteen(method, *args, **kwargs):
    return services().call("canteen", method, *args, **kwargs)


def today():
    """Today in the town (the pages' defaults: this month, this week), from the app's clock."""
    return current_app.extensions["clock"].today(PARIS)


def now():
    return current_app.extensions["clock"].now()


class Vocabulary:
    """The canteen service's codes with their French labels and the limits it enforces, as it serves them."""

    def __init__(self, answer):
        self.allergens = answer["allergens"]
        self.labels = answer["labels"]
        self.courses = {c["code"]: c["label"] for c in answer["courses"]}  # in the order a menu shows them
        self.diets = answer["diets"]
        self.meal_kinds = list(answer["meal_kinds"].items())
        self.day_states = answer["day_states"]
        self.bulk_results = answer["bulk_results"]
        self.absence_reasons = answer["absence_reasons"]
        self.justification_states = answer["justification_states"]
        self.school_kinds = answer["school_kinds"]
        self.max_document_bytes = answer["justification"]["max_bytes"]
        self.justification_hours = answer["justification"]["hours"]
        self.max_ics_bytes = answer["max_ics_bytes"]
        self.limits = answer["limits"]
        self.school_weekdays = answer["school_weekdays"]


def vocabulary():
    """The canteen's vocabulary: its only source is the canteen service (kept a few minutes per process)."""
    return Vocabulary(vocabularies.vocabulary("canteen"))


@bp.app_template_global("canteen_limit")
def canteen_limit(name):
    """The longest text the canteen service stores for a field (the forms' maxlength)."""
    return vocabulary().limits[name]


def megabytes(count):
    return f"{count // (1024 * 1024)} Mo"


def justification_response(document, absence_id):
    """A justification file as the service checked and stored it, never cached."""
    response = make_response(base64.b64decode(document["content_base64"]))
    response.headers["Content-Type"] = document["media_type"]
    response.headers["Content-Disposition"] = f'inline; filename="justificatif-{absence_id[:8]}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Dates in French ---------------------------------------------------------------------

def as_date(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


@bp.app_template_filter("day_fr")
def day_fr(value, year=False):
    """'mardi 1er décembre' (with the year when asked)."""
    return formatting.day_long(value, year=year)


@bp.app_template_filter("day_short")
def day_short(value):
    """'mar. 1 déc.'"""
    return formatting.day_short(value)


@bp.app_template_filter("deadline_fr")
def deadline_fr(value):
    """'ven. 27/11 à 10h00' from an instant (shown in Europe/Paris): short enough for a phone's line."""
    return formatting.deadline_short(value)


def month_label(first):
    return formatting.month_year(first)


@dataclass(frozen=True)
class Month:
    """A calendar month: its first and last day, its neighbours, its French name."""

    first: date

    @classmethod
    def parse(cls, text, default):
        if not text:
            return cls(default.replace(day=1))
        match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
            raise InvalidInput("invalid_month", "Le mois s'écrit comme « 2026-12 ».")
        return cls(date(int(match.group(1)), int(match.group(2)), 1))

    @property
    def last(self):
        return self.next.first - timedelta(days=1)

    @property
    def next(self):
        return Month((self.first.replace(day=28) + timedelta(days=4)).replace(day=1))

    @property
    def previous(self):
        return Month((self.first - timedelta(days=1)).replace(day=1))

    @property
    def key(self):
        return f"{self.first.year:04d}-{self.first.month:02d}"

    @property
    def label(self):
        return month_label(self.first)


@dataclass(frozen=True)
class Week:
    """An ISO week, as the service names it ('2026-W49')."""

    monday: date

    @classmethod
    def parse(cls, text, default):
        if not text:
            return cls(default - timedelta(days=default.weekday()))
        match = re.fullmatch(r"(\d{4})-W(\d{1,2})", text.strip().upper())
        try:
            if not match:
                raise ValueError
            return cls(date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1))
        except ValueError:
            raise InvalidInput("invalid_week", "La semaine s'écrit comme « 2026-W49 ».") from None

    @property
    def key(self):
        year, week, _ = self.monday.isocalendar()
        return f"{year:04d}-W{week:02d}"

    @property
    def sunday(self):
        return self.monday + timedelta(days=6)

    @property
    def next(self):
        return Week(self.monday + timedelta(days=7))

    @property
    def previous(self):
        return Week(self.monday - timedelta(days=7))

    @property
    def days(self):
        return [self.monday + timedelta(days=i) for i in range(7)]

    @property
    def label(self):
        """'du lundi 7 au dimanche 13 décembre 2026'."""
        first, last = self.monday, self.sunday
        start = day_fr(first, year=True)
        if first.year == last.year:
            start = day_fr(first) if first.month != last.month else start.rsplit(" ", 2)[0]
        return f"du {start} au {day_fr(last, year=True)}"


def sorted_courses(courses):
    order = list(vocabulary().courses)
    return sorted(courses, key=lambda c: order.index(c["course"]) if c["course"] in order else len(order))


# --- News bodies: Markdown, rendered and then sanitised ------------------------------------

NEWS_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "blockquote",
             "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td"}
NEWS_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}}


def _shift_headings(html, levels=2):
    """A news body's headings come under the page's h1 and the news' h2: # becomes h3."""
    return re.sub(r"<(/?)h([1-6])\b", lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + levels, 6)}", html)


@bp.app_template_filter("news_html")
def news_html(body):
    """Markdown to HTML, then nh3 keeps only harmless tags, attributes and link schemes."""
    html = _shift_headings(markdown.markdown(body or "", extensions=["sane_lists"]))
    return Markup(nh3.clean(html, tags=NEWS_TAGS, attributes=NEWS_ATTRIBUTES,
                            url_schemes={"http", "https", "mailto", "tel"}, link_rel="noopener noreferrer"))


# --- Forms ---------------------------------------------------------------------------------

# A canteen refusal becomes a form error through the same map and statuses as every other (see errors.py).
CanteenFormError = FormError
refusal = errors.refusal
