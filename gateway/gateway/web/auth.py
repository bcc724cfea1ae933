"""Logging in and out, and the decorator that guards private pages."""
import functools

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from espace_common.rpc_client import RemoteError

from ..services import services

bp = Blueprint("auth", __name__)


@bp.before_app_request
def load_logged_in_user():
    g.user = session.get("user")


def login_required(view):
    """Send anonymous visitors to the login page, then back."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(**kwargs)
    return wrapped


def role_required(*roles):
    """Only agents holding one of the roles (or admin) may see the page."""
    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(**kwargs):
            held = set(g.user.get("roles", []))
            if g.user.get("kind") != "agent" or not (held & (set(roles) | {"admin"})):
                return render_template("error.html", status=403,
                                       message="Vous n'avez pas accès à cette page."), 403
            return view(**kwargs)
        return wrapped
    return decorator


def safe_next(target):
    """Only redirect to a path of this site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.route("/connexion", methods=("GET", "POST"))
def login():
    """Log in with an identifier and a password."""
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if not username or not password:
            error = "Saisissez votre identifiant et votre mot de passe."
        else:
            try:
                agent = services().call("identity", "authenticate_agent", username, password)
            except RemoteError as exc:
                if not exc.is_domain_error:
                    raise
                error = exc.message
            else:
                session.clear()
                session["user"] = {"kind": "agent", "id": agent["id"], "username": agent["username"],
                                   "roles": agent["roles"]}
                flash("Vous êtes connecté.")
                return redirect(safe_next(request.args.get("next")) or url_for("agent.home"))
    return render_template("login.html", error=error), 200 if error is None else 401


@bp.post("/deconnexion")
def logout():
    """Log out and forget the session."""
    session.clear()
    flash("Vous êtes déconnecté.")
    return redirect(url_for("public.home"))
