"""An instant in words, in a given language: shared by the pages' filter and the outbox's rendering."""

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time


def local_datetime_in(value: dt.datetime, timezone: str, *, locale, gettext) -> str:
    """"lundi 30 mars 2026 à 09:00" in `timezone`, in `locale` translated by
    `gettext(text, **variables)` (the outbox renders many messages per
    language without looking the language up each time)."""
    local = value.astimezone(ZoneInfo(timezone))
    return gettext("%(date)s at %(time)s", date=format_date(local.date(), "full", locale=locale),
                   time=format_time(local, "short", locale=locale))
