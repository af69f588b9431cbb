"""Notifications: the outbox of email and SMS messages, their templates, and each patient's settings."""

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency
from flask import Blueprint
from flask_babel import get_locale
from flask_babel import gettext as _

bp = Blueprint("notifications", __name__, template_folder="templates")


@bp.app_template_filter("local_datetime")
def local_datetime(value: dt.datetime, timezone: str) -> str:
    """"lundi 30 mars 2026 à 09:00" in the current language and the given timezone."""
    return _local_datetime(value, timezone, str(get_locale()))


@functools.lru_cache(maxsize=256)
def _local_datetime(value: dt.datetime, timezone: str, locale: str) -> str:
    # A booking's messages (confirmation, reminders, subjects) repeat the same time.
    local = value.astimezone(ZoneInfo(timezone))
    return _("%(date)s at %(time)s", date=format_date(local.date(), "full", locale=locale),
             time=format_time(local, "short", locale=locale))


@bp.app_template_filter("money")
def money(amount_cents: int, currency: str) -> str:
    return format_currency(amount_cents / 100, currency, locale=get_locale())


from webapp.notifications import views  # noqa: E402,F401  (registers the routes)
