"""Paybox System (HMAC) as plain code: the form in the order it is signed, its HMAC, the notification and its RSA
signature, and what the error codes mean in French.

Reference: Paybox's integration manual for Paybox System (HMAC version) and ../shared/reference/PAYBOX.md; where
they disagree the manual wins. No framework here (tests/test_domain_purity.py).
"""
import base64
import binascii
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from espace_common.errors import Conflict, Forbidden, InvalidInput
from espace_common.formatting import datetime_long
from espace_common.money import format_euros

EURO = "978"
HASH = "SHA512"
# What Paybox sends back (to PBX_REPONDRE_A and the return URLs): amount, reference, authorisation, error code,
# Paybox's transaction and call numbers, and the signature, which the manual wants last.
RETOUR = "Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K"
SIGNATURE_VARIABLE = "Sign"
MAX_QUERY_LENGTH = 4000
AVAILABLE_MARK = '<div id="server_status">OK</div>'

PENDING, PAID, REFUSED, CANCELLED = "pending", "paid", "refused", "cancelled"
STATUSES = {PENDING: "Paiement en cours de confirmation", PAID: "Payé", REFUSED: "Paiement refusé",
            CANCELLED: "Paiement abandonné"}

SUCCESS, WAITING, ABANDONED = "00000", "99999", "00030"
ERRORS = {
    "00000": "Paiement accepté.",
    "00001": "Le centre d'autorisation n'a pas pu être joint, ou une erreur interne est survenue.",
    "00003": "Erreur de la plateforme Paybox.",
    "00004": "Numéro de carte ou cryptogramme visuel invalide.",
    "00006": "Accès refusé, ou site, rang ou identifiant incorrect.",
    "00008": "Date de fin de validité de la carte incorrecte.",
    "00009": "Erreur de création d'un abonnement.",
    "00010": "Devise inconnue.",
    "00011": "Montant incorrect.",
    "00015": "Paiement déjà effectué.",
    "00016": "Abonné déjà existant.",
    "00021": "Carte non autorisée.",
    "00029": "Carte non conforme.",
    "00030": "Vous êtes resté plus de 15 minutes sur la page de paiement : le paiement est abandonné.",
    "00031": "Réservé.",
    "00032": "Réservé.",
    "00033": "Le pays de votre adresse IP n'est pas autorisé.",
    "00040": "Opération sans authentification 3-D Secure, bloquée par le filtre anti-fraude.",
    "99999": "Paiement en attente de confirmation par la banque émettrice.",
}
# 001xx: refused by the authorisation centre, xx being the issuing bank's answer.
BANK_ANSWERS = {
    "02": "contactez votre banque", "03": "commerçant invalide", "04": "carte à conserver",
    "05": "ne pas honorer", "07": "carte à conserver (conditions spéciales)", "08": "vérifier l'identité du porteur",
    "12": "transaction invalide", "13": "montant invalide", "14": "numéro de carte invalide",
    "15": "banque émettrice inconnue", "17": "annulation par le client", "19": "opération à renouveler",
    "20": "réponse erronée", "24": "mise à jour de fichier non supportée", "25": "élément inconnu",
    "30": "erreur de format", "31": "banque de l'acquéreur inconnue", "33": "carte expirée",
    "34": "suspicion de fraude", "38": "nombre d'essais du code confidentiel dépassé", "41": "carte perdue",
    "43": "carte volée", "51": "provision insuffisante ou crédit dépassé", "54": "date de validité de la carte dépassée",
    "55": "code confidentiel erroné", "56": "carte absente du fichier", "57": "transaction non permise à ce porteur",
    "58": "transaction interdite au terminal", "59": "suspicion de fraude", "60": "l'accepteur doit contacter "
    "l'acquéreur", "61": "montant de retrait dépassé", "63": "règles de sécurité non respectées",
    "68": "réponse non parvenue ou reçue trop tard", "75": "nombre d'essais du code confidentiel dépassé",
    "76": "carte déjà en opposition", "89": "échec de l'authentification", "90": "arrêt momentané du système",
    "91": "banque émettrice inaccessible", "94": "transaction en double", "96": "mauvais fonctionnement du système",
    "97": "délai de la demande dépassé", "98": "serveur indisponible", "99": "incident technique",
}

