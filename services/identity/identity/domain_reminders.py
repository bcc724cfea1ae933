"""Reminders by e-mail (issue #12): who is reminded of what, and when. Plain rules, no framework.

Two kinds, each opted in per account (a legal representative's own account), off until the parent says yes:
- `canteen_deadline`: the week after this one has no meal reserved for a child who usually eats at the canteen,
  sent once the first deadline of that week still ahead is less than `canteen_hours_before` away;
- `invoice_due`: an issued invoice not paid yet falls due within `invoice_days_before` days.
Canteen says which children and deadlines, billing which invoices; identity says to whom, and sends once.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from espace_common import formatting
from espace_common.config import ConfigError
from espace_common.errors import InvalidInput

CANTEEN_DEADLINE, INVOICE_DUE = "canteen_deadline", "invoice_due"
KINDS = {CANTEEN_DEADLINE: "Semaine de cantine non réservée, avant la date limite",
         INVOICE_DUE: "Facture à payer, avant sa date d'échéance"}
CANTEEN_TASK, INVOICE_TASK = "reminders.canteen_deadline", "reminders.invoice_due"

SIGNATURE = """
--
Espace Famille - Ville de Donges
Mairie : 02 40 45 79 79
Ce message est envoyé automatiquement, merci de ne pas y répondre."""


def _setting(config, name, default, kind=int, low=0, high=10_000):
    raw = config.get(name, default)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(name, "must be a number.") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be from {low} to {high}.")
    return value


def _flag(config, name, default=True):
    raw = config.get(name, default)
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise ConfigError(name, "must be true or false.")
    return text in ("true", "1", "yes", "on")


@dataclass(frozen=True)
class ReminderSettings:
    """config.yml's REMINDER_* settings (docs/reminders.md)."""

    enabled: bool = True
    timer_seconds: float = 300.0  # how often each replica looks (the timer reads it too: configured_timer.py)
    earliest_hour: int = 8  # no reminder leaves before this local hour
    canteen_hours_before: int = 24  # the canteen reminder goes this long before the week's first deadline
    usual_weeks: int = 4  # "usually eats": reserved meals in at least usual_min_weeks of the last usual_weeks
    usual_min_weeks: int = 2  # school weeks (weeks without a school day are skipped)
    invoice_days_before: int = 5  # the invoice reminder goes this many days before the due date
    rpc_timeout: float = 30.0  # seconds to wait for canteen's or billing's answer
    timezone: str = "Europe/Paris"
    public_url: str = "http://localhost:8000"

    @property
    def zone(self):
        return ZoneInfo(self.timezone)

    @classmethod
    def from_config(cls, config):
        usual_weeks = _setting(config, "REMINDER_USUAL_WEEKS", 4, low=1, high=12)
        settings = cls(
            enabled=_flag(config, "REMINDERS_ENABLED", True),
            timer_seconds=_setting(config, "REMINDER_TIMER_SECONDS", 300, kind=float, low=0.5, high=86_400),
            earliest_hour=_setting(config, "REMINDER_EARLIEST_HOUR", 8, high=23),
            canteen_hours_before=_setting(config, "REMINDER_CANTEEN_HOURS_BEFORE", 24, low=1, high=24 * 6),
            usual_weeks=usual_weeks,
            usual_min_weeks=_setting(config, "REMINDER_USUAL_MIN_WEEKS", 2, low=1, high=12),
            invoice_days_before=_setting(config, "REMINDER_INVOICE_DAYS_BEFORE", 5, low=0, high=60),
            rpc_timeout=_setting(config, "REMINDER_RPC_TIMEOUT", 30, kind=float, low=1, high=600),
            timezone=str(config.get("TOWN_TIMEZONE") or "Europe/Paris"),
            public_url=str(config.get("PUBLIC_URL") or "http://localhost:8000").rstrip("/"),
        )
        if settings.usual_min_weeks > usual_weeks:
            raise ConfigError("REMINDER_USUAL_MIN_WEEKS", "must not exceed REMINDER_USUAL_WEEKS.")
        try:
            settings.zone
        except Exception:  # noqa: BLE001 (zoneinfo raises several kinds)
            raise ConfigError("TOWN_TIMEZONE", "must be a time zone such as Europe/Paris.") from None
        return settings


