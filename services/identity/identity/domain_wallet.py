"""The document wallet («porte-documents», issue #12): the documents the town asks a family for, as data.

A parent uploads a document of a kind with the date until which it is valid; that date is bounded by the kind's
rule (a proof of address is valid three months, an insurance certificate for the school year, a CAF notice for
the calendar year...). An agent accepts or refuses it (with a reason). A document whose `valid_until` has passed
reads as expired; a newer document of a kind supersedes the older one. Plain Python: no framework, no I/O.
"""
import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from espace_common import formatting
from espace_common.config import ConfigError
from espace_common.errors import Conflict, InvalidInput

# The kinds of document, in the order the pages show them. `rule` bounds the validity the parent gives:
#   ("months", n)      at most n months from the day of the upload (the document is dated at most today);
#   ("school_year",)   until the end of the school year (31 August), the coming one from `school_year_from`;
#   ("calendar_year",) until 31 December of the year.
# `required`: asked for every registration; `absences`: may stand as an absence's justification.
KINDS = {
    "proof_of_address": {"label": "Justificatif de domicile de moins de trois mois", "rule": ("months", 3),
                         "required": True, "absences": False},
    "insurance": {"label": "Attestation d'assurance (responsabilité civile et individuelle accident)",
                  "rule": ("school_year",), "required": True, "absences": False},
    "caf_notice": {"label": "Attestation de quotient familial CAF", "rule": ("calendar_year",),
                   "required": True, "absences": False},
    "vaccination_record": {"label": "Carnet de vaccinations (pages des vaccins)", "rule": ("months", 12),
                           "required": True, "absences": True},
    "medical_certificate": {"label": "Certificat médical", "rule": ("months", 12),
                            "required": False, "absences": True},
}
SCHOOL_YEAR_FROM = (7, 1)  # from 1 July, an insurance certificate may cover the coming school year

STATUSES = {
    "pending": "en attente de vérification",
    "accepted": "accepté",
    "refused": "refusé",
    "expired": "expiré",
    "superseded": "remplacé",
}
# Where a required kind stands for a registration (wallet_state).
STATES = {
    "accepted": "accepté",
    "expiring": "expire bientôt",
    "pending": "en attente de vérification",
    "refused": "refusé",
    "expired": "expiré",
    "missing": "manquant",
}
DECISIONS = ("accepted", "refused")
MAX_REASON = 500
REMINDER_BEFORE_EXPIRY = "before_expiry"  # the kind of reminder, part of its once-only key


@dataclass(frozen=True)
class WalletSettings:
    reminder_days: int = 15  # the parent is mailed this many days before a document expires
    retention_days: int = 365  # how long an expired, refused or replaced document is kept (then purged)
    public_url: str = "http://localhost:8000"  # where the mails' links point

    @classmethod
    def from_config(cls, config):
        def days(name, default):
            try:
                value = int(config.get(name) or default)
            except (TypeError, ValueError):
                raise ConfigError(name, "must be a whole number of days.") from None
            if value < 0:
                raise ConfigError(name, "must not be negative.")
            return value
        return cls(days("WALLET_REMINDER_DAYS", 15), days("WALLET_RETENTION_DAYS", 365),
                   str(config.get("PUBLIC_URL") or "http://localhost:8000").rstrip("/"))


def add_months(day, months):
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def latest_valid_until(kind, today):
    """The last day a document of this kind uploaded today may be valid."""
    rule = KINDS[kind]["rule"]
    if rule[0] == "months":
        return add_months(today, rule[1])
    if rule[0] == "school_year":
        ends = date(today.year, 8, 31)
        return date(today.year + 1, 8, 31) if (today.month, today.day) >= SCHOOL_YEAR_FROM else ends
    if rule[0] == "calendar_year":
        return date(today.year, 12, 31)
    raise ValueError(f"unknown rule {rule!r}")


def parse_upload(kind, valid_until, today):
    """(kind, valid_until as a date) of an upload, or InvalidInput in French."""
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidInput("invalid_kind", "Choisissez le type de document.")
    if not isinstance(valid_until, str) or len(valid_until) != 10:
        raise InvalidInput("invalid_valid_until", "Indiquez jusqu'à quand le document est valable (JJ/MM/AAAA).")
    try:
        until = date.fromisoformat(valid_until)
    except ValueError:
        raise InvalidInput("invalid_valid_until", "La date de validité n'est pas une date.") from None
    if until < today:
        raise InvalidInput("invalid_valid_until", "Ce document n'est plus valable : envoyez-en un plus récent.")
    latest = latest_valid_until(kind, today)
    if until > latest:
        raise InvalidInput("invalid_valid_until",
                           f"Un document « {KINDS[kind]['label']} » envoyé aujourd'hui est valable au plus tard "
                           f"jusqu'au {formatting.date_long(latest)}.")
    return kind, until


