"""The family's data in its hands (GDPR, issue #12): what identity keeps, for how long, and why.

Plain rules: the kinds of data identity purges, each with its setting in config.yml (days) and the French words
the parents' «Mes données» page and the administrators' page show. Other features add their kinds to KINDS (health
records, documents, messages) with their purge functions in use_cases/retention.py.
"""
from espace_common.retention import Kind, Retention

KINDS = [
    Kind("audit_events", "Historique de votre espace (connexions, échecs, changements de mot de passe, de "
                         "coordonnées)", "RETENTION_AUDIT_DAYS", 365, "après l'événement",
         "La CNIL recommande de garder les journaux de connexion de six mois à un an ; la dernière connexion de "
         "chaque espace est gardée, elle dit quand il a servi pour la dernière fois."),
    Kind("sessions", "Sessions et liens envoyés par e-mail (réinitialisation, confirmation)",
         "RETENTION_SESSIONS_DAYS", 365, "après leur dernière utilisation ou leur expiration",
         "Ils ne servent plus dès leur expiration ; leur trace (date, adresse IP) reste un journal de connexion."),
    Kind("agent_journal", "Journal des actions des agents sur votre dossier", "RETENTION_JOURNAL_DAYS", 365,
         "après l'action", "Il permet de savoir qui a fait quoi pendant un an, comme les journaux de connexion."),
    Kind("mails", "Courriers électroniques envoyés par l'Espace Famille (objet, date, contenu)",
         "RETENTION_MAILS_DAYS", 365, "après leur envoi",
         "Un courrier sert à prouver qu'il a été envoyé, pas au-delà d'un an."),
    Kind("lapsed_keys", "Clés d'activation jamais utilisées", "RETENTION_LAPSED_KEYS_DAYS", 365,
         "après leur expiration ou leur remplacement",
         "Une clé expirée ne peut plus servir ; une nouvelle clé est demandée à la mairie."),
    Kind("closed_accounts", "Espaces fermés : identifiant, adresse e-mail de connexion et mot de passe d'un espace "
                            "qui n'a plus servi", "RETENTION_CLOSED_ACCOUNTS_DAYS", 1095,
         "après la dernière connexion (ou la création de l'espace)",
         "La CNIL recommande de supprimer un compte inactif après deux à trois ans. Le dossier de la famille "
         "(représentants, enfants) reste, tenu par la mairie ; un parent qui revient demande une nouvelle clé."),
    # The other parts of issue #12: the health records, the document wallet, the messages, the reminders sent.
    Kind("health_records", "Fiches sanitaires des enfants", "RETENTION_HEALTH_RECORDS_DAYS", 730,
         "après leur dernière mise à jour",
         "Une fiche est mise à jour chaque année scolaire ; une fiche restée deux ans sans l'être est celle d'un "
         "enfant qui ne fréquente plus les services."),
    Kind("health_record_reads", "Consultations des fiches sanitaires par les agents",
         "RETENTION_HEALTH_READS_DAYS", 365, "après la consultation",
         "Elles sont gardées un an, comme les autres journaux."),
    Kind("wallet_documents", "Documents du porte-documents expirés, refusés ou remplacés", "WALLET_RETENTION_DAYS",
         365, "après leur expiration, leur refus ou leur remplacement",
         "Un document qui ne compte plus est gardé un an, le temps d'une contestation."),
    Kind("closed_conversations", "Messages échangés avec les services, une fois la conversation close",
         "RETENTION_MESSAGES_DAYS", 365, "après la clôture de la conversation",
         "Une conversation close est gardée un an, le temps d'y revenir."),
    Kind("reminders_sent", "Rappels envoyés par courriel", "RETENTION_REMINDERS_DAYS", 365, "après leur envoi",
         "Ils ne servent qu'à ne pas envoyer deux fois le même rappel."),
]


def retention_from_config(config):
    return Retention.from_config(config, KINDS)


def journal_entry_summary(row):
    """An agent journal line as the family reads it: what, when, by which path (the agent's name is not shown: the
    town answers for its agents; the administrators' journal names them)."""
    return {"at": row["at"], "action": row["action"], "method": row["method"], "path": row["path"]}


# The French names of the export's sections and fields, for the parents' PDF (the JSON keeps the keys).
LABELS = {
    "sections": {
        "family": "Dossier de la famille", "representatives": "Représentants légaux", "children": "Enfants",
        "accounts": "Espaces (comptes) des représentants", "activation_keys": "Clés d'activation envoyées",
        "account_events": "Historique des espaces (connexions, modifications)",
        "sessions": "Sessions ouvertes", "mailed_links": "Liens envoyés par e-mail",
        "mails": "Courriers électroniques envoyés", "agent_journal": "Actions des agents sur le dossier",
    },
    "columns": {
        "dossier": "N° de dossier", "first_name": "Prénom", "last_name": "Nom", "email": "Adresse e-mail",
        "phone": "Téléphone", "address": "Adresse", "caf_number": "N° allocataire CAF", "birth_date": "Date de naissance",
        "username": "Identifiant", "email_confirmed": "Adresse confirmée", "created_at": "Créé le",
        "issued_at": "Émise le", "expires_at": "Expire le", "used_at": "Utilisée le", "revoked_at": "Remplacée le",
        "at": "Date", "label": "Événement", "client_ip": "Adresse IP", "detail": "Détail", "kind": "Type",
        "last_seen_at": "Dernière activité", "purpose": "Objet du lien", "recipient": "Destinataire",
        "subject": "Objet", "sent_at": "Envoyé le", "action": "Action", "method": "Méthode", "path": "Page",
    },
}
