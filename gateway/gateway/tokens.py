"""What identity's tokens look like, so that a malformed one is an invalid token without a round trip.

Identity makes every token (session, bearer, reset and confirmation links) with secrets.token_urlsafe:
URL-safe base64, 43 characters today. Anything else (non-ASCII, spaces, a megabyte) cannot be one and
is answered here exactly as identity answers a token it does not know.
"""
import re

from espace_common.errors import NotFound

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def well_formed(token):
    return isinstance(token, str) and TOKEN_SHAPE.fullmatch(token) is not None


def check_link_token(token):
    """The token of a mailed link, or the refusal identity gives for a link it does not know."""
    if not well_formed(token):
        raise NotFound("link_invalid", "Ce lien n'est pas valide.")
    return token
