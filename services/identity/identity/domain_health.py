"""The health record («fiche sanitaire») of a child and who may read it (issue #12); no framework here.

A record holds the child's allergies, treatment, doctor, whether the vaccinations are up to date, the persons
authorised to pick the child up and whom to call in an emergency. The family's representatives keep it; an agent
reads it only when the child attends the agent's service (see docs/health-record.md).
"""
from dataclasses import dataclass

from espace_common.errors import Forbidden, InvalidInput

from .domain import normalise_phone

# The longest text kept in each field; longer is refused, never cut (the columns are as wide).
HEALTH_MAX_LENGTH = {"allergies": 300, "treatment": 1000, "doctor_name": 100, "person_name": 100, "phone": 30}
MAX_AUTHORISED_PERSONS = 6
MAX_EMERGENCY_CONTACTS = 4

# Who a person is to the child, in the order the forms list them.
RELATIONS = {
    "grand_parent": "Grand-parent",
    "oncle_tante": "Oncle ou tante",
    "frere_soeur": "Frère ou sœur (majeur)",
    "beau_parent": "Beau-parent",
    "assistant_maternel": "Assistant(e) maternel(le)",
    "voisin_ami": "Voisin(e) ou ami(e)",
    "parent": "Parent",
    "autre": "Autre",
}

# The agents' roles that care for children, and the service each stands for: an agent of that role reads the
# record of a child the service knows (canteen: enrolled in a school's canteen; childcare: known to the crèche).
CARE_ROLES = {"affaires_scolaires": "canteen", "petite_enfance": "childcare"}

FORBIDDEN_OTHER_SERVICE = ("health_record_forbidden",
                           "Vous n'avez pas accès à la fiche sanitaire de cet enfant : il n'est pas accueilli par "
                           "votre service.")
FORBIDDEN_NOT_CARE = ("health_record_forbidden",
                      "La fiche sanitaire n'est lisible que par les agents de la restauration scolaire ou de la "
                      "petite enfance qui accueillent l'enfant.")


@dataclass(frozen=True)
class HealthRecord:
    allergies: str = ""
    treatment: str = ""
    doctor_name: str = ""
    doctor_phone: str = ""
    vaccinations_up_to_date: bool = False
    authorised_persons: tuple = ()
    emergency_contacts: tuple = ()


def _text(value, field, label):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"invalid_{field}", f"{label} doit être un texte.")
    value = value.strip()
    limit = HEALTH_MAX_LENGTH[field]
    if len(value) > limit:
        raise InvalidInput(f"invalid_{field}", f"{label} ne peut pas dépasser {limit} caractères.")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise InvalidInput(f"invalid_{field}", f"{label} contient des caractères de contrôle.")
    return value


def _phone(value, label):
    if value is not None and not isinstance(value, str):
        raise InvalidInput("invalid_phone", f"Le téléphone {label} doit être un texte.")
    if value and len(value) > HEALTH_MAX_LENGTH["phone"]:
        raise InvalidInput("invalid_phone", f"Le téléphone {label} ne peut pas dépasser {HEALTH_MAX_LENGTH['phone']} "
                                            "caractères.")
    return normalise_phone(value)


def _persons(raw, field, label, limit):
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput(f"invalid_{field}", f"{label} : une liste de personnes est attendue.")
    if len(raw) > limit:
        raise InvalidInput(f"invalid_{field}", f"{label} : au plus {limit} personnes.")
    persons = []
    for number, person in enumerate(raw, 1):
        if not isinstance(person, dict):
            raise InvalidInput(f"invalid_{field}", f"{label} : chaque personne est un objet {{name, phone, relation}}.")
        name = _text(person.get("name"), "person_name", f"Le nom de la personne {number}")
        if not name:
            raise InvalidInput(f"invalid_{field}", f"{label} : le nom de la personne {number} est obligatoire.")
        phone = _phone(person.get("phone"), f"de la personne {number}")
        if not phone:
            raise InvalidInput("invalid_phone", f"{label} : le téléphone de la personne {number} est obligatoire.")
        relation = person.get("relation") or "autre"
        if relation not in RELATIONS:
            raise InvalidInput(f"invalid_{field}", f"{label} : le lien de la personne {number} est l'un de : "
                                                   f"{', '.join(RELATIONS)}.")
        persons.append({"name": name, "phone": phone, "relation": relation})
    return tuple(persons)


