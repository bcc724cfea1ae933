"""The family's trail at the canteen (issue #12): the changes recorded, and the French sentence of each.

Plain code: the entries are written by `trail_store` in the use cases' transactions.
"""
from espace_common.formatting import day_long
from espace_common.trail_rules import MAX_ENTRIES, parse_actor, parse_trail_range  # noqa: F401 (the use cases')
from espace_common.trail_rules import period_fr as _period

from .domain import ABSENCE_REASONS, DIETS

ACTIONS = {
    "meal_reserved": "Repas réservé",
    "meal_cancelled": "Repas annulé",
    "meal_regularised": "Repas régularisé par le service",
    "absence_reported": "Absence signalée",
    "absence_withdrawn": "Absence retirée",
    "absence_justified": "Justificatif ajouté",
    "attendance_recorded": "Présence relevée",
    "diet_changed": "Régime modifié",
}

VIA = {"day": "", "period": " (réservation par période)"}


def _for(name):
    return f" pour {name}" if name else ""


def sentence(action, details, first_name=""):
    """What happened, in French, for the family's page («Repas du jeudi 10 décembre 2026 réservé pour Léa»)."""
    d = details or {}
    who = _for(first_name)
    if action in ("meal_reserved", "meal_cancelled", "meal_regularised"):
        verb = {"meal_reserved": "réservé", "meal_cancelled": "annulé",
                "meal_regularised": "enregistré après coup par le service"}[action]
        return f"Repas du {day_long(d.get('date'), year=True)} {verb}{who}{VIA.get(d.get('via'), '')}."
    if action in ("absence_reported", "absence_withdrawn", "absence_justified"):
        period = _period(d.get("from"), d.get("to"))
        if action == "absence_reported":
            reason = ABSENCE_REASONS.get(d.get("reason"), "").lower()
            extra = " avec un justificatif" if d.get("has_document") else ""
            return f"Absence{who} signalée {period} ({reason}){extra}."
        if action == "absence_withdrawn":
            return f"Absence{who} {period} retirée."
        return f"Justificatif ajouté à l'absence{who} {period}."
    if action == "attendance_recorded":
        state = "a mangé à la cantine" if d.get("eaten") else "n'a pas mangé à la cantine"
        subject = first_name or "L'enfant"
        late = "" if d.get("eaten") is False or d.get("reserved", True) else " sans réservation"
        return f"{subject} {state}{late} le {day_long(d.get('date'), year=True)} (relevé du service)."
    if action == "diet_changed":
        pai = " avec un PAI (panier repas)" if d.get("pai") else ""
        return f"Régime{who} : {DIETS.get(d.get('diet'), d.get('diet') or '').lower()}{pai}."
    return ACTIONS.get(action, action)

