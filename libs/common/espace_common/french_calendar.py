"""The French calendar's public holidays, computed for any year: plain code the canteen and the crèche share."""
from datetime import date, timedelta
from functools import lru_cache


def easter_sunday(year):
    """Gregorian Easter (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_public_holidays(year):
    """The eleven public holidays of metropolitan France."""
    easter = easter_sunday(year)
    return frozenset({
        date(year, 1, 1), easter + timedelta(days=1), date(year, 5, 1), date(year, 5, 8),
        easter + timedelta(days=39), easter + timedelta(days=50), date(year, 7, 14), date(year, 8, 15),
        date(year, 11, 1), date(year, 11, 11), date(year, 12, 25),
    })
