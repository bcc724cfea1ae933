"""A refusal becomes a status, and on a form a message beside its field, through errors.py alone."""
import pytest

from espace_common.errors import InvalidInput, Throttled
from espace_common.rpc_client import RemoteError
from gateway import errors
from gateway.web import canteen_common, helpers

from .conftest import remote


def canteen_refusal(kind, code, *extra):
    return RemoteError.from_reply("canteen", {"exc_type": kind, "exc_args": [code, "Un message.", *extra]})


@pytest.mark.parametrize("exc, status, field", [
    (remote("Conflict", "username_taken"), 409, "username"),
    (canteen_refusal("InvalidInput", "document_too_large"), 400, "document"),
    (canteen_refusal("NotFound", "query_too_short"), 404, "q"),
    (InvalidInput("invalid_phone", "Numéro invalide."), 400, "phone"),
])
def test_identitys_canteens_and_the_gateways_refusals_use_one_map(exc, status, field):
    error = errors.refusal(exc)
    assert (error.status, error.field) == (status, field)


def test_a_throttled_refusal_says_when_to_try_again_remote_or_local():
    assert errors.refusal(remote("Throttled", "too_many", "Trop.", 120)).headers == {"Retry-After": "120"}
    assert errors.refusal(Throttled("too_many", "Trop.", 30)).headers == {"Retry-After": "30"}


def test_what_is_not_a_refusal_is_raised_again():
    bug = RemoteError.from_reply("identity", {"exc_type": "KeyError", "exc_args": ["x"]})
    with pytest.raises(RemoteError):
        errors.refusal(bug)
    with pytest.raises(ZeroDivisionError):
        errors.refusal(ZeroDivisionError())


def test_the_canteen_pages_names_are_the_same_functions():
    assert canteen_common.refusal is errors.refusal
    assert canteen_common.CanteenFormError is errors.FormError is helpers.FormError
    assert not hasattr(canteen_common, "FIELD_OF_CODE") and not hasattr(helpers, "FIELD_OF_CODE")


def test_an_explicit_field_wins_over_the_codes():
    assert errors.FormError("Trop long.", "invalid_email", about="rep0_email").field == "rep0_email"


def test_a_remote_401_on_the_api_says_how_to_authenticate(client, services):
    services.answers[("identity", "login")] = remote("Unauthenticated", "bad_credentials", "Identifiant incorrect.")
    response = client.post("/api/v1/auth/token", json={"username": "claire", "password": "x"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
