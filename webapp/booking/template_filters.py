"""The booking's Jinja filters: dates and times in the practitioner's timezone, prices."""

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask_babel import format_currency, get_locale

from webapp.booking import bp


@bp.app_template_filter("booking_datetime")
def format_local_datetime(value: dt.datetime, timezone: str, format: str = "full") -> str:
    """A UTC instant shown in the practitioner's timezone and the user's language."""
    pattern = {"full": "EEEE d MMMM y, HH:mm", "short": "EEE d MMM, HH:mm"}.get(format, format)
    return format_datetime(value, pattern, tzinfo=ZoneInfo(timezone), locale=get_locale())


@bp.app_template_filter("booking_time")
def format_local_time(value: dt.datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


@bp.app_template_filter("booking_date_iso")
def local_date_iso(value: dt.datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).date().isoformat()


@bp.app_template_filter("booking_day")
def format_day(value: dt.date, format: str = "EEEE d MMMM") -> str:
    return format_date(value, format, locale=get_locale())


@bp.app_template_filter("booking_price")
def format_price(cents: int, currency: str = "EUR") -> str:
    return format_currency(cents / 100, currency)
