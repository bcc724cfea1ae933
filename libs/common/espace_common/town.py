"""The town's letterhead and contacts, printed by every service's documents (key letters, invoices, receipts)."""

TOWN = "Ville de Donges"
SERVICES_LINE = "Espace Famille - Affaires Scolaires et Petite Enfance"
TOWN_HALL_ADDRESS = "Place Armand Morvan, 44480 Donges"

TOWN_HALL = ("Mairie de Donges", "02 40 45 79 79")
MULTI_ACCUEIL = ("Multi-accueil « Bout D'chou »", "02 40 91 01 91")
RELAIS = ("Relais Petite Enfance", "02 40 45 25 03")
CONTACTS = (TOWN_HALL, MULTI_ACCUEIL, RELAIS)


def tel_uri(phone):
    """'02 40 45 79 79' -> 'tel:+33240457979' (the link a phone dials)."""
    digits = "".join(c for c in phone if c.isdigit())
    return f"tel:+33{digits[1:]}" if digits.startswith("0") else f"tel:{digits}"


# What the public pages say about each contact: who answers, for what. The names and numbers are the ones above.
CONTACT_ROLES = (
    (TOWN_HALL, "Standard unique de la mairie : Affaires Scolaires (inscriptions à l'école et à la restauration "
                "scolaire, facturation de la cantine), clé de l'Espace Famille, paiement en espèces ou par chèque.",
     TOWN_HALL_ADDRESS),
    (MULTI_ACCUEIL, "Inscription au multi-accueil (sur rendez-vous), accueil occasionnel et régulier, absences des "
                    "enfants accueillis, facturation de la Petite Enfance.", ""),
    (RELAIS, "Information sur les modes de garde, accueil régulier chez une assistante maternelle, "
             "accompagnement des parents et des assistantes maternelles.", ""),
)

# The accessibility statement (RGAA 4.1): who to write to, and the recourse of the Défenseur des droits.
ACCESSIBILITY_CONTACT = (TOWN_HALL[0], TOWN_HALL_ADDRESS, TOWN_HALL[1])
DEFENSEUR_DES_DROITS = {
    "form": "https://formulaire.defenseurdesdroits.fr/",
    "delegates": "https://www.defenseurdesdroits.fr/carte-des-delegues",
    "phone": "09 69 39 00 00",
    "address": "Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07",
}
ACCESSIBILITY_STATEMENT_DATE = "2026-12-02"  # when the statement was written; the tests run on every change
