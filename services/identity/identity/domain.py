"""Rules about families, their members and agents; no framework here."""
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from espace_common.errors import Conflict, InvalidInput, NotFound, Throttled

# Agent roles and their names, in the order the pages list them.
AGENT_ROLES = {"affaires_scolaires": "Affaires scolaires", "petite_enfance": "Petite enfance", "admin": "Administration"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FRENCH_PHONE = re.compile(r"^(?:\+33|0033|0)[1-9](?:\d{8})$")
POSTAL_CODE = re.compile(r"^\d{5}$")

# The longest text identity stores in each field (the columns are as wide); longer is refused, never cut.
MAX_LENGTH = {
    "first_name": 100, "last_name": 100, "email": 254, "phone": 30, "address_line": 200, "postal_code": 5,
    "city": 100, "caf_number": 20, "username": 40, "agent_username": 80, "api_client_name": 100,
    "request_id": 80, "search_query": 100, "password": 256,
}


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


def _text(value, code, label, limit):
    """A stripped text field at most `limit` characters long (InvalidInput with the field's code otherwise)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(code, f"{label} doit être un texte.")
    value = value.strip()
    if len(value) > MAX_LENGTH[limit]:
        raise InvalidInput(code, f"{label} ne peut pas dépasser {MAX_LENGTH[limit]} caractères.")
    return value


def normalise_phone(raw):
    """A French phone number as ten digits, or InvalidInput."""
    raw = _text(raw, "invalid_phone", "Le numéro de téléphone", "phone")
    digits = re.sub(r"[\s.\-()]", "", raw)
    if not digits:
        return ""
    if not FRENCH_PHONE.match(digits):
        raise InvalidInput("invalid_phone", f"Le numéro de téléphone « {raw} » n'est pas un numéro français valide.")
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    return digits


def _required(value, code, label, limit):
    value = _text(value, code, label, limit)
    if not value:
        raise InvalidInput(code, f"{label} est obligatoire.")
    return value


def parse_address(raw):
    """An Address from {line1, line2?, postal_code, city}, or InvalidInput(invalid_address)."""
    if not isinstance(raw, dict):
        raise InvalidInput("invalid_address", "L'adresse est invalide.")
    postal_code = _required(raw.get("postal_code"), "invalid_address", "Le code postal", "address_line")
    if not POSTAL_CODE.match(postal_code):
        raise InvalidInput("invalid_address", "Le code postal doit avoir cinq chiffres.")
    return Address(
        line1=_required(raw.get("line1"), "invalid_address", "L'adresse", "address_line"),
        line2=_text(raw.get("line2"), "invalid_address", "Le complément d'adresse", "address_line"),
        postal_code=postal_code,
        city=_required(raw.get("city"), "invalid_address", "La commune", "city"),
    )


def _optional_email(value):
    email = _text(value, "invalid_email", "L'adresse e-mail", "email")
    if email and not EMAIL.match(email):
        raise InvalidInput("invalid_email", f"L'adresse e-mail « {email} » n'est pas valide.")
    return email


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
        representatives.append(NewRepresentative(
            first_name=_required(rep.get("first_name"), "invalid_name", "Le prénom", "first_name"),
            last_name=_required(rep.get("last_name"), "invalid_name", "Le nom", "last_name"),
            email=_optional_email(rep.get("email")),
            phone=normalise_phone(rep.get("phone")),
            address=parse_address(rep["address"]) if rep.get("address") else None,
            caf_number=_text(rep.get("caf_number"), "invalid_caf_number", "Le numéro d'allocataire", "caf_number"),
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
            first_name=_required(kid.get("first_name"), "invalid_name", "Le prénom de l'enfant", "first_name"),
            last_name=_required(kid.get("last_name"), "invalid_name", "Le nom de l'enfant", "last_name"),
            birth_date=birth_date,
        ))
    request_id = payload.get("request_id")
    request_id = _text(str(request_id), "invalid_request_id", "L'identifiant de demande", "request_id") \
        if request_id else None
    return RegisterFamily(tuple(representatives), tuple(children), request_id or None)


def family_registered_data(family):
    """What the other services learn of a new family (the data of identity.family_registered)."""
    return {
        "family_id": family.id, "dossier": family.dossier,
        "representatives": [{"id": r["id"], "first_name": r["first_name"], "last_name": r["last_name"]}
                            for r in family.representatives],
        "children": family.children,
    }


SEARCH_WORD = re.compile(r"[^\W_]+")
PHONE_LIKE = re.compile(r"\+?[0-9][0-9 .\-()]*")


def search_terms(dossier, members):
    """What the agents' search matches of a family, as folded words (letters and digits only, so that the
    index orders them alike in SQLite and PostgreSQL): the dossier number (also without its leading zeros),
    each word of the names and e-mails of its representatives and children, and each phone number as its ten
    national digits."""
    terms = {dossier, dossier.lstrip("0") or "0"}
    for member in members:
        for text in (member.get("first_name"), member.get("last_name"), member.get("email")):
            terms.update(SEARCH_WORD.findall(fold(text or "")))
        if member.get("phone"):
            terms.add(national_digits(member["phone"]))
    return sorted(t[:MAX_TERM] for t in terms if t)


MAX_TERM = 100


def national_digits(phone):
    """A phone number typed in any form (02 40 .., 0240.., +33 2 40.., 0033 2 40..) as its national digits."""
    digits = re.sub(r"[^0-9+]", "", phone)
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    return digits.replace("+", "")


def search_words(query):
    """The words of an agent's query, folded as the terms are: a query that looks like a phone number or a
    dossier number (digits, spaces, dots, a leading +) is one word of digits; every word must begin a term."""
    if PHONE_LIKE.fullmatch(query) and sum(c.isdigit() for c in query) >= 2:
        return [national_digits(query)]
    return sorted(set(SEARCH_WORD.findall(fold(query))))[:8]


def search_query(raw):
    """The agents' search text: two characters at least (a dossier number without its zeros may be one digit),
    and not a page of text."""
    query = raw.strip() if isinstance(raw, str) else ""
    if len(query) < 2 and not (query.isascii() and query.isdigit()):
        raise InvalidInput("query_too_short", "Saisissez au moins deux caractères.")
    if len(query) > MAX_LENGTH["search_query"]:
        raise InvalidInput("query_too_long", f"La recherche ne peut pas dépasser {MAX_LENGTH['search_query']} caractères.")
    return query


def dossier_number(sequence):
    """The short number a family gives on the phone or at the counter."""
    return f"{sequence:06d}"


def check_agent_username(username):
    """An agent's identifier: any text up to 80 characters (agents are created by the town, not typed in)."""
    username = _text(username, "invalid_agent", "L'identifiant de l'agent", "agent_username")
    if not username:
        raise InvalidInput("invalid_agent", "Un agent a un identifiant et un mot de passe.")
    return username


