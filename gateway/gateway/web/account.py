"""A parent's way in: create the space with the mailed key, forgotten password, reset and e-mail links."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from espace_common.errors import NotFound
from espace_common.rpc_client import RemoteError

from ..auth import client_ip, start_web_session
from ..errors import FormError, refusal
from ..responses import no_store
from ..services import services
from ..tokens import check_link_token
from ..schemas import form_problem
from .helpers import render_form

bp = Blueprint("account", __name__)

# The forms' fields by their place in the payload checked against openapi.yaml, with the labels the pages show.
CREATE_FIELDS = {("key",): ("key", "Clé reçue par courrier"), ("username",): ("username", "Identifiant choisi"),
                 ("email",): ("email", "Adresse e-mail personnelle"), ("password",): ("password", "Mot de passe")}
FORGOT_FIELDS = {("login",): ("login", "Identifiant ou adresse e-mail")}
RESET_FIELDS = {("password",): ("password", "Nouveau mot de passe")}


def identity(method, *args):
    return services().call("identity", method, *args)


@bp.route("/creer-mon-espace", methods=("GET", "POST"))
def create():
    """Create my space with the key received by post, then land on the dashboard logged in."""
    if request.method == "GET":
        return render_form("account/create.html")
    form = request.form
    key = form.get("key", "").strip()
    username = form.get("username", "").strip()
    email = form.get("email", "").strip()
    password = form.get("password", "")
    if not (key and username and email and password):
        return render_form("account/create.html", FormError("Tous les champs sont obligatoires.", "missing_field"))
    if password != form.get("password_confirmation", ""):
        return render_form("account/create.html",
                           FormError("Les deux mots de passe saisis ne sont pas identiques.", "password_mismatch"))
    problem = form_problem("CreateAccount", {"key": key, "username": username, "email": email, "password": password},
                           CREATE_FIELDS.get)
    if problem:
        return render_form("account/create.html", problem)
    try:
        created = identity("create_account", key, username, email, password, client_ip())
    except RemoteError as exc:
        return render_form("account/create.html", refusal(exc))
    try:
        session = identity("login", username, password, client_ip(), "web")
    except RemoteError as exc:
        refusal(exc)  # re-raises what is not a refusal
        flash("Votre espace est créé. Connectez-vous avec votre identifiant et votre mot de passe.")
        return redirect(url_for("auth.login"))
    start_web_session(session)
    flash(f"Votre espace est créé. Un lien de confirmation a été envoyé à {created['account']['email']} : "
          "suivez-le pour confirmer votre adresse e-mail.")
    return redirect(url_for("myspace.dashboard"))


@bp.route("/mot-de-passe-oublie", methods=("GET", "POST"))
def forgot():
    """Forgotten password: a one-time link is mailed to the account found by identifier or e-mail."""
    if request.method == "GET":
        return render_form("account/forgot.html")
    login = request.form.get("login", "").strip()
    if not login:
        return render_form("account/forgot.html",
                           FormError("Saisissez votre identifiant ou votre adresse e-mail.", "login_required"))
    problem = form_problem("PasswordResetRequest", {"login": login}, FORGOT_FIELDS.get)
    if problem:
        return render_form("account/forgot.html", problem)
    try:
        identity("request_password_reset", login, client_ip())
    except RemoteError as exc:
        return render_form("account/forgot.html", refusal(exc))
    return redirect(url_for("account.forgot_sent"))


@bp.get("/mot-de-passe-oublie/envoye")
def forgot_sent():
    """The same answer whether an account matched or not."""
    return render_template("account/forgot_sent.html")


@bp.route("/mot-de-passe-oublie/<token>", methods=("GET", "POST"))
def reset(token):
    """Choose a new password from the link of the mail; the link works once."""
    try:
        identity("check_reset_token", check_link_token(token))
    except (RemoteError, NotFound) as exc:
        return no_store(render_form("account/reset_invalid.html", refusal(exc)))
    if request.method == "GET":
        return no_store(render_form("account/reset.html"))
    password = request.form.get("password", "")
    if not password:
        error = FormError("Saisissez votre nouveau mot de passe.", "weak_password")
    elif password != request.form.get("password_confirmation", ""):
        error = FormError("Les deux mots de passe saisis ne sont pas identiques.", "password_mismatch")
    elif problem := form_problem("PasswordResetConfirmation", {"token": token, "password": password},
                                 RESET_FIELDS.get):
        error = problem
    else:
        try:
            identity("confirm_password_reset", token, password, client_ip())
        except RemoteError as exc:
            error = refusal(exc)
            if error.code in ("link_invalid", "link_expired"):
                return no_store(render_form("account/reset_invalid.html", error))
        else:
            flash("Votre mot de passe est modifié. Connectez-vous avec votre nouveau mot de passe.")
            return redirect(url_for("auth.login"))
    return no_store(render_form("account/reset.html", error))


@bp.get("/confirmer-email/<token>")
def confirm_email(token):
    """Follow the link mailed to a new address: the address is confirmed."""
    try:
        confirmed = identity("confirm_email", check_link_token(token))
    except (RemoteError, NotFound) as exc:
        return no_store(render_form("account/confirm_email.html", refusal(exc)))
    return no_store(render_form("account/confirm_email.html", email=confirmed["email"]))
