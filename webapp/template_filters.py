"""The Jinja filters of pages and mail, registered on the app in one place.

`register_template_filters(app)` runs in `create_app()` after the blueprints,
so a filter named here is the one templates get. Filters whose formatting
belongs to a feature (the phone number) are taken from it; no
feature registers filters of its own, so two can never fight over a name.
The `booking_*` filters show an instant in a practitioner's timezone, which
only the booking pages need, but they are plain formatting like the others.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Flask
from flask_babel import format_currency, format_decimal, get_locale
from flask_babel import gettext as _

from webapp.accounts.phones import display_phone
from webapp.local_datetimes import local_datetime_in


def local_datetime(value: dt.datetime, timezone: str) -> str:
    """"lundi 30 mars 2026 à 09:00" in the current language and the given timezone."""
    return local_datetime_in(value, timezone, locale=get_locale(), gettext=_)


def money(amount_cents: int, currency: str = "EUR") -> str:
    """`8900` → `89,00 €` in the current language (amounts are integer cents)."""
    return format_currency(Decimal(amount_cents) / 100, currency)


def vat_rate(vat_rate_bp: int) -> str:
    """`2000` → `20 %`, `550` → `5,5 %` in French (rates are basis points)."""
    return format_decimal(Decimal(vat_rate_bp) / 100, format="#,##0.##") + "\u00a0%"


def booking_datetime(value: dt.datetime, timezone: str, format: str = "full") -> str:
    """A UTC instant shown in the practitioner's timezone and the user's language."""
    pattern = {"full": "EEEE d MMMM y, HH:mm", "short": "EEE d MMM, HH:mm"}.get(format, format)
    return format_datetime(value, pattern, tzinfo=ZoneInfo(timezone), locale=get_locale())


def booking_time(value: dt.datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def booking_date_iso(value: dt.datetime, timezone: str) -> str:
    """The local day of an instant, as the `day=` argument of the agenda's links."""
    return value.astimezone(ZoneInfo(timezone)).date().isoformat()


def booking_day(value: dt.date, format: str = "EEEE d MMMM") -> str:
    return format_date(value, format, locale=get_locale())


def register_template_filters(app: Flask) -> None:
    for name, function in (
        ("local_datetime", local_datetime), ("money", money), ("phone", display_phone),
        ("vat_rate", vat_rate), ("booking_datetime", booking_datetime), ("booking_time", booking_time),
        ("booking_date_iso", booking_date_iso), ("booking_day", booking_day),
    ):
        app.add_template_filter(function, name)
