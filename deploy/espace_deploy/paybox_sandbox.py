"""A Paybox System look-alike for local runs and tests (never production): `python -m espace_deploy.paybox_sandbox`.

It behaves as Paybox's page does for the payment service: it checks the form's HMAC with the same secret (and
refuses a bad one as Paybox does), shows a French card page, accepts the test card 1111 2222 3333 4444, refuses
1111 2222 3333 4441 with the authorisation centre's code 00151, sends the signed notification to PBX_REPONDRE_A
(RSA-SHA1 with its own test key pair, deploy/espace_deploy/paybox_sandbox_keys/) and sends the browser back to
PBX_EFFECTUE, PBX_REFUSE or PBX_ANNULE with the PBX_RETOUR variables, signed too.

For tests the card form also takes notify_count (default 1; 0 drops the notification, 3 sends it three times)
and notify_delay_s (default 0, at most 30).

Settings (environment): PAYBOX_ENV (production is refused), PAYBOX_SECRET (hex, default the local one),
PAYBOX_SITE / PAYBOX_RANG / PAYBOX_IDENTIFIANT (the account it accepts, default the local ones),
PAYBOX_SANDBOX_PRIVATE_KEY_FILE (default the shipped test key), PAYBOX_SANDBOX_PORT (default 8090).
"""
import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import quote

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from flask import Flask, abort, redirect, render_template_string, request

from .paybox_settings import KEYS, LOCAL_SECRET, SANDBOX_PORT, local_payment_env

log = logging.getLogger("paybox_sandbox")

ACCEPTED_CARD, REFUSED_CARD = "1111222233334444", "1111222233334441"
REQUIRED = ("PBX_SITE", "PBX_RANG", "PBX_IDENTIFIANT", "PBX_TOTAL", "PBX_DEVISE", "PBX_CMD", "PBX_PORTEUR",
            "PBX_RETOUR", "PBX_HASH", "PBX_TIME", "PBX_HMAC")
# What Paybox's page answers to a form whose HMAC or account is wrong.
ACCESS_REFUSED = "Problème d'identification du commerce. Accès refusé !"
MAX_PENDING = 1000


class SandboxRefused(Exception):
    """The sandbox cannot start; the message is one sentence naming the setting."""


@dataclass(frozen=True)
class SandboxSettings:
    secret: str
    site: str
    rang: str
    identifiant: str
    private_key: object
    port: int

    @classmethod
    def from_environ(cls, environ):
        if (environ.get("PAYBOX_ENV") or "sandbox").strip().lower() == "production":
            raise SandboxRefused("PAYBOX_ENV: the Paybox sandbox never runs in production.")
        local = local_payment_env()
        secret = (environ.get("PAYBOX_SECRET") or LOCAL_SECRET).strip()
        if not re.fullmatch(r"(?:[0-9A-Fa-f]{2}){16,}", secret):
            raise SandboxRefused("PAYBOX_SECRET: must be the HMAC key in hexadecimal.")
        key_file = environ.get("PAYBOX_SANDBOX_PRIVATE_KEY_FILE") or str(KEYS / "private.pem")
        try:
            private_key = load_pem_private_key(Path(key_file).read_bytes(), password=None)
        except (OSError, ValueError, TypeError):
            raise SandboxRefused(f"PAYBOX_SANDBOX_PRIVATE_KEY_FILE: {key_file} is not a readable PEM private key.") \
                from None
        try:
            port = int(environ.get("PAYBOX_SANDBOX_PORT") or SANDBOX_PORT)
        except ValueError:
            raise SandboxRefused("PAYBOX_SANDBOX_PORT: must be a port number.") from None
        return cls(secret=secret, site=environ.get("PAYBOX_SITE") or local["PAYBOX_SITE"],
                   rang=environ.get("PAYBOX_RANG") or local["PAYBOX_RANG"],
                   identifiant=environ.get("PAYBOX_IDENTIFIANT") or local["PAYBOX_IDENTIFIANT"],
                   private_key=private_key, port=port)


def expected_hmac(fields, secret):
    """Paybox's check: HMAC (PBX_HASH) keyed by the hex-decoded secret, over NAME=value&… in the order received."""
    algorithm = dict(fields).get("PBX_HASH", "SHA512").lower()
    if algorithm not in ("sha512", "sha256", "sha384", "sha224", "sha1"):
        return None
    message = "&".join(f"{name}={value}" for name, value in fields if name != "PBX_HMAC")
    return hmac.new(binascii.unhexlify(secret), message.encode("utf-8"), getattr(hashlib, algorithm)).hexdigest()


