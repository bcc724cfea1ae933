"""A parent's own space: the dashboard and "Mon espace" (identifiants, coordonnées, sécurité)."""
import re

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from espace_common.rpc_client import RemoteError, ServiceUnavailable

from ..auth import client_ip, current_principal, parent_required
from ..errors import FormError, refusal
from ..services import services
from ..schemas import form_problem
from .helpers import render_form

bp = Blueprint("myspace", __name__)

ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city")

# The forms' fields by their place in the payload checked against openapi.yaml, with the labels the pages show.
PASSWORD_FIELDS = {("current_password",): ("current_password", "Mot de passe actuel"),
                   ("new_password",): ("new_password", "Nouveau mot de passe")}
CONTACT_FIELDS = {("phone",): ("phone", "Téléphone"), ("email",): ("email", "Adresse e-mail personnelle"),
                  ("address", "line1"): ("line1", "Numéro et voie"),
                  ("address", "line2"): ("line2", "Complément d'adresse"),
                  ("address", "postal_code"): ("postal_code", "Code postal"),
                  ("address", "city"): ("city", "Commune")}


def identity(method, *args):
    return services().call("identity", method, *args)


def my_account():
    """me() of the logged-in parent, with their own representative picked out of the family."""
    me = identity("me", current_principal()["id"])
    me["representative"] = next((r for r in me["family"]["representatives"]
                                 if r["id"] == me["account"]["representative_id"]), None)
    return me


@bp.get("/tableau-de-bord")
@parent_required
def dashboard():
    """Mon tableau de bord: a live tile per thing a parent does, each from one call to the service that owns it
    (identity's me, billing's invoices, canteen's and childcare's family_dashboard); a service that does not answer
    leaves its tile saying so, and the others still show."""
    canteen, childcare = service_tile("canteen"), service_tile("childcare")
    return render_template("myspace/dashboard.html", me=my_account(), account=account_tile(), canteen=canteen,
                           childcare=childcare, justifications=justifications_tile(canteen, childcare))


def service_tile(service):
    """A service's summary of the family for its tile, in one call; None when the service does not answer."""
    try:
        return services().call(service, "family_dashboard", current_principal()["family_id"])
    except ServiceUnavailable:
        return None


def justifications_tile(canteen, childcare):
    """The absences whose justification is awaited: certificates the canteen still accepts, files the crèche is
    still to decide on; None for a service that did not answer."""
    return {"canteen": None if canteen is None else canteen["justifications_to_send"],
            "childcare": None if childcare is None else childcare["justifications_pending"]}


def account_tile():
    """The «Mon compte» tile: the invoices left to pay and their balance, in one call to billing; None when billing
    does not answer (the tile says so, the rest of the dashboard still shows)."""
    from .billing import unpaid_summary
    try:
        invoices = services().call("billing", "family_invoices", current_principal()["family_id"])["invoices"]
    except ServiceUnavailable:
        return None
    return unpaid_summary(invoices) | {"any": bool(invoices)}


@bp.get("/mon-espace/")
@parent_required
def overview():
    """Mon espace: identifiants, coordonnées and sécurité."""
    return render_template("myspace/overview.html", me=my_account())


@bp.route("/mon-espace/identifiants", methods=("GET", "POST"))
@parent_required
def credentials():
    """Change my password; the current one is required."""
    error = None
    if request.method == "POST":
        current = request.form.get("current_password", "")
        new = request.form.get("new_password", "")
        if not current:
            error = FormError("Saisissez votre mot de passe actuel.", "wrong_password")
        elif not new:
            error = FormError("Saisissez votre nouveau mot de passe.", "weak_password")
        elif new != request.form.get("new_password_confirmation", ""):
            error = FormError("Les deux nouveaux mots de passe saisis ne sont pas identiques.", "password_mismatch")
        elif problem := form_problem("ChangePassword", {"current_password": current, "new_password": new},
                                     PASSWORD_FIELDS.get):
            error = problem
        else:
            try:
                identity("change_password", current_principal()["id"], current, new, client_ip(),
                         session.get("token"))
            except RemoteError as exc:
                error = refusal(exc)
            else:
                flash("Votre mot de passe est modifié. Vos autres sessions ont été fermées.")
                return redirect(url_for("myspace.credentials"))
    return render_form("myspace/credentials.html", error)


def contact_changes(form, me):
    """Only what the parent changed, so that the audit says what really changed."""
    rep = me["representative"] or {}
    changes = {}
    phone = form.get("phone", "").strip()
    if re.sub(r"[\s.\-]", "", phone) != (rep.get("phone") or ""):
        changes["phone"] = phone
    address = {name: form.get(name, "").strip() for name in ADDRESS_FIELDS}
    current = rep.get("address") or {}
    if any(address.values()) and any(address[name] != (current.get(name) or "") for name in ADDRESS_FIELDS):
        changes["address"] = address
    email = form.get("email", "").strip()
    if email and email.casefold() != (me["account"]["email"] or "").casefold():
        changes["email"] = email
    return changes


@bp.route("/mon-espace/coordonnees", methods=("GET", "POST"))
@parent_required
def contact():
    """Change my address, phone and e-mail; a new e-mail is confirmed by a link sent to it."""
    me = my_account()
    error = None
    if request.method == "POST":
        changes = contact_changes(request.form, me)
        if not request.form.get("email", "").strip():
            error = FormError("Une adresse e-mail personnelle est nécessaire.", "invalid_email")
        elif not changes:
            flash("Aucune modification : vos coordonnées sont inchangées.")
            return redirect(url_for("myspace.contact"))
        elif problem := form_problem("ContactChanges", changes, CONTACT_FIELDS.get):
            error = problem
        else:
            try:
                result = identity("change_contact", current_principal()["id"], changes, client_ip())
            except RemoteError as exc:
                error = refusal(exc)
            else:
                if set(changes) - {"email"}:
                    flash("Vos coordonnées sont enregistrées.")
                if result.get("pending_email"):
                    flash(f"Un lien de confirmation a été envoyé à {result['pending_email']}. Votre nouvelle "
                          "adresse sera utilisée dès que vous aurez suivi ce lien.")
                return redirect(url_for("myspace.contact"))
    return render_form("myspace/contact.html", error, me=me, form=request.form if error else None)


@bp.get("/mon-espace/securite")
@parent_required
def security():
    """The recent events of my account: logins, failures, changes, with when and from where."""
    events = identity("recent_events", current_principal()["id"])
    return render_template("myspace/security.html", events=events)
