"""Logging in and out of the web UI, for parents and agents alike."""
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
    """Only redirect to a path of this site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


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