INVOICE_NOT_PAYABLE = {
    "paid": ("invoice_paid", "Cette facture est déjà payée."),
    "cancelled": ("invoice_cancelled", "Cette facture est annulée par un avoir : il n'y a rien à payer."),
    "direct_debit": ("invoice_direct_debit", "Cette facture sera prélevée sur votre compte : "
                                             "elle ne se paie pas par carte."),
    "nothing_due": ("nothing_due", "Il n'y a rien à payer sur cette facture."),
    "other": ("invoice_not_payable", "Cette facture ne peut pas être payée par carte."),
}
BAD_SIGNATURE = ("bad_signature", "La signature de la notification Paybox est absente ou invalide.")
UNKNOWN_REFERENCE = ("unknown_reference", "La référence de la notification n'est pas une de nos transactions.")
WRONG_AMOUNT = ("wrong_amount", "Le montant de la notification n'est pas celui demandé.")
MALFORMED = ("malformed_notification", "La notification Paybox est incomplète ou mal formée.")
INVALID_EMAIL = ("invalid_email", "L'adresse e-mail du payeur est invalide.")

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
REFERENCE = re.compile(r"[A-Za-z0-9._-]{1,250}")


def error_meaning(code):
    """The French meaning of a Paybox error code (E), as the parent and the agents read it."""
    code = str(code or "")
    if code in ERRORS:
        return ERRORS[code]
    if re.fullmatch(r"001\d\d", code):
        answer = BANK_ANSWERS.get(code[3:], f"code {code[3:]}")
        return f"Paiement refusé par le centre d'autorisation de votre banque : {answer}."
    return f"Erreur Paybox {code}." if code else "Erreur Paybox sans code."


def status_of(error_code):
    """pending, paid, refused or cancelled, from the error code of a verified notification."""
    if error_code == SUCCESS:
        return PAID
    if error_code == WAITING:
        return PENDING
    if error_code == ABANDONED:
        return CANCELLED
    return REFUSED


def check_payable(invoice):
    """The amount to ask for an invoice billing answered ({status, balance_cents, payable_by_card, direct_debit});
    refused with a reason when there is nothing to pay by card."""
    if invoice.get("direct_debit"):
        raise Conflict(*INVOICE_NOT_PAYABLE["direct_debit"])
    status = invoice.get("status")
    if status in ("paid", "cancelled"):
        raise Conflict(*INVOICE_NOT_PAYABLE[status])
    balance = invoice.get("balance_cents")
    if not isinstance(balance, int) or balance <= 0:
        raise Conflict(*INVOICE_NOT_PAYABLE["nothing_due"])
    if not invoice.get("payable_by_card"):
        raise Conflict(*INVOICE_NOT_PAYABLE["other"])
    if balance > 99_999_999_99:
        raise Conflict(*INVOICE_NOT_PAYABLE["other"])
    return balance


def check_email(email):
    email = str(email or "").strip()
    if not 6 <= len(email) <= 80 or not EMAIL.fullmatch(email):
        raise InvalidInput(*INVALID_EMAIL)
    return email


def new_reference(invoice_number, token):
    """PBX_CMD: the invoice's number (or id) and a token of the attempt, so each attempt has its own reference."""
    base = re.sub(r"[^A-Za-z0-9-]", "-", str(invoice_number))[:200] or "FACTURE"
    return f"{base}.{token}"


# --- The form ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    site: str
    rang: str
    identifiant: str
    secret: str  # hex


@dataclass(frozen=True)
class Payer:
    first_name: str
    last_name: str
    address1: str
    address2: str
    postal_code: str
    city: str
    country: str = "250"  # ISO 3166-1 numeric: France


