"""Dates, times and numbers as the notebook pages write them, cached: each is a pure
function of the value, the locale and the time zone, and a long notebook
writes the same ones page after page (entries, summary lines, chart tables).
A page binds the reader's locale and time zone once (`medium_datetimes`,
`long_dates`), not once per value."""

import datetime as dt
import functools
from collections.abc import Callable

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask_babel import get_locale, get_timezone


@functools.lru_cache(maxsize=4096)
def _medium_datetime(value: dt.datetime, locale: str, tzinfo: dt.tzinfo) -> str:
    return babel_dates.format_datetime(value, "medium", tzinfo=tzinfo, locale=locale)


@functools.lru_cache(maxsize=4096)
def _long_date(value: str, locale: str) -> str:
    return babel_dates.format_date(dt.date.fromisoformat(value), "long", locale=locale)


@functools.lru_cache(maxsize=4096)
def _decimal(value: float, locale: str) -> str:
    return babel_numbers.format_decimal(value, locale=locale)


def medium_datetimes() -> Callable[[dt.datetime], str]:
    """Times as the `datetimeformat("medium")` filter writes them, in the reader's locale and time zone."""
    return functools.partial(_medium_datetime, locale=str(get_locale()), tzinfo=get_timezone())


def long_dates() -> Callable[[str], str]:
    """ISO dates in the reader's locale's long format."""
    return functools.partial(_long_date, locale=str(get_locale()))


def decimals() -> Callable[[float], str]:
    """Numbers as the `format_decimal` of Flask-Babel writes them, in the reader's locale.

    Babel parses the locale's number pattern on each call. Measured on B4
    (quick, SQLite, CPU per notebook page, two runs, busy machine), with the
    measurement entries' dates and dates of `kinds.data_lines` from the caches
    above: building the charts 0.94-1.02 -> 0.60 ms, the template 6.1-6.3 -> 5.8 ms."""
    return functools.partial(_decimal, locale=str(get_locale()))
