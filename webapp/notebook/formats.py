"""Dates and times as the notebook pages write them, cached: each is a pure
function of the value, the locale and the time zone, and a long notebook
writes the same ones page after page (entries, summary lines, chart tables).
A page binds the reader's locale and time zone once (`medium_datetimes`,
`long_dates`), not once per value."""

import datetime as dt
import functools
from collections.abc import Callable

from babel import dates as babel_dates
from flask_babel import get_locale, get_timezone


@functools.lru_cache(maxsize=4096)
def _medium_datetime(value: dt.datetime, locale: str, tzinfo: dt.tzinfo) -> str:
    return babel_dates.format_datetime(value, "medium", tzinfo=tzinfo, locale=locale)


@functools.lru_cache(maxsize=4096)
def _long_date(value: str, locale: str) -> str:
    return babel_dates.format_date(dt.date.fromisoformat(value), "long", locale=locale)


def medium_datetimes() -> Callable[[dt.datetime], str]:
    """Times as the `datetimeformat("medium")` filter writes them, in the reader's locale and time zone."""
    return functools.partial(_medium_datetime, locale=str(get_locale()), tzinfo=get_timezone())


def long_dates() -> Callable[[str], str]:
    """ISO dates in the reader's locale's long format."""
    return functools.partial(_long_date, locale=str(get_locale()))
