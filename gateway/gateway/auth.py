"""Who is calling: a parent, an agent or another system, from the session cookie or a bearer token.

Identity owns sessions and tokens; the gateway keeps only the session token in
its signed cookie and asks identity who holds it (identity enforces idle and
absolute expiry and revocation), remembering the answer for a few seconds while
it hears identity's revocations (principals.py).
"""
import functools

from flask import current_app, g, redirect, render_template, request, session, url_for

from espace_common.rpc_client import RemoteError

from .principals import token_digest
from .responses import json_error
from .services import services
from .tokens import well_formed


def client_ip():
    """The caller's address (ProxyFix has applied X-Forwarded-For when a proxy is trusted)."""
    return request.remote_addr or ""


def bearer_token():
    """The bearer token of the request; a malformed one (non-ASCII, too long) is no token at all."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and well_formed(token.strip()) else None


def current_principal():
    """The principal of this request, or None.

    Taken from this process's cache of principals when it holds the token and hears
    identity's revocations (see principals.py); otherwise asked of identity, which
    enforces idle and absolute expiry and revocation.
    """
    if "principal" in g:
        return g.principal
    api = request.path.startswith("/api/")
    token = bearer_token() if api else session.get("token")
    principal = None
    if token:
        principal = _resolve(token)
        if principal is None and not api:
            session.clear()
        # A web session token is not a bearer token, nor the reverse.
        if principal is not None and principal["token_kind"] != ("api" if api else "web"):
            principal = None
    g.principal = principal
    return principal


def _resolve(token):
    """Who holds the token: the cached answer if it may be trusted, else identity's (then cached)."""
    cache, listener = current_app.extensions["principals"]
    if listener is not None:
        listener.ensure_started()
    digest = token_digest(token)
    # identity seen down or degraded (its relay may be failing to publish revocations): trust nothing cached.
    monitor = services().monitor
    if monitor is None or not monitor.is_down("identity"):
        principal = cache.get(digest)
        if principal is not None:
            return principal
    ticket = cache.ticket()
    try:
        principal = services().call("identity", "resolve_token", token)
    except RemoteError as exc:
        if exc.exc_type != "Unauthenticated":
            raise
        return None
    cache.put(digest, principal, ticket)
    return principal


def start_web_session(login_result):
    """Keep identity's session token in the cookie, in a fresh session (no fixation)."""
    session.clear()
    session.permanent = True
    session["token"] = login_result["token"]
    g.principal = login_result["principal"]


def log_out_token(token):
    """Identity revokes the token; this process forgets it now, the others when identity's revocation reaches them."""
    services().call("identity", "logout", token)
    current_app.extensions["principals"][0].evict_token(token_digest(token))


def end_web_session():
    token = session.get("token")
    if token:
        log_out_token(token)
    session.clear()
    g.principal = None


def has_role(principal, roles):
    held = set(principal.get("roles") or [])
    return principal["kind"] == "agent" and bool(held & (set(roles) | {"admin"}))


def login_required(view):
    """Web pages: send anonymous visitors to the login page, then back."""
    @functools.wraps(view)
    def wrapped(**kwargs):
        if current_principal() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)
    return wrapped


def parent_required(view):
    """Web pages of a parent's own space."""
    @functools.wraps(view)
    @login_required
    def wrapped(**kwargs):
        if current_principal()["kind"] != "parent":
            return render_template("error.html", status=403, message="Cette page est réservée aux familles."), 403
        return view(**kwargs)
    return wrapped


def role_required(*roles):
    """Web pages for agents holding one of the roles (admin holds them all)."""
    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(**kwargs):
            if not has_role(current_principal(), roles):
                return render_template("error.html", status=403, message="Vous n'avez pas accès à cette page."), 403
            return view(**kwargs)
        return wrapped
    return decorator


def api_auth(kinds=("parent", "agent", "client"), roles=None, scopes=None):
    """API routes: a valid bearer token of an allowed kind, with one of the roles or scopes asked."""
    def decorator(view):
        @functools.wraps(view)
        def wrapped(**kwargs):
            principal = current_principal()
            if principal is None:
                return json_error(401, "unauthenticated", "Un jeton d'accès valide est nécessaire.")
            allowed = principal["kind"] in kinds
            if allowed and principal["kind"] == "agent" and roles:
                allowed = has_role(principal, roles)
            if principal["kind"] == "client":
                allowed = allowed and (not scopes or bool(set(principal.get("scopes") or []) & set(scopes)))
            if not allowed:
                return json_error(403, "forbidden", "Ce jeton ne donne pas accès à cette ressource.")
            return view(**kwargs)
        return wrapped
    return decorator
