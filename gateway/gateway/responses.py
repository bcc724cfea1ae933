"""The answers views build, in one place: a JSON error, 201 Created, 204 No Content, an answer never cached."""
from flask import Response, jsonify


def json_error(status, code, message, headers=None):
    """{code, message} with its status; a 401 says how to authenticate, as HTTP requires."""
    response = jsonify({"code": code, "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="espace-famille"'
    response.headers.update(headers or {})
    return response


def created(payload, location=None):
    response = jsonify(payload)
    response.status_code = 201
    if location:
        response.headers["Location"] = location
    return response


def no_content():
    return Response(status=204)


def no_store(response):
    """An answer that carries a secret (a token, a key, a reset form) is never stored by a cache."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
