"""The family's data in its hands (GDPR, issue #12): what the crèche keeps, for how long, and why; the French names
of its export's sections and fields (the parents' PDF)."""
from espace_common.retention import Kind, Retention

KINDS = [
    Kind("justifications", "Justificatifs d'absence (certificats, bulletins d'hospitalisation) : le fichier envoyé",
         "CHILDCARE_RETENTION_JUSTIFICATIONS_DAYS", 365, "après la fin de l'année scolaire de l'absence",
         "Un justificatif sert à déduire une absence de la facture ; passé le délai de réclamation, il ne sert "
         "plus. L'absence, sa décision et son commentaire restent, les factures s'y réfèrent."),
    Kind("document_reads", "Consultations des justificatifs par les agents", "CHILDCARE_RETENTION_READS_DAYS", 365,
         "après la consultation", "Un journal d'accès aux données sensibles, gardé un an comme les autres journaux."),
    Kind("mails", "Courriers électroniques envoyés par le multi-accueil (place libérée…)",
         "CHILDCARE_RETENTION_MAILS_DAYS", 365, "après leur envoi",
         "Un courrier sert à prouver qu'il a été envoyé, pas au-delà d'un an."),
]

LABELS = {
    "sections": {
        "children": "Enfants connus du multi-accueil", "registrations": "Inscriptions et contrats d'accueil",
        "bookings": "Réservations d'accueil occasionnel (et liste d'attente)", "leaves": "Congés déclarés",
        "absences": "Absences signalées", "attendance": "Présences relevées", "document_reads":
        "Consultations des justificatifs", "mails": "Courriers électroniques envoyés",
    },
    "columns": {
        "child": "Enfant", "first_name": "Prénom", "last_name": "Nom", "birth_date": "Date de naissance",
        "kind": "Accueil", "weekly_hours": "Heures par semaine", "weeks_per_year": "Semaines par an",
        "contract_start": "Début du contrat", "contract_end": "Fin du contrat", "leave_days": "Jours de congé",
        "leave_taken": "Congés pris", "registered_at": "Inscrit le", "day": "Jour", "start": "Début", "end": "Fin",
        "status": "État", "contact_email": "E-mail prévenu", "created_at": "Demandée le",
        "confirmed_at": "Confirmée le", "cancelled_at": "Annulée le", "late_cancelled": "Annulée tard",
        "days": "Jours", "declared_at": "Déclaré le", "reason": "Motif", "reported_at": "Signalée le",
        "justification": "Justificatif", "justification_type": "Type de fichier", "decision": "Décision",
        "decision_comment": "Commentaire", "decided_at": "Décidée le", "arrived_at": "Arrivée",
        "left_at": "Départ", "walk_in": "Sans réservation", "recorded_at": "Relevée le", "reader": "Lu par",
        "read_at": "Lu le", "absence_start": "Absence du", "recipient": "Destinataire", "subject": "Objet",
        "sent_at": "Envoyé le",
    },
}


def retention_from_config(config):
    return Retention.from_config(config, KINDS)


def reader_text(reader):
    """Who read a justification, as the family reads it: themselves or an agent of the town."""
    return "la famille" if (reader or "").startswith("family:") else "un agent de la mairie"
