"""Every JSON request body is checked against the schema openapi.yaml gives its route.

The check runs before the view and before authentication, so a malformed body
costs no RPC at all (not even to resolve the token) and is answered
400 {code: "invalid_body", message} in French. Only the shape is checked here
(types, required and unknown fields, lengths, non-blank values); what the values
mean is the services' business. The web forms check their payloads against the
same schemas (see gateway/schemas.py).
"""
import re
from functools import lru_cache

from flask import g, request

from espace_common.errors import InvalidInput

from ..schemas import NOT_AN_OBJECT, first_error, french_message, openapi_document, validator
from . import bp

INVALID_BODY = "invalid_body"


def openapi_path(rule):
    """/api/v1/families/<family_id> → /families/{family_id}, as openapi.yaml names it."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule[len(bp.url_prefix):])


@lru_cache(maxsize=None)
def validator_for(rule, method):
    """The validator of this route's JSON body, or None when the route takes no body."""
    operation = openapi_document()["paths"].get(openapi_path(rule), {}).get(method.lower(), {})
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return None if media is None else validator(media["schema"])


@bp.before_request
def validate_body():
    rule = request.url_rule
    if rule is None:  # no such route: the 404 or 405 comes next
        return
    checker = validator_for(rule.rule, request.method)
    if checker is None:
        return
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(INVALID_BODY, NOT_AN_OBJECT)
    error = first_error(checker, body)
    if error is not None:
        raise InvalidInput(INVALID_BODY, french_message(error))
    g.api_body = body


def body():
    """The request's JSON body, already checked against the route's schema."""
    return g.api_body