def parse_preferences(canteen_deadline, invoice_due):
    """The two choices, each a true boolean (the gateway checked the schema; a direct RPC may not have)."""
    if not isinstance(canteen_deadline, bool) or not isinstance(invoice_due, bool):
        raise InvalidInput("invalid_preferences", "Chaque rappel est activé (oui) ou désactivé (non).")
    return {CANTEEN_DEADLINE: canteen_deadline, INVOICE_DUE: invoice_due}


def local_today(now, settings):
    return now.astimezone(settings.zone).date()


def may_send_now(now, settings):
    """Reminders leave in the day, from the earliest hour (a mail at 3 a.m. is no reminder)."""
    return settings.enabled and now.astimezone(settings.zone).hour >= settings.earliest_hour


def next_week(today):
    """The Monday of the week after today's (on a Sunday: tomorrow)."""
    return today + timedelta(days=7 - today.weekday())


def canteen_window_open(now, first_deadline, settings):
    """True from `canteen_hours_before` before the week's first deadline still ahead until that deadline."""
    if first_deadline is None:
        return False
    deadline = datetime.fromisoformat(first_deadline) if isinstance(first_deadline, str) else first_deadline
    return deadline - timedelta(hours=settings.canteen_hours_before) <= now < deadline


def canteen_slot(week, today):
    """One run a day for a week: a parent who opts in after today's run is reminded at tomorrow's, if in time."""
    return f"{week.isoformat()}@{today.isoformat()}"


def invoice_window(today, settings):
    """The due dates to remind of today: from today to `invoice_days_before` days ahead."""
    return today, today + timedelta(days=settings.invoice_days_before)


def canteen_mail(first_name, week, children, settings):
    """(subject, body) of «la semaine prochaine n'est pas réservée»; children: [{first_name, deadline}]."""
    names = _and([c["first_name"] for c in children])
    first_deadline = min(c["deadline"] for c in children)
    return ("La semaine prochaine n'est pas réservée", f"""Bonjour {first_name},

La semaine prochaine, à partir du {formatting.day_long(week, year=True)}, aucun repas n'est réservé à la restauration scolaire pour {names}.

Vous pouvez encore réserver : le premier jour jusqu'au {formatting.datetime_long(first_deadline)}, puis chaque jour jusqu'à sa date limite.
{settings.public_url}/cantine/reservations

Si vos enfants ne déjeunent pas à la cantine cette semaine-là, ne tenez pas compte de ce message.

Vous recevez ce rappel parce que vous l'avez demandé. Pour ne plus le recevoir :
{settings.public_url}/mon-espace/rappels
{SIGNATURE}""")


def invoice_mail(first_name, invoice, regie_label, settings):
    """(subject, body) of the reminder before an invoice's due date."""
    due = date.fromisoformat(invoice["due_date"])
    number = invoice.get("number") or ""
    return (f"Rappel : facture {number} à régler avant le {formatting.date_long(due)}", f"""Bonjour {first_name},

La facture {number} ({regie_label}) de {formatting.month_year(invoice["period"])} est à régler avant le {formatting.date_long(due)}.
Reste à payer : {formatting.euros(invoice["balance_cents"])}.

Vous pouvez la payer en ligne par carte bancaire :
{settings.public_url}/mon-compte/factures/{invoice["invoice_id"]}

Si vous venez de la régler, ne tenez pas compte de ce message.

Vous recevez ce rappel parce que vous l'avez demandé. Pour ne plus le recevoir :
{settings.public_url}/mon-espace/rappels
{SIGNATURE}""")


def invoice_detail(invoice):
    """What the agents' file says of an invoice reminder: «Facture AS-2026-000042, échéance le 05/12/2026»."""
    return f"Facture {invoice.get('number') or ''}, échéance le {formatting.date_numeric(invoice['due_date'])}"


def _and(names):
    names = [n for n in names if n]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]


REGIE_LABELS = {"affaires_scolaires": "Affaires Scolaires", "petite_enfance": "Petite Enfance"}
