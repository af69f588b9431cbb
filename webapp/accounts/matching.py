"""Recognising a person from what someone types: names folded, birth date equal.

The desk (booking a patient the practice has not seen) and emergency access
to a notebook both reach a profile by its identity; they compare it here.
"""

import datetime as dt
import re
import unicodedata

from webapp.accounts.models import PatientProfile

_SEPARATORS = re.compile(r"[\s\-'’]+")


def folded_name(text: str) -> str:
    """A name as compared to identify someone: case, accents, hyphens and
    apostrophes ignored, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_SEPARATORS.split(letters)).strip()


def matches_identity(profile: PatientProfile, *, first_name: str, last_name: str, birth_date: dt.date) -> bool:
    """Whether the first name, last name and birth date are this profile's
    (names compared folded; an empty name never matches)."""
    first, last = folded_name(first_name or ""), folded_name(last_name or "")
    return (bool(first) and bool(last) and profile.birth_date == birth_date
            and first == folded_name(profile.first_name) and last == folded_name(profile.last_name))