def _xml_text(value, limit):
    """A PBX_BILLING value in plain ASCII: accents folded and other signs dropped, as maintained Paybox
    integrations send them (the 3-D Secure fields are not safe with anything else), then escaped for XML."""
    folded = unicodedata.normalize("NFKD", str(value or ""))
    plain = "".join(c for c in folded if c.isascii() and (c.isalnum() or c in " '-,."))
    return escape(" ".join(plain.split())[:limit])


def billing_xml(payer):
    """PBX_BILLING for 3-D Secure v2: the payer's names and address (lengths as the manual bounds them)."""
    address2 = f"<Address2>{_xml_text(payer.address2, 50)}</Address2>" if payer.address2.strip() else ""
    return ('<?xml version="1.0" encoding="utf-8"?><Billing><Address>'
            f"<FirstName>{_xml_text(payer.first_name, 22)}</FirstName>"
            f"<LastName>{_xml_text(payer.last_name, 22)}</LastName>"
            f"<Address1>{_xml_text(payer.address1, 50)}</Address1>{address2}"
            f"<ZipCode>{_xml_text(payer.postal_code, 16)}</ZipCode>"
            f"<City>{_xml_text(payer.city, 50)}</City>"
            f"<CountryCode>{_xml_text(payer.country, 3)}</CountryCode>"
            "</Address></Billing>")


def shopping_cart_xml(quantity=1):
    """PBX_SHOPPINGCART for 3-D Secure v2: one invoice is one item."""
    return ('<?xml version="1.0" encoding="utf-8"?><shoppingcart><total>'
            f"<totalQuantity>{int(quantity)}</totalQuantity></total></shoppingcart>")


def signed_message(fields):
    """NAME=value pairs joined by &, in the order sent, values not URL-encoded: what PBX_HMAC covers."""
    return "&".join(f"{name}={value}" for name, value in fields)


def hmac_of(fields, secret_hex, algorithm=HASH):
    """PBX_HMAC: upper-case hex of the HMAC (PBX_HASH) of the fields, keyed by the hex-decoded secret."""
    key = binascii.unhexlify(secret_hex)
    return hmac.new(key, signed_message(fields).encode("utf-8"), getattr(hashlib, algorithm.lower())).hexdigest().upper()


def payment_form(account, amount_cents, reference, email, time_iso, return_url, notification_url, payer):
    """The fields the browser posts to Paybox, in the order they are signed, PBX_HMAC last."""
    fields = [
        ("PBX_SITE", account.site), ("PBX_RANG", account.rang), ("PBX_IDENTIFIANT", account.identifiant),
        ("PBX_TOTAL", f"{int(amount_cents):03d}"), ("PBX_DEVISE", EURO), ("PBX_CMD", reference),
        ("PBX_PORTEUR", email), ("PBX_RETOUR", RETOUR), ("PBX_HASH", HASH), ("PBX_TIME", time_iso),
        ("PBX_EFFECTUE", return_url), ("PBX_REFUSE", return_url), ("PBX_ANNULE", return_url),
        ("PBX_ATTENTE", return_url), ("PBX_REPONDRE_A", notification_url),
        ("PBX_SHOPPINGCART", shopping_cart_xml()), ("PBX_BILLING", billing_xml(payer)),
    ]
    return fields + [("PBX_HMAC", hmac_of(fields, account.secret))]


def availability_url(cgi_url):
    """The server's availability page (load.html at the root of the same host)."""
    parts = urlsplit(cgi_url)
    return f"{parts.scheme}://{parts.netloc}/load.html"


def server_available(page):
    """True when an availability page says the server is up."""
    return AVAILABLE_MARK in (page or "")


# --- The notification -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Notification:
    amount_cents: int
    reference: str
    authorization: str
    error_code: str
    paybox_transaction: str
    call_number: str

    @property
    def status(self):
        return status_of(self.error_code)

    @property
    def message(self):
        return error_meaning(self.error_code)


