"""The family's trail at the multi-accueil (issue #12): the changes recorded, and the French sentence of each.

Plain code: the entries are written by `trail_store` in the use cases' transactions.
"""
from espace_common.formatting import clock, day_long
from espace_common.trail_rules import MAX_ENTRIES, parse_actor, parse_trail_range  # noqa: F401 (the use cases')
from espace_common.trail_rules import period_fr

from .domain import ABSENCE_REASONS, REGISTRATION_KINDS

ACTIONS = {
    "booking_made": "Créneau réservé",
    "booking_cancelled": "Réservation annulée",
    "booking_promoted": "Place obtenue sur la liste d'attente",
    "leave_declared": "Congé déclaré",
    "absence_reported": "Absence signalée",
    "absence_withdrawn": "Absence retirée",
    "absence_justified": "Justificatif ajouté",
    "justification_decided": "Justificatif examiné",
    "attendance_recorded": "Présence relevée",
    "registration_changed": "Inscription ou contrat modifié",
}


def _for(name):
    return f" pour {name}" if name else ""


def _slot(d):
    return f"du {day_long(d.get('date'), year=True)} de {clock(d.get('start'))} à {clock(d.get('end'))}"


def sentence(action, details, first_name=""):
    """What happened, in French, for the family's page."""
    d = details or {}
    who = _for(first_name)
    if action == "booking_made":
        if d.get("status") == "waiting":
            position = f" (position {d['position']})" if d.get("position") else ""
            return f"Créneau {_slot(d)} demandé{who} : en liste d'attente{position}."
        return f"Créneau {_slot(d)} réservé{who}."
    if action == "booking_cancelled":
        billed = " Annulation à moins de 48 heures : le créneau reste facturé." if d.get("billed") else ""
        return f"Réservation du créneau {_slot(d)} annulée{who}.{billed}"
    if action == "booking_promoted":
        return f"Une place s'est libérée : le créneau {_slot(d)} est confirmé{who}."
    if action == "leave_declared":
        return f"Congé déclaré{who} {period_fr(d.get('from'), d.get('to'))} ({d.get('days', 0)} jour(s))."
    if action in ("absence_reported", "absence_withdrawn", "absence_justified", "justification_decided"):
        period = period_fr(d.get("from"), d.get("to"))
        if action == "absence_reported":
            reason = ABSENCE_REASONS.get(d.get("reason"), "").lower()
            extra = " avec un justificatif" if d.get("has_document") else ""
            return f"Absence{who} signalée {period} ({reason}){extra}."
        if action == "absence_withdrawn":
            return f"Absence{who} {period} retirée."
        if action == "absence_justified":
            return f"Justificatif ajouté à l'absence{who} {period}."
        verdict = "accepté" if d.get("decision") == "accepted" else "refusé"
        return f"Justificatif de l'absence{who} {period} {verdict} par la crèche."
    if action == "attendance_recorded":
        left = f", départ à {clock(d['left_at'])}" if d.get("left_at") else ""
        walk_in = " (sans réservation : facturé en accueil occasionnel)" if d.get("walk_in") else ""
        return (f"Présence{who} le {day_long(d.get('date'), year=True)} : arrivée à {clock(d.get('arrived_at'))}"
                f"{left}{walk_in}, relevée par la crèche.")
    if action == "registration_changed":
        kind = REGISTRATION_KINDS.get(d.get("kind"), d.get("kind") or "")
        contract = ""
        if d.get("weekly_minutes"):
            hours = d["weekly_minutes"] / 60
            contract = f" : {str(round(hours, 2)).replace('.', ',').removesuffix(',0')} heures par semaine, " \
                       f"{d.get('weeks_per_year')} semaines par an, {d.get('leave_days')} jour(s) de congé"
        return f"Inscription{who} : {kind.lower()}{contract}."
    return ACTIONS.get(action, action)
