"""openapi.yaml's schemas: the one description of what the gateway accepts, for the API and the forms alike.

The API checks each JSON body against its route's schema (api/validation.py); a web form builds the same
payload and checks it against the same schema (`form_problem`) before any RPC, so a 100,000-character name
is refused the same way by both, with a French message that names the field.

OpenAPI 3.0 schemas are JSON Schema draft 4 with extensions; the request schemas keep to the common part
(no `nullable`). A schema may add `x-message-fr`: what to tell a person whose value does not match its
`pattern` (a pattern alone says nothing a person can act on).
"""
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import relevance

from espace_common.errors import InvalidInput

from .errors import FormError

OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.yaml"

NOT_AN_OBJECT = "Le corps de la demande doit être un objet JSON (en-tête Content-Type: application/json)."

TYPES_FR = {
    "string": "une chaîne de caractères",
    "object": "un objet",
    "array": "une liste",
    "integer": "un nombre entier",
    "number": "un nombre",
    "boolean": "un booléen (true ou false)",
    "null": "null",
}

FORMATS_FR = {
    "date": "une date au format AAAA-MM-JJ",
    "date-time": "une date et une heure au format ISO 8601",
    "email": "une adresse e-mail",
}


@lru_cache(maxsize=1)
def openapi_document():
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


def validator(schema):
    """A validator of `schema`, whose "#/components/..." references resolve in openapi.yaml."""
    return Draft4Validator(dict(schema, components=openapi_document()["components"]), format_checker=FormatChecker())


@lru_cache(maxsize=None)
def named_validator(name):
    return validator({"$ref": f"#/components/schemas/{name}"})


def first_error(checker, data):
    """The error a person should fix first, or None."""
    errors = list(checker.iter_errors(data))
    # Not best_match(): it would guess among the forms of a oneOf, where we pick the closest.
    return max(errors, key=relevance) if errors else None


def max_length(name, *path):
    """The maxLength openapi.yaml gives the field at `path` of the schema `name`: the form's maxlength."""
    schema = _resolved(openapi_document()["components"]["schemas"][name])
    for part in path:
        schema = _resolved(schema["properties"][part])
    return schema.get("maxLength")


def _resolved(schema):
    while "$ref" in schema:
        schema = openapi_document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def validate(name, data, code="invalid_body", root=None):
    """Raise InvalidInput(code, French message) unless `data` matches the schema `name` of openapi.yaml.

    `root` names `data` itself in the message when it is one value (a query parameter) rather than a body.
    """
    error = first_error(named_validator(name), data)
    if error is not None:
        raise InvalidInput(code, french_message(error, lambda path: field_name([root, *path] if root else path)))


def form_problem(name, data, field_of):
    """A FormError for the first value of a form's payload the schema `name` refuses, or None.

    `field_of(path)` gives, for a path in the payload, the form's (field name, French label), or None
    when the path is no single field; the message names the label and the field is marked invalid.
    """
    error = first_error(named_validator(name), data)
    if error is None:
        return None

    def label_of(path):
        found = field_of(tuple(path))
        return found[1] if found else field_name(path)

    found = field_of(tuple(error.absolute_path))
    return FormError(french_message(error, label_of), "invalid_input", 400, about=found[0] if found else None)


def field_name(path):
    """representatives[0].first_name, as the API's clients name it."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def french_message(error, label_of=field_name):
    """One sentence a person can act on, naming the field (by `label_of` its path)."""
    kind, expected, instance = error.validator, error.validator_value, error.instance
    where = label_of(error.absolute_path)
    field = f"Le champ « {where} »"
    if kind in ("oneOf", "anyOf"):
        return _closest_alternative(error, label_of)
    if kind == "required":
        missing = next((name for name in expected if name not in instance), expected[0])
        return f"Le champ « {label_of([*error.absolute_path, missing])} » est obligatoire."
    if kind == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        unknown = ", ".join(f"« {name} »" for name in sorted(set(instance) - known))
        return f"Champ inconnu : {unknown}" + (f" dans « {where} »." if where else ".")
    if kind == "minProperties":
        return f"Indiquez au moins une valeur dans « {where} »." if where else "Indiquez au moins un champ."
    if not where:
        return NOT_AN_OBJECT
    if kind == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        return f"{field} doit être {' ou '.join(TYPES_FR.get(t, t) for t in wanted)}."
    if kind == "minLength":
        return f"{field} ne peut pas être vide." if expected == 1 else \
            f"{field} doit compter au moins {expected} caractères."
    if kind == "maxLength":
        return f"{field} ne peut pas dépasser {expected} caractères."
    if kind == "pattern":
        return error.schema.get("x-message-fr", f"{field} n'est pas au bon format.").format(field=field)
    if kind == "enum":
        return f"{field} doit valoir : {', '.join(str(v) for v in expected)}."
    if kind == "format":
        return f"{field} doit être {FORMATS_FR.get(expected, 'au format ' + expected)}."
    if kind == "minItems":
        return f"La liste « {where} » doit compter au moins {expected} élément{'s' if expected > 1 else ''}."
    if kind == "maxItems":
        return f"La liste « {where} » ne peut pas compter plus de {expected} élément{'s' if expected > 1 else ''}."
    if kind == "uniqueItems":
        return f"La liste « {where} » contient deux fois la même valeur."
    if kind in ("minimum", "maximum"):
        return f"{field} doit être {'au moins' if kind == 'minimum' else 'au plus'} {expected}."
    return f"{field} n'est pas valide."


def _closest_alternative(error, label_of):
    """Of the forms a body may take, explain what the nearest one lacks."""
    by_branch = {}
    for sub in error.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    if not by_branch:
        return "La demande correspond à plusieurs formes à la fois : retirez les champs en trop."
    closest = min(by_branch.values(), key=len)
    return french_message(max(closest, key=relevance), label_of)