def parse_health_record(payload):
    """A HealthRecord from the API's body {allergies, treatment, doctor: {name, phone}, vaccinations_up_to_date,
    authorised_persons: [{name, phone, relation}], emergency_contacts: [...]}, or InvalidInput."""
    if not isinstance(payload, dict):
        raise InvalidInput("invalid_body", "La fiche sanitaire doit être un objet JSON.")
    doctor = payload.get("doctor") or {}
    if not isinstance(doctor, dict):
        raise InvalidInput("invalid_doctor", "Le médecin est un objet {name, phone}.")
    vaccinations = payload.get("vaccinations_up_to_date", False)
    if not isinstance(vaccinations, bool):
        raise InvalidInput("invalid_vaccinations", "« vaccinations_up_to_date » est true ou false.")
    return HealthRecord(
        allergies=_text(payload.get("allergies"), "allergies", "Les allergies"),
        treatment=_text(payload.get("treatment"), "treatment", "Le traitement"),
        doctor_name=_text(doctor.get("name"), "doctor_name", "Le nom du médecin"),
        doctor_phone=_phone(doctor.get("phone"), "du médecin"),
        vaccinations_up_to_date=vaccinations,
        authorised_persons=_persons(payload.get("authorised_persons"), "authorised_persons",
                                    "Personnes autorisées à venir chercher l'enfant", MAX_AUTHORISED_PERSONS),
        emergency_contacts=_persons(payload.get("emergency_contacts"), "emergency_contacts",
                                    "Personnes à prévenir en cas d'urgence", MAX_EMERGENCY_CONTACTS),
    )


def record_answer(child, record, updated_at=None, updated_by=None):
    """The record as the API answers it (an empty one when nothing was saved yet)."""
    record = record or HealthRecord()
    return {
        "child_id": child["id"], "first_name": child["first_name"], "last_name": child["last_name"],
        "allergies": record.allergies, "treatment": record.treatment,
        "doctor": {"name": record.doctor_name, "phone": record.doctor_phone},
        "vaccinations_up_to_date": record.vaccinations_up_to_date,
        "authorised_persons": [dict(p) for p in record.authorised_persons],
        "emergency_contacts": [dict(p) for p in record.emergency_contacts],
        "updated_at": updated_at.isoformat() if updated_at else None,
        "updated_by": updated_by,
    }


def flags_data(child_id, record, updated_at):
    """The data of identity.health_flags_changed: what the canteen's and the crèche's agents see on their lists."""
    return {"child_id": child_id, "allergies": record.allergies, "has_allergies": bool(record.allergies),
            "has_treatment": bool(record.treatment), "updated_at": updated_at.isoformat()}


def care_services(roles):
    """The services whose children an agent of these roles cares for, in a stable order."""
    return [service for role, service in CARE_ROLES.items() if role in (roles or ())]


def reading_role(roles, attended_by):
    """The role under which an agent reads a child's record: the first of its care roles whose service the child
    attends (attended_by: the services that said so); Forbidden otherwise. An administrator is not a care agent:
    the role admin alone reads nothing."""
    services = care_services(roles)
    if not services:
        raise Forbidden(*FORBIDDEN_NOT_CARE)
    for role, service in CARE_ROLES.items():
        if role in roles and service in attended_by:
            return role
    raise Forbidden(*FORBIDDEN_OTHER_SERVICE)


def health_vocabulary():
    return {"relations": dict(RELATIONS), "max_length": dict(HEALTH_MAX_LENGTH),
            "max_authorised_persons": MAX_AUTHORISED_PERSONS, "max_emergency_contacts": MAX_EMERGENCY_CONTACTS}
