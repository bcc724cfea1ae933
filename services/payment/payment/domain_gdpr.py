"""The family's data in its hands (GDPR, issue #12): what the payment service keeps (no card data: Paybox holds it),
for how long, and the French names of its export (the parents' PDF)."""
from espace_common.retention import Kind, Retention

KINDS = [
    Kind("card_transactions", "Paiements par carte (montant, facture, réponse de la banque ; aucun numéro de carte)",
         "PAYMENT_RETENTION_DAYS", 3650, "après le paiement",
         "Ce sont des pièces comptables de la régie : elles sont gardées dix ans. Rien n'est supprimé avant.",
         purged=False),
]

LABELS = {
    "sections": {"card_transactions": "Paiements par carte bancaire", "mails": "Reçus envoyés par e-mail"},
    "columns": {"invoice_number": "Facture", "amount_cents": "Montant", "payer_email": "E-mail du payeur",
                "status": "État", "message": "Réponse", "created_at": "Commencé le", "paid_at": "Payé le",
                "recipient": "Destinataire", "subject": "Objet", "sent_at": "Envoyé le"},
}


def retention_from_config(config):
    return Retention.from_config(config, KINDS)