def check_api_client_name(name):
    name = _text(name, "invalid_name", "Le nom du client API", "api_client_name")
    if not name:
        raise InvalidInput("invalid_name", "Le client API a un nom.")
    return name


def _codes(values):
    """A list of codes without repeats; anything that is not a list of texts is refused as unknown."""
    if not isinstance(values, (list, tuple)):
        return (), [str(values)[:40]] if values else []
    texts = [v for v in values if isinstance(v, str)]
    return tuple(dict.fromkeys(texts)), [str(v)[:40] for v in values if not isinstance(v, str)]


def validate_roles(roles):
    roles, malformed = _codes(roles)
    unknown = malformed + [r[:40] for r in roles if r not in AGENT_ROLES]
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
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    cleaned = re.sub(r"[\s\-_.]", "", typed).upper()
    if len(cleaned) != KEY_LENGTH or any(c not in KEY_ALPHABET for c in cleaned):
        return None
    return cleaned


def key_digest(normalised):
    """Keys carry enough entropy that a plain SHA-256 keeps them safe at rest."""
    return hashlib.sha256(normalised.encode("ascii")).hexdigest()


def new_secret_token():
    """A session, API or link token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


# Tokens identity hands out are 43 URL-safe characters; anything unlike one is simply an invalid token.
TOKEN_MAX_LENGTH = 200


def well_formed_token(token):
    """Whether `token` could be one identity handed out: printable ASCII, not empty, not absurdly long."""
    return (isinstance(token, str) and 0 < len(token) <= TOKEN_MAX_LENGTH and token.isascii()
            and token.isprintable())


def token_digest(token):
    """The digest under which a token is kept. Any value has one; a malformed token's matches no stored token
    (they are digests of well-formed tokens), so it is refused like any unknown token, never with a 500."""
    if not well_formed_token(token):
        token = ""  # no token handed out is empty
    return hashlib.sha256(token.encode("ascii")).hexdigest()


INVALID_KEY = ("invalid_key", "Cette clé n'est pas reconnue. Vérifiez-la sur le courrier reçu "
                              "(16 caractères, par groupes de 4).")


def check_key_can_be_issued(representative, account):
    """A key is for a representative who has not created their space yet."""
    if representative is None:
        raise NotFound("representative_not_found", "Ce représentant légal n'existe pas.")
    if account is not None:
        raise Conflict("account_exists", "Ce représentant a déjà créé son espace : il n'a plus besoin de clé.")


def letter_printable(key_row, now):
    """The letter of a key can be printed again while the key can still be used."""
    return key_row is not None and key_row.letter is not None and key_refusal(key_row, now) is None


def key_summary(key_row):
    """What agents see of a representative's current key (never the key itself)."""
    if key_row is None:
        return None
    return {"issued_at": key_row.issued_at.isoformat(), "expires_at": key_row.expires_at.isoformat(),
            "used": key_row.used_at is not None, "letter_available": key_row.letter is not None}


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
    username = username.strip() if isinstance(username, str) else ""
    if len(username) > MAX_LENGTH["username"] or not USERNAME.match(username):
        raise InvalidInput("invalid_username", "L'identifiant doit compter de 3 à 40 caractères : lettres sans accent, "
                                               "chiffres, point, tiret, tiret bas ou arobase.")
    return username


