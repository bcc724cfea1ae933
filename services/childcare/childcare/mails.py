"""The mails the crèche sends (French): subject and body, nothing else."""

from espace_common.formatting import clock, date_numeric, weekday


def promoted(creche, first_name, day, start, end):
    """The first in line got a place that freed."""
    when = f"{weekday(day)} {date_numeric(day)} de {clock(start)} à {clock(end)}"
    subject = f"{creche} : une place s'est libérée pour {first_name}"
    body = (f"Bonjour,\n\nUne place s'est libérée au {creche} le {when}.\n"
            f"{first_name} était le premier sur la liste d'attente : la réservation est confirmée.\n\n"
            "Si vous n'en avez plus besoin, annulez-la depuis votre Espace Famille (Petite Enfance), "
            "gratuitement jusqu'à 48 heures avant le créneau, pour la laisser à une autre famille.\n\n"
            "Le multi-accueil Bout D'chou — 02 40 91 01 91\n")
    return subject, body
