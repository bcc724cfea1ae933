"""The family's data in its hands (GDPR, issue #12): what billing keeps, for how long, and why; the French names of
its export's sections and fields (the parents' PDF).

Billing purges nothing: invoices, credit notes, payments and the direct-debit mandates behind them are accounting
records the town keeps ten years (its archivist may set longer), longer than any of them has existed here."""
from espace_common.retention import Kind, Retention

KINDS = [
    Kind("accounting", "Factures, avoirs, paiements, mandats de prélèvement, quotient familial retenu",
         "BILLING_RETENTION_DAYS", 3650, "après la fin de l'exercice de la facture",
         "Ce sont des pièces comptables : la loi impose de les garder dix ans. Rien n'est supprimé avant.",
         purged=False),
]

LABELS = {
    "sections": {
        "children": "Enfants connus du service facturation", "resources": "Ressources et quotient familial",
        "billing_preference": "Facture en ligne", "invoices": "Factures", "invoice_lines": "Lignes des factures",
        "credit_notes": "Avoirs", "payments": "Paiements reçus", "mandates": "Mandats de prélèvement SEPA",
        "direct_debits": "Prélèvements", "mails": "Courriers électroniques envoyés",
    },
    "columns": {
        "first_name": "Prénom", "last_name": "Nom", "birth_date": "Date de naissance", "valid_from": "À partir du",
        "quotient": "Quotient familial", "monthly_resources_cents": "Ressources mensuelles",
        "dependent_children": "Enfants à charge", "disability": "Enfant en situation de handicap",
        "recorded_at": "Enregistré le", "paperless": "Facture en ligne", "changed_at": "Choisie le",
        "number": "Numéro", "regie": "Service", "period": "Mois", "status": "État", "total_cents": "Montant",
        "paid_cents": "Payé", "credited_cents": "Avoirs", "balance_cents": "Reste à payer", "issued_on": "Émise le",
        "due_date": "À payer avant le", "direct_debit": "Prélevée", "delivery": "Envoi", "invoice": "Facture",
        "label": "Libellé", "quantity": "Quantité", "unit_price_cents": "Prix unitaire", "amount_cents": "Montant",
        "reason": "Motif", "created_at": "Émis le", "method": "Moyen de paiement", "received_at": "Reçu le",
        "reference": "Référence (RUM)", "iban": "IBAN", "bic": "BIC", "holder": "Titulaire",
        "signed_on": "Signé le", "revoked_at": "Révoqué le", "collection_date": "Date de prélèvement",
        "rejection_reason": "Motif du rejet", "recipient": "Destinataire", "subject": "Objet", "sent_at": "Envoyé le",
    },
}


def retention_from_config(config):
    return Retention.from_config(config, KINDS)
