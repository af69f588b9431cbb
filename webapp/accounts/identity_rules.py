"""What a person's name and birth date may be: the one home of these rules.

Marshmallow schemas (`PersonName`, `BirthDate` fields), WTForms validators
(`PersonNameValidator`, `BirthDateValidator`) and services all take them from
here, so an API, a page and the desk refuse the same input with the same words.
"""

import datetime as dt
import unicodedata
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from wtforms.validators import StopValidation

from webapp.db import now_utc

NAME_MAX_LENGTH = 100
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
ADULT_AGE = 18
# Dates of birth are French civil dates: "today" is today in Paris, whatever the server's zone.
CIVIL_TIMEZONE = ZoneInfo("Europe/Paris")
# Control (Cc) and format (Cf: bidi overrides, zero-width characters) characters,
# surrogates, private-use and unassigned code points have no place in a name.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


def civil_today() -> dt.date:
    """Today's date in France, from the app's (injectable) clock."""
    return now_utc().astimezone(CIVIL_TIMEZONE).date()


def check_person_name(value: str | None) -> str | None:
    """The problem with a first or last name, or None: printable text only
    (no control or format characters), at least one letter once trimmed, at
    most `NAME_MAX_LENGTH` characters."""
    text = (value or "").strip()
    if not text:
        return str(_l("Enter a name."))
    if len(text) > NAME_MAX_LENGTH:
        return str(_l("At most %(max)d characters.", max=NAME_MAX_LENGTH))
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in text):
        return str(_l("Use letters, spaces, hyphens or apostrophes only: this name holds invisible characters."))
    if not any(char.isalpha() for char in text):
        return str(_l("A name holds at least one letter."))
    return None


def check_birth_date(value: dt.date | None, today: dt.date | None = None) -> str | None:
    """The problem with a birth date, or None: from 1900-01-01 to today (in Paris)."""
    if value is None:
        return str(_l("Enter a birth date."))
    today = today or civil_today()
    if value > today:
        return str(_l("The birth date is in the future."))
    if value < EARLIEST_BIRTH_DATE:
        return str(_l("Enter a birth date after %(date)s.", date="1900-01-01"))
    return None


def age_on(birth_date: dt.date, today: dt.date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def is_adult(birth_date: dt.date, today: dt.date | None = None) -> bool:
    """Whether the person is 18 or over today (in Paris)."""
    return age_on(birth_date, today or civil_today()) >= ADULT_AGE


def identity_problems(*, first_name=None, last_name=None, birth_date=None, check=("first_name", "last_name",
                      "birth_date")) -> dict[str, list[str]]:
    """Field errors for the named parts of an identity (for services' `fields=`)."""
    found = {"first_name": check_person_name(first_name), "last_name": check_person_name(last_name),
             "birth_date": check_birth_date(birth_date)}
    return {name: [found[name]] for name in check if found[name]}


# --- marshmallow -------------------------------------------------------------------

class PersonName(ma.fields.String):
    """A first or last name: trimmed, then checked by `check_person_name`."""

    def __init__(self, **kwargs):
        metadata = {"minLength": 1, "maxLength": NAME_MAX_LENGTH} | kwargs.pop("metadata", {})
        super().__init__(validate=ma.validate.Length(min=1, max=NAME_MAX_LENGTH), metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if problem := check_person_name(text):
            raise ma.ValidationError(problem)
        return text.strip()


class BirthDate(ma.fields.Date):
    """A birth date checked by `check_birth_date`."""

    def __init__(self, **kwargs):
        metadata = {"description": "Between 1900-01-01 and today."} | kwargs.pop("metadata", {})
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        date = super()._deserialize(value, attr, data, **kwargs)
        if problem := check_birth_date(date):
            raise ma.ValidationError(problem)
        return date


# --- WTForms -------------------------------------------------------------------------

class PersonNameValidator:
    """WTForms: the message of `check_person_name` next to the field."""

    def __call__(self, form, field):
        if problem := check_person_name(field.data):
            raise StopValidation(problem)
        field.data = field.data.strip()


class BirthDateValidator:
    """WTForms: the message of `check_birth_date` next to the field."""

    def __call__(self, form, field):
        if field.data is not None and (problem := check_birth_date(field.data)):
            raise StopValidation(problem)
