"""Rules about families, their members and agents; no framework here."""
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from espace_common.errors import Conflict, InvalidInput, Throttled

AGENT_ROLES = ("affaires_scolaires", "petite_enfance", "admin")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FRENCH_PHONE = re.compile(r"^(?:\+33|0033|0)[1-9](?:\d{8})$")
POSTAL_CODE = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class Address:
    line1: str
    postal_code: str
    city: str
    line2: str = ""


@dataclass(frozen=True)
class NewRepresentative:
    first_name: str
    last_name: str
    email: str = ""
    phone: str = ""
    address: Address | None = None
    caf_number: str = ""


@dataclass(frozen=True)
class NewChild:
    first_name: str
    last_name: str
    birth_date: date


@dataclass(frozen=True)
class RegisterFamily:
    """Command: an agent registers a family (foyer) with its members."""

    representatives: tuple
    children: tuple
    request_id: str | None = None


@dataclass
class Family:
    id: str
    dossier: str
    representatives: list = field(default_factory=list)
    children: list = field(default_factory=list)


def fold(identifier):
    """The form under which identifiers are compared: case and accents ignored."""
    decomposed = unicodedata.normalize("NFKD", identifier.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalise_phone(raw):
    """A French phone number as ten digits, or InvalidInput."""
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    if not digits:
        return ""
    if not FRENCH_PHONE.match(digits):
        raise InvalidInput("invalid_phone", f"Le numéro de téléphone « {raw} » n'est pas un numéro français valide.")
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    return digits


def _required(value, code, label):
    value = (value or "").strip()
    if not value:
        raise InvalidInput(code, f"{label} est obligatoire.")
    return value


def parse_registration(payload):
    """Validate an agent's registration payload into a RegisterFamily command."""
    if not isinstance(payload, dict):
        raise InvalidInput("invalid_body", "La demande doit être un objet JSON.")
    reps_in = payload.get("representatives") or []
    kids_in = payload.get("children") or []
    if not isinstance(reps_in, list) or not 1 <= len(reps_in) <= 2:
        raise InvalidInput("invalid_representatives", "Une famille a un ou deux représentants légaux.")
    if not isinstance(kids_in, list):
        raise InvalidInput("invalid_children", "La liste des enfants est invalide.")
    representatives = []
    for rep in reps_in:
        if not isinstance(rep, dict):
            raise InvalidInput("invalid_representatives", "Chaque représentant légal doit être un objet.")
        email = (rep.get("email") or "").strip()
        if email and not EMAIL.match(email):
            raise InvalidInput("invalid_email", f"L'adresse e-mail « {email} » n'est pas valide.")
        address = None
        if rep.get("address"):
            raw = rep["address"]
            postal_code = _required(raw.get("postal_code"), "invalid_address", "Le code postal")
            if not POSTAL_CODE.match(postal_code):
                raise InvalidInput("invalid_address", "Le code postal doit avoir cinq chiffres.")
            address = Address(
                line1=_required(raw.get("line1"), "invalid_address", "L'adresse"),
                line2=(raw.get("line2") or "").strip(),
                postal_code=postal_code,
                city=_required(raw.get("city"), "invalid_address", "La commune"),
            )
        representatives.append(NewRepresentative(
            first_name=_required(rep.get("first_name"), "invalid_name", "Le prénom"),
            last_name=_required(rep.get("last_name"), "invalid_name", "Le nom"),
            email=email,
            phone=normalise_phone(rep.get("phone")),
            address=address,
            caf_number=(rep.get("caf_number") or "").strip(),
        ))
    children = []
    for kid in kids_in:
        if not isinstance(kid, dict):
            raise InvalidInput("invalid_children", "Chaque enfant doit être un objet.")
        try:
            birth_date = date.fromisoformat(str(kid.get("birth_date")))
        except ValueError:
            raise InvalidInput("invalid_birth_date", "La date de naissance doit être au format AAAA-MM-JJ.") from None
        children.append(NewChild(
            first_name=_required(kid.get("first_name"), "invalid_name", "Le prénom de l'enfant"),
            last_name=_required(kid.get("last_name"), "invalid_name", "Le nom de l'enfant"),
            birth_date=birth_date,
        ))
    request_id = payload.get("request_id")
    return RegisterFamily(tuple(representatives), tuple(children), str(request_id) if request_id else None)


def dossier_number(sequence):
    """The short number a family gives on the phone or at the counter."""
    return f"{sequence:06d}"


def validate_roles(roles):
    roles = tuple(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in AGENT_ROLES]
    if unknown or not roles:
        raise InvalidInput("invalid_roles", f"Rôles inconnus : {', '.join(unknown) or 'aucun rôle'}.")
    return roles


# --- Keys (clé espace citoyens/enfance) -------------------------------------

# No 0/O, 1/I/L, nor U/V pairs that read alike on paper: 30 symbols, 16 of them = 78 bits.
KEY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
KEY_LENGTH = 16
KEY_GROUP = 4


def generate_key(choice):
    """A key grouped by four for typing from paper; `choice` is secrets.choice."""
    raw = "".join(choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))
    return "-".join(raw[i:i + KEY_GROUP] for i in range(0, KEY_LENGTH, KEY_GROUP))


