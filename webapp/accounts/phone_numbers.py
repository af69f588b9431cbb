"""Phone numbers as patients type them ("06 12 34 56 78", "+33 6..."), kept in one international form."""

import re

from flask_babel import lazy_gettext as _l

_NOISE = re.compile(r"[\s.\-()/]")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{7,14}$")  # E.164: at most 15 digits
_FRENCH_NATIONAL = re.compile(r"^0[1-9]\d{8}$")


def normalized_phone(text: str | None) -> str | None:
    """`text` as +<country><number>, French national numbers (10 digits from
    0) read as +33; None when it is not a phone number."""
    compact = _NOISE.sub("", text or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if _FRENCH_NATIONAL.match(compact):
        compact = "+33" + compact[1:]
    return compact if _INTERNATIONAL.match(compact) else None


def phone_problem(text: str | None) -> str | None:
    if normalized_phone(text) is None:
        return str(_l("Enter a phone number, e.g. 06 12 34 56 78 or +33 6 12 34 56 78."))
    return None


class PhoneValidator:
    """WTForms validator for a phone number field."""

    def __call__(self, form, field):
        from wtforms.validators import ValidationError

        if field.data and (problem := phone_problem(field.data)):
            raise ValidationError(problem)
