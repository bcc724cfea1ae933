"""Rules about families, their members and agents; no framework here."""
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from espace_common.errors import InvalidInput

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