def normalise_key(typed):
    """What the parent typed, without spaces, dashes or case; None when it cannot be a key."""
    cleaned = re.sub(r"[\s\-_.]", "", (typed or "")).upper()
    if len(cleaned) != KEY_LENGTH or any(c not in KEY_ALPHABET for c in cleaned):
        return None
    return cleaned


def key_digest(normalised):
    """Keys carry enough entropy that a plain SHA-256 keeps them safe at rest."""
    return hashlib.sha256(normalised.encode("ascii")).hexdigest()


def token_digest(token):
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def key_refusal(key_row, now):
    """Why a stored key cannot be used now, or None when it can."""
    if key_row.used_at is not None:
        return Conflict("key_used", "Cette clé a déjà servi à créer un espace. Connectez-vous avec votre identifiant.")
    if key_row.revoked_at is not None:
        return Conflict("key_revoked", "Cette clé a été remplacée par une nouvelle clé. Utilisez la clé du dernier courrier reçu.")
    if key_row.expires_at <= now:
        return Conflict("key_expired", "Cette clé a expiré. Demandez une nouvelle clé à la mairie.")
    return None


# --- Identifiers and passwords (CNIL recommendation) -------------------------

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,39}$")
MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def common_passwords():
    return frozenset(line.strip().casefold() for line in COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


def check_username(username):
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise InvalidInput("invalid_username", "L'identifiant doit compter de 3 à 40 caractères : lettres sans accent, "
                                               "chiffres, point, tiret, tiret bas ou arobase.")
    return username


def check_email(email):
    email = (email or "").strip()
    if not EMAIL.match(email) or len(email) > 254:
        raise InvalidInput("invalid_email", "Saisissez une adresse e-mail personnelle valide.")
    return email


def check_password(password, username=""):
    """Refuse a password the CNIL would call weak, saying what is missing."""
    password = password or ""
    missing = []
    if len(password) < MIN_PASSWORD_LENGTH:
        missing.append(f"au moins {MIN_PASSWORD_LENGTH} caractères")
    if not re.search(r"[a-zà-ÿ]", password):
        missing.append("une minuscule")
    if not re.search(r"[A-ZÀ-Þ]", password):
        missing.append("une majuscule")
    if not re.search(r"\d", password):
        missing.append("un chiffre")
    if not re.search(r"[^\w\s]|_", password):
        missing.append("un caractère spécial")
    if missing:
        raise InvalidInput("weak_password", "Le mot de passe doit contenir " + ", ".join(missing) + ".")
    if username and fold(username) in fold(password):
        raise InvalidInput("weak_password", "Le mot de passe ne doit pas contenir votre identifiant.")
    stripped = re.sub(r"[\d\W_]+$", "", fold(password))
    if fold(password) in common_passwords() or stripped in common_passwords():
        raise InvalidInput("weak_password", "Ce mot de passe est trop courant : choisissez-en un autre.")
    return password


# --- Throttling ---------------------------------------------------------------

@dataclass(frozen=True)
class ThrottlePolicy:
    """At most `max_failures` within `window`, then locked for `lock`."""

    max_failures: int
    window: timedelta
    lock: timedelta


@dataclass(frozen=True)
class ThrottleState:
    failures: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None


def retry_after(state, now):
    """Seconds until the subject may try again, or 0."""
    if state.locked_until and state.locked_until > now:
        return max(1, int((state.locked_until - now).total_seconds() + 0.999))
    return 0


def after_failure(state, policy, now):
    if state.window_start is None or now - state.window_start > policy.window:
        state = ThrottleState(0, now, None)
    failures = state.failures + 1
    locked_until = now + policy.lock if failures >= policy.max_failures else state.locked_until
    return ThrottleState(failures, state.window_start, locked_until)


def throttled(seconds):
    minutes = max(1, round(seconds / 60))
    return Throttled("too_many_attempts",
                     f"Trop de tentatives. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}.", seconds)


# --- Sessions and tokens ------------------------------------------------------

@dataclass(frozen=True)
class TokenPolicy:
    idle: timedelta
    absolute: timedelta


def token_expired(created_at, last_seen_at, now, policy):
    return now >= created_at + policy.absolute or now >= last_seen_at + policy.idle


# --- Account audit ------------------------------------------------------------

AUDIT_LABELS = {
    "account_created": "Création de l'espace",
    "login_ok": "Connexion",
    "login_failed": "Échec de connexion",
    "password_changed": "Mot de passe modifié",
    "reset_requested": "Réinitialisation du mot de passe demandée",
    "reset_used": "Mot de passe réinitialisé",
    "contact_changed": "Coordonnées modifiées",
    "email_confirmed": "Adresse e-mail confirmée",
    "key_issued": "Clé d'activation émise",
}


API_SCOPES = ("kitchen", "accounting", "childcare_relay", "families:read")


def validate_scopes(scopes):
    scopes = tuple(dict.fromkeys(scopes or ()))
    unknown = [s for s in scopes if s not in API_SCOPES]
    if unknown or not scopes:
        raise InvalidInput("invalid_scopes", f"Portées inconnues : {', '.join(unknown) or 'aucune portée'}.")
    return scopes


def parse_contact_changes(changes):
    """(column values for the representative, new e-mail or None) from {phone?, email?, address?}."""
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput("invalid_body", "Indiquez au moins une coordonnée à modifier.")
    unknown = set(changes) - {"phone", "email", "address"}
    if unknown:
        raise InvalidInput("invalid_field", f"Champ inconnu : {', '.join(sorted(unknown))}.")
    values = {}
    if "phone" in changes:
        values["phone"] = normalise_phone(changes["phone"])
    if "address" in changes:
        raw = changes["address"]
        if not isinstance(raw, dict):
            raise InvalidInput("invalid_address", "L'adresse est invalide.")
        postal_code = _required(raw.get("postal_code"), "invalid_address", "Le code postal")
        if not POSTAL_CODE.match(postal_code):
            raise InvalidInput("invalid_address", "Le code postal doit avoir cinq chiffres.")
        values.update(address_line1=_required(raw.get("line1"), "invalid_address", "L'adresse"),
                      address_line2=(raw.get("line2") or "").strip(), postal_code=postal_code,
                      city=_required(raw.get("city"), "invalid_address", "La commune"))
    new_email = check_email(changes["email"]) if changes.get("email") else None
    return values, new_email
