import pytest

from espace_common.money import format_euros, parse_euros


def test_format_in_french():
    assert format_euros(123456) == "1\u202f234,56\u00a0€"
    assert format_euros(5) == "0,05\u00a0€"
    assert format_euros(-250) == "-2,50\u00a0€"


def test_money_is_integer_cents():
    with pytest.raises(TypeError):
        format_euros(1.5)


@pytest.mark.parametrize("text, cents", [("12,5", 1250), ("12.50", 1250), ("0,01 €", 1), ("1 234,00", 123400)])
def test_parse(text, cents):
    assert parse_euros(text) == cents


@pytest.mark.parametrize("text", ["abc", "1,234", ""])
def test_parse_refuses(text):
    with pytest.raises(ValueError):
        parse_euros(text)