def check_email(email):
    email = email.strip() if isinstance(email, str) else ""
    if len(email) > MAX_LENGTH["email"] or not EMAIL.match(email):
        raise InvalidInput("invalid_email", "Saisissez une adresse e-mail personnelle valide.")
    return email


# The rules check_password enforces, said to parents before they type (the gateway shows them).
PASSWORD_RULES = (
    f"au moins {MIN_PASSWORD_LENGTH} caractères ;",
    "au moins une majuscule, une minuscule, un chiffre et un caractère spécial (par exemple ! ? - _ #) ;",
    "sans votre identifiant ;",
    "pas un mot de passe courant (comme « Motdepasse123! »).",
)


def check_password(password, username=""):
    """Refuse a password the CNIL would call weak, saying what is missing."""
    password = password if isinstance(password, str) else ""
    if len(password) > MAX_LENGTH["password"]:
        raise InvalidInput("weak_password", f"Le mot de passe ne peut pas dépasser {MAX_LENGTH['password']} caractères.")
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


def count_attempt(state, policy, now):
    """The state once one more attempt (a failure, a reset mail) is counted; locked when it reaches the limit."""
    if state.window_start is None or now - state.window_start > policy.window:
        state = ThrottleState(0, now, None)
    failures = state.failures + 1
    locked_until = now + policy.lock if failures >= policy.max_failures else state.locked_until
    return ThrottleState(failures, state.window_start, locked_until)


def login_subject(identifier):
    """The throttle of one identifier. Identifiers are at most 80 characters; a longer one matches nothing and
    is counted under its first 100, so that no over-long text is stored."""
    return f"login:{fold(identifier if isinstance(identifier, str) else '')[:100]}"


def address_subject(purpose, client_ip):
    """The looser throttle of one client address, per purpose (login, key, reset)."""
    return f"{purpose}-ip:{str(client_ip or '')[:45]}"


def client_subject(client_id):
    """The throttle of one API client id (ids are 23 characters; a longer one matches nothing)."""
    return f"client:{str(client_id or '')[:60]}"


BAD_CREDENTIALS = ("bad_credentials", "Identifiant ou mot de passe incorrect.")


def reset_mail_subject(account_id):
    return f"reset-mail:{account_id}"


def may_mail_reset(state, now):
    """Whether an account may receive one more reset mail (at most RESET_MAILS_PER_HOUR an hour)."""
    return retry_after(state, now) == 0


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


