"""Public holidays where a practitioner works: France's, with the local ones of their postcode's subdivision.

Alsace and Moselle keep Good Friday and 26 December; each overseas
department and collectivity has its own day for the abolition of slavery
(and Guadeloupe, Martinique, French Polynesia more). The days come from the
`holidays` package's France subdivisions; postcodes elsewhere, Corsica's
included, follow the metropolitan calendar.
"""

import datetime as dt
import functools
from collections.abc import Iterable

import holidays

# The first digits of a postcode and the `holidays.France` subdivision they fall in.
_REGION_BY_PREFIX = {
    "57": "57",  # Moselle
    "67": "6AE", "68": "6AE",  # Bas-Rhin, Haut-Rhin
    "971": "971", "972": "972", "973": "973", "974": "974", "976": "976",
    "975": "PM",  # Saint-Pierre-et-Miquelon
    "986": "WF", "987": "PF", "988": "NC",
}
# Saint-Barthélemy and Saint-Martin left Guadeloupe in 2007 but kept its postcodes.
_REGION_BY_POSTCODE = {"97133": "BL", "97150": "MF"}


def holiday_region(postcode: str | None) -> str | None:
    """The subdivision whose holidays apply at `postcode`; None for metropolitan France."""
    code = "".join((postcode or "").split())
    if code in _REGION_BY_POSTCODE:
        return _REGION_BY_POSTCODE[code]
    return _REGION_BY_PREFIX.get(code[:3]) or _REGION_BY_PREFIX.get(code[:2])


@functools.lru_cache(maxsize=256)
def _holidays_of(region: str | None, year: int) -> frozenset[dt.date]:
    # Building a year of holidays costs far more than the slot search that reads it: once per (region, year).
    return frozenset(holidays.France(subdiv=region, years=year))


def public_holidays(postcode: str | None, years: Iterable[int]) -> frozenset[dt.date]:
    """The public holidays at `postcode` in `years`."""
    region = holiday_region(postcode)
    return frozenset().union(*(_holidays_of(region, year) for year in years))


def is_public_holiday(day: dt.date, region: str | None = None) -> bool:
    """Whether `day` is a public holiday in `region` (a `holiday_region`; None: metropolitan France)."""
    return day in _holidays_of(region, day.year)
