"""The agents' back office."""
from flask import Blueprint, render_template

from ..auth import role_required

bp = Blueprint("agent", __name__, url_prefix="/agents")


@bp.get("/")
@role_required("affaires_scolaires", "petite_enfance")
def home():
    """The agents' home: what they can do with their roles."""
    return render_template("agent/home.html")
