"""Every JSON request body is checked against the schema openapi.yaml gives its route.

The check runs before the view and before authentication, so a malformed body
costs no RPC at all (not even to resolve the token) and is answered
400 {code: "invalid_body", message} in French. Only the shape is checked here
(types, required and unknown fields, lengths); what the values mean is the
services' business.

OpenAPI 3.0 schemas are JSON Schema draft 4 with extensions; the request
schemas of openapi.yaml keep to the common part (no `nullable`).
"""
import re
from functools import lru_cache

from flask import g, request
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import relevance

from espace_common.errors import InvalidInput

from . import bp, openapi_document

INVALID_BODY = "invalid_body"
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


def openapi_path(rule):
    """/api/v1/families/<family_id> → /families/{family_id}, as openapi.yaml names it."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule[len(bp.url_prefix):])


@lru_cache(maxsize=None)
def validator_for(rule, method):
    """The validator of this route's JSON body, or None when the route takes no body."""
    operation = openapi_document()["paths"].get(openapi_path(rule), {}).get(method.lower(), {})
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return None
    # "#/components/..." references resolve against the root schema: give it the components.
    root = dict(media["schema"], components=openapi_document()["components"])
    return Draft4Validator(root, format_checker=FormatChecker())


@bp.before_request
def validate_body():
    rule = request.url_rule
    if rule is None:  # no such route: the 404 or 405 comes next
        return
    validator = validator_for(rule.rule, request.method)
    if validator is None:
        return
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(INVALID_BODY, NOT_AN_OBJECT)
    errors = list(validator.iter_errors(body))
    if errors:
        # Not best_match(): it would guess among the forms of a oneOf, where we pick the closest.
        raise InvalidInput(INVALID_BODY, french_message(max(errors, key=relevance)))
    g.api_body = body


def body():
    """The request's JSON body, already checked against the route's schema."""
    return g.api_body


def field_name(path):
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def french_message(error):
    """One sentence a person can act on, naming the field."""
    kind, expected, instance = error.validator, error.validator_value, error.instance
    where = field_name(error.absolute_path)
    field = f"Le champ « {where} »"
    if kind in ("oneOf", "anyOf"):
        return _closest_alternative(error)
    if kind == "required":
        missing = next((name for name in expected if name not in instance), expected[0])
        return f"Le champ « {field_name([*error.absolute_path, missing])} » est obligatoire."
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


def _closest_alternative(error):
    """Of the forms a body may take, explain what the nearest one lacks."""
    by_branch = {}
    for sub in error.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    if not by_branch:
        return "La demande correspond à plusieurs formes à la fois : retirez les champs en trop."
    closest = min(by_branch.values(), key=len)
    return french_message(max(closest, key=relevance))
