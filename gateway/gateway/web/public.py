"""Public pages: no account needed."""
from flask import Blueprint, render_template

bp = Blueprint("public", __name__)

CONTACTS = (
    ("Mairie de Donges", "02 40 45 79 79", "+33240457979"),
    ("Multi-accueil « Bout D'chou »", "02 40 91 01 91", "+33240910191"),
    ("Relais Petite Enfance", "02 40 45 25 03", "+33240452503"),
)


@bp.app_context_processor
def town_contacts():
    return {"contacts": CONTACTS}


@bp.get("/")
def home():
    """The public home page of the Espace Famille."""
    return render_template("home.html")