JOURNAL_PAGE = 50
ACTION_CODE = re.compile(r"[a-z_]{1,40}\.[a-z_]{1,39}")
UUID_LIKE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_agent_action(payload, now):
    """An agent's action as the gateway reports it, checked: {id, agent_id, action, method, path, family_id?, at?}.

    `action` is the gateway's endpoint (agent.issue_key); `at` (UTC, ISO) defaults to now and may not be later."""
    if not isinstance(payload, dict):
        raise InvalidInput("invalid_action", "Une action d'agent est un objet.")
    action_id, agent_id = payload.get("id"), payload.get("agent_id")
    if not isinstance(action_id, str) or not UUID_LIKE.fullmatch(action_id):
        raise InvalidInput("invalid_action", "« id » est un UUID.")
    if not isinstance(agent_id, str) or not 0 < len(agent_id) <= 36:
        raise InvalidInput("invalid_action", "« agent_id » est un identifiant d'agent.")
    values = {"id": action_id, "agent_id": agent_id}
    action, method, path = payload.get("action"), payload.get("method"), payload.get("path")
    if not isinstance(action, str) or not ACTION_CODE.fullmatch(action):
        raise InvalidInput("invalid_action", "« action » est le nom d'une page ou d'une route.")
    if method not in ("POST", "PUT", "PATCH", "DELETE"):
        raise InvalidInput("invalid_action", "« method » est une méthode d'écriture.")
    if not isinstance(path, str) or not path.startswith("/") or len(path) > 300:
        raise InvalidInput("invalid_action", "« path » est un chemin d'au plus 300 caractères.")
    family_id = payload.get("family_id")
    if family_id is not None and (not isinstance(family_id, str) or not 0 < len(family_id) <= 36):
        raise InvalidInput("invalid_action", "« family_id » est un identifiant de famille.")
    at = now
    if payload.get("at") is not None:
        try:
            at = datetime.fromisoformat(payload["at"])
        except (TypeError, ValueError):
            raise InvalidInput("invalid_action", "« at » est un instant ISO 8601.") from None
        if at.tzinfo is None or at > now:
            raise InvalidInput("invalid_action", "« at » est un instant passé, avec son fuseau.")
    return {**values, "action": action, "method": method, "path": path, "family_id": family_id, "at": at}


def parse_journal_filters(filters):
    """{family_id?, dossier?, agent?, from?, to?, page?} of the administrators' journal, checked; dates are Paris days
    given as ISO dates (the gateway turns them into UTC bounds: `from`/`to` are instants here)."""
    filters = filters if isinstance(filters, dict) else {}
    parsed = {}
    for name in ("family_id", "dossier", "agent"):
        value = filters.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value) > MAX_LENGTH["agent_username"]:
            raise InvalidInput("invalid_filter", f"Le filtre « {name} » est un texte d'au plus "
                               f"{MAX_LENGTH['agent_username']} caractères.")
        parsed[name] = value.strip()
    for name in ("from", "to"):
        value = filters.get(name)
        if value in (None, ""):
            continue
        try:
            parsed[name] = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidInput("invalid_filter", f"Le filtre « {name} » est un instant ISO 8601.") from None
        if parsed[name].tzinfo is None:
            raise InvalidInput("invalid_filter", f"Le filtre « {name} » porte son fuseau horaire.")
    page = filters.get("page", 1)
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= 100_000:
        raise InvalidInput("invalid_filter", "La page est un nombre entier positif.")
    parsed["page"] = page
    return parsed


API_SCOPES = {"kitchen": "Cuisine centrale", "accounting": "Comptabilité", "childcare_relay": "Relais Petite Enfance",
              "families:read": "Lecture des familles"}


def validate_scopes(scopes):
    scopes, malformed = _codes(scopes)
    unknown = malformed + [s[:40] for s in scopes if s not in API_SCOPES]
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
        address = parse_address(changes["address"])
        values.update(address_line1=address.line1, address_line2=address.line2, postal_code=address.postal_code,
                      city=address.city)
    new_email = check_email(changes["email"]) if changes.get("email") else None
    return values, new_email


def address_to_confirm(account_email, email_confirmed, new_email):
    """(the address a confirmation link goes to, or None; whether the current address is told of the change).

    A new address waits for its link and the current one hears of it; the same, still unconfirmed address
    gets a fresh link (the first one may have lapsed)."""
    if not new_email:
        return None, False
    if new_email.casefold() != account_email.casefold():
        return new_email, True
    return (None, False) if email_confirmed else (account_email, False)


def audit_limit(raw, default=20, most=100):
    """How many audit events to list: a whole number from 1 to `most`."""
    if raw is None:
        return default
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput("invalid_limit", f"Le nombre d'évènements doit être un entier de 1 à {most}.") from None
    return max(1, min(limit, most))


def vocabulary():
    """What identity's codes mean and the limits it enforces: the gateway's only source for them."""
    return {
        "agent_roles": dict(AGENT_ROLES),
        "api_scopes": dict(API_SCOPES),
        "max_length": dict(MAX_LENGTH),
        "username": {"min_length": 3, "max_length": MAX_LENGTH["username"]},
        "password": {"min_length": MIN_PASSWORD_LENGTH, "max_length": MAX_LENGTH["password"],
                     "rules": list(PASSWORD_RULES)},
        # The document wallet (issue #12): its kinds of document with their labels, statuses and limits.
        "wallet": _wallet_vocabulary(),
    }


def _wallet_vocabulary():
    from .domain_wallet import vocabulary as wallet_vocabulary  # the document wallet (issue #12)
    return wallet_vocabulary()