def parse_decision(decision, reason):
    """(decision, reason) of an agent: a refusal says why."""
    if decision not in DECISIONS:
        raise InvalidInput("invalid_decision", "Choisissez d'accepter ou de refuser le document.")
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) > MAX_REASON:
        raise InvalidInput("invalid_reason", f"Le motif ne doit pas dépasser {MAX_REASON} caractères.")
    if decision == "refused" and not reason:
        raise InvalidInput("invalid_reason", "Indiquez pourquoi le document est refusé : la famille le lira.")
    return decision, reason


def status_of(stored_status, valid_until, today):
    """What a document is today: its stored status, or expired once its validity has passed."""
    if stored_status in ("pending", "accepted") and valid_until < today:
        return "expired"
    return stored_status


def expiring(status, valid_until, today, settings):
    """An accepted document the parent is reminded of: it ends within `reminder_days`."""
    return status == "accepted" and valid_until <= today + timedelta(days=settings.reminder_days)


def check_decidable(stored_status):
    if stored_status != "pending":
        raise Conflict("already_decided", "Ce document a déjà été examiné.")


def check_reusable(kind, stored_status, valid_until, today):
    """A document may stand as an absence's justification once accepted and while it is valid."""
    if status_of(stored_status, valid_until, today) != "accepted":
        raise Conflict("document_not_accepted", "Seul un document accepté et encore valable du porte-documents "
                                                "peut servir de justificatif.")
    if not KINDS[kind]["absences"]:
        raise Conflict("document_not_for_absences",
                       f"Un document « {KINDS[kind]['label']} » ne justifie pas une absence.")


STATE_ORDER = ("accepted", "expiring", "pending", "refused", "expired")


def wallet_state(documents, today, settings):
    """Per required kind, where the family stands: {kind: {state, label, document_id, valid_until}}.

    `documents` are the family's non-superseded documents as dicts with kind, status (today's), valid_until and
    id, newest first. The best of them counts: an accepted one (expiring when it ends soon), else one pending, else
    the refusal or the expired one, else missing."""
    answer = {}
    for kind, spec in KINDS.items():
        if not spec["required"]:
            continue
        candidates = []
        for doc in documents:
            if doc["kind"] != kind:
                continue
            state = doc["status"]
            if state == "accepted" and expiring(state, date.fromisoformat(doc["valid_until"]), today, settings):
                state = "expiring"
            if state in STATE_ORDER:
                candidates.append((STATE_ORDER.index(state), state, doc))
        if candidates:
            _, state, doc = min(candidates, key=lambda c: c[0])
            answer[kind] = {"state": state, "label": STATES[state], "document_id": doc["id"],
                            "valid_until": doc["valid_until"]}
        else:
            answer[kind] = {"state": "missing", "label": STATES["missing"], "document_id": None, "valid_until": None}
    return answer


def complete(state):
    """True when every required kind is accepted (expiring still counts)."""
    return all(entry["state"] in ("accepted", "expiring") for entry in state.values())


def purgeable(stored_status, valid_until, decided_at_day, superseded_day, today, settings):
    """A document kept longer than the retention after it stopped counting: expired, refused or replaced."""
    limit = today - timedelta(days=settings.retention_days)
    if stored_status == "superseded":
        return superseded_day is not None and superseded_day < limit
    if stored_status == "refused":
        return decided_at_day is not None and decided_at_day < limit
    return valid_until < limit


def vocabulary():
    """The wallet's part of identity's vocabulary(): kinds, statuses, states, limits."""
    return {
        "kinds": {code: spec["label"] for code, spec in KINDS.items()},
        "required_kinds": [code for code, spec in KINDS.items() if spec["required"]],
        "absence_kinds": [code for code, spec in KINDS.items() if spec["absences"]],
        "statuses": dict(STATUSES),
        "states": dict(STATES),
        "max_reason": MAX_REASON,
    }


# --- Mails ------------------------------------------------------------------------------------------------------

SIGNATURE = """
--
Espace Famille - Ville de Donges
Mairie : 02 40 45 79 79
Ce message est envoyé automatiquement, merci de ne pas y répondre."""


def expiry_reminder_mail(kind, valid_until, link):
    label = KINDS[kind]["label"]
    return (f"Porte-documents : « {label} » expire bientôt", f"""Bonjour,

Le document « {label} » de votre porte-documents est valable jusqu'au {formatting.date_long(valid_until)}.
Pensez à en déposer un plus récent avant cette date, depuis votre Espace Famille :
{link}
{SIGNATURE}""")


def refusal_mail(kind, reason, link):
    label = KINDS[kind]["label"]
    return (f"Porte-documents : « {label} » refusé", f"""Bonjour,

Le document « {label} » que vous avez déposé dans votre porte-documents a été refusé par la mairie.
Motif : {reason}

Vous pouvez en déposer un autre depuis votre Espace Famille :
{link}
{SIGNATURE}""")
