"""The family's data in its hands (GDPR, issue #12): what the canteen keeps, for how long, and why; the French names
of its export's sections and fields (the parents' PDF)."""
from espace_common.retention import Kind, Retention

KINDS = [
    Kind("justifications", "Justificatifs d'absence (certificats médicaux) : le fichier envoyé",
         "CANTEEN_RETENTION_JUSTIFICATIONS_DAYS", 365, "après la fin de l'année scolaire de l'absence",
         "Un certificat sert à ne pas facturer les repas d'une absence ; passée l'année scolaire et le délai de "
         "réclamation d'une facture, il ne sert plus. L'absence elle-même (dates, motif) reste, les factures s'y "
         "réfèrent."),
    Kind("diets", "Régime alimentaire et PAI d'un enfant qui ne mange plus à la cantine",
         "CANTEEN_RETENTION_DIETS_DAYS", 365, "après la fin de la dernière année scolaire où il était inscrit",
         "Un régime peut révéler des convictions et un PAI touche à la santé : ils ne servent qu'à préparer les "
         "repas d'un enfant inscrit."),
    Kind("document_reads", "Consultations des justificatifs par les agents", "CANTEEN_RETENTION_READS_DAYS", 365,
         "après la consultation", "Un journal d'accès aux données sensibles, gardé un an comme les autres journaux."),
]

LABELS = {
    "sections": {
        "children": "Enfants connus du service de restauration",
        "enrolments": "Inscriptions à la cantine", "reservations": "Repas réservés",
        "absences": "Absences signalées", "attendance": "Présences relevées à la cantine",
        "diets": "Régimes et PAI", "calendar_feeds": "Agenda privé (abonnement)",
        "document_reads": "Consultations des justificatifs",
    },
    "columns": {
        "child": "Enfant", "first_name": "Prénom", "last_name": "Nom", "birth_date": "Date de naissance",
        "school_year": "Année scolaire", "school": "École", "class": "Classe", "day": "Jour",
        "created_at": "Enregistré le", "start": "Du", "end": "Au", "reason": "Motif", "reported_at": "Signalée le",
        "justification": "Justificatif", "justification_type": "Type de fichier", "reserved": "Réservé",
        "recorded_at": "Relevé le", "diet": "Régime", "pai": "PAI", "updated_at": "Modifié le",
        "revoked_at": "Arrêté le", "reader": "Lu par", "read_at": "Lu le", "absence_start": "Absence du",
    },
}


def last_school_year_ended_by(day):
    """'2026-2027' for 31 August 2027: the school year that ends on that day (a 31 August)."""
    return f"{day.year - 1}-{day.year}"


def retention_from_config(config):
    return Retention.from_config(config, KINDS)


def reader_text(reader):
    """Who read a justification, as the family reads it: themselves or an agent of the town (not the agent's id)."""
    return "la famille" if (reader or "").startswith("family:") else "un agent de la mairie"
