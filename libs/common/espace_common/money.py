"""Money is an integer number of cents; these helpers only read and show it."""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def format_euros(cents):
    """12345 -> '123,45 €' with a narrow no-break space between thousands, as French text does."""
    from .formatting import euros  # Babel's French (espace_common.formatting): one way to write an amount
    return euros(cents)


def parse_euros(text):
    """'12,5' or '12.50' -> 1250; raises ValueError on anything else."""
    cleaned = str(text).strip().replace("€", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"more than two decimals: {text!r}")
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
