"""The town's letterhead and contacts, printed by every service's documents (key letters, invoices, receipts)."""

TOWN = "Ville de Donges"
SERVICES_LINE = "Espace Famille - Affaires Scolaires et Petite Enfance"
TOWN_HALL_ADDRESS = "Place Armand Morvan, 44480 Donges"

TOWN_HALL = ("Mairie de Donges", "02 40 45 79 79")
MULTI_ACCUEIL = ("Multi-accueil « Bout D'chou »", "02 40 91 01 91")
RELAIS = ("Relais Petite Enfance", "02 40 45 25 03")
CONTACTS = (TOWN_HALL, MULTI_ACCUEIL, RELAIS)
