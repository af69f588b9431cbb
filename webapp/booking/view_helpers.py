"""What the booking pages share: role checks, query-string arguments, the week picker, the patient choices."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from webapp.accounts.models import Role
from webapp.accounts.services import list_relatives
from webapp.booking import settings
from webapp.db import now_utc
from webapp.errors import Forbidden

BOOKING_RATE_LIMIT = "30 per minute"


def require_role(*roles: Role) -> None:
    if current_user.role not in roles:
        raise Forbidden()


def timezone_of(practitioner_id: int) -> str:
    return settings.schedule_of(practitioner_id).timezone


def local_today(timezone: str) -> dt.date:
    return now_utc().astimezone(ZoneInfo(timezone)).date()


def date_arg(name: str, default: dt.date | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


def int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def text_arg(name: str) -> str:
    """Text typed in a search box: at most 100 characters, without the NUL
    character that PostgreSQL refuses in text."""
    return request.args.get(name, "").replace("\x00", "")[:100]


def parse_start(text: str | None) -> dt.datetime | None:
    """An ISO 8601 start with its offset; anything else is refused."""
    try:
        value = dt.datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return value if value.tzinfo is not None and value.utcoffset() is not None else None


def _monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def picker_week(timezone: str, first_free: dt.datetime | None = None) -> tuple[dt.date, list[dt.date], dt.date | None]:
    """The week asked for by `?week=` (never before the current one), else
    the week of `first_free`: its Monday, its days, and the previous week's
    Monday if it may be shown."""
    this_monday = _monday_of(local_today(timezone))
    opening = _monday_of(first_free.astimezone(ZoneInfo(timezone)).date()) if first_free else this_monday
    monday = max(_monday_of(date_arg("week", opening)), this_monday)
    previous = monday - dt.timedelta(days=7) if monday > this_monday else None
    return monday, [monday + dt.timedelta(days=offset) for offset in range(7)], previous


def slots_by_day(slots, days: list[dt.date], timezone: str) -> list[tuple[dt.date, list]]:
    tz = ZoneInfo(timezone)
    grouped: dict[dt.date, list] = {day: [] for day in days}
    for slot in slots:
        grouped.setdefault(slot.start_at.astimezone(tz).date(), []).append(slot)
    return [(day, grouped[day]) for day in days]


def patient_choices() -> list[SelectChoice]:
    """The patient profiles the user books for: their own first, then relatives."""
    choices = []
    if current_user.patient_profile is not None:
        choices.append(SelectChoice(current_user.patient_profile.id,
                                    _("Myself (%(name)s)", name=current_user.patient_profile.full_name)))
    choices += [SelectChoice(relative.id, relative.full_name) for relative in list_relatives(current_user)]
    return choices
