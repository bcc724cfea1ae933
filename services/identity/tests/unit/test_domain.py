from datetime import date

import pytest

from espace_common.errors import InvalidInput
from identity import domain


def registration(**overrides):
    payload = {
        "representatives": [{"first_name": "Claire", "last_name": "Martin", "email": "claire@example.org",
                             "phone": "06 12 34 56 78",
                             "address": {"line1": "1 rue de la Gare", "postal_code": "44480", "city": "Donges"}}],
        "children": [{"first_name": "Léa", "last_name": "Martin", "birth_date": "2018-04-17"}],
    }
    payload.update(overrides)
    return payload


def test_a_registration_becomes_a_command():
    command = domain.parse_registration(registration(request_id="r-1"))
    assert command.request_id == "r-1"
    assert command.representatives[0].phone == "0612345678"
    assert command.representatives[0].address.city == "Donges"
    assert command.children[0].birth_date == date(2018, 4, 17)


@pytest.mark.parametrize("overrides, code", [
    ({"representatives": []}, "invalid_representatives"),
    ({"representatives": [{"first_name": "A", "last_name": "B"}] * 3}, "invalid_representatives"),
    ({"representatives": [{"first_name": "", "last_name": "B"}]}, "invalid_name"),
    ({"representatives": [{"first_name": "A", "last_name": "B", "email": "pas-un-mail"}]}, "invalid_email"),
    ({"representatives": [{"first_name": "A", "last_name": "B", "phone": "12345"}]}, "invalid_phone"),
    ({"representatives": [{"first_name": "A", "last_name": "B",
                           "address": {"line1": "x", "postal_code": "4448", "city": "Donges"}}]}, "invalid_address"),
    ({"children": [{"first_name": "A", "last_name": "B", "birth_date": "17/04/2018"}]}, "invalid_birth_date"),
])
def test_each_bad_field_is_refused_with_its_code(overrides, code):
    with pytest.raises(InvalidInput) as error:
        domain.parse_registration(registration(**overrides))
    assert error.value.code == code


@pytest.mark.parametrize("raw, expected", [("+33 6 12 34 56 78", "0612345678"), ("02.40.45.79.79", "0240457979"),
                                           ("0033612345678", "0612345678"), ("", "")])
def test_french_phone_numbers(raw, expected):
    assert domain.normalise_phone(raw) == expected


def test_identifiers_fold_case_and_accents():
    assert domain.fold("  ÉloDie ") == domain.fold("elodie")


def test_roles_must_be_known():
    assert domain.validate_roles(["admin", "admin"]) == ("admin",)
    with pytest.raises(InvalidInput):
        domain.validate_roles(["mayor"])
