"""Logging in and out of the web UI, for parents and agents alike."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, request, url_for

from espace_common.rpc_client import RemoteError

from ..auth import client_ip, current_principal, end_web_session, start_web_session
from ..errors import FormError, refusal
from ..services import services
from ..schemas import form_problem
from .helpers import render_form

bp = Blueprint("auth", __name__)

LOGIN_FIELDS = {("username",): ("username", "Identifiant"), ("password",): ("password", "Mot de passe")}


@bp.app_context_processor
def inject_principal():
    return {"principal": current_principal()}


def safe_next(target):
    """The path of this site to go back to after logging in, or None (then the principal's home).

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so "/%09/evil.example" is
    "//evil.example", another site. Only a plain path is followed: printable ASCII, no backslash, no scheme,
    no host, not two slashes first.
    """
    if not target or not all("!" <= char <= "~" for char in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_of(principal):
    """Where a principal lands after logging in: parents on their dashboard, agents on theirs."""
    if principal["kind"] == "agent":
        return url_for("agent.home")
    if principal["kind"] == "parent":
        return url_for("myspace.dashboard")
    return url_for("public.home")


@bp.route("/connexion", methods=("GET", "POST"))
def login():
    """Log in with an identifier and a password."""
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if not username or not password:
            error = FormError("Saisissez votre identifiant et votre mot de passe.", "missing_field")
        elif problem := form_problem("PasswordGrant", {"username": username, "password": password},
                                     LOGIN_FIELDS.get):
            error = problem
        else:
            try:
                result = services().call("identity", "login", username, password, client_ip(), "web")
            except RemoteError as exc:
                error = refusal(exc)
            else:
                start_web_session(result)
                flash("Vous êtes connecté.")
                return redirect(safe_next(request.args.get("next")) or home_of(result["principal"]))
    return render_form("login.html", error)


@bp.post("/deconnexion")
def logout():
    """Log out: the session token is revoked, not just forgotten."""
    end_web_session()
    flash("Vous êtes déconnecté.")
    return redirect(url_for("public.home"))
