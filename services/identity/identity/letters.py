"""The printed letter that carries a representative's key, and its encryption at rest."""
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from fpdf import FPDF

from espace_common.clock import to_paris
from espace_common.formatting import date_long
from espace_common.town import CONTACTS, SERVICES_LINE, TOWN, TOWN_HALL_ADDRESS

STEPS = (
    "Rendez-vous sur l'Espace Famille : {url}",
    "Choisissez « Je n'ai pas d'espace › créer mon espace ».",
    "Saisissez la clé ci-dessus, votre adresse e-mail personnelle, l'identifiant et le mot de passe de votre choix.",
    "Confirmez votre adresse e-mail en suivant le lien que vous recevrez.",
)


def _text(value):
    # The core PDF fonts are Latin-1: typographic quotes and apostrophes are mapped to it.
    return (value.replace("\u2019", "'").replace("\u202f", " ").replace("\u00a0", " ")
            .replace("\u2026", "...").encode("latin-1", "replace").decode("latin-1"))


def render_letter(representative, key, issued_at, expires_at, public_url):
    """A one-page A4 PDF: address block, the key, how to create the account, the contacts."""
    pdf = FPDF(format="A4")
    pdf.set_title("Votre clé Espace Famille")
    pdf.set_author("Ville de Donges")
    pdf.set_creation_date(datetime(2000, 1, 1))
    pdf.add_page()
    pdf.set_margins(20, 20, 20)
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _text(TOWN), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 5, _text(SERVICES_LINE), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, _text(TOWN_HALL_ADDRESS), new_x="LMARGIN", new_y="NEXT")

    address = representative.get("address") or {}
    pdf.set_xy(110, 50)
    pdf.set_font("Helvetica", "", 11)
    lines = [f"{representative['first_name']} {representative['last_name'].upper()}", address.get("line1", ""),
             address.get("line2", ""), f"{address.get('postal_code', '')} {address.get('city', '').upper()}".strip()]
    for line in filter(None, lines):
        pdf.set_x(110)
        pdf.cell(0, 5.5, _text(line), new_x="LMARGIN", new_y="NEXT")

    pdf.set_xy(20, 95)
    pdf.cell(0, 6, _text(f"Donges, le {date_long(to_paris(issued_at))}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 8, _text("Objet : votre clé pour créer votre Espace Famille"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.ln(2)
    pdf.multi_cell(0, 5.5, _text(
        f"Madame, Monsieur, voici votre clé personnelle espace citoyens/enfance. Elle vous permet de créer "
        f"votre espace, une seule fois, jusqu'au {date_long(to_paris(expires_at))}. "
        "Elle est personnelle : ne la communiquez à personne."))
    pdf.ln(4)
    pdf.set_font("Courier", "B", 22)
    pdf.set_fill_color(238, 242, 247)
    pdf.cell(0, 16, key, border=1, align="C", fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 6, _text("La clé ne contient ni O ni 0, ni I, L ou 1 : aucune confusion possible."),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, _text("Pour créer votre espace"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for number, step in enumerate(STEPS, start=1):
        pdf.multi_cell(0, 5.5, _text(f"{number}. {step.format(url=public_url)}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, _text("Nous contacter"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for name, phone in CONTACTS:
        pdf.cell(0, 5.5, _text(f"{name} : {phone}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class LetterVault:
    """Encrypts letters while they wait to be printed again."""

    def __init__(self, secret):
        self._fernet = Fernet(secret)

    def seal(self, pdf_bytes):
        return self._fernet.encrypt(pdf_bytes)

    def open(self, sealed):
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            return None
