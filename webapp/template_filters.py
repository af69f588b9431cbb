"""The Jinja filters of pages and mail, registered on the app in one place.

`register_template_filters(app)` runs in `create_app()` after the blueprints,
so a filter named here is the one templates get. Filters whose formatting
belongs to a feature (the phone number) are taken from it; booking's
`booking_*` filters and billing's `vat_rate` are still registered by their
packages until those are split.
"""

import datetime as dt
import functools
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import Flask
from flask_babel import format_currency, get_locale
from flask_babel import gettext as _

from webapp.accounts.phones import display_phone


def local_datetime(value: dt.datetime, timezone: str) -> str:
    """"lundi 30 mars 2026 à 09:00" in the current language and the given timezone."""
    return _local_datetime(value, timezone, str(get_locale()))


@functools.lru_cache(maxsize=256)
def _local_datetime(value: dt.datetime, timezone: str, locale: str) -> str:
    # A booking's messages (confirmation, reminders, subjects) repeat the same time.
    local = value.astimezone(ZoneInfo(timezone))
    return _("%(date)s at %(time)s", date=format_date(local.date(), "full", locale=locale),
             time=format_time(local, "short", locale=locale))


def money(amount_cents: int, currency: str = "EUR") -> str:
    """`8900` → `89,00 €` in the current language (amounts are integer cents)."""
    return format_currency(Decimal(amount_cents) / 100, currency)


def register_template_filters(app: Flask) -> None:
    app.add_template_filter(local_datetime, "local_datetime")
    app.add_template_filter(money, "money")
    app.add_template_filter(display_phone, "phone")
