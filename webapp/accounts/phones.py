"""Phone numbers: the one home of how they are typed, stored and shown.

Stored in E.164 (`+33612345678`), the form SMS gateways and `tel:` links
take. The `phonenumbers` library is not a dependency, so French numbers
(metropolitan and overseas) are checked against the national numbering
plan; a number of another country is accepted in international form only
(`+` and 9 to 15 digits). Forms, services and templates take their rules
and words from here.
"""

import re

from flask_babel import lazy_gettext as _l
from wtforms.validators import StopValidation

PHONE_INPUT_MAX_LENGTH = 30
FRANCE = "33"
# National prefixes (after the trunk 0) that belong to an overseas country
# code, per the ARCEP plan: Réunion and Mayotte +262, Guadeloupe (and Saint-
# Martin, Saint-Barthélemy) +590, French Guiana +594, Martinique +596.
OVERSEAS_PREFIXES = {
    "262": "262", "263": "262", "692": "262", "693": "262", "269": "262", "639": "262",
    "590": "590", "690": "590", "691": "590",
    "594": "594", "694": "594",
    "596": "596", "696": "596", "697": "596",
}
OVERSEAS_CODES = set(OVERSEAS_PREFIXES.values())
# National prefixes of mobile numbers, the only ones an SMS reaches.
MOBILE_PREFIXES = ("6", "7", "692", "693", "639", "690", "691", "694", "696", "697")

_SEPARATORS = re.compile(r"[\s.\-/()\u00a0\u202f]")
_NATIONAL = re.compile(r"^0[1-9]\d{8}$")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{8,14}$")


def _national_number(e164: str) -> str | None:
    """The 9 digits after the trunk 0 of a French number in E.164, else None."""
    if e164.startswith("+" + FRANCE) and len(e164) == 12:
        return e164[3:]
    for code in OVERSEAS_CODES:
        if e164.startswith("+" + code) and len(e164) == 13:
            return e164[4:]
    return None


def normalised_phone(value: str | None) -> str | None:
    """The number in E.164, or None when it is not a valid one (see the module's rules)."""
    text = (value or "").strip()
    if not text or len(text) > PHONE_INPUT_MAX_LENGTH:
        return None
    text = _SEPARATORS.sub("", text.replace("(0)", ""))
    if text.startswith("00"):
        text = "+" + text[2:]
    if _NATIONAL.match(text):
        national = text[1:]
        return "+" + OVERSEAS_PREFIXES.get(national[:3], FRANCE) + national
    if not _INTERNATIONAL.match(text):
        return None
    if text.startswith("+" + FRANCE):
        national = text[3:]
        # A French number has 9 digits after +33, the first not 0; an
        # overseas prefix is dialled with its own country code.
        if not re.fullmatch(r"[1-9]\d{8}", national) or national[:3] in OVERSEAS_PREFIXES:
            return None
        return text
    for code in OVERSEAS_CODES:
        if text.startswith("+" + code):
            national = text[4:]
            return text if len(national) == 9 and OVERSEAS_PREFIXES.get(national[:3]) == code else None
    return text


def phone_problem(value: str | None) -> str | None:
    """The French message for a number that is not valid, or None."""
    if normalised_phone(value) is None:
        return str(_l("Enter a valid phone number, for example 06 12 34 56 78 or +33 6 12 34 56 78."))
    return None


def is_mobile(e164: str | None) -> bool:
    """Whether an SMS can reach the number: a French mobile, or a foreign
    number (whose kind the plan above does not tell)."""
    if not e164:
        return False
    national = _national_number(e164)
    if national is None:
        return True
    return national.startswith(MOBILE_PREFIXES)


def display_phone(e164: str | None) -> str:
    """How people read a number: French ones as `06 12 34 56 78`, others as stored."""
    if not e164:
        return ""
    national = _national_number(e164)
    if national is None:
        return e164
    digits = "0" + national
    return " ".join(digits[index:index + 2] for index in range(0, 10, 2))


class PhoneValidator:
    """WTForms: an optional number, checked and turned into E.164 (the French
    message next to the field)."""

    def __call__(self, form, field):
        if not (field.data or "").strip():
            field.data = None
            return
        if problem := phone_problem(field.data):
            raise StopValidation(problem)
        field.data = normalised_phone(field.data)
