"""How long each kind of personal data is kept (GDPR, issue #12): plain rules, no framework.

A service declares its kinds (`Kind`: a code, a French label, the setting that gives its number of days and its
default, from when the days count, why), reads the days from its config.yml once (`Retention.from_config`) and asks
for each kind's cutoff. The purge itself (`espace_common.purge`) and docs/personal-data.md use the same list, so
that what the parents and the administrators read is what the scheduled task does.
"""
from dataclasses import dataclass
from datetime import date, timedelta

from .config import ConfigError

MAX_DAYS = 100 * 366


@dataclass(frozen=True)
class Kind:
    code: str            # the purge log's kind, e.g. "justifications"
    label: str           # French: what it is
    setting: str         # the config.yml setting giving its days
    default_days: int
    counted_from: str    # French: from when the days count («après la fin de l'année scolaire de l'absence»)
    why: str = ""        # French: why this period
    purged: bool = True  # False: kept by law (accounting), shown but never purged by this version


@dataclass(frozen=True)
class Retention:
    kinds: tuple
    days: dict

    @classmethod
    def from_config(cls, config, kinds):
        days = {}
        for kind in kinds:
            raw = config.get(kind.setting, kind.default_days)
            try:
                value = int(str(raw).strip())
            except (TypeError, ValueError):
                raise ConfigError(kind.setting, "must be a whole number of days.") from None
            if not 1 <= value <= MAX_DAYS:
                raise ConfigError(kind.setting, f"must be between 1 and {MAX_DAYS} days.")
            days[kind.code] = value
        return cls(tuple(kinds), days)

    def get(self, code, default=None):
        return self.days.get(code, default)

    def cutoff(self, code, now):
        """The instant before which data of this kind is purged."""
        return now - timedelta(days=self.days[code])

    def describe(self):
        """What the parents' page and the administrators' page show, one entry per kind."""
        return [{"kind": k.code, "label": k.label, "days": self.days[k.code], "years": years_text(self.days[k.code]),
                 "counted_from": k.counted_from, "why": k.why, "setting": k.setting, "purged": k.purged}
                for k in self.kinds]


def years_text(days):
    """365 -> '1 an', 1095 -> '3 ans', 30 -> '30 jours', 548 -> '548 jours' (French, for the pages)."""
    if days % 365 == 0:
        years = days // 365
        return f"{years} an{'s' if years > 1 else ''}"
    return f"{days} jour{'s' if days > 1 else ''}"


def school_year_end(day):
    """The last day (31 August) of the school year a day belongs to."""
    return date(day.year if day.month < 9 else day.year + 1, 8, 31)


def last_school_year_end_before(limit):
    """The latest 31 August strictly before `limit`: a school year that ended then is older than the limit."""
    this_year = date(limit.year, 8, 31)
    return this_year if this_year < limit else date(limit.year - 1, 8, 31)


def justification_cutoff(today, days):
    """The last absence end date whose justification is purged today: its school year ended more than `days` ago."""
    return last_school_year_end_before(today - timedelta(days=days))


def mask_iban(iban):
    """FR7630006000011234567890189 -> '•••• 0189': the export never carries a whole account number."""
    text = "".join((iban or "").split())
    return f"•••• {text[-4:]}" if text else ""