def signed_variables(variables, private_key):
    """name=value&… URL-encoded, then the signature of exactly that text, base64 then URL-encoded, last."""
    query = "&".join(f"{name}={quote(str(value), safe='')}" for name, value in variables if value is not None)
    signature = private_key.sign(query.encode("ascii"), padding.PKCS1v15(), hashes.SHA1())
    return query, quote(base64.b64encode(signature).decode("ascii"), safe="")


def retour_variables(retour, values):
    """The PBX_RETOUR list (name:letter;…) filled with this payment's values; K (the signature) is left out."""
    variables, signature_name = [], None
    for item in retour.split(";"):
        name, _, letter = item.partition(":")
        if not name or not letter:
            continue
        if letter == "K":
            signature_name = name
        else:
            variables.append((name, values.get(letter, "")))
    return variables, signature_name


def returned_query(retour, values, private_key):
    variables, signature_name = retour_variables(retour, values)
    query, signature = signed_variables(variables, private_key)
    return f"{query}&{signature_name}={signature}" if signature_name else query


def card_outcome(card_number, expiry, cvv, today):
    """Paybox's error code for this card: the two test cards, a malformed or expired one."""
    number = re.sub(r"[\s-]", "", card_number or "")
    match = re.fullmatch(r"(\d{2})/(\d{2})", (expiry or "").strip())
    if not re.fullmatch(r"\d{3}", (cvv or "").strip()) or not re.fullmatch(r"\d{12,19}", number):
        return "00004"
    if not match or not 1 <= int(match.group(1)) <= 12:
        return "00008"
    if (2000 + int(match.group(2)), int(match.group(1))) < (today.year, today.month):
        return "00008"
    if number == ACCEPTED_CARD:
        return "00000"
    if number == REFUSED_CARD:
        return "00151"
    return "00105"  # any other card: "do not honour", as a real bank would for an unknown test card


PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} – Paybox (bac à sable)</title>
<style>body{font-family:system-ui,sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin-top:1rem}input{font-size:1.1rem;padding:.4rem;width:100%;box-sizing:border-box}
button{margin-top:1.5rem;font-size:1.1rem;padding:.6rem 1.2rem}.note{color:#555;font-size:.9rem}
fieldset{margin-top:1.5rem}</style></head><body>
<p class="note">Bac à sable Paybox : aucun paiement réel n'est effectué.</p>
<h1>{{ title }}</h1>
{% if error %}<p role="alert">{{ error }}</p>{% endif %}
{% if payment %}
<p>Commande <strong>{{ payment.reference }}</strong> : <strong>{{ payment.amount }}</strong></p>
<form method="post" action="/cgi/paiement">
<input type="hidden" name="payment" value="{{ payment.token }}">
<label for="card_number">Numéro de carte</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required>
<label for="expiry">Date de validité (MM/AA)</label>
<input id="expiry" name="expiry" placeholder="MM/AA" autocomplete="cc-exp" required>
<label for="cvv">Cryptogramme visuel</label>
<input id="cvv" name="cvv" inputmode="numeric" autocomplete="cc-csc" required>
<fieldset><legend>Réservé aux tests</legend>
<label for="notify_count">Nombre de notifications envoyées</label>
<input id="notify_count" name="notify_count" value="1" inputmode="numeric">
<label for="notify_delay_s">Délai avant la notification (secondes)</label>
<input id="notify_delay_s" name="notify_delay_s" value="0" inputmode="numeric"></fieldset>
<button type="submit" name="action" value="pay">Valider le paiement</button>
<button type="submit" name="action" value="cancel" formnovalidate>Annuler</button>
</form>
<p class="note">Carte acceptée : 1111 2222 3333 4444 ; carte refusée : 1111 2222 3333 4441 (code 00151).</p>
{% endif %}
</body></html>"""


def euros(cents):
    return f"{cents // 100},{cents % 100:02d} €"


def create_app(settings, notifier=None):
    """The sandbox's Flask app; `notifier(url, query)` sends one notification (tests may replace it)."""
    app = Flask(__name__)
    pending = {}  # token -> the posted fields, for the card page that follows
    lock = threading.Lock()
    notifier = notifier or send_notification

    def refuse(message, status=403):
        return render_template_string(PAGE, title="Accès refusé", error=message, payment=None), status

    @app.get("/load.html")
    def availability():
        return '<html><body><div id="server_status">OK</div></body></html>'

    @app.post("/cgi/MYchoix_pagepaiement.cgi")
    def payment_page():
        fields = list(request.form.items(multi=True))
        values = dict(fields)
        if any(not values.get(name) for name in REQUIRED) or fields[-1][0] != "PBX_HMAC":
            return refuse(ACCESS_REFUSED)
        wanted = expected_hmac(fields, settings.secret)
        if wanted is None or not hmac.compare_digest(wanted.upper(), values["PBX_HMAC"].upper()):
            log.warning("form refused: its HMAC does not match the secret")
            return refuse(ACCESS_REFUSED)
        if (values["PBX_SITE"], values["PBX_RANG"], values["PBX_IDENTIFIANT"]) != \
                (settings.site, settings.rang, settings.identifiant):
            return refuse(ACCESS_REFUSED)
        if not re.fullmatch(r"\d{3,10}", values["PBX_TOTAL"]) or values["PBX_DEVISE"] != "978":
            return refuse("Montant ou devise invalide.", 400)
        token = secrets.token_urlsafe(16)
        with lock:
            if len(pending) >= MAX_PENDING:
                pending.pop(next(iter(pending)))
            pending[token] = values
        return render_template_string(PAGE, title="Paiement par carte bancaire", error=None, payment={
            "token": token, "reference": values["PBX_CMD"], "amount": euros(int(values["PBX_TOTAL"]))})

    @app.post("/cgi/paiement")
    def pay():
        with lock:
            values = pending.get(request.form.get("payment", ""))
        if values is None:
            abort(404)
        if request.form.get("action") == "cancel":
            with lock:
                pending.pop(request.form.get("payment", ""), None)
            return redirect(with_query(values.get("PBX_ANNULE") or "/", returned_query(
                values["PBX_RETOUR"], outcome_values(values, "00001"), settings.private_key)), 303)
        try:
            count = max(0, min(int(request.form.get("notify_count") or 1), 10))
            delay = max(0.0, min(float(request.form.get("notify_delay_s") or 0), 30.0))
        except ValueError:
            count, delay = 1, 0.0
        error = card_outcome(request.form.get("card_number"), request.form.get("expiry"),
                             request.form.get("cvv"), date.today())
        with lock:
            pending.pop(request.form.get("payment", ""), None)
        returned = outcome_values(values, error, request.form.get("card_number"))
        query = returned_query(values["PBX_RETOUR"], returned, settings.private_key)
        if values.get("PBX_REPONDRE_A") and count:
            threading.Thread(target=notify, args=(notifier, values["PBX_REPONDRE_A"], query, count, delay),
                             daemon=True).start()
        target = values.get("PBX_EFFECTUE") if error == "00000" else values.get("PBX_REFUSE")
        return redirect(with_query(target or "/", query), 303)

    return app


def outcome_values(values, error, card_number=""):
    """The values of PBX_RETOUR's letters for this attempt."""
    now = datetime.now(timezone.utc)
    number = re.sub(r"\D", "", card_number or "")
    return {"M": str(int(values["PBX_TOTAL"])), "R": values["PBX_CMD"],
            "A": f"{secrets.randbelow(10**6):06d}" if error == "00000" else "", "E": error,
            "S": str(secrets.randbelow(10**9)), "T": str(secrets.randbelow(10**9)), "W": now.strftime("%d%m%Y"),
            "Q": now.strftime("%H:%M:%S"), "C": "CB", "J": number[-2:]}


def with_query(url, query):
    return f"{url}{'&' if '?' in url else '?'}{query}"


def notify(notifier, url, query, count, delay):
    time.sleep(delay)
    for _ in range(count):
        notifier(url, query)


def send_notification(url, query):
    """One server-to-server call, as Paybox makes it: an HTTP GET with the variables in the query string."""
    try:
        answer = requests.get(with_query(url, query), timeout=10)
        log.info("notification to %s answered %s", url, answer.status_code)
    except requests.RequestException as exc:
        log.warning("notification to %s failed: %s", url, exc)


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s paybox-sandbox %(levelname)s: %(message)s")
    try:
        settings = SandboxSettings.from_environ(os.environ)
    except SandboxRefused as exc:
        print(f"paybox sandbox cannot start: {exc}", file=sys.stderr)
        return 2
    from werkzeug.serving import run_simple
    run_simple("127.0.0.1", settings.port, create_app(settings), threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
