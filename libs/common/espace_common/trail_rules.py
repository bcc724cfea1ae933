"""The family's trail (issue #12), its plain rules: who acted, over which dates one may read it.

No framework here: canteen's and childcare's `domain_trail.py` build on it, and the tables and queries
are in `espace_common.trail`.
"""
from datetime import date, datetime, time, timedelta

from .errors import InvalidInput

ACTOR_KINDS = ("parent", "agent", "system")
SYSTEM = {"kind": "system", "id": "", "name": ""}
MAX_ACTOR_ID = 80
MAX_ACTOR_NAME = 120
MAX_RANGE_DAYS = 366
MAX_ENTRIES = 1000  # a range answers its newest entries up to this many (the answer says when it was cut)


def parse_actor(actor):
    """{kind, id, name} from the gateway's principal, or the system when the command came without one.

    A malformed actor is refused rather than recorded as someone else: the trail must say who acted."""
    if actor is None:
        return dict(SYSTEM)
    if not isinstance(actor, dict) or actor.get("kind") not in ACTOR_KINDS:
        raise InvalidInput("invalid_actor", "L'auteur de la demande est mal formé.")
    actor_id, name = actor.get("id") or "", actor.get("name") or ""
    if not isinstance(actor_id, str) or not isinstance(name, str) or len(actor_id) > MAX_ACTOR_ID:
        raise InvalidInput("invalid_actor", "L'auteur de la demande est mal formé.")
    return {"kind": actor["kind"], "id": actor_id, "name": name.strip()[:MAX_ACTOR_NAME]}


def _day(value, field):
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("invalid_date", f"La date « {field} » doit s'écrire AAAA-MM-JJ.") from None


def parse_trail_range(start, end):
    """The dates asked (both included), at most MAX_RANGE_DAYS days, the first not after the last."""
    first, last = _day(start, "from"), _day(end, "to")
    if first > last:
        raise InvalidInput("invalid_range", "La date de début doit précéder la date de fin.")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput("range_too_long", f"L'historique se consulte sur {MAX_RANGE_DAYS} jours au plus.")
    return first, last


def instants_of(first, last, zone):
    """The UTC bounds [from, to) of local days first..last in the town's zone."""
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def period_fr(start, end):
    """«le jeudi 3 décembre 2026», «du jeudi 3 décembre 2026 au vendredi 4 décembre 2026» (ISO dates given)."""
    from .formatting import day_long
    if not start:
        return ""
    if start == end or not end:
        return f"le {day_long(start, year=True)}"
    return f"du {day_long(start, year=True)} au {day_long(end, year=True)}"