def split_signature(query):
    """(the variables before the signature exactly as received, the signature's bytes) of a query string."""
    query = query if isinstance(query, str) else ""
    if not query or len(query) > MAX_QUERY_LENGTH or not query.isascii():
        raise Forbidden(*BAD_SIGNATURE)
    signed, _, last = query.rpartition("&")
    name, equals, value = last.partition("=")
    if not signed or not equals or name != SIGNATURE_VARIABLE or not value:
        raise Forbidden(*BAD_SIGNATURE)
    # Paybox URL-encodes the base64; a '+' that arrives as a space was decoded once too often on the way.
    text = unquote(value).replace(" ", "+")
    try:
        return signed, base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Forbidden(*BAD_SIGNATURE) from None


def verify_notification(query, public_key):
    """The notification's variables once its RSA signature (SHA-1, PKCS#1 v1.5) is checked with Paybox's key."""
    signed, signature = split_signature(query)
    try:
        public_key.verify(signature, signed.encode("ascii"), padding.PKCS1v15(), hashes.SHA1())
    except (InvalidSignature, ValueError, TypeError):
        raise Forbidden(*BAD_SIGNATURE) from None
    return parse_notification(signed)


def parse_notification(signed):
    """The variables PBX_RETOUR asked for, from the signed part of a notification."""
    values = dict(parse_qsl(signed, keep_blank_values=True))
    amount, reference, error_code = values.get("Mt", ""), values.get("Ref", ""), values.get("Erreur", "")
    if not re.fullmatch(r"\d{1,12}", amount) or not reference or not re.fullmatch(r"\d{5}", error_code):
        raise InvalidInput(*MALFORMED)
    return Notification(amount_cents=int(amount), reference=reference[:250], authorization=values.get("Auto", "")[:20],
                        error_code=error_code, paybox_transaction=values.get("Trans", "")[:20],
                        call_number=values.get("Appel", "")[:20])


def check_matches(notification, transaction_amount_cents):
    """A verified notification must ask for the amount of its transaction."""
    if notification.amount_cents != transaction_amount_cents:
        raise InvalidInput(*WRONG_AMOUNT)


def vocabulary():
    return {"statuses": dict(STATUSES), "errors": dict(ERRORS)}


def payer_of(family, email):
    """The payer of PBX_BILLING: the family's representative with this e-mail, else the first one (identity's
    get_family answer: representatives with first_name, last_name, email, address {line1, line2, postal_code,
    city})."""
    representatives = [r for r in (family or {}).get("representatives") or [] if isinstance(r, dict)]
    if not representatives:
        return Payer("", "", "", "", "", "")
    wanted = str(email or "").strip().casefold()
    chosen = next((r for r in representatives if str(r.get("email") or "").strip().casefold() == wanted),
                  representatives[0])
    address = chosen.get("address") or {}
    return Payer(first_name=chosen.get("first_name") or "", last_name=chosen.get("last_name") or "",
                 address1=address.get("line1") or "", address2=address.get("line2") or "",
                 postal_code=address.get("postal_code") or "", city=address.get("city") or "")


def receipt(amount_cents, invoice_number, reference, paybox_transaction, authorization, paid_at_local):
    """(subject, body) of the receipt mailed to the payer once Paybox's notification confirmed the payment."""
    when = datetime_long(paid_at_local)
    invoice = f"la facture {invoice_number}" if invoice_number else "votre facture"
    lines = [
        "Bonjour,", "",
        f"Nous avons bien reçu votre paiement par carte bancaire de {format_euros(amount_cents)} pour {invoice}, "
        f"le {when}.", "",
        f"Référence du paiement : {reference}",
    ]
    if paybox_transaction:
        lines.append(f"Numéro de transaction Paybox : {paybox_transaction}")
    if authorization:
        lines.append(f"Numéro d'autorisation : {authorization}")
    lines += ["", "Ce courriel vaut reçu. Vous retrouvez vos factures dans votre Espace Famille, "
                  "rubrique « mon compte ».", "", "Ville de Donges – Espace Famille"]
    return f"Reçu de votre paiement par carte de {format_euros(amount_cents)}", "\n".join(lines)
