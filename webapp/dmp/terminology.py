"""The CI-SIS value sets the connector codes its metadata from (vendored in `data/value_sets.json`).

Every code the builder sends or the settings accept is looked up here, so a
code outside its value set is refused at start-up rather than by the
recipient.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

VALUE_SETS_FILE = Path(__file__).with_name("data") / "value_sets.json"

FACILITY_TYPES = "JDV_J02-XdsHealthcareFacilityTypeCode-CISIS"
PRACTICE_SETTINGS = "JDV_J04-XdsPracticeSettingCode-CISIS"
CLASS_CODES = "JDV_J06-XdsClassCode-CISIS"
TYPE_CODES = "JDV_J07-XdsTypeCode-CISIS"
FORMAT_CODES = "JDV_J10-XdsFormatCode-CISIS"
FORMAT_OF_MEDIA_TYPE = "ASS_A12-CorresMediaTypeCDANonStructure-XdsFormatCode-CISIS"


@dataclass(frozen=True)
class Code:
    """One concept of a value set: its code system, code and display."""

    system: str
    code: str
    display: str

    def coding(self) -> dict:
        return {"system": self.system, "code": self.code, "display": self.display}

    def concept(self) -> dict:
        return {"coding": [self.coding()]}


@cache
def _value_sets() -> dict:
    return json.loads(VALUE_SETS_FILE.read_text(encoding="utf-8"))


def codes_of(value_set: str) -> dict[str, dict[str, str]]:
    """`{system: {code: display}}` of a vendored value set."""
    return _value_sets()[value_set]["codes"]


def lookup(value_set: str, code: str) -> Code:
    """The concept `code` of `value_set` (its system found by the code); KeyError when it is not in it."""
    for system, concepts in codes_of(value_set).items():
        if code in concepts:
            return Code(system, code, concepts[code])
    raise KeyError(f"{code!r} is not in {value_set}")


def contains(value_set: str, system: str, code: str) -> bool:
    return code in codes_of(value_set).get(system, {})


def format_code(content_type: str) -> Code:
    """The JDV_J10 format code of an unstructured document of this media type (ANS association A12)."""
    return lookup(FORMAT_CODES, _value_sets()[FORMAT_OF_MEDIA_TYPE]["map"][content_type])
