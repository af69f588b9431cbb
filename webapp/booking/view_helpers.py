"""What the booking pages share: query-string arguments, the week picker, the patient choices."""

import datetime as dt

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from webapp.accounts.relatives import list_relatives
from webapp.booking import settings


def timezone_of(practitioner_id: int) -> str:
    return settings.schedule_of(practitioner_id).timezone


def date_arg(name: str, default: dt.date | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


def int_arg(name: str) -> int | None:
    # At most 9 digits: ids are 32-bit columns, and a longer number would
    # overflow the database driver (a 500) instead of matching nothing.
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
    # A naive time would be read in the server's zone; the slot's own offset
    # says which instant it is, across DST changes too.
    return value if value.tzinfo is not None and value.utcoffset() is not None else None


def patient_choices() -> list[SelectChoice]:
    """The patient profiles the user books for: their own first, then relatives."""
    choices = []
    if current_user.patient_profile is not None:
        choices.append(SelectChoice(current_user.patient_profile.id,
                                    _("Myself (%(name)s)", name=current_user.patient_profile.full_name)))
    choices += [SelectChoice(relative.id, relative.full_name) for relative in list_relatives(current_user)]
    return choices
